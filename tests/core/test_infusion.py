"""The infusion timer: phases, dose integrity, recovery clock and events (issue 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketadesk.core import dose
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import DosePlan, PlanInputs, confirm_plan
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import (
    EVENT_ACKNOWLEDGEMENT,
    EVENT_OVERRIDE,
    EVENT_PHASE,
    EVENT_PLAN,
    EVENT_RATE_CHANGE,
    EVENT_RECOVERY,
    Action,
    Infusion,
    InfusionError,
    InfusionSettings,
    InfusionSnapshot,
    Phase,
    RecoveryRule,
    allowed_actions,
    load_infusion_settings,
)


def make_plan(
    weight: float = 70.0,
    mg_per_kg: float = 0.5,
    minutes: float = 40.0,
    mg_per_ml: float = 1.0,
    **confirm: object,
) -> DosePlan:
    inputs = PlanInputs(
        weight=weight,
        dose_mg_per_kg=mg_per_kg,
        duration_min=minutes,
        concentration_mg_per_ml=mg_per_ml,
    )
    decision = confirm_plan(inputs, who="AB", **confirm)  # type: ignore[arg-type]
    assert decision.plan is not None, decision.blocking
    return decision.plan


def make(
    settings_: InfusionSettings | None = None, plan: DosePlan | None = None
) -> tuple[Infusion, FakeClock]:
    clock = FakeClock()
    return Infusion(plan or make_plan(), clock, settings_), clock


def phases_of(events: tuple[SessionEvent, ...]) -> list[str]:
    return [e.data["to"] for e in events if e.kind == EVENT_PHASE]


# ---- dose integrity -----------------------------------------------------------------------------


def test_runs_the_plan_in_its_duration_and_completes_exactly() -> None:
    inf, clock = make()
    clock.advance(10.0)
    inf.start()
    clock.advance(1200.0)
    half = inf.snapshot()
    assert half.phase is Phase.INFUSING
    assert half.delivered_mg == pytest.approx(17.5, rel=1e-12)
    assert half.delivered_mg_per_kg == pytest.approx(0.25, rel=1e-12)
    assert half.progress == pytest.approx(0.5, rel=1e-12)
    assert (half.rate_ml_per_h, half.rate_mg_per_h) == (52.5, 52.5)
    assert half.remaining_s == pytest.approx(1200.0, rel=1e-12)
    assert half.expected_end_s == pytest.approx(2410.0, rel=1e-12)
    clock.advance(1199.0)
    assert inf.phase is Phase.INFUSING
    clock.advance(1.0)
    snap = inf.snapshot()
    assert snap.phase is Phase.COMPLETE
    assert snap.delivered_mg == 35.0  # exactly the plan, not a float near it
    assert (snap.remaining_s, snap.rate_ml_per_h, snap.ended_at_s) == (0.0, 0.0, 2410.0)


def test_completion_between_ticks_is_placed_at_the_exact_instant() -> None:
    inf, clock = make()
    inf.start()
    seen: list[SessionEvent] = []
    while clock.now() < 2500:
        clock.advance(7.0)  # 2400 is not a multiple of 7
        seen += inf.tick()
    done = [e for e in seen if e.kind == EVENT_PHASE and e.data["to"] == "COMPLETE"]
    assert len(done) == 1
    assert done[0].t_s == pytest.approx(2400.0, rel=1e-12)
    assert done[0].wall_time == datetime.fromisoformat("2026-01-01T09:40:00+00:00").isoformat()
    assert inf.delivered_mg() == 35.0
    assert inf.snapshot().elapsed_infusing_s == pytest.approx(2400.0, rel=1e-12)
    t_end, rate_end = inf.rate_history()[-1]
    assert t_end == pytest.approx(2400.0, rel=1e-12) and rate_end == 0.0


def test_pause_extends_the_remaining_time_not_the_dose() -> None:
    inf, clock = make()
    inf.start()
    clock.advance(600.0)
    inf.pause("hypertension", "BP 182/104")
    clock.advance(300.0)
    paused = inf.snapshot()
    assert paused.delivered_mg == pytest.approx(8.75, rel=1e-12)  # nothing during the pause
    assert paused.rate_ml_per_h == 0.0 and paused.set_rate_ml_per_h == 52.5
    assert paused.remaining_s == pytest.approx(1800.0, rel=1e-12)
    assert paused.expected_end_s is None
    inf.resume()
    assert inf.snapshot().expected_end_s == pytest.approx(2700.0, rel=1e-12)
    clock.advance(1800.0)
    snap = inf.snapshot()
    assert snap.phase is Phase.COMPLETE and snap.delivered_mg == 35.0
    assert snap.elapsed_infusing_s == pytest.approx(2400.0, rel=1e-12)
    assert snap.elapsed_since_start_s == pytest.approx(2700.0, rel=1e-12)


def test_rate_change_is_recorded_and_remaining_time_recomputed() -> None:
    inf, clock = make()
    inf.start()
    clock.advance(1200.0)
    event = inf.change_rate(105.0, "patient comfortable, per protocol", who="CD")
    assert event.kind == EVENT_RATE_CHANGE and event.who == "CD"
    assert event.data["old_rate_ml_per_h"] == 52.5 and event.data["rate_ml_per_h"] == 105.0
    assert event.data["remaining_s"] == pytest.approx(600.0, rel=1e-12)
    assert "per protocol" in event.detail
    snap = inf.snapshot()
    assert snap.rate_mg_per_h == 105.0 and snap.remaining_s == pytest.approx(600.0, rel=1e-12)
    clock.advance(600.0)
    assert inf.phase is Phase.COMPLETE and inf.delivered_mg() == 35.0
    history = inf.rate_history()
    assert history[:2] == ((0.0, 0.875), (1200.0, 1.75))
    assert history[2][0] == pytest.approx(1800.0, rel=1e-12) and history[2][1] == 0.0
    assert len(history) == 3


def test_rate_change_while_paused_applies_on_resume() -> None:
    inf, clock = make()
    inf.start()
    clock.advance(1200.0)
    inf.pause("line problem")
    inf.change_rate(26.25, "slower after the occlusion")
    assert inf.snapshot().rate_ml_per_h == 0.0
    assert inf.snapshot().remaining_s == pytest.approx(2400.0, rel=1e-12)
    clock.advance(100.0)
    inf.resume()
    assert inf.rate_history()[-1] == (1300.0, 26.25 / 60)
    clock.advance(2400.0)
    assert inf.phase is Phase.COMPLETE and inf.delivered_mg() == 35.0


@pytest.mark.parametrize(
    ("rate", "reason", "message"),
    [
        (0.0, "x", "above 0 and at most 999"),
        (-5.0, "x", "above 0"),
        (float("nan"), "x", "above 0"),
        (1000.0, "x", "at most 999 mL/h"),
        (60.0, "  ", "needs a reason"),
        (52.5, "same", "already set to 52.5"),
    ],
)
def test_bad_rate_changes_are_refused_and_change_nothing(
    rate: float, reason: str, message: str
) -> None:
    inf, clock = make()
    inf.start()
    clock.advance(60.0)
    with pytest.raises(InfusionError, match=message):
        inf.change_rate(rate, reason)
    assert inf.snapshot().set_rate_ml_per_h == 52.5
    assert not [e for e in inf.events if e.kind == EVENT_RATE_CHANGE]


def test_stop_early_keeps_what_was_delivered() -> None:
    inf, clock = make()
    inf.start()
    clock.advance(600.0)
    event = inf.stop_early("vomiting, patient asked to stop")
    assert event.data["delivered_mg"] == pytest.approx(8.75, rel=1e-12)
    assert event.data["undelivered_mg"] == pytest.approx(26.25, rel=1e-12)
    clock.advance(3000.0)
    snap = inf.snapshot()
    assert snap.phase is Phase.STOPPED_EARLY
    assert snap.delivered_mg == pytest.approx(8.75, rel=1e-12)
    assert (snap.remaining_s, snap.ended_at_s) == (0.0, 600.0)
    with pytest.raises(InfusionError, match="needs a reason"):
        make()[0].stop_early("")


# ---- phase machine ------------------------------------------------------------------------------


# How to reach each phase from a fresh Infusion (clock at 0).
def _to(phase: Phase) -> Callable[[Infusion, FakeClock], None]:
    def drive(inf: Infusion, clock: FakeClock) -> None:
        if phase is Phase.BASELINE:
            return
        inf.start()
        clock.advance(60.0)
        if phase is Phase.PAUSED:
            inf.pause("patient request")
        elif phase is Phase.COMPLETE:
            clock.advance(3000.0)
        elif phase is Phase.STOPPED_EARLY:
            inf.stop_early("agitation")
        elif phase in (Phase.RECOVERY, Phase.ENDED):
            clock.advance(3000.0)
            inf.begin_recovery()
            if phase is Phase.ENDED:
                clock.advance(3600.0)
                inf.end()
        assert inf.phase is phase

    return drive


_COMMANDS: dict[Action, Callable[[Infusion], SessionEvent]] = {
    Action.START: lambda i: i.start(),
    Action.PAUSE: lambda i: i.pause("nausea/vomiting"),
    Action.RESUME: lambda i: i.resume(),
    Action.CHANGE_RATE: lambda i: i.change_rate(40.0, "tolerability"),
    Action.STOP_EARLY: lambda i: i.stop_early("patient request"),
    Action.BEGIN_RECOVERY: lambda i: i.begin_recovery(),
    Action.END: lambda i: i.end(reason="escort waiting"),
}

_LEGAL = {
    (Phase.BASELINE, Action.START): Phase.INFUSING,
    (Phase.INFUSING, Action.PAUSE): Phase.PAUSED,
    (Phase.INFUSING, Action.CHANGE_RATE): Phase.INFUSING,
    (Phase.INFUSING, Action.STOP_EARLY): Phase.STOPPED_EARLY,
    (Phase.PAUSED, Action.RESUME): Phase.INFUSING,
    (Phase.PAUSED, Action.CHANGE_RATE): Phase.PAUSED,
    (Phase.PAUSED, Action.STOP_EARLY): Phase.STOPPED_EARLY,
    (Phase.COMPLETE, Action.BEGIN_RECOVERY): Phase.RECOVERY,
    (Phase.STOPPED_EARLY, Action.BEGIN_RECOVERY): Phase.RECOVERY,
    (Phase.RECOVERY, Action.END): Phase.ENDED,
}


def test_allowed_actions_table_matches_the_legal_transitions() -> None:
    for phase in Phase:
        assert set(allowed_actions(phase)) == {a for (p, a) in _LEGAL if p is phase}


@pytest.mark.parametrize(("phase", "action"), list(_LEGAL))
def test_every_legal_transition(phase: Phase, action: Action) -> None:
    inf, clock = make()
    _to(phase)(inf, clock)
    clock.advance(1.0)
    before = len(inf.events)
    event = _COMMANDS[action](inf)
    assert inf.phase is _LEGAL[(phase, action)]
    assert inf.events[before:] == (event,)
    assert event.who == "AB"  # the plan's clinician unless another is named


@pytest.mark.parametrize(
    ("phase", "action"), [(p, a) for p in Phase for a in Action if (p, a) not in _LEGAL]
)
def test_every_illegal_transition_raises_a_clear_error(phase: Phase, action: Action) -> None:
    inf, clock = make()
    _to(phase)(inf, clock)
    before = inf.events
    with pytest.raises(InfusionError) as err:
        _COMMANDS[action](inf)
    message = str(err.value)
    assert message.startswith(f"cannot {action.value}: the infusion is {phase.value}, not ")
    allowed = ", ".join(a.value for a in allowed_actions(phase)) or "nothing"
    assert message.endswith(f"allowed from {phase.value}: {allowed}")
    assert inf.phase is phase and inf.events == before


def test_the_example_error_message() -> None:
    inf, _ = make()
    inf.start()
    with pytest.raises(InfusionError) as err:
        inf.resume()
    assert str(err.value) == (
        "cannot resume: the infusion is INFUSING, not PAUSED; "
        "allowed from INFUSING: pause, change rate, stop early"
    )


def test_pause_reasons_are_checked() -> None:
    inf, _ = make()
    inf.start()
    with pytest.raises(InfusionError, match="not one of: hypertension, nausea/vomiting"):
        inf.pause("bored")
    with pytest.raises(InfusionError, match="needs a description"):
        inf.pause("other", "  ")
    assert inf.phase is Phase.INFUSING
    event = inf.pause("Other", "fire alarm in the building")
    assert (event.data["reason"], event.data["text"]) == ("other", "fire alarm in the building")
    assert "fire alarm" in event.detail


# ---- recovery clock -----------------------------------------------------------------------------


def test_recovery_minimum_after_the_end_by_default() -> None:
    inf, clock = make()
    inf.start()
    assert inf.discharge_assessable_at_s is None
    clock.advance(2400.0)
    inf.begin_recovery()
    assert inf.discharge_assessable_at_s == pytest.approx(6000.0, rel=1e-12)
    clock.set(5999.0)
    assert inf.tick()[-1].kind != EVENT_RECOVERY
    snap = inf.snapshot()
    assert not snap.discharge_assessable
    assert snap.recovery_elapsed_s == pytest.approx(3599.0, rel=1e-12)
    with pytest.raises(InfusionError, match=r"assessed at \+1:40:00 \(in 0:01\); give a reason"):
        inf.end()
    clock.set(6010.0)
    told = [e for e in inf.tick() if e.kind == EVENT_RECOVERY]
    assert [e.t_s for e in told] == [pytest.approx(6000.0, rel=1e-12)]
    assert inf.snapshot().discharge_assessable
    assert inf.tick() == ()  # told once
    event = inf.end()
    assert event.data["before_recovery_minimum"] is False


@pytest.mark.parametrize(
    ("rule", "stop_at_s", "expected_s"),
    [
        (RecoveryRule.AFTER_END, 600.0, 600.0 + 3600.0),
        (RecoveryRule.FROM_DOSE_START, 600.0, 7200.0),
        (RecoveryRule.FROM_DOSE_START, 8000.0, 8000.0),  # never before the infusion ended
        (RecoveryRule.LATER_OF_BOTH, 600.0, 7200.0),
        (RecoveryRule.LATER_OF_BOTH, 4000.0, 7600.0),
    ],
)
def test_recovery_rules(rule: RecoveryRule, stop_at_s: float, expected_s: float) -> None:
    inf, clock = make(InfusionSettings(recovery_rule=rule))
    inf.start()
    clock.advance(100.0)
    inf.pause("patient request")  # a long pause lets the infusion run past 2 h
    clock.set(stop_at_s)
    inf.stop_early("stopped")
    assert inf.discharge_assessable_at_s == pytest.approx(expected_s, rel=1e-12)


def test_ending_before_the_minimum_records_the_reason() -> None:
    inf, clock = make()
    inf.start()
    clock.advance(600.0)
    inf.stop_early("hypertension")
    inf.begin_recovery()
    clock.advance(1800.0)
    event = inf.end(reason="left against advice, escort present")
    assert event.data["before_recovery_minimum"] is True
    assert "left against advice" in event.detail
    clock.advance(7200.0)
    assert not [e for e in inf.tick() if e.kind == EVENT_RECOVERY]


def test_settings_from_defaults_toml_and_bad_values_are_named() -> None:
    assert load_infusion_settings() == InfusionSettings()
    s = InfusionSettings.from_config({"recovery": {"rule": "from_dose_start"}})
    assert s.recovery_rule is RecoveryRule.FROM_DOSE_START
    with pytest.raises(ValueError, match="after_end, from_dose_start, later_of_both"):
        InfusionSettings.from_config({"recovery": {"rule": "whenever"}})
    with pytest.raises(ValueError, match="min_after_end_min must be a positive number"):
        InfusionSettings.from_config({"recovery": {"min_after_end_min": 0}})
    with pytest.raises(ValueError, match="other_reason 'other' is not in pause_reasons"):
        InfusionSettings.from_config({"pause_reasons": ["hypertension"]})


# ---- events and time ----------------------------------------------------------------------------


def test_plan_overrides_and_acknowledgements_become_events() -> None:
    plan = make_plan(
        weight=160.0,
        mg_per_kg=0.7,
        override_reasons={dose.TOTAL_ABOVE_CAP: "weight-based dose agreed with the psychiatrist"},
        acknowledged=[dose.WEIGHT_MAYBE_LB],
    )
    inf, _ = make(plan=plan)
    first = inf.tick()
    assert [e.kind for e in first] == [EVENT_PLAN, EVENT_OVERRIDE, EVENT_ACKNOWLEDGEMENT]
    assert first[0].data["dose_mg"] == pytest.approx(112.0, rel=1e-12)
    assert first[1].data == {
        "code": dose.TOTAL_ABOVE_CAP,
        "reason": "weight-based dose agreed with the psychiatrist",
    }
    assert first[2].data == {"code": dose.WEIGHT_MAYBE_LB}
    assert all(e.who == "AB" and e.wall_time == "2026-01-01T09:00:00+00:00" for e in first)
    assert inf.tick() == ()


def test_every_event_is_handed_out_once_in_order() -> None:
    inf, clock = make()
    inf.tick()
    inf.start(who="EF")
    clock.advance(100.0)
    inf.pause("hypertension")
    inf.resume()
    clock.advance(5000.0)
    out = inf.tick()
    assert phases_of(out) == ["INFUSING", "PAUSED", "INFUSING", "COMPLETE"]
    assert [e.who for e in out] == ["EF", "AB", "AB", ""]  # completion is the system's
    assert [e.t_s for e in out] == sorted(e.t_s for e in out)
    assert out == inf.events[1:5]


def test_a_wall_clock_jump_changes_nothing_but_the_stamps() -> None:
    def run(jump_s: float) -> tuple[list[InfusionSnapshot], list[SessionEvent]]:
        inf, clock = make()
        inf.start()
        snaps: list[InfusionSnapshot] = []
        for step in range(60):
            clock.advance(50.0)
            if step == 10:
                clock.wall_offset_s = jump_s  # NTP step / DST / a curious hand
                inf.pause("patient request")
            if step == 14:
                inf.resume()
            inf.tick()
            snaps.append(inf.snapshot())
        return snaps, list(inf.events)

    steady_snaps, steady_events = run(0.0)
    jumped_snaps, jumped_events = run(3 * 3600.0)
    assert jumped_snaps == steady_snaps
    assert [(e.t_s, e.kind, e.data) for e in jumped_events] == [
        (e.t_s, e.kind, e.data) for e in steady_events
    ]
    done = [e for e in jumped_events if e.data.get("to") == "COMPLETE"]
    assert done[0].t_s == pytest.approx(2600.0, rel=1e-12)
    assert done[0].wall_time == "2026-01-01T12:43:20+00:00"
    backwards, _ = run(-5 * 3600.0)
    assert backwards == steady_snaps


def test_time_given_to_tick_cannot_go_backwards() -> None:
    inf, clock = make()
    clock.advance(10.0)
    inf.tick(10.0)
    with pytest.raises(InfusionError, match="before the last time seen"):
        inf.tick(5.0)


# ---- property: random pauses, resumes and rate changes ------------------------------------------

_op = st.one_of(
    st.tuples(st.just("advance"), st.floats(0.0, 900.0)),
    st.tuples(st.just("pause"), st.just(0.0)),
    st.tuples(st.just("resume"), st.just(0.0)),
    st.tuples(st.just("rate"), st.floats(5.0, 400.0)),
    st.tuples(st.just("tick"), st.just(0.0)),
)


def _integral_mg(history: tuple[tuple[float, float], ...], until_s: float) -> float:
    total = 0.0
    for (t0, rate_mg_per_min), nxt in zip(history, [*history[1:], (until_s, 0.0)], strict=True):
        total += rate_mg_per_min * (min(nxt[0], until_s) - t0) / 60.0
    return total


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(_op, max_size=40),
    weight=st.floats(30.0, 250.0),
    mg_per_kg=st.sampled_from([0.5, 0.75, 1.0]),
)
def test_delivered_never_exceeds_the_plan_and_ends_exactly_on_it(
    ops: list[tuple[str, float]], weight: float, mg_per_kg: float
) -> None:
    plan = make_plan(
        weight=weight,
        mg_per_kg=mg_per_kg,
        override_reasons={dose.TOTAL_ABOVE_CAP: "test"},
        acknowledged=[dose.WEIGHT_MAYBE_LB],
    )
    inf, clock = make(plan=plan)
    planned = plan.dose_mg
    inf.start()
    last = 0.0
    for name, value in ops:
        phase = inf.phase
        if name == "advance":
            clock.advance(value)
        elif name == "pause" and phase is Phase.INFUSING:
            inf.pause("patient request")
        elif name == "resume" and phase is Phase.PAUSED:
            inf.resume()
        elif (
            name == "rate"
            and Action.CHANGE_RATE in allowed_actions(phase)
            and (value != inf.snapshot().set_rate_ml_per_h)
        ):
            inf.change_rate(value, "titration")
        elif name == "tick":
            inf.tick()
        s = inf.snapshot()
        assert last <= s.delivered_mg <= planned
        last = s.delivered_mg
        assert s.delivered_mg == pytest.approx(
            _integral_mg(inf.rate_history(), s.t_s), rel=1e-9, abs=1e-9
        )
        set_mg_per_h = s.set_rate_ml_per_h * plan.concentration_mg_per_ml
        if s.phase is Phase.COMPLETE:
            assert s.delivered_mg == planned and s.remaining_s == 0.0
        else:
            assert s.delivered_mg + set_mg_per_h * s.remaining_s / 3600.0 == pytest.approx(
                planned, rel=1e-9
            )
        if s.phase is Phase.INFUSING:
            assert s.expected_end_s == pytest.approx(s.t_s + s.remaining_s, rel=1e-12)
    if inf.phase is Phase.PAUSED:
        inf.resume()
    if inf.phase is Phase.INFUSING:
        predicted = inf.snapshot().expected_end_s
        assert predicted is not None
        clock.set(predicted)
        assert inf.snapshot().phase is Phase.COMPLETE
        done = [e for e in inf.tick() if e.data.get("to") == "COMPLETE"]
        assert done[0].t_s == pytest.approx(predicted, rel=1e-12)
    assert inf.delivered_mg() == planned
    assert inf.rate_history()[-1][1] == 0.0
