"""Composition root: builds the objects for the dashboard and wires them together.

`main()` is the console script; it hands the command line to ketadesk.cli. Qt is imported
only inside the functions that need a screen, so headless commands never load it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketadesk.core.clock import Clock, FakeClock, MonotonicClock, ScaledClock
from ketadesk.core.config import defaults
from ketadesk.core.pipeline import Pipeline, Sink
from ketadesk.core.session import BufferConfig, Session
from ketadesk.sources.base import Provenance, VitalsSource

if TYPE_CHECKING:
    from ketadesk.ui.alarm_ui import AlarmUi
    from ketadesk.ui.audio import AudioOutput
    from ketadesk.ui.instructor import InstructorOpener
    from ketadesk.ui.live import LiveController
    from ketadesk.ui.main_window import MainWindow
    from ketadesk.ui.session_flow import SessionFlow
    from ketadesk.ui.widgets.infusion_panel import InfusionPanel


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
    audio: AudioOutput  # the one sound output: infusion chime, alarm tones
    infusion_panel: InfusionPanel
    alarm_ui: AlarmUi
    config: dict[str, Any] = field(default_factory=defaults)
    # Called with the new session after a source switch: panels holding the session re-bind.
    session_changed: list[Callable[[Session], None]] = field(default_factory=list)
    # Makes the recorder of each new session (None: nothing recorded, as in most tests).
    sink_factory: Callable[[Session], Sink] | None = None
    instructor: InstructorOpener | None = None  # View > Instructor... (simulator sources)
    # Recordings and patients.db (None: catalog.data_dir(), i.e. $KETADESK_DATA_DIR or the
    # platform's user data directory).
    data_dir: Path | None = None
    session_flow: SessionFlow | None = None  # New session, discharge, course (issue 9)

    def close(self) -> None:
        """Stop the timer, flush the recording, close the source and the window.

        In that order: the recording first (DESIGN.md: a plot alive at interpreter exit can
        crash the process, and nothing recorded may be lost to that).
        """
        self.controller.stop()
        # Events given since the last tick (a discharge just confirmed) reach the recording.
        self.pipeline.step(self.clock.now())
        self._close_recording()
        if self.session_flow is not None:
            self.session_flow.close()
        self.audio.stop()
        self.source.close()
        self.window.close()
        self.window.deleteLater()

    def _close_recording(self) -> None:
        sink_close = getattr(self.pipeline.sink, "close", None)
        if callable(sink_close):
            sink_close(self.clock.now())

    def switch_source(self, source: VitalsSource, *, clock: Clock | None = None) -> None:
        """End this session and start a new one on `source` (File > Change source...).

        Raises SourceChangeRefused once the infusion has started, and SourceError (or what a
        plugin raises) when the new source cannot open: the running session then goes on.
        """
        self.session.check_source_change()
        clock = clock or fresh_clock(self.clock, source)
        try:
            source.open(clock)
        except BaseException:
            source.close()
            raise
        old = self.session
        old.record(self.clock.now(), "source", f"source changed to {source.info.name} "
                   f"({source.info.provenance.value}); this session ends", who=old.clinician)
        self.pipeline.step(self.clock.now())  # the recorder gets the event
        self._close_recording()
        self.source.close()
        session = make_session(source, clock, self.config)
        session.clinician, session.patient_id = old.clinician, old.patient_id
        session.record(clock.now(), "source", f"session started on {source.info.description} "
                       f"after a source change from {old.source.name}", who=old.clinician)
        self.clock, self.source, self.session = clock, source, session
        sink = self.sink_factory(session) if self.sink_factory is not None else None
        self.pipeline = Pipeline(source, session, sink)
        self.controller.clock, self.controller.pipeline = clock, self.pipeline
        self.window.set_source(source.info, session.buffers, started_text(session))
        for callback in self.session_changed:
            callback(session)
        self.controller.step()


def make_session(source: VitalsSource, clock: Clock, cfg: dict[str, Any]) -> Session:
    buffers = cfg["buffers"]
    return Session(clock, source.info, BufferConfig(buffers["numeric_hours"],
                                                    buffers["waveform_hours"]))


def started_text(session: Session) -> str:
    return session.started_wall.astimezone().strftime("%Y-%m-%d %H:%M")


def fresh_clock(old: Clock, source: VitalsSource) -> Clock:
    """A new session's clock: it starts at 0 like every session; a live device runs at 1x."""
    if isinstance(old, FakeClock):  # tests and screenshots stay deterministic
        return FakeClock(wall_start=old.wall_time())
    live = source.info.provenance is Provenance.LIVE
    speed = old.speed if isinstance(old, ScaledClock) and not live else 1.0
    return ScaledClock(MonotonicClock(), speed)


def build_dashboard(source: VitalsSource, clock: Clock,
                    sink: Callable[[Session], Sink] | None = None,
                    config: dict[str, Any] | None = None,
                    data_dir: Path | None = None) -> Dashboard:
    """Open the source on the clock and build session, pipeline, window and the live timer.

    `sink` makes the recorder for the new session (None: nothing is recorded, as in tests);
    `data_dir` is where patients.db lives (the recorder's directory; None: the default one).
    """
    from ketadesk.ui.alarm_ui import AlarmUi
    from ketadesk.ui.audio import AudioOutput
    from ketadesk.ui.instructor import install_instructor
    from ketadesk.ui.live import LiveController
    from ketadesk.ui.main_window import MainWindow
    from ketadesk.ui.session_flow import install_session_flow
    from ketadesk.ui.source_ui import install_source_ui
    from ketadesk.ui.widgets.assessments_panel import install_assessments
    from ketadesk.ui.widgets.infusion_panel import install_infusion_panel

    cfg = config or defaults()
    display = cfg["display"]
    source.open(clock)
    session = make_session(source, clock, cfg)
    pipeline = Pipeline(source, session, sink(session) if sink is not None else None)
    window = MainWindow(source.info, session.buffers, sweep_s=display["sweep_s"],
                        trend_minutes=display["trend_minutes"], started_text=started_text(session))
    audio = AudioOutput()
    infusion_panel = install_infusion_panel(window, session, audio)
    scales_panel, scale_strip = install_assessments(window, session)
    controller = LiveController(clock, pipeline, window.refresh, display["frame_hz"])
    alarm_ui = AlarmUi(window, session, audio)
    dash = Dashboard(clock, source, session, pipeline, window, controller, audio, infusion_panel,
                     alarm_ui, cfg, sink_factory=sink, data_dir=data_dir)
    for panel in (infusion_panel, scales_panel, scale_strip, alarm_ui):
        dash.session_changed.append(panel.set_session)
    install_source_ui(dash)
    install_instructor(dash)
    dash.session_flow = install_session_flow(dash, data_dir)
    return dash


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
