"""The instructor panel: a separate window that drives a simulated session (issue 7).

Shows what the trainee cannot see (the hidden truth: concentrations, predicted dissociation,
true pressures, symptoms) and lets the instructor start events now, set the simulation speed,
pause it, choose the scenario and patient for a restart, and read and export the debrief log.
It is a top-level window owned by the main window, redrawn by the one live timer through
refresh(snapshot) like any panel; the logic it calls lives in the core and the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.clock import ScaledClock
from ketadesk.core.debrief import DebriefEntry, debrief_entries, session_time, to_csv, to_text
from ketadesk.core.session import Session, SessionSnapshot
from ketadesk.sources.simulator.patient import NAMED_PROFILES
from ketadesk.sources.simulator.scenario import ScenarioError, load_named_scenario, scenario_names
from ketadesk.sources.simulator.script_player import ScriptPlayer
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.sources.simulator.triggers import InstructorEvent, instructor_events
from ketadesk.ui import theme

if TYPE_CHECKING:
    from ketadesk.app import Dashboard

SPEEDS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
INSTRUCTOR_WHO = "INSTR"
SCENARIO_PATIENT = "(the scenario's patient)"


class SimControl(Protocol):
    """What the panel needs of the clock: ScaledClock has it; tests pass a small fake."""

    @property
    def speed(self) -> float: ...

    @property
    def paused(self) -> bool: ...

    def set_speed(self, speed: float) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


Restart = Callable[[str, str], None]  # (scenario name, profile name or "") -> new session
ChoosePath = Callable[[QWidget, str], str]  # (parent, suggested name) -> path, "" = cancelled


def _ask_path(parent: QWidget, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Export debrief log", suggested,
                                          "CSV (*.csv);;Text (*.txt)")
    return str(path)


class InstructorPanel(QWidget):
    def __init__(self, source: SimulatorSource, session: Session, control: SimControl | None,
                 *, parent: QWidget | None = None, restart: Restart | None = None,
                 choose_path: ChoosePath = _ask_path) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.source = source
        self.session = session
        self.control = control
        self.restart = restart
        self.choose_path = choose_path
        self.extra_log: list[DebriefEntry] = []  # instructor actions, shown with the trainee's
        self.player: ScriptPlayer | None = None
        self._events_seen = -1
        self.setWindowTitle("KetaDesk \u2014 Instructor (SIMULATION)")
        self.resize(820, 940)
        # The chosen speed must be visible at a glance (the theme draws no checked state).
        self.setStyleSheet(f"QPushButton:checked {{ background: {theme.SIM_BANNER}; }}")

        title = QLabel("INSTRUCTOR \u2014 not shown to the trainee")
        title.setStyleSheet(f"background: {theme.SIM_BANNER}; font-weight: bold; padding: 4px;")
        root = QVBoxLayout(self)
        root.addWidget(title)
        root.addWidget(self._scenario_box())
        middle = QHBoxLayout()
        middle.addWidget(self._events_box(), 3)
        middle.addWidget(self._truth_box(), 2)
        root.addLayout(middle)
        root.addWidget(self._speed_box())
        root.addWidget(self._debrief_box(), 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        root.addWidget(self.message)
        self._sync_speed_buttons()

    # ---- building ---------------------------------------------------------------------------

    def _scenario_box(self) -> QGroupBox:
        box = QGroupBox("Scenario and patient (for a new session)")
        form = QFormLayout(box)
        self.scenario_combo = QComboBox()
        for name in scenario_names():
            self.scenario_combo.addItem(name, name)
        self.scenario_combo.setCurrentIndex(self.scenario_combo.findData(self.source.scenario.name))
        self.profile_combo = QComboBox()
        self.profile_combo.addItem(SCENARIO_PATIENT, "")
        for name in NAMED_PROFILES:
            self.profile_combo.addItem(name, name)
        self.description = QPlainTextEdit()
        self.description.setReadOnly(True)
        self.description.setMaximumHeight(96)
        self.description.setStyleSheet(f"color: {theme.MUTED};")
        self.restart_button = QPushButton("Restart simulation with these")
        self.restart_button.setEnabled(self.restart is not None)
        self.restart_button.setToolTip(
            "The patient of a running session cannot change: this ends the session (its "
            "recording is kept) and starts a new one; refused once the infusion has started.")
        self.restart_button.clicked.connect(self._on_restart_clicked)
        self.scenario_combo.currentIndexChanged.connect(self._on_scenario_changed)
        self.demo_check = QCheckBox("Demo mode: play the scenario's scripted clinician actions")
        self.demo_check.toggled.connect(self._on_demo_toggled)
        form.addRow("Scenario", self.scenario_combo)
        form.addRow("Patient", self.profile_combo)
        form.addRow(self.description)
        row = QHBoxLayout()
        row.addWidget(self.restart_button)
        row.addWidget(QLabel(f"Running now: {self.source.scenario.name}, "
                             f"{self.source.profile.name}, seed {self.source.seed}"), 1)
        form.addRow(row)
        form.addRow(self.demo_check)
        self._on_scenario_changed()
        return box

    def _events_box(self) -> QGroupBox:
        box = QGroupBox("Trigger an event now")
        lay = QVBoxLayout(box)
        self.event_list = QListWidget()
        self.event_list.setWordWrap(True)
        self.event_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for ev in instructor_events(self.source.scenario):
            item = QListWidgetItem(ev.label)
            item.setData(Qt.ItemDataRole.UserRole, ev)
            self.event_list.addItem(item)
        self.event_list.setCurrentRow(0)
        self.event_list.itemDoubleClicked.connect(lambda _item: self.trigger_selected())
        self.trigger_button = QPushButton("Trigger now")
        self.trigger_button.clicked.connect(self.trigger_selected)
        lay.addWidget(self.event_list)
        lay.addWidget(self.trigger_button)
        return box

    def _truth_box(self) -> QGroupBox:
        box = QGroupBox("Hidden truth")
        form = QFormLayout(box)
        self.truth: dict[str, QLabel] = {}
        for key, label in (("plasma", "Plasma"), ("effect", "Effect site"),
                           ("cadss", "Predicted CADSS"), ("bp", "True BP"), ("hr", "True HR"),
                           ("spo2", "True SpO\u2082 / RR"), ("symptoms", "Symptoms"),
                           ("flags", "Sensors")):
            self.truth[key] = QLabel("\u2013")
            form.addRow(label, self.truth[key])
        return box

    def _speed_box(self) -> QGroupBox:
        box = QGroupBox("Simulation clock")
        lay = QHBoxLayout(box)
        self.speed_group = QButtonGroup(self)
        self.speed_buttons: dict[float, QPushButton] = {}
        for speed in SPEEDS:
            b = QPushButton(f"{speed:g}x")
            b.setCheckable(True)
            b.setEnabled(self.control is not None)
            b.clicked.connect(lambda _checked=False, s=speed: self.set_speed(s))
            self.speed_group.addButton(b)
            self.speed_buttons[speed] = b
            lay.addWidget(b)
        self.pause_button = QPushButton("Pause simulation")
        self.pause_button.setEnabled(self.control is not None)
        self.pause_button.clicked.connect(self.toggle_pause)
        lay.addStretch(1)
        lay.addWidget(self.pause_button)
        return box

    def _debrief_box(self) -> QGroupBox:
        box = QGroupBox("Debrief log (trainee actions with session time)")
        lay = QVBoxLayout(box)
        self.debrief_view = QPlainTextEdit()
        self.debrief_view.setReadOnly(True)
        self.debrief_view.setStyleSheet("font-family: monospace;")
        self.debrief_view.setMinimumHeight(200)
        self.export_button = QPushButton("Export debrief\u2026")
        self.export_button.clicked.connect(self._on_export_clicked)
        lay.addWidget(self.debrief_view)
        lay.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignRight)
        return box

    # ---- commands -----------------------------------------------------------------------------

    def selected_event(self) -> InstructorEvent | None:
        item = self.event_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)  # type: ignore[no-any-return]

    def select_event(self, name: str) -> None:
        for row in range(self.event_list.count()):
            ev = self.event_list.item(row).data(Qt.ItemDataRole.UserRole)
            if ev.name == name:
                self.event_list.setCurrentRow(row)
                return
        raise KeyError(f"no instructor event {name!r}")

    def trigger_selected(self) -> None:
        ev = self.selected_event()
        if ev is None:
            self.message.setText("Choose an event in the list first.")
            return
        at_s = self.source.trigger_now(ev.events)
        self.extra_log.append(DebriefEntry(at_s, INSTRUCTOR_WHO, "instructor",
                                           f"triggered: {ev.label}"))
        self.message.setText(f"{ev.label} started at {session_time(at_s)}.")
        self._events_seen = -1  # redraw the log

    def set_speed(self, speed: float) -> None:
        if self.control is None:
            return
        self.control.set_speed(speed)
        self.extra_log.append(DebriefEntry(self.session.clock.now(), INSTRUCTOR_WHO,
                                           "instructor", f"speed {speed:g}x"))
        self._events_seen = -1
        self._sync_speed_buttons()

    def toggle_pause(self) -> None:
        if self.control is None:
            return
        if self.control.paused:
            self.control.resume()
        else:
            self.control.pause()
        word = "paused" if self.control.paused else "resumed"
        self.extra_log.append(DebriefEntry(self.session.clock.now(), INSTRUCTOR_WHO,
                                           "instructor", f"simulation {word}"))
        self._events_seen = -1
        self._sync_speed_buttons()

    def _sync_speed_buttons(self) -> None:
        if self.control is None:
            return
        for speed, b in self.speed_buttons.items():
            b.setChecked(speed == self.control.speed)
        self.pause_button.setText("Resume simulation" if self.control.paused
                                  else "Pause simulation")

    def _on_scenario_changed(self) -> None:
        name = self.scenario_combo.currentData()
        try:
            sc = load_named_scenario(name)
        except ScenarioError as exc:
            self.description.setPlainText(str(exc))
            return
        objectives = "".join(f"\n \u2022 {o}" for o in sc.learning_objectives)
        self.description.setPlainText(
            f"{sc.title}. {' '.join(sc.description.split())}{objectives}")

    def _on_restart_clicked(self) -> None:
        if self.restart is None:
            return
        try:
            self.restart(self.scenario_combo.currentData(), self.profile_combo.currentData())
        except Exception as exc:  # a refusal (infusion started) or a bad choice: say why
            self.message.setText(f"Not restarted: {exc}")

    def _on_demo_toggled(self, on: bool) -> None:
        # Only actions not yet due are played: switching on late does not replay the past.
        if on:
            player = ScriptPlayer(self.source.scenario.actions, self.session,
                                  origin_s=self.source.t0_s)
            player.skip_past(self.session.clock.now())
            self.player = player
        else:
            self.player = None

    def export_debrief(self, path: Path) -> Path:
        """Write the debrief log: CSV for a .csv name, plain text otherwise."""
        entries = self.entries()
        if path.suffix.lower() == ".csv":
            path.write_text(to_csv(entries), encoding="utf-8")
        else:
            title = (f"KetaDesk debrief (SIMULATION): scenario {self.source.scenario.name}, "
                     f"seed {self.source.seed}")
            path.write_text(to_text(entries, title), encoding="utf-8")
        return path

    def _on_export_clicked(self) -> None:
        chosen = self.choose_path(self, f"debrief-{self.source.scenario.name}.csv")
        if not chosen:
            return
        try:
            written = self.export_debrief(Path(chosen))
        except OSError as exc:
            self.message.setText(f"Could not write {chosen}: {exc.strerror or exc}")
            return
        self.message.setText(f"Debrief log written to {written}")

    # ---- redraw -------------------------------------------------------------------------------

    def entries(self) -> list[DebriefEntry]:
        return debrief_entries(self.session.events, self.extra_log)

    def refresh(self, snap: SessionSnapshot) -> None:
        if self.player is not None:
            self.player.step(snap.now_s)
        st = self.source.truth
        if st is not None and self.isVisible():
            self.truth["plasma"].setText(f"{st.plasma_ng_per_ml:.0f} ng/mL")
            self.truth["effect"].setText(f"{st.effect_ng_per_ml:.0f} ng/mL")
            self.truth["cadss"].setText(f"{st.predicted_cadss:.0f} / 92")
            self.truth["bp"].setText(f"{st.sbp:.0f}/{st.dbp:.0f} ({st.map:.0f}) mmHg")
            self.truth["hr"].setText(f"{st.hr:.0f} bpm")
            self.truth["spo2"].setText(f"{st.spo2:.0f} % / {st.rr:.0f} per min")
            self.truth["symptoms"].setText(", ".join(sorted(st.symptoms)) or "none")
            flags = [f"{c} probe off" for c in sorted(st.probe_off)]
            flags += ["leads off"] * st.leads_off + ["link stalled"] * st.source_stalled
            self.truth["flags"].setText(", ".join(flags) or "all on")
        if len(self.session.events) != self._events_seen:
            self._events_seen = len(self.session.events)
            self.debrief_view.setPlainText(to_text(self.entries()))
            self.debrief_view.verticalScrollBar().setValue(
                self.debrief_view.verticalScrollBar().maximum())


class InstructorOpener:
    """View > Instructor... (Ctrl+I): builds the panel on first use, then shows it again.

    Follows the dashboard through source changes: the panel belongs to one session, so a new
    session (Restart simulation, File > Change source) gets a new panel and debrief log, and
    the menu item is enabled only while the source is the simulator.
    """

    def __init__(self, dash: Dashboard) -> None:
        self.dash = dash
        self.control: SimControl | None = None  # None: the dashboard's clock if it can
        self.restart: Restart = self.restart_simulation
        self.panel: InstructorPanel | None = None
        self.action = QAction("Instructor\u2026", dash.window)
        self.action.setShortcut(QKeySequence("Ctrl+I"))
        self.action.triggered.connect(self.open)
        self._sync_action()

    def _sync_action(self) -> None:
        self.action.setEnabled(isinstance(self.dash.source, SimulatorSource))

    def open(self) -> InstructorPanel | None:
        source = self.dash.source
        if not isinstance(source, SimulatorSource):
            return None
        if self.panel is None:
            clock = self.dash.clock
            control = self.control or (clock if isinstance(clock, ScaledClock) else None)
            self.panel = InstructorPanel(source, self.dash.session, control,
                                         parent=self.dash.window, restart=self.restart)
            self.dash.window.panels.append(self.panel)  # redrawn by the one live timer
        self.panel.show()
        self.panel.raise_()
        return self.panel

    def on_session_changed(self, _session: Session) -> None:
        was_open = self.panel is not None and self.panel.isVisible()
        if self.panel is not None:
            self.dash.window.panels.remove(self.panel)
            self.panel.close()
            self.panel.deleteLater()
            self.panel = None
        self._sync_action()
        if was_open:
            self.open()

    def restart_simulation(self, scenario: str, profile: str) -> None:
        """A new session on a new simulated patient (refused once the infusion has started)."""
        old = self.dash.source
        pk = old.pk_model if isinstance(old, SimulatorSource) else ""
        opts = {"scenario": scenario, "profile": profile, **({"pk_model": pk} if pk else {})}
        self.dash.switch_source(SimulatorSource(**opts))


def install_instructor(dash: Dashboard) -> InstructorOpener:
    """Add View > Instructor... to the dashboard and keep it bound to the current session."""
    opener = InstructorOpener(dash)
    dash.window.menus["View"].addAction(opener.action)
    dash.session_changed.append(opener.on_session_changed)
    dash.instructor = opener
    return opener
