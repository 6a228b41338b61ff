"""A whole induction course through the issue-9 dialogs, with simulated sessions (qtbot)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from course_sim import SimSpec, open_session, run_infusion
from PySide6.QtCore import QDate

from ketadesk.core.course import OutcomeScale
from ketadesk.core.discharge import session_course_row
from ketadesk.core.screening import BP_HIGH, MedCategory, baseline_bp_from_series
from ketadesk.core.titration import Suggestion
from ketadesk.store.patients import PatientStore
from ketadesk.ui.dialogs.common import format_dose
from ketadesk.ui.dialogs.course_view import CourseDialog
from ketadesk.ui.dialogs.discharge import DischargeDialog
from ketadesk.ui.dialogs.patients import PatientsDialog
from ketadesk.ui.dialogs.screening import ScreeningDialog
from ketadesk.ui.dialogs.titration import TitrationDialog

D0 = date(2026, 3, 2)
DAYS = (0, 3, 7, 10, 14, 17)  # twice weekly


@pytest.fixture
def store(tmp_path: Path) -> PatientStore:
    s = PatientStore(tmp_path / "patients.db")
    yield s  # type: ignore[misc]
    s.close()


def _screen(qtbot: object, session_bp: tuple[float, float], k: int) -> ScreeningDialog:
    dlg = ScreeningDialog("AB", session_bp=session_bp)
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    assert dlg.bp_source_label.text() == "(session NIBP)"
    assert not dlg.go_button.isEnabled()  # nothing answered yet
    dlg.psychosis.set_value(False)
    dlg.substance.set_value(False)
    dlg.escort.set_value(True)
    dlg.fasting.setValue(6.0)
    if k == 1:
        dlg.med_boxes[MedCategory.LAMOTRIGINE].setChecked(True)
    return dlg


def test_whole_course(qtbot: object, store: PatientStore) -> None:
    store.add_patient("KD-0002", 1990, "M", 80, on=D0)
    store.add_outcome("KD-0002", OutcomeScale.MADRS, 32, D0 - timedelta(days=2), "AB", today=D0)
    chosen_doses: list[float] = []
    for k, offset in enumerate(DAYS):
        today = D0 + timedelta(days=offset)
        # 1. pick or create the patient
        pick = PatientsDialog(store, today=today)
        qtbot.addWidget(pick)  # type: ignore[attr-defined]
        if k == 0:
            pick.new_id.setText("KD-0001")
            pick.new_year.setValue(1984)
            pick.new_sex.setCurrentText("F")
            pick.new_weight.setValue(68.0)
            pick.create_button.click()
        else:
            pick.search.setText("kd-0001")
            assert pick.list.count() == 1
            pick.use_button.click()
        assert pick.result() == PatientsDialog.DialogCode.Accepted
        assert pick.chosen is not None and pick.chosen.patient_id == "KD-0001"
        pid = pick.chosen.patient_id

        # 2. screening from the session's baseline NIBP; session 3 comes in hypertensive
        spec = SimSpec(baseline_sys=156.0 if k == 2 else 124.0, who="AB")
        session = open_session(spec)
        bp = baseline_bp_from_series(session.buffers, 0.0, session.clock.now())
        assert bp is not None
        screen = _screen(qtbot, bp, k)
        if k == 2:
            assert not screen.go_button.isEnabled()
            assert "[BLOCK]" in screen.findings.item(0).text()
            screen.select_finding(BP_HIGH)
            screen.override_button.click()  # no reason: refused, shown
            assert "needs a reason" in screen.message.text()
            screen.reason.setText("repeat 146/88 after 15 min rest")
            screen.override_button.click()
            assert "[OVERRIDDEN by AB]" in screen.findings.item(0).text()
        assert screen.go_button.isEnabled()
        screen.go_button.click()
        assert screen.result() == ScreeningDialog.DialogCode.Accepted
        session.record(session.clock.now(), "screening", "", "AB", screen.screening.to_dict())

        # 3. titration in front of the dose choice
        prev = store.last_done(pid)
        tit = TitrationDialog(prev, "AB", wall_now=session.clock.wall_time)
        qtbot.addWidget(tit)  # type: ignore[attr-defined]
        if k == 0:
            assert tit.suggestion.suggestion is Suggestion.START
            assert "No previous session" in tit.previous_label.text()
        else:
            assert prev is not None and prev.dose_mg_per_kg is not None
            assert f"{format_dose(prev.dose_mg_per_kg)} mg/kg" in tit.previous_label.text()
        if k == 2:
            # session 2 had a hypertension pause: stay suggested; the clinician agrees
            assert tit.suggestion.suggestion is Suggestion.STAY
            assert "paused for hypertension" in tit.suggestion_label.text()
        if k == 4:
            # at the top step the suggestion is to stay; the clinician goes back down to 0.75,
            # which needs a reason
            assert tit.suggestion.suggestion is Suggestion.STAY
            assert "highest protocol step" in tit.suggestion_label.text()
            tit.step_buttons[0.75].setChecked(True)
            tit.ok_button.click()
            assert "give a reason" in tit.message.text() and tit.decision is None
            tit.reason.setText("patient found 1.0 too intense")
        tit.ok_button.click()
        assert tit.decision is not None
        chosen_doses.append(tit.decision.chosen_mg_per_kg)
        session.record(session.clock.now(), "titration", "", "AB", tit.decision.to_dict())

        # 4. the session itself (simulated); session 2 pauses for hypertension
        spec.dose_mg_per_kg = tit.decision.chosen_mg_per_kg
        spec.weight_kg = 68.0
        spec.hypertension_pause = k == 1
        spec.rise_sys = 45.0 if k == 1 else 16.0
        spec.cadss_peak = 8
        run_infusion(session, spec)

        # 5. discharge checklist
        dis = DischargeDialog(session, "AB")
        qtbot.addWidget(dis)  # type: ignore[attr-defined]
        assert "[NOT MET] mental status" in dis.items.item(0).text()
        dis.mental.set_value(True)
        dis.escort.set_value(True)
        assert all(dis.items.item(i).text().startswith("[MET]") for i in range(4))
        assert "at 40 min" in dis.bp_label.text() and "min monitored" in dis.bp_label.text()
        dis.record_button.click()
        assert dis.record is not None and dis.result() == DischargeDialog.DialogCode.Accepted
        assert session.events[-1].kind == "discharge"
        assert session.infusion is not None and session.infusion.phase.value == "ENDED"

        # 6. into the course index
        row = session_course_row(session, today, session.clock.now(), session_ref=f"s{k + 1}")
        store.save_session(pid, row, screening=screen.screening.to_dict(),
                           titration=tit.decision.to_dict(), discharge=dis.record.to_dict(),
                           today=today)

    # start 0.5, step up, stay after the hypertension pause, step up, down by choice, up
    assert chosen_doses == [0.5, 0.75, 0.75, 1.0, 0.75, 1.0]
    rows = store.session_rows("KD-0001")
    assert rows[2].screening is not None and rows[2].screening["overrides"][0]["code"] == BP_HIGH
    assert rows[4].titration is not None and rows[4].titration["follows_suggestion"] is False
    assert rows[0].discharge is not None and rows[0].discharge["bp_at_40_min"] is not None

    # 7. the course view: outcomes entered between sessions, plots across the course
    last = D0 + timedelta(days=DAYS[-1])
    dlg = CourseDialog(store, "KD-0001", "AB", today=last)
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    view = dlg.view
    for total, day in ((30, 0), (18, 7), (14, 17)):
        view.scale.setCurrentIndex(view.scale.findData("madrs"))
        view.total.setValue(total)
        d = D0 + timedelta(days=day)
        view.score_date.setDate(QDate(d.year, d.month, d.day))
        view.add_button.click()
    view.total.setValue(61)  # out of range: refused with the allowed range
    view.add_button.click()
    assert "allowed 0-60" in view.message.text()
    assert view.sessions.rowCount() == 6
    assert view.sessions.item(1, 6).text() == "hypertension"
    assert "induction complete" in view.progress.text()
    assert view.warnings.text() == ""
    assert view.outcomes.rowCount() == 3
    assert "response" in view.outcomes.item(2, 3).text()
    assert "remission" in view.outcomes.item(2, 3).text()
    summary = view.summary
    assert summary is not None
    latest = summary.latest(OutcomeScale.MADRS)
    assert latest is not None and latest.response and not latest.remission
    dose_curve = view.plots["dose"].getPlotItem().listDataItems()[0]
    x, y = dose_curve.getData()
    assert list(x) == [float(d) for d in DAYS] and list(y) == chosen_doses
    assert len(view.plots["outcome"].getPlotItem().listDataItems()) == 1
    assert store.course("KD-0002", D0).progress.done == 0  # the other patient untouched


def test_absolute_contraindication_cannot_go_ahead(qtbot: object) -> None:
    dlg = ScreeningDialog("AB", session_bp=(120.0, 80.0))
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    dlg.psychosis.set_value(True)
    dlg.substance.set_value(False)
    dlg.escort.set_value(True)
    dlg.fasting.setValue(8)
    assert not dlg.go_button.isEnabled() and "CONTRAINDICATED" in dlg.status.text()
    dlg.select_finding("psychosis")
    dlg.reason.setText("patient insists")
    dlg.override_button.click()
    assert "cannot be overridden" in dlg.message.text()
    assert not dlg.go_button.isEnabled()
    dlg.go_button.click()
    assert dlg.result() != ScreeningDialog.DialogCode.Accepted


def test_an_override_lapses_when_the_bp_changes(qtbot: object) -> None:
    dlg = ScreeningDialog("AB", session_bp=(158.0, 80.0))
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    dlg.psychosis.set_value(False)
    dlg.substance.set_value(False)
    dlg.escort.set_value(True)
    dlg.fasting.setValue(8)
    dlg.select_finding(BP_HIGH)
    dlg.reason.setText("rechecked")
    dlg.override_button.click()
    assert dlg.go_button.isEnabled()
    dlg.sys_.setValue(140)  # now fine: the override no longer applies and is dropped
    assert dlg.screening.overrides == () and dlg.bp_source_label.text() == "(entered)"
    dlg.sys_.setValue(170)  # high again: a new override is needed
    assert not dlg.go_button.isEnabled()


def test_patients_dialog_refuses_a_name(qtbot: object, store: PatientStore) -> None:
    dlg = PatientsDialog(store)
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    assert not dlg.use_button.isEnabled()
    dlg.new_id.setText("KD-5")
    dlg.create_button.click()  # the weight was never entered
    assert "weight 0.0 kg is not allowed" in dlg.message.text() and dlg.chosen is None
    dlg.new_weight.setValue(60)
    dlg.new_id.setText("Jane Doe")
    dlg.create_button.click()
    assert "no names" in dlg.message.text() and dlg.chosen is None
    assert store.search() == []


def test_dose_format_keeps_one_decimal() -> None:
    assert [format_dose(x) for x in (0.5, 0.75, 1.0, 2.0, 0.125)] == ["0.5", "0.75", "1.0",
                                                                     "2.0", "0.125"]
