"""The main window: a bedside-monitor layout that shows the session and turns clicks into commands.

The window is given everything it shows (session, series provider, settings); it builds no
collaborators of its own, so tests can hand it a session on a fake clock.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.buffer import SeriesProvider
from ketadesk.core.channels import CHANNELS
from ketadesk.core.session import Reading, SessionSnapshot
from ketadesk.sources.base import Provenance, SourceInfo
from ketadesk.ui import theme
from ketadesk.ui.widgets.banner import ProvenanceBanner
from ketadesk.ui.widgets.numeric_tile import NumericTile
from ketadesk.ui.widgets.trends import TrendPanel
from ketadesk.ui.widgets.waveform_strip import WaveformStrip

# A continuous numeric older than this is stale and shown as dashes.
STALE_S = 10.0


class Panel(Protocol):
    """A feature panel (infusion, alarms, scales): redrawn from each snapshot."""

    def refresh(self, snap: SessionSnapshot) -> None: ...


def format_clock(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class MainWindow(QMainWindow):
    def __init__(self, source: SourceInfo, provider: SeriesProvider, *, sweep_s: float = 8.0,
                 trend_minutes: float = 60.0, started_text: str = "") -> None:
        super().__init__()
        self._started_text = started_text
        self.source = source
        self.provider = provider
        self.setWindowTitle(self._title())
        self.resize(1400, 900)

        self.banner = ProvenanceBanner()
        self.banner.show_source(source)
        self.status = QLabel()
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        self.clock_label = QLabel("0:00:00")
        self.clock_label.setStyleSheet("font-size: 16pt; font-weight: bold;")

        self.ecg = WaveformStrip("ecg_ii", "ECG II", CHANNELS["ecg_ii"].colour, (-0.6, 1.4), sweep_s)
        self.pleth = WaveformStrip("pleth", "Pleth", CHANNELS["pleth"].colour, (-0.15, 1.25),
                                   sweep_s)
        self.trends = TrendPanel(trend_minutes)

        self.tiles: dict[str, NumericTile] = {
            "hr": NumericTile("HR", "bpm", CHANNELS["hr"].colour, big_pt=40),
            "spo2": NumericTile("SpO\u2082", "%", CHANNELS["spo2"].colour, big_pt=40),
            "nibp": NumericTile("NIBP", "mmHg", CHANNELS["nibp_sys"].colour, big_pt=30),
            "rr": NumericTile("RR", "/min", CHANNELS["rr"].colour, big_pt=24),
            "etco2": NumericTile("EtCO\u2082", "mmHg", CHANNELS["etco2"].colour, big_pt=20),
            "temp": NumericTile("Temp", "\u00b0C", CHANNELS["temp"].colour, big_pt=20),
        }

        # The source line; the composition root adds the connection indicator beside it.
        self.header = QHBoxLayout()
        self.header.addWidget(self.status)
        header = QHBoxLayout()
        header.addLayout(self.header, 1)
        header.addWidget(self.clock_label)

        left = QVBoxLayout()
        left.addWidget(self.ecg, 2)
        left.addWidget(self.pleth, 2)
        left.addWidget(self.trends, 7)
        self.below_trends = QVBoxLayout()
        left.addLayout(self.below_trends)

        tiles = QGridLayout()
        # Two big tiles side by side, NIBP across, the slower numerics three in a row: the side
        # column also holds the infusion and scales panels and must fit a 1280x800 screen.
        tiles.addWidget(self.tiles["hr"], 0, 0, 1, 3)
        tiles.addWidget(self.tiles["spo2"], 0, 3, 1, 3)
        tiles.addWidget(self.tiles["nibp"], 1, 0, 1, 6)
        tiles.addWidget(self.tiles["rr"], 2, 0, 1, 2)
        tiles.addWidget(self.tiles["etco2"], 2, 2, 1, 2)
        tiles.addWidget(self.tiles["temp"], 2, 4, 1, 2)
        # Feature panels (infusion, alarms, scales) are added to these by the composition root.
        self.side = QVBoxLayout()
        self.side.addLayout(tiles)
        self.top = QVBoxLayout()

        body = QHBoxLayout()
        body.addLayout(left, 3)
        side_widget = QWidget()
        side_widget.setLayout(self.side)
        side_widget.setFixedWidth(380)
        body.addWidget(side_widget)

        root = QVBoxLayout()
        root.setContentsMargins(6, 4, 6, 6)
        root.addWidget(self.banner)
        root.addLayout(header)
        root.addLayout(self.top)
        root.addLayout(body, 1)
        central = QWidget()
        central.setLayout(root)
        self.setCentralWidget(central)

        self.panels: list[Panel] = []
        bar = self.menuBar()
        self.menus = {name: bar.addMenu(f"&{name}") for name in ("File", "Session", "View", "Help")}

    def add_panel(self, widget: QWidget, where: QBoxLayout, stretch: int = 0) -> None:
        """Place a feature panel (top: above everything; side: right column; below_trends).

        A widget with a refresh(snapshot) method is redrawn with the rest of the window.
        """
        where.addWidget(widget, stretch)
        if callable(getattr(widget, "refresh", None)):
            self.panels.append(widget)  # type: ignore[arg-type]

    def set_source(self, source: SourceInfo, provider: SeriesProvider, started_text: str) -> None:
        """Show a new session's source: banner, title and plots follow it (source switch)."""
        self.source, self.provider, self._started_text = source, provider, started_text
        self.banner.show_source(source)
        self.setWindowTitle(self._title())
        self.trends.refresh(provider, 0.0, force=True)

    def _title(self) -> str:
        tag = {Provenance.SIMULATED: " \u2014 SIMULATION", Provenance.REPLAY: " \u2014 REPLAY"}
        return f"KetaDesk{tag.get(self.source.provenance, '')}"

    def refresh(self, snap: SessionSnapshot) -> None:
        """Redraw everything from one snapshot (called by the single live timer)."""
        now = snap.now_s
        self.ecg.refresh(self.provider, now)
        self.pleth.refresh(self.provider, now)
        self.trends.refresh(self.provider, now)
        self.clock_label.setText(format_clock(now))
        r = snap.readings
        self.tiles["hr"].set_value(self._fmt(r.get("hr"), now, "hr" in snap.sensor_off or
                                             "ecg_ii" in snap.sensor_off),
                                   self._pulse_sub(r.get("pr"), now))
        self.tiles["spo2"].set_value(self._fmt(r.get("spo2"), now, "spo2" in snap.sensor_off))
        self.tiles["rr"].set_value(self._fmt(r.get("rr"), now))
        self.tiles["etco2"].set_value(self._fmt(r.get("etco2"), now))
        self.tiles["temp"].set_value(self._fmt(r.get("temp"), now, digits=1))
        self._refresh_nibp(r, snap)
        self.status.setText(
            f"Source: {snap.source.description}  \u00b7  started "
            f"{self._started_text}")
        for panel in self.panels:
            panel.refresh(snap)

    @staticmethod
    def _fmt(reading: Reading | None, now: float, off: bool = False, digits: int = 0) -> str | None:
        if reading is None or off or not reading.valid or now - reading.t_s > STALE_S:
            return None
        return f"{reading.value:.{digits}f}"

    def _pulse_sub(self, pr: Reading | None, now: float) -> str:
        text = self._fmt(pr, now)
        return f"PR {text}" if text else "PR - - -"

    def _refresh_nibp(self, r: dict[str, Reading], snap: SessionSnapshot) -> None:
        sys_, dia, mean = r.get("nibp_sys"), r.get("nibp_dia"), r.get("nibp_mean")
        if sys_ is None or dia is None or not (sys_.valid and dia.valid):
            self.tiles["nibp"].set_value(None, "no cycle yet" if sys_ is None else "invalid")
            return
        mean_txt = f" ({mean.value:.0f})" if mean is not None and mean.valid else ""
        age_min = (snap.now_s - sys_.t_s) / 60.0
        at = format_clock(sys_.t_s)
        self.tiles["nibp"].set_value(f"{sys_.value:.0f}/{dia.value:.0f}{mean_txt}",
                                     f"at {at} ({age_min:.0f} min ago)")



