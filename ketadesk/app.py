"""Composition root: builds the objects for the dashboard and wires them together.

`main()` is the console script; it hands the command line to ketadesk.cli. Qt is imported
only inside the functions that need a screen, so headless commands never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ketadesk.core.clock import Clock
from ketadesk.core.config import defaults
from ketadesk.core.pipeline import Pipeline, Sink
from ketadesk.core.session import BufferConfig, Session
from ketadesk.sources.base import VitalsSource

if TYPE_CHECKING:
    from ketadesk.ui.instructor import InstructorOpener
    from ketadesk.ui.live import LiveController
    from ketadesk.ui.main_window import MainWindow


def main(argv: Sequence[str] | None = None) -> int:
    from ketadesk.cli import main as cli_main

    return cli_main(argv)


@dataclass
class Dashboard:
    clock: Clock
    source: VitalsSource
    session: Session
    pipeline: Pipeline
    window: MainWindow
    controller: LiveController
    instructor: InstructorOpener | None = None  # View > Instructor..., simulator sources only

    def close(self) -> None:
        """Stop the timer, flush the recording, close the source and the window.

        In that order: the recording first (DESIGN.md: a plot alive at interpreter exit can
        crash the process, and nothing recorded may be lost to that).
        """
        self.controller.stop()
        sink_close = getattr(self.pipeline.sink, "close", None)
        if callable(sink_close):
            sink_close(self.clock.now())
        self.source.close()
        self.window.close()
        self.window.deleteLater()


def build_dashboard(source: VitalsSource, clock: Clock,
                    sink: Callable[[Session], Sink] | None = None,
                    config: dict[str, Any] | None = None) -> Dashboard:
    """Open the source on the clock and build session, pipeline, window and the live timer.

    `sink` makes the recorder for the new session (None: nothing is recorded, as in tests).
    """
    from ketadesk.core.clock import ScaledClock
    from ketadesk.sources.simulator.source import SimulatorSource
    from ketadesk.ui.instructor import InstructorOpener
    from ketadesk.ui.live import LiveController
    from ketadesk.ui.main_window import MainWindow

    cfg = config or defaults()
    display, buffers = cfg["display"], cfg["buffers"]
    source.open(clock)
    session = Session(clock, source.info, BufferConfig(buffers["numeric_hours"],
                                                       buffers["waveform_hours"]))
    pipeline = Pipeline(source, session, sink(session) if sink is not None else None)
    started = session.started_wall.astimezone().strftime("%Y-%m-%d %H:%M")
    window = MainWindow(source.info, session.buffers, sweep_s=display["sweep_s"],
                        trend_minutes=display["trend_minutes"], started_text=started)
    controller = LiveController(clock, pipeline, window.refresh, display["frame_hz"])
    instructor = None
    if isinstance(source, SimulatorSource):
        control = clock if isinstance(clock, ScaledClock) else None
        instructor = InstructorOpener(window, source, session, control)
        window.menus["View"].addAction(instructor.action)
    return Dashboard(clock, source, session, pipeline, window, controller, instructor)


def qt_app(argv: list[str] | None = None) -> Any:
    """The QApplication, created once, with the dark theme."""
    from PySide6.QtWidgets import QApplication

    from ketadesk.ui import theme

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or ["ketadesk"])
        app.setApplicationName("KetaDesk")
        theme.apply(app)
    return app
