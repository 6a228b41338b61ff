"""Sweep-style waveform strip: a fixed time axis the trace overwrites left to right.

DESIGN.md measured a fixed-axis sweep at 14 % of a core for ECG + pleth + trends at 30 fps,
against 36 % for a scrolling axis: only the last sweep's samples are handed to the curve,
with a small blank gap just ahead of the write position, like a bedside monitor.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from ketadesk.core.buffer import SeriesProvider


class WaveformStrip(QFrame):
    def __init__(self, channel: str, label: str, colour: str, y_range: tuple[float, float],
                 sweep_s: float = 8.0) -> None:
        super().__init__()
        self.setObjectName("tile")
        self.channel = channel
        self.sweep_s = sweep_s
        self.gap_s = sweep_s * 0.03
        self.title = QLabel(label)
        self.title.setStyleSheet(f"color: {colour}; background: transparent;")
        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setXRange(0, sweep_s, padding=0)
        item.setYRange(*y_range, padding=0.02)
        item.disableAutoRange()
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="finite")
        item.addItem(self.curve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot)

    def sweep_xy(self, provider: SeriesProvider, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        """x (position on the sweep) and y for the samples of the last sweep, gap included."""
        t, v = provider.series(self.channel, now_s - self.sweep_s, now_s)
        if len(t) == 0:
            return np.empty(0), np.empty(0)
        sweep_start = np.floor(now_s / self.sweep_s) * self.sweep_s
        cur = t >= sweep_start
        x = t - np.where(cur, sweep_start, sweep_start - self.sweep_s)
        head = now_s - sweep_start
        keep = cur | (x > head + self.gap_s)
        x, y, cur = x[keep], v[keep], cur[keep]
        # The current sweep, a break (NaN), then what is left of the previous sweep.
        xs = np.concatenate([x[cur], [np.nan], x[~cur]])
        ys = np.concatenate([y[cur], [np.nan], y[~cur]])
        return xs, ys

    def refresh(self, provider: SeriesProvider, now_s: float) -> None:
        x, y = self.sweep_xy(provider, now_s)
        self.curve.setData(x, y)
