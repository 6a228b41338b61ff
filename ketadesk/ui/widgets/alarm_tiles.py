"""Marks the numeric tiles of alarming channels: priority marker in the label, flashing frame.

The tile of a channel with a physiological alarm flashes like the alarm bar (same rates, same
injected monotonic time); an acknowledged or latched alarm leaves a steady frame. The label gains
the marker (`HR ***`) so the priority is readable without colour.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketadesk.core.alarm_engine import AlarmSnapshot, AlarmView
from ketadesk.core.alarm_signals import flash_lit, flashes
from ketadesk.ui.widgets.alarm_bar import ALARM_COLOURS
from ketadesk.ui.widgets.numeric_tile import NumericTile

# Which tile shows which channel (PR is the HR tile's sub-line, NIBP has one tile).
CHANNEL_TILE: dict[str, str] = {
    "hr": "hr", "pr": "hr", "spo2": "spo2", "nibp_sys": "nibp", "nibp_dia": "nibp",
    "nibp_mean": "nibp", "rr": "rr", "etco2": "etco2", "temp": "temp",
}
# The dark tint of the tile behind the value while lit: the value's own colour stays readable.
_TINT = {"high": "#5a1412", "medium": "#4a3d00", "low": "#0b4650"}


class TileAlarms:
    """Applies the alarm state to the window's tiles on each refresh."""

    def __init__(self, tiles: Mapping[str, NumericTile]) -> None:
        self.tiles = tiles
        self._labels = {key: tile.label.text() for key, tile in tiles.items()}
        self._styles: dict[str, str] = {}
        self.marked: dict[str, AlarmView] = {}  # tile key -> the alarm it shows
        self.lit: set[str] = set()  # tile keys whose alarm frame is lit now (the flash phase)

    def show_alarms(self, alarms: AlarmSnapshot, now_s: float) -> None:
        marked: dict[str, AlarmView] = {}
        for alarm in alarms.alarms:  # most urgent first: the first per tile wins
            key = CHANNEL_TILE.get(alarm.channel)
            if alarm.technical or key is None or key not in self.tiles or key in marked:
                continue
            marked[key] = alarm
        self.marked = marked
        self.lit = set()
        for key, tile in self.tiles.items():
            view = marked.get(key)
            if view is None:
                self._apply(key, tile, "", self._labels[key])
                continue
            strong, _ = ALARM_COLOURS[view.priority]
            lit = not flashes(view) or flash_lit(view.priority, now_s)
            if lit:
                self.lit.add(key)
            bg = _TINT[view.priority.value] if lit else "#151a21"
            border = strong if lit else "#3a2f2f"
            css = f"QFrame#tile {{ background: {bg}; border: 3px solid {border}; }}"
            self._apply(key, tile, css, f"{self._labels[key]}  {view.marker}")

    def _apply(self, key: str, tile: NumericTile, css: str, label: str) -> None:
        if self._styles.get(key) != css:
            self._styles[key] = css
            tile.setStyleSheet(css)
        if tile.label.text() != label:
            tile.label.setText(label)
