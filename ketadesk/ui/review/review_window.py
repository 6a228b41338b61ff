"""The review window: one recorded session, whole, on linked time axes (issue 6).

ECG and pleth as ordinary time-series plots (not sweeps) above the same trend panel the live
window uses, all on one x axis in minutes since session start. Follow-live is off: the view
moves only by mouse (drag, wheel), keys (Left/Right pan, +/- zoom, Home/End, F whole
session), or a click in the alarm list or scale table. Waveform curves are refilled from the
ReviewSeriesProvider for the visible window at each move (at most a few thousand points);
trends are handed all their (few) points once and clipped to the view by pyqtgraph.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.channels import CHANNELS
from ketadesk.sources.base import Provenance, SourceInfo
from ketadesk.store.reader import Recording
from ketadesk.store.review_data import (
    Marker,
    MarkerKind,
    clock_text,
    markers,
    minimal_summary,
    scale_name,
)
from ketadesk.store.review_provider import ReviewSeriesProvider
from ketadesk.ui import theme
from ketadesk.ui.widgets.banner import ProvenanceBanner
from ketadesk.ui.widgets.trends import TrendPanel

MIN_SPAN_S = 4.0  # zoomed in no further than a few beats
GO_TO_SPAN_S = 300.0  # a click in a list shows 5 minutes around the moment
PAN_FRACTION = 0.25
ZOOM_FACTOR = 2.0
AXIS_WIDTH = 52  # the trend panel's left axis width: waveform plots line up with it

WAVES: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("ecg_ii", "ECG II", (-0.6, 1.4)),
    ("pleth", "Pleth", (-0.15, 1.25)),
)

MARKER_COLOUR: dict[MarkerKind, str] = {
    MarkerKind.PHASE: "#e6e6e6",
    MarkerKind.PAUSE: "#ff9f40",
    MarkerKind.RATE: "#9fd3ff",
    MarkerKind.ALARM_HIGH: "#ff4040",
    MarkerKind.ALARM_MEDIUM: "#ffd23f",
    MarkerKind.ALARM_LOW: "#3fd8ff",
    MarkerKind.SCALE: "#c792ea",
    MarkerKind.NOTE: "#a0a8b0",
    MarkerKind.GAP: "#ff6ad5",
}
LABEL_ROWS = 4  # marker labels are staggered over this many heights so neighbours do not overlap



SummaryFn = Callable[[Recording, ReviewSeriesProvider], list[tuple[str, str]]]


def _dim(colour: str) -> str:
    """The colour at 55 % towards the background: marker lines stay behind the traces."""
    c, b = pg.mkColor(colour), pg.mkColor(theme.BACKGROUND)
    mix = [int(0.55 * x + 0.45 * y) for x, y in zip(c.getRgb()[:3], b.getRgb()[:3], strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def default_summary(rec: Recording, provider: ReviewSeriesProvider) -> list[tuple[str, str]]:
    nums = {ch: provider.series(ch, -1.0, provider.time_span()[1] + 1.0)
            for ch in ("nibp_sys", "nibp_dia", "hr", "spo2")}
    return minimal_summary(rec, nums)


def _duration(seconds: float) -> str:
    return clock_text(seconds).removeprefix("+")


class ReviewWindow(QMainWindow):
    """Shows one recording; it owns the Recording (closed with the window)."""

    def __init__(self, recording: Recording, provider: ReviewSeriesProvider | None = None, *,
                 windowed: bool = True, summary: SummaryFn = default_summary) -> None:
        """`windowed=False` is the naive baseline of the benchmark: whole waveforms handed to
        the curves once, trends without clipping or downsampling."""
        super().__init__()
        self.recording = recording
        self.provider = provider or ReviewSeriesProvider(recording)
        self.windowed = windowed
        self.span_s = self.provider.time_span()
        meta = recording.meta
        self.setWindowTitle(self._title())
        self.resize(1400, 900)

        self.banner = ProvenanceBanner()
        self.banner.show_source(SourceInfo(meta.source_name, meta.source_name, (),
                                           meta.provenance))
        started = meta.start_wall_time.astimezone().strftime("%Y-%m-%d %H:%M")
        # Typed and device text is escaped: a patient id is not markup.
        self.header = QLabel(
            f"<b>Review</b> \u00b7 patient {escape(meta.patient_id or '(not entered)')} \u00b7 "
            f"{started} \u00b7 {_duration(recording.duration_s)} \u00b7 "
            f"clinician {escape(meta.clinician or '?')} \u00b7 source "
            f"{escape(meta.source_name)} ({meta.provenance.value}) \u00b7 "
            f"{recording.status.value}")
        self.hint = QLabel("Drag: pan \u00b7 wheel: zoom \u00b7 \u2190/\u2192 pan \u00b7 +/\u2212 "
                           "zoom \u00b7 Home/End \u00b7 F: whole session")
        self.hint.setStyleSheet(f"color: {theme.MUTED};")

        # ---- plots ---------------------------------------------------------------------------
        self.trends = TrendPanel(max(1.0, self.span_s[1] / 60.0))
        self.trends.follow_live = False
        self.master = self.trends.plots[0]
        self.waves = pg.GraphicsLayoutWidget()
        self.lane = self.waves.addPlot(row=0, col=0)
        self._setup_lane()
        self.wave_plots: dict[str, pg.PlotItem] = {}
        self.wave_curves: dict[str, pg.PlotCurveItem] = {}
        for row, (ch, label, y_range) in enumerate(WAVES, start=1):
            plot = self.waves.addPlot(row=row, col=0)
            plot.setLabel("left", label)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.getAxis("left").setStyle(showValues=False)
            plot.hideAxis("bottom")  # the time axis is under the trends (an axis a plot costs)
            plot.setYRange(*y_range, padding=0.02)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            curve = pg.PlotCurveItem(pen=pg.mkPen(CHANNELS[ch].colour, width=1),
                                     connect="finite")
            plot.addItem(curve)
            plot.setXLink(self.master)
            self.wave_plots[ch] = plot
            self.wave_curves[ch] = curve
        self.lane.setXLink(self.master)
        # The live trends neither link nor pan (they follow the clock); in review they do both.
        for plot in self.trends.plots:
            plot.setMouseEnabled(x=True, y=False)
            if plot is not self.master:
                plot.setXLink(self.master)
        self.waves.ci.layout.setRowStretchFactor(0, 1)
        for row in (1, 2):
            self.waves.ci.layout.setRowStretchFactor(row, 3)
        end_min = self.span_s[1] / 60.0
        pad = max(end_min * 0.02, 0.05)
        for plot in self.all_plots():
            plot.setLimits(xMin=-pad, xMax=end_min + pad, minXRange=MIN_SPAN_S / 60.0)
        for plot in self.trends.plots[:-1]:
            plot.hideAxis("bottom")
        self.markers = markers(recording)
        self.marker_curves: list[pg.PlotCurveItem] = []
        self.marker_labels: list[tuple[Marker, pg.TextItem]] = []
        self._add_markers()

        # ---- side: summary, alarms, scales --------------------------------------------------
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setText(self._summary_html(summary(recording, self.provider)))
        self.alarm_table = self._table(("Time", "Pri", "State", "Alarm"))
        self._fill_alarms()
        self.scale_table = self._table(("Time", "Scale", "Total", "By"))
        self._fill_scales()

        side = QVBoxLayout()
        side.addWidget(self._title_label("Summary"))
        side.addWidget(self.summary)
        side.addWidget(self._title_label("Alarms"))
        side.addWidget(self.alarm_table, 3)
        side.addWidget(self._title_label("Scales"))
        side.addWidget(self.scale_table, 2)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(400)

        left = QVBoxLayout()
        left.addWidget(self.waves, 4)
        left.addWidget(self.trends, 5)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(side_widget)
        root = QVBoxLayout()
        root.setContentsMargins(6, 4, 6, 6)
        root.addWidget(self.banner)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.hint)
        root.addLayout(top)
        root.addLayout(body, 1)
        central = QWidget()
        central.setLayout(root)
        self.setCentralWidget(central)
        self._shortcuts()

        # ---- data ------------------------------------------------------------------------------
        if windowed:
            self.trends.refresh(self.provider, self.span_s[1], force=True)
        else:
            self._load_everything()
        self.master.sigXRangeChanged.connect(self._on_master_x_range_changed)
        # Emitted last, after the linked views have moved too.
        self.master.getViewBox().sigRangeChanged.connect(self.apply_view_change)
        self.fit()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        self.layout_labels()  # the lane has its real width only once shown

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.layout_labels()

    # ---- set-up helpers -----------------------------------------------------------------------

    def _title(self) -> str:
        tag = {Provenance.SIMULATED: " \u2014 SIMULATION", Provenance.REPLAY: " \u2014 REPLAY"}
        m = self.recording.meta
        return (f"KetaDesk review \u2014 {m.patient_id or 'no patient'} "
                f"{m.start_wall_time.astimezone().strftime('%Y-%m-%d %H:%M')}"
                f"{tag.get(m.provenance, '')}")

    def _setup_lane(self) -> None:
        lane = self.lane
        lane.setLabel("left", "Events")
        lane.getAxis("left").setWidth(AXIS_WIDTH)
        lane.getAxis("left").setStyle(showValues=False)
        lane.hideAxis("bottom")
        lane.setYRange(0, 1, padding=0)
        lane.setMouseEnabled(x=True, y=False)
        lane.hideButtons()

    def all_plots(self) -> list[pg.PlotItem]:
        return [self.lane, *self.wave_plots.values(), *self.trends.plots]

    def _add_markers(self) -> None:
        """One curve of vertical segments per colour and plot (not one item per marker: with
        a few dozen markers on seven plots, separate InfiniteLines cost more than the data),
        and the labels as text items on the events lane only, so they never cover a trace."""
        # The lane: a curve per marker colour. The plots below: two dimmed curves, alarms
        # and the rest (each curve costs at every move; the colours are on the lane above).
        lane_groups: dict[str, list[float]] = {}
        plot_groups: dict[str, list[float]] = {}
        for m in self.markers:
            x = m.t_s / 60.0
            lane_groups.setdefault(MARKER_COLOUR[m.kind], []).append(x)
            alarm = m.kind in (MarkerKind.ALARM_HIGH, MarkerKind.ALARM_MEDIUM,
                               MarkerKind.ALARM_LOW)
            colour = MARKER_COLOUR[MarkerKind.ALARM_MEDIUM if alarm else MarkerKind.PHASE]
            plot_groups.setdefault(_dim(colour), []).append(x)
        for plot in self.all_plots():
            y0, y1 = plot.getViewBox().viewRange()[1]
            groups = lane_groups if plot is self.lane else plot_groups
            for colour, xs in groups.items():
                curve = pg.PlotCurveItem(np.repeat(np.asarray(xs), 2),
                                         np.tile([y0, y1], len(xs)), connect="pairs",
                                         pen=pg.mkPen(colour, width=1))
                curve.setZValue(-10)  # behind the data
                plot.addItem(curve)
                self.marker_curves.append(curve)
        for m in self.markers:
            colour = MARKER_COLOUR[m.kind]
            label = pg.TextItem(m.label, color=colour, anchor=(0, 0.5), fill=theme.BACKGROUND)
            label.setToolTip(f"{clock_text(m.t_s)}  {m.text}")
            label.setPos(m.t_s / 60.0, 0.8)
            self.lane.addItem(label)
            self.marker_labels.append((m, label))

    @staticmethod
    def _title_label(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet("font-weight: bold; margin-top: 6px;")
        return label

    def _table(self, headers: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(list(headers))
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # The arrow keys belong to the plots (pan); the tables are used with the mouse.
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = table.horizontalHeader()
        for col in range(len(headers) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
        table.cellClicked.connect(lambda row, _col, t=table: self._on_table_cell_clicked(t, row))
        return table

    @staticmethod
    def _row(table: QTableWidget, t_s: float, cells: tuple[str, ...],
             colour: str | None = None) -> None:
        r = table.rowCount()
        table.insertRow(r)
        for col, text in enumerate((clock_text(t_s), *cells)):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, t_s)
            item.setToolTip(text)
            if colour is not None and col == 1:
                item.setForeground(pg.mkColor(colour))
            table.setItem(r, col, item)

    def _fill_alarms(self) -> None:
        marks = {"high": "***", "medium": "**", "low": "*"}
        colours = {"high": MARKER_COLOUR[MarkerKind.ALARM_HIGH],
                   "medium": MARKER_COLOUR[MarkerKind.ALARM_MEDIUM],
                   "low": MARKER_COLOUR[MarkerKind.ALARM_LOW]}
        for a in self.recording.alarms():
            self._row(self.alarm_table, a.t_s,
                      (marks.get(a.priority, a.priority), a.state, a.message),
                      colours.get(a.priority))

    def _fill_scales(self) -> None:
        for s in self.recording.scale_entries(current_only=True):
            total = "" if s.total is None else f"{s.total:g}"
            if s.status.value == "partial":
                total += " (partial)"
            self._row(self.scale_table, s.t_s, (scale_name(s.scale), total, s.who))

    @staticmethod
    def _summary_html(rows: list[tuple[str, str]]) -> str:
        if not rows:
            return "<i>nothing to summarise</i>"
        cells = "".join(f"<tr><td style='color:{theme.MUTED}; padding-right:8px'>{escape(k)}"
                        f"</td><td>{escape(v)}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"

    def _shortcuts(self) -> None:
        keys: list[tuple[QKeySequence.StandardKey | Qt.Key | str, Callable[[], None]]] = [
            (Qt.Key.Key_Left, lambda: self.pan(-PAN_FRACTION)),
            (Qt.Key.Key_Right, lambda: self.pan(PAN_FRACTION)),
            (Qt.Key.Key_Plus, lambda: self.zoom(1.0 / ZOOM_FACTOR)),
            (Qt.Key.Key_Equal, lambda: self.zoom(1.0 / ZOOM_FACTOR)),
            (Qt.Key.Key_Minus, lambda: self.zoom(ZOOM_FACTOR)),
            (Qt.Key.Key_Home, self.home),
            (Qt.Key.Key_End, self.end),
            (Qt.Key.Key_F, self.fit),
            ("Ctrl+W", self._close_window),
        ]
        self._shortcut_objects = []
        for key, slot in keys:
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self._shortcut_objects.append(sc)

    # ---- data ---------------------------------------------------------------------------------

    def _load_everything(self) -> None:
        """The naive baseline: every sample into the curves, nothing clipped or decimated."""
        for ch, curve in self.wave_curves.items():
            t, v = self.provider.full(ch)
            curve.setData(t / 60.0, v)
        for ch, curve in self.trends.curves.items():
            t, v = self.provider.full(ch)
            curve.setClipToView(False)
            curve.setDownsampling(auto=False)
            curve.setData(t / 60.0, v)

    def _on_master_x_range_changed(self, *_: object) -> None:
        # Any move (keys, lists, mouse on any plot) ends here: the links have already
        # moved the other views.
        if self.windowed:
            self._refill_waves()
        self.layout_labels()

    def layout_labels(self) -> None:
        """Put each marker label on the lowest free row of the lane; hide those with no room.

        Greedy, left to right, in pixels at the current zoom: neighbours never overlap, and
        zooming in brings the hidden ones back.
        """
        t0, t1 = self.x_range_s()
        box = self.lane.getViewBox()
        width_px, height_px = box.width(), box.height()
        if width_px <= 0 or height_px <= 0 or t1 <= t0 or not self.marker_labels:
            return
        label_h = self.marker_labels[0][1].textItem.boundingRect().height()
        rows = max(1, min(LABEL_ROWS, int(height_px // label_h)))
        px_per_s = width_px / (t1 - t0)
        row_end = [float("-inf")] * rows
        for m, label in self.marker_labels:
            x = (m.t_s - t0) * px_per_s
            w = label.textItem.boundingRect().width() + 6.0
            if x < 0 or x > width_px:
                label.setVisible(False)  # its line is outside the view
                continue
            # Right of its line (3 px off, not hiding it); left of it near the right edge.
            right_side = x + 3.0 + w <= width_px
            left = x + 3.0 if right_side else x - 3.0 - w
            row = next((r for r in range(rows) if row_end[r] <= left), None)
            if row is None:
                label.setVisible(False)
                continue
            row_end[row] = left + w
            label.setAnchor((0, 0.5) if right_side else (1, 0.5))
            offset_s = (3.0 if right_side else -3.0) / px_per_s
            label.setPos((m.t_s + offset_s) / 60.0, 1.0 - label_h * (row + 0.5) / height_px)
            label.setVisible(True)

    def _refill_waves(self) -> None:
        t0, t1 = self.x_range_s()
        for ch, curve in self.wave_curves.items():
            t, v = self.provider.series(ch, t0, t1)
            curve.setData(t / 60.0, v)

    # ---- navigation ---------------------------------------------------------------------------

    def x_range_s(self) -> tuple[float, float]:
        """The visible time window in session seconds."""
        x0, x1 = self.master.getViewBox().viewRange()[0]
        return x0 * 60.0, x1 * 60.0

    def set_x_range_s(self, t0_s: float, t1_s: float) -> None:
        span = max(MIN_SPAN_S, t1_s - t0_s)
        lo, hi = self.span_s[0], max(self.span_s[1], self.span_s[0] + MIN_SPAN_S)
        span = min(span, hi - lo)
        t0 = min(max(t0_s, lo), hi - span)
        self.master.setXRange(t0 / 60.0, (t0 + span) / 60.0, padding=0)

    def apply_view_change(self, *_: object) -> None:
        """Apply the new view transform now: pyqtgraph defers it to the start of the paint,
        where changing it makes Qt paint every plot twice (measured: 4 paints per move)."""
        for plot in self.all_plots():
            plot.getViewBox().updateMatrix()

    def pan(self, fraction: float) -> None:
        t0, t1 = self.x_range_s()
        step = (t1 - t0) * fraction
        self.set_x_range_s(t0 + step, t1 + step)

    def zoom(self, factor: float) -> None:
        """factor < 1 zooms in, > 1 out, around the centre of the view."""
        t0, t1 = self.x_range_s()
        mid, half = (t0 + t1) / 2.0, (t1 - t0) * factor / 2.0
        self.set_x_range_s(mid - half, mid + half)

    def home(self) -> None:
        t0, t1 = self.x_range_s()
        self.set_x_range_s(self.span_s[0], self.span_s[0] + (t1 - t0))

    def end(self) -> None:
        t0, t1 = self.x_range_s()
        self.set_x_range_s(self.span_s[1] - (t1 - t0), self.span_s[1])

    def fit(self) -> None:
        self.set_x_range_s(*self.span_s)

    def go_to(self, t_s: float) -> None:
        """Centre the plots on a moment, showing at most GO_TO_SPAN_S around it."""
        t0, t1 = self.x_range_s()
        span = min(t1 - t0, GO_TO_SPAN_S)
        self.set_x_range_s(t_s - span / 2.0, t_s + span / 2.0)

    def _on_table_cell_clicked(self, table: QTableWidget, row: int) -> None:
        item = table.item(row, 0)
        if item is not None:
            self.go_to(float(item.data(Qt.ItemDataRole.UserRole)))

    def marker_at(self, kind: MarkerKind) -> list[Marker]:
        return [m for m in self.markers if m.kind is kind]

    # ---- lifetime -----------------------------------------------------------------------------

    def _close_window(self) -> None:
        self.close()

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self.recording.close()
        super().closeEvent(event)  # type: ignore[arg-type]
