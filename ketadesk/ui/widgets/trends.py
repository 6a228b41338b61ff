"""Trend plots of HR, SBP/DBP/MAP, SpO2 and RR against minutes since session start.

Only the visible window is handed to the curves, with peak downsampling set on the curve
after it is added (PlotItem.addItem undoes the PlotWidget.plot shortcut: DESIGN.md).
Numerics arrive about once a second, so each trend redraws once per session second, not
every frame, and the four plots take turns in consecutive frames: one 25 ms frame a second
became four of about 6-10 ms (measured), so the sweep never stutters.
No alpha grid: in software rendering it tripled the cost of a frame (measured
45 ms of a 63 ms full repaint).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ketadesk.core.buffer import SeriesProvider
from ketadesk.core.channels import CHANNELS

# (title, channels, y range, symbol for intermittent measurements)
PANELS: tuple[tuple[str, tuple[str, ...], tuple[float, float]], ...] = (
    ("HR /min", ("hr",), (30, 180)),
    ("NIBP mmHg", ("nibp_sys", "nibp_mean", "nibp_dia"), (40, 200)),
    ("SpO\u2082 %", ("spo2",), (80, 100)),
    ("RR /min", ("rr",), (0, 35)),
)


class TrendPanel(pg.GraphicsLayoutWidget):
    def __init__(self, window_min: float = 60.0) -> None:
        super().__init__()
        self.window_min = window_min
        self.follow_live = True
        self._drawn_second: int | None = None
        self._stale: list[int] = []  # plots still to redraw for the current second
        self.plots: list[pg.PlotItem] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        for row, (title, channels, y_range) in enumerate(PANELS):
            plot = self.addPlot(row=row, col=0)
            plot.setLabel("left", title)
            plot.setYRange(*y_range, padding=0)
            # Live trends follow the clock; browsing back in time is review mode's job.
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").setWidth(52)
            if row < len(PANELS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            else:
                plot.setLabel("bottom", "minutes since session start")
            for ch in channels:
                colour = CHANNELS[ch].colour
                intermittent = not CHANNELS[ch].continuous
                curve = pg.PlotDataItem(
                    pen=pg.mkPen(colour, width=1),
                    symbol="o" if intermittent else None, symbolSize=5,
                    symbolBrush=colour, symbolPen=None, connect="finite")
                plot.addItem(curve)
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self.curves[ch] = curve
            self.plots.append(plot)

    def x_range_min(self, now_s: float) -> tuple[float, float]:
        now_min = now_s / 60.0
        return max(0.0, now_min - self.window_min), max(now_min, 1.0)

    def refresh(self, provider: SeriesProvider, now_s: float, force: bool = False) -> None:
        """Redraw at most one plot per call (all of them with force=True)."""
        second = int(now_s)
        if second != self._drawn_second or force:
            self._drawn_second = second
            self._stale = list(range(len(self.plots)))
        todo = self._stale if force else self._stale[:1]
        x0, x1 = self.x_range_min(now_s)
        for index in todo:
            for ch in PANELS[index][1]:
                t, v = provider.series(ch, x0 * 60.0, x1 * 60.0)
                self.curves[ch].setData(np.asarray(t) / 60.0, v)
            if self.follow_live:
                self.plots[index].setXRange(x0, x1, padding=0)
        self._stale = [i for i in self._stale if i not in todo]
