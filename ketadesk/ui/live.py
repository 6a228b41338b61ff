"""The one periodic timer: it steps the pipeline and redraws the window (DESIGN.md data flow)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from ketadesk.core.clock import Clock
from ketadesk.core.pipeline import Pipeline
from ketadesk.core.session import SessionSnapshot


class LiveController(QObject):
    """Owns the single QTimer. Each tick: source -> session -> recorder, then one redraw."""

    def __init__(self, clock: Clock, pipeline: Pipeline,
                 redraw: Callable[[SessionSnapshot], None], frame_hz: float = 25.0) -> None:
        super().__init__()
        self.clock = clock
        self.pipeline = pipeline
        self.redraw = redraw
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / frame_hz))
        self.timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def step(self) -> SessionSnapshot:
        now = self.clock.now()
        self.pipeline.step(now)
        snap = self.pipeline.session.snapshot(now)
        self.redraw(snap)
        return snap

    def _on_timer_timeout(self) -> None:
        self.step()
