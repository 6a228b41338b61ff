"""Scripted clinician actions played into a session as "SCRIPT"."""

from __future__ import annotations

import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.infusion import Phase
from ketadesk.core.session import Session
from ketadesk.sources.base import Provenance, SourceInfo
from ketadesk.sources.simulator.scenario import ActionKind, ScriptedAction, load_named_scenario
from ketadesk.sources.simulator.script_player import ScriptPlayer, cadss_answers

INFO = SourceInfo("simulator", "test", ("hr",), Provenance.SIMULATED)


def session() -> tuple[Session, FakeClock]:
    clock = FakeClock()
    s = Session(clock, INFO)
    decision = confirm_plan(PlanInputs(weight=70, dose_mg_per_kg=0.5, duration_min=40,
                                       concentration_mg_per_ml=1.0), who="AB")
    assert decision.plan is not None
    s.set_plan(decision.plan)
    return s, clock


def run(player: ScriptPlayer, clock: FakeClock, until_s: float) -> None:
    while clock.now() < until_s:
        clock.advance(1.0)
        player.step(clock.now())
        player.session.tick(clock.now())


def test_hypertensive_surge_script_pauses_resumes_and_scores() -> None:
    s, clock = session()
    player = ScriptPlayer(load_named_scenario("hypertensive_surge").actions, s)
    run(player, clock, 600)
    assert s.infusion is not None
    s.infusion.start(who="TR")
    run(player, clock, 600 + 32 * 60)
    assert s.infusion.phase is Phase.PAUSED
    pause = [e for e in s.events if e.kind == "phase" and e.data.get("to") == "PAUSED"]
    assert len(pause) == 1 and pause[0].who == "SCRIPT" and pause[0].t_s == 600 + 31 * 60
    assert pause[0].data["reason"] == "hypertension"
    run(player, clock, 600 + 60 * 60)
    assert [p.action.kind for p in player.played] == [ActionKind.PAUSE, ActionKind.RESUME,
                                                      ActionKind.CADSS]
    assert all(p.done for p in player.played)
    scale = [e for e in s.events if e.kind == "scale"]
    assert scale[0].data["total"] == 9 and scale[0].who == "SCRIPT"
    assert not player.pending


def test_a_reason_not_in_the_list_is_other_with_the_text() -> None:
    s, clock = session()
    action = ScriptedAction(None, 1.0, ActionKind.PAUSE, reason="desaturation")
    player = ScriptPlayer((action,), s)
    assert s.infusion is not None
    s.infusion.start()
    run(player, clock, 61)
    ev = next(e for e in s.events if e.kind == "phase" and e.data.get("to") == "PAUSED")
    assert ev.data["reason"] == "other" and ev.data["text"] == "desaturation"


def test_infusion_relative_actions_wait_for_the_start_and_refusals_become_notes() -> None:
    s, clock = session()
    actions = (ScriptedAction(None, 0.5, ActionKind.NOTE, text="look"),
               ScriptedAction(2.0, None, ActionKind.RESUME))
    player = ScriptPlayer(actions, s)
    run(player, clock, 300)
    assert [p.action.kind for p in player.played] == [ActionKind.RESUME]
    assert not player.played[0].done and "cannot resume" in player.played[0].detail
    assert any(e.kind == "note" and "not done" in e.detail for e in s.events)
    assert player.due_s(actions[0]) is None  # infusion not started
    assert s.infusion is not None
    s.infusion.start()
    run(player, clock, 331)
    assert player.played[-1].done and player.played[-1].detail == "note: look"


@pytest.mark.parametrize("total", [0, 1, 22, 23, 47, 92])
def test_cadss_answers_add_up(total: int) -> None:
    a = cadss_answers(total)
    assert len(a) == 23 and sum(a) == total and all(0 <= x <= 4 for x in a)


def test_cadss_total_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0-92"):
        cadss_answers(93)
