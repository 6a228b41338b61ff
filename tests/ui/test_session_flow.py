"""The New session flow in the running dashboard (issue 9): Ctrl+N -> initials -> patient ->
screening -> titration -> set-up -> infusion on a FakeClock -> recovery -> discharge -> course.

A scripted numerics source keeps a 110-minute session to a few hundred pipeline steps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from course_sim import cadss_answers
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.assessments import EntryStatus, timepoint_id
from ketadesk.core.clock import Clock, FakeClock
from ketadesk.core.infusion import Action, Phase
from ketadesk.core.screening import BP_HIGH
from ketadesk.core.titration import Suggestion
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceInfo,
)
from ketadesk.store.patients import DB_NAME, PatientStore
from ketadesk.store.reader import open_recording
from ketadesk.store.session_recorder import SessionRecorder
from ketadesk.ui.dialogs.course_view import CourseDialog
from ketadesk.ui.dialogs.discharge import DischargeDialog
from ketadesk.ui.dialogs.infusion_actions import StartDialog
from ketadesk.ui.dialogs.initials import InitialsDialog
from ketadesk.ui.dialogs.patients import PatientsDialog
from ketadesk.ui.dialogs.screening import ScreeningDialog
from ketadesk.ui.dialogs.session_setup import SessionSetupDialog
from ketadesk.ui.dialogs.titration import TitrationDialog
from ketadesk.ui.session_flow import DISCHARGE_TEXT, END_TEXT, SessionFlow

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOSE_START_S = 600.0
NIBP_EVERY_S = 300.0


class Vitals:
    """HR, SpO2 and RR at every read, NIBP every 5 min; BP rises linearly from the dose start
    (set by the test) to baseline + rise at +40 min, then holds."""

    options = ()

    def __init__(self, sys_mmhg: float = 124.0, dia_mmhg: float = 78.0,
                 rise_mmhg: float = 16.0) -> None:
        self.info = SourceInfo("vitals", "scripted vitals",
                               ("hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_mean"),
                               Provenance.SIMULATED)
        self.connection = ConnectionState.CONNECTED
        self.sys, self.dia, self.rise = sys_mmhg, dia_mmhg, rise_mmhg
        self.start_s: float | None = None
        self._clock: Clock | None = None
        self._nibp_n = 0

    def open(self, clock: Clock) -> None:
        self._clock = clock

    def close(self) -> None: ...

    def read(self) -> SampleBatch:
        assert self._clock is not None
        t = self._clock.now()
        nums = [NumericSample("hr", t, 74.0), NumericSample("spo2", t, 98.0),
                NumericSample("rr", t, 14.0)]
        if t >= (self._nibp_n + 1) * NIBP_EVERY_S:
            self._nibp_n = int(t // NIBP_EVERY_S)
            frac = 0.0 if self.start_s is None else min(1.0, max(0.0, (t - self.start_s) / 2400))
            s, d = self.sys + self.rise * frac, self.dia + 0.7 * self.rise * frac
            nums += [NumericSample("nibp_sys", t, s), NumericSample("nibp_dia", t, d),
                     NumericSample("nibp_mean", t, (s + 2 * d) / 3)]
        return SampleBatch(numerics=tuple(nums))


class Dashes:
    """Dashboards on FakeClocks recording into one data directory; closed at the end."""

    def __init__(self, qtbot: object, directory: Path) -> None:
        self.qtbot, self.directory = qtbot, directory
        self.open: list[Dashboard] = []

    def make(self, source: Vitals, wall: datetime = DAY1) -> Dashboard:
        directory = self.directory
        d = build_dashboard(source, FakeClock(wall_start=wall),
                            lambda s: SessionRecorder.start(s, directory=directory),
                            data_dir=directory)
        self.qtbot.addWidget(d.window)  # type: ignore[attr-defined]
        d.window.show()
        self.open.append(d)
        return d

    def close(self, d: Dashboard) -> None:
        self.open.remove(d)
        d.close()


@pytest.fixture
def dashes(qtbot: object, tmp_path: Path) -> Iterator[Dashes]:
    made = Dashes(qtbot, tmp_path / "clinic")
    yield made
    for d in list(made.open):
        made.close(d)


def _run_to(d: Dashboard, t_s: float) -> None:
    clock = d.clock
    assert isinstance(clock, FakeClock)
    while clock.now() < t_s:
        clock.advance(min(5.0, t_s - clock.now()))
        d.pipeline.step(clock.now())
    d.controller.step()


def _flow(d: Dashboard) -> SessionFlow:
    assert d.session_flow is not None
    return d.session_flow


def _answer_screening(dlg: ScreeningDialog) -> None:
    dlg.psychosis.set_value(False)
    dlg.substance.set_value(False)
    dlg.escort.set_value(True)
    dlg.fasting.setValue(6.0)


def _new_session_to_titration(d: Dashboard, patient: str, create: bool) -> TitrationDialog:
    flow = _flow(d)
    d.infusion_panel.setup_button.click()  # the panel's "New session…" runs the same flow
    if not d.session.clinician:
        ini = flow.active_dialog
        assert isinstance(ini, InitialsDialog) and ini.isVisible()
        ini.edit.setText("ab")
        ini.accept()
    pick = flow.active_dialog
    assert isinstance(pick, PatientsDialog) and pick.isVisible()
    if create:
        pick.new_id.setText(patient)
        pick.new_year.setValue(1984)
        pick.new_sex.setCurrentText("F")
        pick.new_weight.setValue(68.0)
        pick.create_button.click()
    else:
        pick.search.setText(patient.lower())
        assert pick.list.count() == 1
        pick.use_button.click()
    assert d.session.patient_id == patient and d.session.clinician == "AB"
    screen = flow.active_dialog
    assert isinstance(screen, ScreeningDialog) and screen.isVisible()
    assert screen.bp_source_label.text() == "(session NIBP)"
    _answer_screening(screen)
    assert screen.go_button.isEnabled()
    screen.go_button.click()
    tit = flow.active_dialog
    assert isinstance(tit, TitrationDialog) and tit.isVisible()
    return tit


def _confirm_setup(d: Dashboard, dose: float) -> SessionSetupDialog:
    setup = _flow(d).active_dialog
    assert isinstance(setup, SessionSetupDialog) and setup.isVisible()
    assert setup.patient_id.isReadOnly() and setup.weight.text() == "68"
    assert setup.dose_presets[dose].isChecked() and not setup.dose_presets[dose].isEnabled()
    assert setup.context.isVisibleTo(setup) and "chosen by AB at titration" in setup.context.text()
    setup.concentration.setText("1")
    assert setup.confirm_button.isEnabled()
    setup.confirm_button.click()
    inf = d.session.infusion
    assert inf is not None and inf.plan.numbers.dose_mg_per_kg == dose
    assert inf.plan.dose_mg == pytest.approx(68.0 * dose)
    return setup


def _infuse_and_recover(d: Dashboard, source: Vitals, cadss: int) -> None:
    panel = d.infusion_panel
    _run_to(d, DOSE_START_S)
    panel.buttons[Action.START].click()
    start = panel.active_dialog
    assert isinstance(start, StartDialog)
    start.ok_button.click()
    source.start_s = DOSE_START_S
    _run_to(d, DOSE_START_S + 2400 + 30)
    d.session.assessments.record("cadss", cadss_answers(cadss), EntryStatus.COMPLETE, who="AB",
                                 timepoint_id=timepoint_id("cadss", 40))
    panel.buttons[Action.BEGIN_RECOVERY].click()
    assert d.session.infusion is not None and d.session.infusion.phase is Phase.RECOVERY
    _run_to(d, DOSE_START_S + 2400 + 30 + 61 * 60)


def _discharge(d: Dashboard, adverse: str = "") -> DischargeDialog:
    panel = d.infusion_panel
    end = panel.buttons[Action.END]
    assert end.isVisible() and end.isEnabled() and end.text() == DISCHARGE_TEXT
    end.click()
    dis = _flow(d).active_dialog
    assert isinstance(dis, DischargeDialog) and dis.isVisible()
    dis.mental.set_value(True)
    dis.escort.set_value(True)
    if adverse:
        dis.adverse_boxes[adverse].setChecked(True)
    assert all(dis.items.item(i).text().startswith("[MET]") for i in range(dis.items.count()))
    dis.record_button.click()
    assert dis.record is not None
    assert d.session.infusion is not None and d.session.infusion.phase is Phase.ENDED
    return dis


def test_new_patient_through_a_whole_session_into_the_course(dashes: Dashes,
                                                              tmp_path: Path) -> None:
    source = Vitals()
    d = dashes.make(source)
    flow = _flow(d)
    _run_to(d, 300.0)  # one NIBP for the screening's baseline
    # Nothing opens by itself: the panel invites, Ctrl+N (or its button) starts.
    assert flow.active_dialog is None and d.infusion_panel.active_dialog is None
    assert d.infusion_panel.prompt.isVisible() and "Ctrl+N" in d.infusion_panel.prompt.text()
    session_menu = d.window.menus["Session"].actions()
    assert session_menu[0] is flow.new_action
    assert flow.new_action.shortcut() == QKeySequence("Ctrl+N")
    assert flow.course_action.shortcut() == QKeySequence("Ctrl+Shift+C")
    ctrl_n = [a for a in d.window.findChildren(QAction) if a.shortcut() == QKeySequence("Ctrl+N")]
    assert ctrl_n == [flow.new_action]  # the panel's old "New plan…" lost Ctrl+N
    assert d.infusion_panel.buttons[Action.END].text() == END_TEXT

    tit = _new_session_to_titration(d, "KD-0001", create=True)
    assert tit.suggestion.suggestion is Suggestion.START and tit.chosen() == 0.5
    assert "No previous session" in tit.previous_label.text()
    tit.ok_button.click()
    _confirm_setup(d, 0.5)
    d.controller.step()  # the infusion's "plan" event reaches the session at its next tick
    kinds = [e.kind for e in d.session.events]
    assert [k for k in kinds if k in ("patient", "screening", "titration", "session", "plan")] \
        == ["patient", "screening", "titration", "session", "plan"]
    assert d.infusion_panel.buttons[Action.END].text() == DISCHARGE_TEXT

    _infuse_and_recover(d, source, cadss=8)
    dis = _discharge(d, adverse="agitation")
    ev = d.session.events[-1]
    assert ev.kind == "course" and ev.data["row_id"] == 1
    discharge = next(e for e in d.session.events if e.kind == "discharge")
    assert discharge.data["adverse_events"] == ["agitation"]
    assert discharge.data["bp_before_dose"]["sys_mmhg"] == 124.0
    assert discharge.data["bp_at_40_min"]["sys_mmhg"] == pytest.approx(140.0)
    assert discharge.data["minutes_monitored"] == pytest.approx((d.clock.now() - 5) / 60, abs=0.1)
    assert dis.record is not None and dis.record.checklist.all_met

    # patients.db is in the data directory the dashboard was given, not the default one
    data = tmp_path / "clinic"
    assert flow.db_path == data / DB_NAME and (data / DB_NAME).is_file()
    assert not (Path(os.environ["KETADESK_DATA_DIR"]) / DB_NAME).exists()  # the default dir
    recording = d.pipeline.sink.path  # type: ignore[union-attr]
    store = PatientStore(data / DB_NAME)
    rows = store.session_rows("KD-0001")
    assert len(rows) == 1
    row = rows[0]
    assert row.session.session_ref == d.pipeline.sink.writer.meta.session_id  # type: ignore
    assert row.session.on == DAY1.date() and row.session.dose_mg_per_kg == 0.5
    assert row.session.peak_sys_mmhg == pytest.approx(140.0)
    assert row.session.peak_cadss == 8 and row.session.adverse_events == ("agitation",)
    assert row.screening is not None and row.screening["cleared"]
    assert row.titration is not None and row.titration["suggestion"] == "start"
    assert row.discharge is not None and row.discharge["recording"] == str(recording)
    store.close()

    # Discharge once only; the course shows the session
    assert flow.discharge() is None and "was discharged" in flow.last_message
    flow.course_action.trigger()
    course = flow.active_dialog
    assert isinstance(course, CourseDialog) and course.view.sessions.rowCount() == 1
    assert "1 of 6 sessions done" in course.view.progress.text()
    course.reject()

    dashes.close(d)
    with open_recording(recording) as rec:
        by_kind = {e.kind: e for e in rec.events()}
        assert rec.meta.patient_id == "KD-0001"
    for kind in ("patient", "screening", "titration", "plan", "discharge", "course"):
        assert kind in by_kind, kind
    assert by_kind["titration"].data["chosen_mg_per_kg"] == 0.5


def test_second_session_shows_the_previous_one_and_steps_up(dashes: Dashes,
                                                            tmp_path: Path) -> None:
    first = Vitals()
    d1 = dashes.make(first)
    _run_to(d1, 300.0)
    _new_session_to_titration(d1, "KD-0001", create=True).ok_button.click()
    _confirm_setup(d1, 0.5)
    _infuse_and_recover(d1, first, cadss=8)
    _discharge(d1, adverse="agitation")
    dashes.close(d1)

    second = Vitals(rise_mmhg=12.0)
    d2 = dashes.make(second, wall=DAY1 + timedelta(days=3))
    _run_to(d2, 300.0)
    tit = _new_session_to_titration(d2, "KD-0001", create=False)
    shown = tit.previous_label.text()
    for part in ("Previous session 2026-03-02: 0.5 mg/kg", "Peak BP 140/89", "pauses: none",
                 "adverse events: agitation", "Peak CADSS (dissociation): 8"):
        assert part in shown, (part, shown)
    assert tit.suggestion.suggestion is Suggestion.STEP_UP and tit.chosen() == 0.75
    tit.ok_button.click()
    _confirm_setup(d2, 0.75)
    titration = next(e for e in d2.session.events if e.kind == "titration")
    assert titration.data["previous_mg_per_kg"] == 0.5
    assert titration.data["suggested_mg_per_kg"] == 0.75

    # Revise plan: titration again for the patient screened in this session; a lower dose
    # than suggested needs a reason, and the set-up follows the new choice
    flow = _flow(d2)
    flow.revise_action.trigger()
    tit2 = flow.active_dialog
    assert isinstance(tit2, TitrationDialog)
    tit2.step_buttons[0.5].setChecked(True)
    tit2.ok_button.click()
    assert "give a reason" in tit2.message.text() and tit2.isVisible()
    tit2.reason.setText("patient asked to stay at 0.5")
    tit2.ok_button.click()
    setup = flow.active_dialog
    assert isinstance(setup, SessionSetupDialog) and setup.dose_presets[0.5].isChecked()
    setup.confirm_button.click()
    assert d2.session.infusion is not None and d2.session.infusion.plan.numbers.dose_mg_per_kg == 0.5

    _infuse_and_recover(d2, second, cadss=5)
    _discharge(d2)
    flow.course_action.trigger()
    course = flow.active_dialog
    assert isinstance(course, CourseDialog)
    view = course.view
    assert view.sessions.rowCount() == 2
    x, y = view.plots["dose"].getPlotItem().listDataItems()[0].getData()
    assert list(x) == [0.0, 3.0] and list(y) == [0.5, 0.5]
    store = PatientStore(tmp_path / "clinic" / DB_NAME)
    rows = store.session_rows("KD-0001")
    assert rows[1].titration is not None and rows[1].titration["follows_suggestion"] is False
    assert rows[1].titration["reason"] == "patient asked to stay at 0.5"
    store.close()


def test_screening_block_needs_an_override_reason(dashes: Dashes) -> None:
    d = dashes.make(Vitals(sys_mmhg=160.0, dia_mmhg=95.0))
    flow = _flow(d)
    _run_to(d, 300.0)
    d.session.clinician = "AB"
    flow.new_action.trigger()
    pick = flow.active_dialog
    assert isinstance(pick, PatientsDialog)
    pick.new_id.setText("KD-0007")
    pick.new_weight.setValue(80.0)
    pick.create_button.click()
    screen = flow.active_dialog
    assert isinstance(screen, ScreeningDialog)
    _answer_screening(screen)
    assert not screen.go_button.isEnabled() and "Blocked" in screen.status.text()
    assert screen.findings.item(0).text().startswith("[BLOCK] baseline BP 160/95")
    screen.go_button.click()  # disabled: nothing happens
    assert flow.active_dialog is screen
    screen.select_finding(BP_HIGH)
    screen.override_button.click()
    assert "needs a reason" in screen.message.text() and not screen.go_button.isEnabled()
    screen.reason.setText("white-coat; 142/86 at home this morning")
    screen.override_button.click()
    assert screen.go_button.isEnabled()
    screen.go_button.click()
    assert isinstance(flow.active_dialog, TitrationDialog)
    ev = next(e for e in d.session.events if e.kind == "screening")
    assert "Override bp_high by AB: white-coat" in ev.detail
    assert ev.data["overrides"][0]["code"] == BP_HIGH
    ctx = flow.context
    assert ctx is not None and ctx.screening is not None and ctx.screening.cleared


def test_a_blocked_screening_left_is_recorded_and_no_plan_follows(dashes: Dashes) -> None:
    d = dashes.make(Vitals(sys_mmhg=160.0, dia_mmhg=95.0))
    flow = _flow(d)
    _run_to(d, 300.0)
    d.session.clinician = "AB"
    flow.start()
    pick = flow.active_dialog
    assert isinstance(pick, PatientsDialog)
    pick.new_id.setText("KD-0008")
    pick.new_weight.setValue(80.0)
    pick.create_button.click()
    screen = flow.active_dialog
    assert isinstance(screen, ScreeningDialog)
    _answer_screening(screen)
    screen.reject()
    ev = [e for e in d.session.events if e.kind == "screening"]
    assert len(ev) == 1 and ev[0].detail.startswith("Screening blocked")
    assert "session was not set up" in ev[0].detail
    # Without a cleared screening in this session there is no way to a plan
    assert flow.revise_plan() is None and "screening" in flow.last_message
    assert isinstance(flow.active_dialog, QMessageBox)
    assert d.session.infusion is None


def test_new_session_is_refused_once_a_plan_exists(dashes: Dashes) -> None:
    d = dashes.make(Vitals())
    flow = _flow(d)
    _run_to(d, 300.0)
    _new_session_to_titration(d, "KD-0003", create=True).ok_button.click()
    _confirm_setup(d, 0.5)
    assert flow.start() is None and "already has a plan for KD-0003" in flow.last_message
    assert flow.discharge() is None and "assessed in recovery" in flow.last_message


def test_end_button_without_a_patient_stays_end_session(dashes: Dashes) -> None:
    d = dashes.make(Vitals())
    assert d.infusion_panel.end_handler is None
    assert d.infusion_panel.buttons[Action.END].text() == END_TEXT


def test_gui_command_passes_its_data_dir_to_the_patient_store(
        qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ketadesk.app as app_module
    from ketadesk.cli import main

    built: list[Dashboard] = []
    real_build = app_module.build_dashboard

    def build(*args: object, **kwargs: object) -> Dashboard:
        dash = real_build(*args, **kwargs)  # type: ignore[arg-type]
        built.append(dash)
        return dash

    class NoLoop:
        def exec(self) -> int:
            return 0

    monkeypatch.setattr(app_module, "build_dashboard", build)
    monkeypatch.setattr(app_module, "qt_app", lambda: NoLoop())
    data = tmp_path / "given"
    assert main(["gui", "--data-dir", str(data)]) == 0
    flow = built[0].session_flow
    assert built[0].data_dir == data and flow is not None and flow.db_path == data / DB_NAME
    assert built[0].pipeline.sink.path.parent == data  # type: ignore[union-attr]


def test_a_source_change_before_the_start_carries_patient_and_screening(dashes: Dashes) -> None:
    d = dashes.make(Vitals())
    flow = _flow(d)
    _run_to(d, 300.0)
    _new_session_to_titration(d, "KD-0004", create=True).ok_button.click()
    setup = flow.active_dialog
    assert isinstance(setup, SessionSetupDialog)
    setup.reject()  # the plan is not confirmed yet when the monitor is swapped
    old = d.session
    d.switch_source(Vitals())
    assert d.session is not old and d.session.patient_id == "KD-0004"
    ctx = flow.current()
    assert ctx is not None and ctx.screening is not None and ctx.titration is not None
    carried = [e for e in d.session.events if e.detail.startswith("carried over")]
    assert [e.kind for e in carried] == ["patient", "screening", "titration"]
    # the plan is set on the new session through Revise plan, without a second screening
    flow.revise_action.trigger()
    tit = flow.active_dialog
    assert isinstance(tit, TitrationDialog)
    tit.ok_button.click()
    setup = flow.active_dialog
    assert isinstance(setup, SessionSetupDialog) and setup.weight.text() == "68"
    setup.concentration.setText("1")
    setup.confirm_button.click()
    assert d.session.infusion is not None and old.infusion is None


def test_a_typed_bp_is_recorded_as_entered_not_as_session_nibp(qtbot: object) -> None:
    dlg = ScreeningDialog("AB", session_bp=(124.0, 78.0))
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    _answer_screening(dlg)
    assert dlg.screening.inputs.bp_source == "session NIBP"
    dlg.sys_.setValue(158)
    assert dlg.screening.inputs.bp_source == "entered"
    assert "158/78 mmHg (entered)" in dlg.screening.findings[0].message


def test_a_new_weight_in_the_set_up_joins_the_weight_history(dashes: Dashes,
                                                             tmp_path: Path) -> None:
    d = dashes.make(Vitals())
    flow = _flow(d)
    _run_to(d, 300.0)
    _new_session_to_titration(d, "KD-0005", create=True).ok_button.click()
    setup = flow.active_dialog
    assert isinstance(setup, SessionSetupDialog) and setup.weight.text() == "68"
    setup.weight.setText("71.5")
    setup.concentration.setText("1")
    setup.confirm_button.click()
    store = flow.store()
    assert store is not None
    assert [w.kg for w in store.weights("KD-0005")] == [68.0, 71.5]
    assert store.latest_weight("KD-0005").on == DAY1.date()  # type: ignore[union-attr]
