"""The New session flow (issue 9 wired into the dashboard): who, patient, screening, titration
and the infusion set-up; discharge at the end into patients.db; the course view.

Session > New session… (Ctrl+N) and the infusion panel's "New session…" button run, each step
opening the next when it is accepted:

  initials (only if nobody is at the chair yet) -> PatientsDialog (pick or create)
  -> ScreeningDialog (baseline BP from this session's NIBP; blocks as ketadesk.core.screening
  decides, overrides with a reason) -> TitrationDialog (the patient's previous session, the
  suggestion, the clinician's choice with a reason) -> SessionSetupDialog, prefilled with the
  patient (locked), the chosen dose (locked: it is changed at titration, with a reason) and the
  latest weight (editable; a changed weight goes into the weight history).

Each step's result is a session event ("patient", "screening", "titration"), so it is in the
recording; at discharge ("discharge" event) the course row goes into patients.db with the
screening, titration and discharge records and the recording's session id as session_ref.

Decisions: screening is per session (DOMAIN.md 8, issue 9). "Revise plan…" re-runs titration and
set-up for the patient screened in THIS session while the infusion has not started (a typo in the
concentration must not need a second screening minutes later); there is no way to a plan for a
new sitting without screening. New session is refused once a plan is confirmed (another patient
picked and then cancelled would leave this plan, its weight and dose, on the wrong patient); a
session holds one patient, and starting a fresh session in the same window is not built yet.
A cancelled step ends the flow; nothing after it is recorded.
A screening left with a real block (not just unanswered questions) is recorded as "blocked".
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ketadesk.core.discharge import DischargeRecord, load_discharge_settings, session_course_row
from ketadesk.core.dose import DosePlan
from ketadesk.core.infusion import Action, Phase
from ketadesk.core.screening import (
    ScreeningResult,
    Verdict,
    baseline_bp_from_series,
    load_screening_settings,
)
from ketadesk.core.session import Session
from ketadesk.core.titration import TitrationDecision, load_titration_settings
from ketadesk.store.catalog import data_dir
from ketadesk.store.patients import DB_NAME, Patient, PatientStore, PatientStoreError, WeightEntry
from ketadesk.store.session_recorder import SessionRecorder
from ketadesk.ui.dialogs.common import format_dose
from ketadesk.ui.dialogs.course_view import CourseDialog
from ketadesk.ui.dialogs.discharge import DischargeDialog
from ketadesk.ui.dialogs.initials import InitialsDialog
from ketadesk.ui.dialogs.patients import PatientsDialog
from ketadesk.ui.dialogs.screening import ScreeningDialog
from ketadesk.ui.dialogs.titration import TitrationDialog

if TYPE_CHECKING:
    from ketadesk.app import Dashboard

NEW_SESSION_KEY = "Ctrl+N"
REVISE_PLAN_KEY = "Ctrl+Shift+N"
DISCHARGE_KEY = "Ctrl+Shift+D"
COURSE_KEY = "Ctrl+Shift+C"
EVENT_PATIENT = "patient"
EVENT_COURSE = "course"
NOT_RECORDED = "(not recorded)"  # session_ref of a session run with --no-record
END_TEXT = "End session\u2026"
DISCHARGE_TEXT = "Discharge\u2026"


@dataclass(frozen=True)
class FlowContext:
    """What the flow has established for one session, step by step."""

    session: Session
    patient: Patient
    weight: WeightEntry | None  # the latest in the store when picked
    screening: ScreeningResult | None = None  # cleared (a blocked one ends the flow)
    titration: TitrationDecision | None = None
    discharge: DischargeRecord | None = None
    row_id: int | None = None  # the patients.db session row, once saved


class SessionFlow(QObject):
    """Runs the steps as chained non-blocking dialogs; `active_dialog` is the one open now."""

    def __init__(self, dash: Dashboard, directory: Path | None = None) -> None:
        super().__init__(dash.window)
        self.dash = dash
        self.directory = directory if directory is not None else data_dir()
        self._store: PatientStore | None = None
        self._context: FlowContext | None = None
        self.active_dialog: QDialog | None = None
        self.last_message = ""  # the last refusal shown (tests, debugging)
        self.new_action = self._action("&New session\u2026", NEW_SESSION_KEY, self.start)
        self.revise_action = self._action("&Revise plan\u2026", REVISE_PLAN_KEY,
                                          self.revise_plan)
        self.discharge_action = self._action("&Discharge\u2026", DISCHARGE_KEY, self.discharge)
        self.course_action = self._action("&Course\u2026", COURSE_KEY, self.open_course)

    # ---- wiring -------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.dash.session

    @property
    def window(self) -> QWidget:
        return self.dash.window

    @property
    def db_path(self) -> Path:
        return self.directory / DB_NAME

    @property
    def context(self) -> FlowContext | None:
        return self._context

    @context.setter
    def context(self, ctx: FlowContext | None) -> None:
        """A patient's session ends with discharge: the panel's end button says so and opens
        it; without a patient it stays the plain End session dialog."""
        self._context = ctx
        panel = self.dash.infusion_panel
        panel.end_handler = self.discharge if ctx is not None else None
        panel.buttons[Action.END].setText(DISCHARGE_TEXT if ctx is not None else END_TEXT)

    def _action(self, text: str, key: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.dash.window)
        action.setShortcut(QKeySequence(key))
        action.triggered.connect(lambda _checked=False: slot())
        self.dash.window.addAction(action)  # the shortcut works with the menu closed
        return action

    def store(self) -> PatientStore | None:
        """patients.db in the data directory, opened on first use (None, told, if it cannot)."""
        if self._store is None:
            try:
                self._store = PatientStore(self.db_path)
            except (PatientStoreError, OSError, sqlite3.Error) as exc:
                self.show_message(f"Cannot open the patient database {self.db_path}: {exc}")
                return None
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def current(self) -> FlowContext | None:
        """The context of the session on screen (None after a new session without the flow)."""
        ctx = self.context
        return ctx if ctx is not None and ctx.session is self.session else None

    def set_session(self, session: Session) -> None:
        """After a source change (before the infusion started): the patient, screening and
        dose choice carry over to the new session, and are recorded in its recording too."""
        ctx = self.context
        if ctx is None or ctx.discharge is not None:
            self.context = None
            return
        self.context = replace(ctx, session=session)
        now, who = session.clock.now(), session.clinician
        note = "carried over after a source change: "
        self._record_patient(note)
        if ctx.screening is not None:
            ev = ctx.screening.to_event(now, session.clock.wall_time().isoformat(), who)
            session.record(now, ev.kind, note + ev.detail, ev.who, ev.data)
        if ctx.titration is not None:
            ev = ctx.titration.to_event(now)
            session.record(now, ev.kind, note + ev.detail, ev.who, ev.data)

    def today(self) -> date:
        """The session's calendar day (local), from its clock: FakeClock tests pick the day."""
        return self.session.clock.wall_time().astimezone().date()

    # ---- showing ------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """A refusal or a problem, told to the person (a box that does not block)."""
        self.last_message = text
        box = QMessageBox(QMessageBox.Icon.Warning, "Session", text,
                          QMessageBox.StandardButton.Ok, self.window)
        self._open(box)

    def _open(self, dialog: QDialog) -> QDialog:
        self.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r, d=dialog: self._on_dialog_finished(d))
        dialog.open()
        return dialog

    def _on_dialog_finished(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:
            self.active_dialog = None

    # ---- the flow -----------------------------------------------------------------------------

    def _not_started(self, what: str) -> bool:
        """True if the infusion has not started; otherwise say why `what` is refused."""
        inf = self.session.infusion
        if inf is None or inf.phase is Phase.BASELINE:
            return True
        self.show_message(
            f"Not done: {what} is for a session whose infusion has not started; this one is "
            f"{inf.phase.value}. The next patient needs a new session: finish this one "
            f"(Discharge\u2026, {DISCHARGE_KEY}) and open KetaDesk again.")
        return False

    def start(self) -> QDialog | None:
        """Session > New session… (Ctrl+N): the first step (initials, or the patient)."""
        if not self._not_started("a new session"):
            return None
        if self.session.infusion is not None:
            # Another patient's pick, then a cancel, would leave this plan (its weight, its
            # dose) on the wrong patient.
            self.show_message(
                f"Not done: this session already has a plan for "
                f"{self.session.patient_id or 'a patient'}; change it with Revise plan\u2026 "
                f"({REVISE_PLAN_KEY}). For another patient, open KetaDesk again (this session's "
                "recording is kept).")
            return None
        if self.session.clinician:
            return self._pick_patient()
        dialog = InitialsDialog("A new session starts with who is at the chair.", self.window)
        dialog.accepted.connect(lambda d=dialog: self._on_initials(d.initials))
        return self._open(dialog)

    def _on_initials(self, initials: str) -> None:
        self.session.clinician = initials
        self._pick_patient()

    def _pick_patient(self) -> QDialog | None:
        store = self.store()
        if store is None:
            return None
        dialog = PatientsDialog(store, self.window, today=self.today())
        dialog.accepted.connect(lambda d=dialog: self._on_patient(d.chosen))
        return self._open(dialog)

    def _on_patient(self, patient: Patient | None) -> None:
        store = self.store()
        if patient is None or store is None:
            return
        self.session.patient_id = patient.patient_id
        self.context = FlowContext(self.session, patient, store.latest_weight(patient.patient_id))
        self._record_patient()
        self._screen()

    def _record_patient(self, note: str = "") -> None:
        ctx = self.current()
        if ctx is None:
            return
        p, w = ctx.patient, ctx.weight
        weight = f"{w.kg:g} kg on {w.on.isoformat()}" if w is not None else "no weight"
        self.session.record(
            self.session.clock.now(), EVENT_PATIENT,
            f"{note}Patient {p.patient_id} (born {p.year_of_birth}, {p.sex}, {weight})",
            self.session.clinician,
            {"patient_id": p.patient_id, "year_of_birth": p.year_of_birth, "sex": p.sex,
             "weight_kg": w.kg if w is not None else None,
             "weight_on": w.on.isoformat() if w is not None else None,
             "patients_db": str(self.db_path)})

    def _screen(self) -> QDialog:
        session = self.session
        bp = baseline_bp_from_series(session.buffers, 0.0, session.clock.now())
        dialog = ScreeningDialog(session.clinician, load_screening_settings(), bp, self.window)
        dialog.accepted.connect(lambda d=dialog: self._on_screened(d.screening))
        dialog.rejected.connect(lambda d=dialog: self._on_screening_left(d.screening))
        return self._open(dialog)

    def _record_screening(self, result: ScreeningResult, note: str = "") -> None:
        s = self.session
        ev = result.to_event(s.clock.now(), s.clock.wall_time().isoformat(), s.clinician)
        s.record(ev.t_s, ev.kind, ev.detail + note, ev.who, ev.data)

    def _on_screened(self, result: ScreeningResult) -> None:
        ctx = self.current()
        if ctx is None or not result.cleared:
            return
        self._record_screening(result)
        self.context = replace(ctx, screening=result, titration=None)
        self._titrate()

    def _on_screening_left(self, result: ScreeningResult) -> None:
        # A real finding that stopped the session is part of the record; a half-filled form
        # closed by mistake is not.
        stopped = any(f.verdict in (Verdict.BLOCK_ABSOLUTE, Verdict.BLOCK_OVERRIDABLE)
                      for f in result.blocking)
        if stopped:
            self._record_screening(result, "; the session was not set up")

    def revise_plan(self) -> QDialog | None:
        """Session > Revise plan…: titration and set-up again for the patient screened in this
        session, while the infusion has not started (no second screening minutes later)."""
        ctx = self.current()
        if ctx is None or ctx.screening is None:
            self.show_message(
                "Not done: a plan follows the patient's screening in this session; start with "
                f"New session\u2026 ({NEW_SESSION_KEY})")
            return None
        if not self._not_started("revising the plan"):
            return None
        return self._titrate()

    def _titrate(self) -> QDialog | None:
        ctx, store = self.current(), self.store()
        if ctx is None or store is None:
            return None
        previous = store.last_done(ctx.patient.patient_id)
        dialog = TitrationDialog(previous, self.session.clinician, load_titration_settings(),
                                 self.window, wall_now=self.session.clock.wall_time)
        dialog.accepted.connect(lambda d=dialog: self._on_titrated(d.decision))
        return self._open(dialog)

    def _on_titrated(self, decision: TitrationDecision | None) -> None:
        ctx = self.current()
        if ctx is None or decision is None:
            return
        ev = decision.to_event(self.session.clock.now())
        self.session.record(ev.t_s, ev.kind, ev.detail, ev.who, ev.data)
        self.context = replace(ctx, titration=decision)
        self._set_up()

    def _set_up(self) -> QDialog | None:
        ctx = self.current()
        if ctx is None or ctx.titration is None:
            return None
        dialog = self.dash.infusion_panel.open_setup_dialog()
        if dialog is None:  # refused; the panel said why
            return None
        self.active_dialog = dialog
        dialog.finished.connect(lambda _r, d=dialog: self._on_dialog_finished(d))
        dose = ctx.titration.chosen_mg_per_kg
        weight = ctx.weight
        revising = self.session.infusion is not None  # keep the weight typed in the plan
        context = (f"Patient {ctx.patient.patient_id} \u00b7 screening cleared \u00b7 dose "
                   f"{format_dose(dose)} mg/kg chosen by {ctx.titration.who} at titration "
                   "(to change it: Session > Revise plan\u2026)")
        if weight is not None and not revising:
            context += f"\nWeight {weight.kg:g} kg is from {weight.on.isoformat()}: re-weigh if " \
                       "in doubt; a new weight is added to the patient's history."
        dialog.prefill(weight_kg=None if revising or weight is None else weight.kg,
                       dose_mg_per_kg=dose, lock_patient=True, lock_dose=True, context=context)
        dialog.plan_confirmed.connect(self._on_plan)
        return dialog

    def _on_plan(self, plan: DosePlan) -> None:
        ctx, store = self.current(), self.store()
        if ctx is None or store is None:
            return
        kg = plan.numbers.weight_kg
        latest = store.latest_weight(ctx.patient.patient_id)
        if latest is not None and math.isclose(latest.kg, kg, abs_tol=0.05):
            return
        try:
            entry = store.add_weight(ctx.patient.patient_id, round(kg, 1), self.today())
        except PatientStoreError as exc:
            self.show_message(f"The plan is set, but the weight was not added to the patient's "
                              f"history: {exc}")
            return
        self.context = replace(ctx, weight=entry)

    # ---- the end ------------------------------------------------------------------------------

    def discharge(self) -> QDialog | None:
        """Session > Discharge… (Ctrl+Shift+D): the checklist; in recovery or after the end."""
        session, ctx = self.session, self.current()
        inf = session.infusion
        if inf is None or inf.phase not in (Phase.RECOVERY, Phase.ENDED):
            phase = "not set up" if inf is None else inf.phase.value
            self.show_message(f"Not done: discharge is assessed in recovery; the infusion is "
                              f"{phase}" + ("" if inf is None else " (Begin recovery first)"))
            return None
        if ctx is not None and ctx.discharge is not None:
            self.show_message(f"Not done: {ctx.patient.patient_id} was discharged at "
                              f"{ctx.discharge.wall_time[11:16]} by {ctx.discharge.who}")
            return None
        who = session.clinician or inf.plan.who
        escort = (ctx.screening.inputs.escort_present
                  if ctx is not None and ctx.screening is not None else None)
        dialog = DischargeDialog(session, who, load_discharge_settings(), escort, self.window)
        dialog.accepted.connect(lambda d=dialog: self._on_discharged(d))
        return self._open(dialog)

    def recording_ref(self) -> tuple[str, str]:
        """(session id, path) of this session's recording, or NOT_RECORDED and ""."""
        sink = self.dash.pipeline.sink
        if isinstance(sink, SessionRecorder):
            return sink.writer.meta.session_id, str(sink.path)
        return NOT_RECORDED, ""

    def _on_discharged(self, dialog: DischargeDialog) -> None:
        record = dialog.record
        ctx = self.current()
        self.dash.infusion_panel.redraw_now()
        if record is None:
            return
        if ctx is None:
            self.show_message("Discharge recorded in this session; it is not in a patient's "
                              f"course (no patient was picked: New session\u2026, "
                              f"{NEW_SESSION_KEY}, starts with one)")
            return
        self.context = ctx = replace(ctx, discharge=record)
        store = self.store()
        if store is None:
            return
        session = self.session
        ref, path = self.recording_ref()
        row = session_course_row(session, self.today(), session.clock.now(),
                                 adverse_events=dialog.adverse_events(), session_ref=ref)
        try:
            row_id = store.save_session(
                ctx.patient.patient_id, row,
                screening=ctx.screening.to_dict() if ctx.screening is not None else None,
                titration=ctx.titration.to_dict() if ctx.titration is not None else None,
                discharge={**record.to_dict(), "adverse_events": list(row.adverse_events),
                           "recording": path},
                today=self.today())
        except (PatientStoreError, sqlite3.Error) as exc:
            self.show_message(f"The discharge is in the recording, but the course row could not "
                              f"be saved to {self.db_path}: {exc}")
            return
        self.context = replace(ctx, row_id=row_id)
        session.record(session.clock.now(), EVENT_COURSE,
                       f"Session saved to the course of {ctx.patient.patient_id} "
                       f"(row {row_id} of {self.db_path.name})", record.who,
                       {"patient_id": ctx.patient.patient_id, "row_id": row_id,
                        "session_ref": ref, "patients_db": str(self.db_path)})

    def open_course(self) -> QDialog | None:
        """Session > Course… (Ctrl+Shift+C): the current patient's course, or pick one."""
        store = self.store()
        if store is None:
            return None
        pid = self.session.patient_id
        if pid and store.get_patient(pid) is not None:
            return self._course(pid)
        dialog = PatientsDialog(store, self.window, today=self.today())
        dialog.setWindowTitle("Course of which patient?")
        dialog.accepted.connect(
            lambda d=dialog: self._course(d.chosen.patient_id) if d.chosen else None)
        return self._open(dialog)

    def _course(self, patient_id: str) -> QDialog | None:
        store = self.store()
        if store is None:
            return None
        dialog = CourseDialog(store, patient_id, self.session.clinician, self.today(),
                              self.window)
        return self._open(dialog)


def install_session_flow(dash: Dashboard, directory: Path | None = None) -> SessionFlow:
    """Session menu: New session… (Ctrl+N) first, the panel's "New plan…" becomes "Revise
    plan…" through the flow, then Discharge… and Course…; the panel's button and end button
    go through the flow."""
    flow = SessionFlow(dash, directory)
    panel = dash.infusion_panel
    menu = dash.window.menus["Session"]
    old = panel.setup_action
    if old is not None:
        # The panel's own "New plan…" (Ctrl+N) skipped the patient and screening: replaced.
        menu.removeAction(old)
        old.setShortcut(QKeySequence())
    panel.setup_action = flow.revise_action
    # At the top of the Session menu, above the alarm commands.
    first = menu.actions()[0] if menu.actions() else None
    for action in (flow.new_action, flow.revise_action, flow.discharge_action,
                   flow.course_action):
        if first is None:
            menu.addAction(action)
        else:
            menu.insertAction(first, action)
    if first is not None:
        menu.insertSeparator(first)
    panel.setup_button.clicked.disconnect()
    panel.setup_button.clicked.connect(lambda _checked=False: flow.start())
    dash.session_changed.append(flow.set_session)
    return flow
