"""The instructor panel: triggers reach the trainee's view, speed and pause, debrief export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.ui.instructor import SPEEDS, InstructorPanel


class FakeControl:
    """Stands in for the ScaledClock: records what the panel asks."""

    def __init__(self) -> None:
        self.speed = 1.0
        self.paused = False
        self.calls: list[str] = []

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        self.calls.append(f"speed {speed:g}")

    def pause(self) -> None:
        self.paused = True
        self.calls.append("pause")

    def resume(self) -> None:
        self.paused = False
        self.calls.append("resume")


@pytest.fixture
def dash(qtbot: object) -> Iterator[Dashboard]:
    d = build_dashboard(SimulatorSource(seed="11"), FakeClock())
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    d.window.show()
    yield d
    d.controller.stop()
    d.source.close()


def _advance(d: Dashboard, seconds: int) -> None:
    assert isinstance(d.clock, FakeClock)
    for _ in range(seconds):
        d.clock.advance(1.0)
        d.controller.step()


def _panel(d: Dashboard, control: FakeControl | None = None) -> InstructorPanel:
    assert d.instructor is not None
    d.instructor.control = control
    return d.instructor.open()


def test_view_menu_opens_the_instructor_window_with_ctrl_i(dash: Dashboard) -> None:
    assert dash.instructor is not None
    action = dash.instructor.action
    assert action in dash.window.menus["View"].actions()
    assert action.shortcut().toString() == "Ctrl+I"
    action.trigger()
    panel = dash.instructor.panel
    assert panel is not None and panel.isVisible() and panel.isWindow()
    assert "SIMULATION" in panel.windowTitle()
    assert panel in dash.window.panels


def test_triggered_desaturation_shows_in_the_trainees_spo2_tile(dash: Dashboard) -> None:
    panel = _panel(dash)
    _advance(dash, 30)
    assert int(dash.window.tiles["spo2"].text) >= 94
    panel.select_event("desaturation")
    panel.trigger_button.click()
    _advance(dash, 90)
    assert int(dash.window.tiles["spo2"].text) < 90
    assert panel.truth["spo2"].text().startswith("8")
    assert "triggered: Desaturation" in panel.debrief_view.toPlainText()


def test_probe_off_trigger_gives_dashes_and_a_technical_alarm(dash: Dashboard) -> None:
    panel = _panel(dash)
    _advance(dash, 10)
    panel.select_event("probe_off")
    panel.trigger_selected()
    _advance(dash, 5)
    assert not dash.window.tiles["spo2"].text.isdigit()
    assert any(a.alarm_id == "tech.probe_off.spo2" for a in dash.session.alarm_log())
    assert panel.truth["flags"].text() == "spo2 probe off"


def test_speed_buttons_and_pause_talk_to_the_clock(dash: Dashboard) -> None:
    control = FakeControl()
    panel = _panel(dash, control)
    assert set(panel.speed_buttons) == set(SPEEDS)
    panel.speed_buttons[30.0].click()
    assert control.speed == 30.0 and panel.speed_buttons[30.0].isChecked()
    assert not panel.speed_buttons[1.0].isChecked()
    panel.pause_button.click()
    assert control.paused and panel.pause_button.text() == "Resume simulation"
    panel.pause_button.click()
    assert control.calls == ["speed 30", "pause", "resume"]


def test_speed_buttons_are_disabled_without_a_scaled_clock(dash: Dashboard) -> None:
    panel = _panel(dash)
    assert not panel.speed_buttons[2.0].isEnabled() and not panel.pause_button.isEnabled()


def test_real_scaled_clock_pauses(qtbot: object) -> None:
    from ketadesk.core.clock import ScaledClock

    base = FakeClock()
    clock = ScaledClock(base)
    d = build_dashboard(SimulatorSource(seed="1"), clock)
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    assert d.instructor is not None
    panel = d.instructor.open()
    panel.speed_buttons[10.0].click()
    base.advance(2.0)
    assert clock.now() == pytest.approx(20.0)
    panel.pause_button.click()
    base.advance(5.0)
    assert clock.now() == pytest.approx(20.0)
    d.source.close()


def test_debrief_log_has_the_pause_with_reason_and_exports(dash: Dashboard,
                                                            tmp_path: Path) -> None:
    chosen = tmp_path / "debrief.csv"
    panel = _panel(dash)
    panel.choose_path = lambda _parent, _name: str(chosen)
    plan = confirm_plan(PlanInputs(weight=70, dose_mg_per_kg=0.5, duration_min=40,
                                   concentration_mg_per_ml=1.0), who="TR").plan
    assert plan is not None
    inf = dash.session.set_plan(plan)
    _advance(dash, 60)
    inf.start(who="TR")
    _advance(dash, 120)
    inf.pause("patient request", who="TR")
    _advance(dash, 2)
    text = panel.debrief_view.toPlainText()
    assert "0:03:00  TR" in text and "paused: patient request" in text
    panel.export_button.click()
    csv_text = chosen.read_text()
    assert "session_time,t_s,who,action,detail" in csv_text
    assert "0:03:00,180.0,TR,infusion,Infusion paused: patient request" in csv_text
    txt = panel.export_debrief(tmp_path / "debrief.txt").read_text()
    assert txt.startswith("KetaDesk debrief (SIMULATION)")
    assert "Debrief log written" in panel.message.text()


def test_hidden_truth_follows_the_infusion(dash: Dashboard) -> None:
    panel = _panel(dash)
    plan = confirm_plan(PlanInputs(weight=80, dose_mg_per_kg=0.5, duration_min=40,
                                   concentration_mg_per_ml=1.0), who="TR").plan
    assert plan is not None
    dash.session.set_plan(plan).start(who="TR")
    assert isinstance(dash.clock, FakeClock)
    for _ in range(60):  # the pipeline alone, then one redraw: the same data, less drawing
        dash.clock.advance(10.0)
        dash.pipeline.step(dash.clock.now())
    dash.controller.step()
    assert float(panel.truth["plasma"].text().split()[0]) > 50
    assert dash.source.profile.weight_kg == 80  # type: ignore[attr-defined]


def test_restart_asks_the_composition_root_with_the_choices(dash: Dashboard) -> None:
    asked: list[tuple[str, str]] = []
    assert dash.instructor is not None
    dash.instructor.restart = lambda sc, prof: asked.append((sc, prof))
    panel = dash.instructor.open()
    panel.scenario_combo.setCurrentIndex(panel.scenario_combo.findData("tachycardia"))
    panel.profile_combo.setCurrentIndex(panel.profile_combo.findData("sensitive"))
    assert "anxious" in panel.description.toPlainText().lower()
    panel.restart_button.click()
    assert asked == [("tachycardia", "sensitive")]


def test_demo_mode_plays_the_scripted_actions(qtbot: object) -> None:
    d = build_dashboard(SimulatorSource(scenario="hypertensive_surge"), FakeClock())
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    panel = _panel(d)
    panel.demo_check.setChecked(True)
    plan = confirm_plan(PlanInputs(weight=84, dose_mg_per_kg=0.5, duration_min=40,
                                   concentration_mg_per_ml=1.0), who="TR").plan
    assert plan is not None
    d.session.set_plan(plan).start(who="TR")
    assert isinstance(d.clock, FakeClock)
    for _ in range(32):
        d.clock.advance(60.0)
        d.controller.step()
    assert "SCRIPT" in panel.debrief_view.toPlainText()
    assert d.session.infusion is not None and d.session.infusion.phase.value == "PAUSED"
    d.source.close()


def test_event_list_holds_scenario_and_generic_events(dash: Dashboard) -> None:
    panel = _panel(dash)
    names = [panel.event_list.item(i).data(Qt.ItemDataRole.UserRole).name
             for i in range(panel.event_list.count())]
    for generic in ("hypertensive_surge", "desaturation", "tachycardia", "probe_off",
                    "leads_off", "source_stall", "nausea_vomiting"):
        assert generic in names


def test_restart_simulation_starts_a_new_session_and_panel(dash: Dashboard) -> None:
    assert dash.instructor is not None
    panel = dash.instructor.open()
    assert panel is not None
    old_session = dash.session
    _advance(dash, 5)
    panel.scenario_combo.setCurrentIndex(panel.scenario_combo.findData("tachycardia"))
    panel.restart_button.click()
    assert dash.session is not old_session
    assert dash.source.scenario.name == "tachycardia"  # type: ignore[attr-defined]
    new_panel = dash.instructor.panel
    assert new_panel is not None and new_panel is not panel and new_panel.isVisible()
    assert panel not in dash.window.panels and new_panel in dash.window.panels
    assert new_panel.source is dash.source and new_panel.session is dash.session


def test_restart_is_refused_once_the_infusion_has_started(dash: Dashboard) -> None:
    assert dash.instructor is not None
    panel = dash.instructor.open()
    assert panel is not None
    plan = confirm_plan(PlanInputs(weight=70, dose_mg_per_kg=0.5, duration_min=40,
                                   concentration_mg_per_ml=1.0), who="TR").plan
    assert plan is not None
    dash.session.set_plan(plan).start(who="TR")
    session = dash.session
    panel.restart_button.click()
    assert dash.session is session
    assert panel.message.text().startswith("Not restarted: the data source cannot be changed")
