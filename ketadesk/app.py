"""Composition root: builds the objects for the dashboard and wires them together.

`main()` is the console script; it hands the command line to ketadesk.cli. Qt is imported
only inside the functions that need a screen, so headless commands never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ketadesk.core.clock import Clock
from ketadesk.core.config import defaults
from ketadesk.core.pipeline import Pipeline, Sink
from ketadesk.core.session import BufferConfig, Session
from ketadesk.sources.base import VitalsSource

if TYPE_CHECKING:
    from ketadesk.ui.alarm_ui import AlarmUi
    from ketadesk.ui.audio import AudioOutput
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
    audio: AudioOutput
    alarm_ui: AlarmUi

    def close(self) -> None:
        """Stop the timer, close the source and the window (a plot alive at exit can crash)."""
        self.controller.stop()
        self.audio.stop()
        self.source.close()
        self.window.close()
        self.window.deleteLater()


def build_dashboard(source: VitalsSource, clock: Clock, sink: Sink | None = None,
                    config: dict[str, Any] | None = None) -> Dashboard:
    from ketadesk.ui.alarm_ui import AlarmUi
    from ketadesk.ui.audio import AudioOutput
    from ketadesk.ui.live import LiveController
    from ketadesk.ui.main_window import MainWindow

    cfg = config or defaults()
    display, buffers = cfg["display"], cfg["buffers"]
    source.open(clock)
    session = Session(clock, source.info, BufferConfig(buffers["numeric_hours"],
                                                       buffers["waveform_hours"]))
    pipeline = Pipeline(source, session, sink)
    started = session.started_wall.astimezone().strftime("%Y-%m-%d %H:%M")
    window = MainWindow(source.info, session.buffers, sweep_s=display["sweep_s"],
                        trend_minutes=display["trend_minutes"], started_text=started)
    controller = LiveController(clock, pipeline, window.refresh, display["frame_hz"])
    audio = AudioOutput()
    alarm_ui = AlarmUi(window, session, audio)
    return Dashboard(clock, source, session, pipeline, window, controller, audio, alarm_ui)


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
