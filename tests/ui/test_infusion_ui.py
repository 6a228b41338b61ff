"""Issue 3 in the GUI: session set-up dialog, infusion panel, commands, completion chime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import Severity, load_dose_settings
from ketadesk.core.infusion import Action, Phase
from ketadesk.core.session import Session
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.ui.dialogs.infusion_actions import (
    ChangeRateDialog,
    EndSessionDialog,
    PauseDialog,
    StartDialog,
    StopEarlyDialog,
)
from ketadesk.ui.dialogs.session_setup import NOTHING_STARTS, SEVERITY_TEXT, SessionSetupDialog
from ketadesk.ui.widgets.infusion_panel import CHIME_NAME, NO_PLAN_TEXT, InfusionPanel


@pytest.fixture
def dash(qtbot: object) -> Iterator[Dashboard]:
    d = build_dashboard(SimulatorSource(seed="3"), FakeClock())
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    d.window.show()
    yield d
    d.controller.stop()
    d.source.close()


def _run_to(d: Dashboard, t_s: float) -> None:
    """Advance the session to t_s (pipeline only, a minute at a time), then one redraw."""
    clock = d.clock
    assert isinstance(clock, FakeClock)
    while clock.now() < t_s:
        clock.advance(min(60.0, t_s - clock.now()))
        d.pipeline.step(clock.now())
    d.controller.step()


@pytest.fixture
def setup(qtbot: object) -> SessionSetupDialog:
    """The set-up dialog on a bare session: the guard tests need no dashboard."""
    session = Session(FakeClock(), SimulatorSource().info)
    dialog = SessionSetupDialog(session, load_dose_settings())
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    dialog.show()
    return dialog


def _open_setup(d: Dashboard) -> SessionSetupDialog:
    # The set-up dialog on its own; in the app Ctrl+N reaches it through patient, screening and
    # titration (tests/ui/test_session_flow.py).
    d.infusion_panel.open_setup_dialog()
    dialog = d.infusion_panel.active_dialog
    assert isinstance(dialog, SessionSetupDialog) and dialog.isVisible()
    return dialog


def _fill(dialog: SessionSetupDialog, weight: str = "70", concentration: str = "1",
          initials: str = "ab", dose: str | None = None) -> None:
    dialog.weight.setText(weight)
    dialog.concentration.setText(concentration)
    dialog.clinician.setText(initials)
    if dose is not None:
        dialog.dose_custom_choice.setChecked(True)
        dialog.dose_custom.setText(dose)


def _set_up(d: Dashboard) -> None:
    dialog = _open_setup(d)
    _fill(dialog)
    dialog.patient_id.setText("KD-0042")
    dialog.confirm_button.click()
    assert d.session.infusion is not None


def _markers(dialog: SessionSetupDialog) -> list[str]:
    return [row.marker.text() for row in dialog.findings()]


def _messages(dialog: SessionSetupDialog) -> str:
    return "\n".join(row.message.text() for row in dialog.findings())


# ---- the set-up dialog --------------------------------------------------------------------------


def test_no_plan_prompt_is_shown_without_a_modal(dash: Dashboard) -> None:
    dash.clock.advance(1.0)  # type: ignore[attr-defined]
    dash.controller.step()
    panel = dash.infusion_panel
    assert panel.prompt.isVisible() and panel.prompt.text() == NO_PLAN_TEXT
    assert not panel.body.isVisible()
    assert panel.active_dialog is None  # nothing blocks the start-up
    assert panel in dash.window.panels and isinstance(panel, InfusionPanel)


def test_dialog_computes_the_worked_example_live_and_confirms(dash: Dashboard) -> None:
    dialog = _open_setup(dash)
    assert dialog.note.text() == NOTHING_STARTS
    assert dialog.duration.text() == "40"
    assert not dialog.confirm_button.isEnabled()  # nothing filled in yet
    _fill(dialog)
    shown = {k: label.text() for k, label in dialog.numbers.items()}
    assert shown == {"dose_mg": "35 mg", "dose_mg_per_h": "52.5 mg/h",
                     "rate_ml_per_h": "52.5 mL/h", "volume_ml": "35 mL"}
    assert dialog.findings() == [] and dialog.no_findings.isVisible()
    assert dialog.confirm_button.isEnabled()
    assert dash.session.infusion is None  # nothing until confirmed
    dialog.patient_id.setText("KD-0042")
    dialog.confirm_button.click()
    s = dash.session
    assert (s.clinician, s.patient_id) == ("AB", "KD-0042")
    assert s.infusion is not None and s.infusion.plan.dose_mg == 35.0
    assert s.infusion.plan.who == "AB"
    dash.clock.advance(1.0)  # type: ignore[attr-defined]
    dash.controller.step()
    panel = dash.infusion_panel
    assert panel.body.isVisible() and not panel.prompt.isVisible()
    assert "BASELINE" in panel.phase.text() and panel.countdown.text() == "40:00"
    assert panel.buttons[Action.START].isEnabled()
    assert not panel.buttons[Action.PAUSE].isEnabled()
    kinds = [e.kind for e in s.events]
    assert "plan" in kinds and "session" in kinds


def test_pounds_are_converted_and_a_bag_gives_the_pump_rate(setup: SessionSetupDialog) -> None:
    dialog = setup
    _fill(dialog, weight="154")
    dialog.weight_unit.setCurrentText("lb")
    assert dialog.weight_kg.text() == "= 69.9 kg"
    dialog.weight_unit.setCurrentText("kg")
    dialog.weight.setText("70")
    dialog.use_bag.setChecked(True)
    assert not dialog.concentration.isEnabled() and dialog.bag_mg.isEnabled()
    dialog.bag_mg.setText("35")
    dialog.bag_ml.setText("100")
    assert dialog.numbers["rate_ml_per_h"].text() == "150 mL/h"
    assert dialog.numbers["volume_ml"].text() == "100 mL"
    assert dialog.confirm_button.isEnabled()


def test_700_kg_is_refused_and_confirm_stays_disabled(setup: SessionSetupDialog) -> None:
    dialog = setup
    _fill(dialog, weight="700")
    assert SEVERITY_TEXT[Severity.REFUSED] in _markers(dialog)
    assert "REFUSED" in SEVERITY_TEXT[Severity.REFUSED]  # in words, not colour only
    assert "700 kg is outside the allowed 30-250 kg" in _messages(dialog)
    assert not dialog.confirm_button.isEnabled()
    dialog.accept()  # even forced, nothing is confirmed
    assert dialog.isVisible() and dialog.session.infusion is None
    assert "Not confirmed" in dialog.message.text()


def test_dose_above_max_needs_an_override_reason(setup: SessionSetupDialog) -> None:
    dialog = setup
    _fill(dialog, weight="60", dose="1.5")  # 90 mg: under the 100 mg total cap
    rows = [r for r in dialog.findings() if r.reason is not None]
    assert len(rows) == 1 and "1.5 mg/kg is above the 1 mg/kg maximum" in rows[0].message.text()
    assert rows[0].marker.text() == SEVERITY_TEXT[Severity.NEEDS_OVERRIDE]
    assert not dialog.confirm_button.isEnabled()
    assert rows[0].reason is not None
    rows[0].reason.setText("   ")
    assert not dialog.confirm_button.isEnabled()
    rows[0].reason.setText("titration after six sessions")
    assert dialog.confirm_button.isEnabled()
    dialog.patient_id.setText("KD-7")  # typing elsewhere keeps the reason
    assert rows[0].reason.text() == "titration after six sessions"
    dialog.confirm_button.click()
    plan = dialog.session.infusion.plan  # type: ignore[union-attr]
    assert [(o.code, o.reason) for o in plan.overrides] == [
        ("dose_above_max", "titration after six sessions")]


def test_a_question_needs_the_checkbox(setup: SessionSetupDialog) -> None:
    dialog = setup
    _fill(dialog, weight="160")
    rows = [r for r in dialog.findings() if r.checked is not None]
    assert len(rows) == 1 and "confirm the weight is in kg" in rows[0].message.text()
    assert rows[0].checked is not None and rows[0].checked.text() == "I have checked this"
    assert not dialog.confirm_button.isEnabled()
    rows[0].checked.setChecked(True)
    assert dialog.confirm_button.isEnabled()
    dialog.weight.setText("170")  # a different weight is a different question: ask again
    assert not dialog.confirm_button.isEnabled()


def test_undiluted_100_mg_per_ml_is_a_warning_that_does_not_block(
    setup: SessionSetupDialog,
) -> None:
    dialog = setup
    _fill(dialog, concentration="100")
    assert _markers(dialog) == [SEVERITY_TEXT[Severity.WARNING]]
    assert "must be diluted before IV use" in _messages(dialog)
    assert dialog.confirm_button.isEnabled()


@pytest.mark.parametrize(("field", "text", "message"), [
    ("clinician", "", "clinician initials are required"),
    ("clinician", "A1", "1-5 letters"),
    ("weight", "seventy", "is not a number"),
    ("concentration", "", "concentration (mg/mL): enter a number"),
    ("patient_id", "John Smith", "not a name"),
])
def test_missing_or_bad_inputs_are_named_and_block(
    setup: SessionSetupDialog, field: str, text: str, message: str
) -> None:
    dialog = setup
    _fill(dialog)
    getattr(dialog, field).setText(text)
    assert message in _messages(dialog)
    assert not dialog.confirm_button.isEnabled()


# ---- the infusion panel -------------------------------------------------------------------------


def test_full_session_start_pause_resume_complete_chime_recovery_end(
    dash: Dashboard, qtbot: object
) -> None:
    _set_up(dash)
    panel = dash.infusion_panel
    _run_to(dash, 600.0)  # 10 min baseline
    assert panel.buttons[Action.START].shortcut() == QKeySequence("F5")
    panel.buttons[Action.START].click()
    start = panel.active_dialog
    assert isinstance(start, StartDialog) and "52.5 mL/h" in start.explanation.text()
    start.ok_button.click()
    assert "INFUSING" in panel.phase.text()  # redrawn at once, not at the next frame
    assert panel.countdown.text() == "40:00"

    _run_to(dash, 1200.0)  # 10 min infused
    assert panel.countdown.text() == "30:00"
    assert panel.delivered.text().startswith("8.8 / 35 mg")
    assert "52.5 mL/h now" in panel.rate.text()
    assert panel.progress.text() == "25 %"
    assert panel.buttons[Action.PAUSE].isEnabled() and not panel.buttons[Action.START].isEnabled()

    panel.buttons[Action.PAUSE].click()
    pause = panel.active_dialog
    assert isinstance(pause, PauseDialog)
    reasons = [pause.reason.itemText(i) for i in range(pause.reason.count())]
    assert reasons == list(dash.session.infusion.settings.pause_reasons)  # type: ignore[union-attr]
    pause.reason.setCurrentText("other")
    assert not pause.ok_button.isEnabled()  # "other" needs its text
    pause.text.setText("patient asked for water")
    pause.ok_button.click()
    assert "PAUSED" in panel.phase.text() and panel.property("state") == "paused"
    assert panel.buttons[Action.RESUME].isVisible() and not panel.buttons[Action.PAUSE].isVisible()

    _run_to(dash, 1500.0)  # 5 min paused: the dose waits, the time is extended
    assert panel.countdown.text() == "30:00"
    assert "0 mL/h now" in panel.rate.text()
    assert panel.caption.text() == "remaining \u00b7 ran 10:00 of 15:00"
    panel.buttons[Action.RESUME].click()
    assert "INFUSING" in panel.phase.text()

    _run_to(dash, 1500.0 + 30 * 60 - 1)
    assert dash.audio.played.count(CHIME_NAME) == 0
    _run_to(dash, 1500.0 + 30 * 60 + 5)
    for _ in range(3):  # later frames keep the state but do not chime again
        dash.clock.advance(1.0)  # type: ignore[attr-defined]
        dash.controller.step()
    assert dash.audio.played.count(CHIME_NAME) == 1
    assert panel.phase.text() == "\u2714 COMPLETE \u2014 35 mg delivered"
    assert panel.property("state") == "complete"
    assert panel.progress.text() == "100 %"
    assert "assessable at" in panel.recovery.text() and "(in 59:52)" in panel.recovery.text()
    assert panel.countdown.text() == "0:08"  # the recovery clock counts from the end

    panel.buttons[Action.BEGIN_RECOVERY].click()
    assert "RECOVERY" in panel.phase.text() and "35 mg delivered" in panel.phase.text()
    _run_to(dash, 3300.0 + 3600.0)
    assert "can be assessed now" in panel.recovery.text()
    assert panel.countdown.text() == "60:00"
    panel.buttons[Action.END].click()
    end = panel.active_dialog
    assert isinstance(end, EndSessionDialog)
    end.ok_button.click()
    dash.controller.step()
    assert "ENDED" in panel.phase.text()
    assert not any(b.isEnabled() for b in panel.buttons.values())
    assert dash.audio.played.count(CHIME_NAME) == 1

    phases = [e for e in dash.session.events if e.kind == "phase"]
    assert [e.data["to"] for e in phases] == [
        "INFUSING", "PAUSED", "INFUSING", "COMPLETE", "RECOVERY", "ENDED"]
    clicked = [e for e in phases if not e.data.get("automatic")]
    assert {e.who for e in clicked} == {"AB"}  # every command carries the initials
    assert "patient asked for water" in phases[1].detail


def _activate(d: Dashboard, qtbot: object) -> None:
    d.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is d.window)  # type: ignore[attr-defined]


def test_function_keys_reach_the_buttons(dash: Dashboard, qtbot: object) -> None:
    _set_up(dash)
    panel = dash.infusion_panel
    dash.controller.step()
    _activate(dash, qtbot)
    # A button's shortcut "animates" the click: it lands a moment later.
    qtbot.keyClick(dash.window, Qt.Key.Key_F5)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: isinstance(panel.active_dialog, StartDialog))  # type: ignore[attr-defined]
    panel.active_dialog.accept()  # type: ignore[union-attr]
    assert dash.session.infusion.phase is Phase.INFUSING  # type: ignore[union-attr]
    assert panel.buttons[Action.STOP_EARLY].isEnabled()
    _activate(dash, qtbot)  # the closed dialog had the focus
    qtbot.keyClick(dash.window, Qt.Key.Key_F8)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: isinstance(panel.active_dialog, StopEarlyDialog))  # type: ignore[attr-defined]


def test_refusals_are_shown_in_the_dialog_not_raised(dash: Dashboard) -> None:
    _set_up(dash)
    panel = dash.infusion_panel
    dash.session.infusion.start(who="AB")  # type: ignore[union-attr]
    _run_to(dash, 60.0)
    panel.buttons[Action.CHANGE_RATE].click()
    rate = panel.active_dialog
    assert isinstance(rate, ChangeRateDialog)
    rate.reason.setText("BP rising")
    rate.rate.setText("0")
    rate.ok_button.click()
    assert rate.isVisible() and "rate 0.0 mL/h is not allowed" in rate.error.text()
    rate.rate.setText("fast")
    rate.ok_button.click()
    assert "is not a number" in rate.error.text()
    rate.rate.setText("30")
    rate.ok_button.click()
    assert not rate.isVisible()
    assert "set 30 mL/h" in panel.rate.text()
    change = [e for e in dash.session.infusion.events if e.kind == "rate_change"]  # type: ignore[union-attr]
    assert change and change[-1].who == "AB" and "BP rising" in change[-1].detail

    panel.buttons[Action.STOP_EARLY].click()
    stop = panel.active_dialog
    assert isinstance(stop, StopEarlyDialog) and "cannot be resumed" in stop.explanation.text()
    assert not stop.ok_button.isEnabled()
    stop.reason.setText("BP 185/110 persisting")
    stop.ok_button.click()
    assert "STOPPED EARLY" in panel.phase.text()
    panel.buttons[Action.BEGIN_RECOVERY].click()
    panel.buttons[Action.END].click()
    end = panel.active_dialog
    assert isinstance(end, EndSessionDialog)
    end.ok_button.click()  # before the recovery minimum, without a reason
    assert end.isVisible() and "give a reason to end early" in end.error.text()
    end.reason.setText("transferred to ED")
    end.ok_button.click()
    assert dash.session.infusion.phase is Phase.ENDED  # type: ignore[union-attr]
    assert dash.audio.played.count(CHIME_NAME) == 0  # stopped early: no completion chime

    assert panel.open_setup_dialog() is None  # a new plan needs a new session
    assert "a new plan needs a new session" in panel.last_message
    assert isinstance(panel.active_dialog, QMessageBox)


def test_demo_plan_for_the_screenshot_is_mid_infusion_and_fits_1400x900(dash: Dashboard) -> None:
    from ketadesk.cli.gui_cmd import DEMO_CLINICIAN, _demo_plan
    from ketadesk.core.headless import HeadlessTimeline, run_session

    plan = _demo_plan(dash.session)
    dash.window.resize(1400, 900)
    clock = dash.clock
    assert isinstance(clock, FakeClock)
    run_session(dash.pipeline, plan, clock.advance, HeadlessTimeline(baseline_min=10.0),
                who=DEMO_CLINICIAN, should_stop=lambda: clock.now() >= 35 * 60)
    dash.controller.step()
    panel = dash.infusion_panel
    assert "INFUSING" in panel.phase.text() and panel.countdown.text() == "15:00"
    assert [e.who for e in dash.session.events if e.kind == "phase"] == ["DEMO"]
    # The side column is 380 px wide and the window 900 px high: nothing may push it larger.
    QApplication.processEvents()  # let the layouts settle after the redraw
    assert dash.window.minimumSizeHint().height() <= 900
    assert panel.width() <= 380 and panel.minimumSizeHint().width() <= 380
