"""Rating-scale points on a strip under the vital-sign trends (issue 5, point 5).

Two small rows sharing the trends' x axis (minutes since session start): CADSS total as
large points with its subscales as smaller points of distinct symbols, and MOAA/S (0-5) in
its own row. Dashed vertical lines mark the scheduled timepoints once the infusion has
started. Only complete entries are scores; a partial entry is not drawn.

ScaleStrip is fed rows of (t_s, scale_id, total, subscales), so review mode can draw a
stored session (core.assessments.score_rows_from_events); LiveScaleStrip feeds it from the
live session and redraws only when an entry or the schedule changes, not every frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ketadesk.core.assessments import ScoreRow, TimepointKind, score_rows
from ketadesk.core.scales import ScaleDefinition
from ketadesk.core.session import Session, SessionSnapshot
from ketadesk.ui import theme

TOP_SCALE = "cadss"
BOTTOM_SCALE = "moaas"
AXIS_WIDTH = 52  # the trends' left axis width: both x axes line up on screen

# Colours unlike the vitals and the alarm colours; symbols differ too, so colour is not the
# only cue. (symbol, size px, colour)
TOTAL_STYLE = ("o", 11, "#b39dff")
SUBSCALE_STYLES: dict[str, tuple[str, int, str]] = {
    "depersonalization": ("t", 7, "#f0a0c8"),
    "derealization": ("s", 7, "#9fd8b0"),
    "amnesia": ("d", 8, "#e0c080"),
}
FALLBACK_SYMBOLS = ("x", "+", "star", "p", "h")
BOTTOM_STYLE = ("o", 9, "#9ec5ff")
SYMBOL_CHARS = {"o": "\u25cf", "t": "\u25bc", "s": "\u25a0", "d": "\u25c6", "x": "\u00d7",
                "+": "+", "star": "\u2605", "p": "\u2b1f", "h": "\u2b22"}
MARKER_PEN = pg.mkPen("#5d6878", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)


def _points(style: tuple[str, int, str]) -> pg.PlotDataItem:
    symbol, size, colour = style
    return pg.PlotDataItem(pen=None, symbol=symbol, symbolSize=size, symbolBrush=colour,
                           symbolPen=pg.mkPen("#0b0e12", width=1))


class ScaleStrip(QWidget):
    """The view: set_points(rows) and set_markers(...) redraw; nothing else does."""

    def __init__(self, scales: Mapping[str, ScaleDefinition],
                 x_link: pg.PlotItem | None = None) -> None:
        super().__init__()
        self.scales = dict(scales)
        self.legend = QLabel()
        self.legend.setStyleSheet(f"color: {theme.MUTED}; font-size: 9pt;")
        self.plots_widget = pg.GraphicsLayoutWidget()
        self.top = self.plots_widget.addPlot(row=0, col=0)
        self.bottom = self.plots_widget.addPlot(row=1, col=0)
        top_name = self._short(TOP_SCALE)
        bottom_name = self._short(BOTTOM_SCALE)
        for plot, name in ((self.top, top_name), (self.bottom, bottom_name)):
            plot.setLabel("left", name, **{"font-size": "8pt"})
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setMouseEnabled(x=False, y=False)  # the trends' x axis leads
            plot.hideButtons()
            plot.enableAutoRange(x=False, y=False)  # new points must not move the shared axis
        self.bottom.setXLink(self.top)
        if x_link is not None:
            # Follow the trends' range rather than setXLink: pyqtgraph lines linked views up
            # by screen position, and its position arithmetic is off by the widgets' offsets
            # in their parents (measured 0.37 min shifted), so the two axes disagreed.
            x_link.sigXRangeChanged.connect(self._on_x_link_changed)
            self.top.setXRange(*x_link.viewRange()[0], padding=0)
        self.top.getAxis("bottom").setStyle(showValues=False)
        self.top.getAxis("bottom").setHeight(4)
        self.bottom.setYRange(-0.5, 5.5, padding=0)
        self.bottom.getAxis("left").setTicks([[(0, "0"), (5, "5")]])
        self.plots_widget.ci.layout.setRowStretchFactor(0, 3)
        self.plots_widget.ci.layout.setRowStretchFactor(1, 2)
        self.plots_widget.ci.layout.setSpacing(0)

        self.total_curve = _points(TOTAL_STYLE)
        self.top.addItem(self.total_curve)
        self.subscale_curves: dict[str, pg.PlotDataItem] = {}
        top_def = self.scales.get(TOP_SCALE)
        sub_ids = [s.id for s in top_def.subscales] if top_def is not None else []
        sub_names = {s.id: s.name for s in top_def.subscales} if top_def is not None else {}
        legend = [(TOTAL_STYLE, f"{top_name} total")]
        for i, sid in enumerate(sub_ids):
            style = SUBSCALE_STYLES.get(sid, (FALLBACK_SYMBOLS[i % len(FALLBACK_SYMBOLS)], 7,
                                              theme.TEXT))
            curve = _points(style)
            self.top.addItem(curve)
            self.subscale_curves[sid] = curve
            legend.append((style, sub_names.get(sid, sid).lower()))
        self.bottom_curve = _points(BOTTOM_STYLE)
        self.bottom.addItem(self.bottom_curve)
        legend.append((BOTTOM_STYLE, bottom_name))
        self.legend.setText("   ".join(
            f"<span style='color:{c}'>{SYMBOL_CHARS.get(sym, sym)}</span> {text}"
            for (sym, _size, c), text in legend) + "   <span>\u2506 scheduled timepoint</span>")
        self._markers: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self.rows: list[ScoreRow] = []
        self.redraws = 0  # how many times the points were redrawn (tests, benchmarks)
        self.set_points([])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.legend)
        layout.addWidget(self.plots_widget)
        # 150 px when the window has room; down to 100 in a short one before the trends lose
        # more (at 1280x800 a fixed 150 squeezed each trend to ~45 px).
        self.plots_widget.setMinimumHeight(100)
        self.plots_widget.setMaximumHeight(130)

    def _on_x_link_changed(self, _view: object, x_range: Sequence[float]) -> None:
        self.top.setXRange(x_range[0], x_range[1], padding=0)

    def _short(self, scale_id: str) -> str:
        d = self.scales.get(scale_id)
        return d.short_name if d is not None else scale_id

    def set_points(self, rows: Sequence[ScoreRow]) -> None:
        """Draw these (t_s, scale_id, total, subscales) rows; other scales are not drawn."""
        self.rows = sorted(rows, key=lambda r: r[0])
        top = [r for r in self.rows if r[1] == TOP_SCALE]
        bottom = [r for r in self.rows if r[1] == BOTTOM_SCALE]
        top_x = np.array([r[0] / 60.0 for r in top])
        self.total_curve.setData(top_x, np.array([r[2] for r in top], dtype=float))
        for sid, curve in self.subscale_curves.items():
            y = np.array([r[3].get(sid, np.nan) for r in top], dtype=float)
            curve.setData(top_x, y)
        self.bottom_curve.setData(np.array([r[0] / 60.0 for r in bottom]),
                                  np.array([r[2] for r in bottom], dtype=float))
        # CADSS totals are mostly small (mean ~8 of 92): scale to the data, at least 0-20.
        high = max([20.0, *(r[2] * 1.15 for r in top)])
        step = 10 if high <= 40 else 20
        self.top.getAxis("left").setTicks([[(v, str(v)) for v in range(0, int(high) + 1, step)]])
        self.top.setYRange(-0.1 * high, high, padding=0)  # a 0 stays a whole point
        self.redraws += 1

    def set_markers(self, markers: Sequence[tuple[float, str]]) -> None:
        """Vertical lines at (t_s, label), e.g. (start + 40 min, "+40")."""
        for plot, line in self._markers:
            plot.removeItem(line)
        self._markers = []
        for t_s, label in markers:
            for plot, text in ((self.top, label), (self.bottom, None)):
                line = pg.InfiniteLine(
                    pos=t_s / 60.0, angle=90, pen=MARKER_PEN, movable=False, label=text,
                    labelOpts={"position": 0.9, "color": theme.MUTED, "anchors": [(0, 0.5),
                                                                                 (0, 0.5)]})
                plot.addItem(line, ignoreBounds=True)
                self._markers.append((plot, line))

    @property
    def marker_positions_min(self) -> list[float]:
        return sorted({float(line.value()) for _plot, line in self._markers})


class LiveScaleStrip(ScaleStrip):
    """Fed by the live session; refresh(snapshot) costs a few comparisons unless changed."""

    def __init__(self, session: Session, x_link: pg.PlotItem | None = None) -> None:
        super().__init__(session.scales, x_link)
        self.session = session
        self._drawn_version: int | None = None
        self._drawn_start: float | None = None

    def set_session(self, session: Session) -> None:
        """Follow a new session (after a source change); redraw at the next refresh."""
        self.session = session
        self._drawn_version = None
        self._drawn_start = None

    def refresh(self, snap: SessionSnapshot) -> None:
        log = self.session.assessments
        if log.version != self._drawn_version:
            self._drawn_version = log.version
            self.set_points(score_rows(log.entries()))
        start = snap.infusion.started_at_s if snap.infusion is not None else None
        if start != self._drawn_start:
            self._drawn_start = start
            self.set_markers(schedule_markers(snap) if start is not None else [])


def schedule_markers(snap: SessionSnapshot) -> list[tuple[float, str]]:
    """The timed points of the protocol (+40, +80 ...) with their session times."""
    marks: list[tuple[float, str]] = []
    for tp in snap.assessments.items:
        if tp.kind is TimepointKind.AFTER_START and tp.target_s is not None:
            label = tp.label.rsplit(" ", 2)[-2]  # "CADSS +40 min" -> "+40"
            marks.append((tp.target_s, label))
    return sorted(set(marks))
