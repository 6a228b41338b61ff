"""Rebuilding the infusion from recorded events after a crash (issue 6), under a FakeClock.

The rule under test: the pump kept running while KetaDesk was down, so the rebuilt infusion
at restart equals the uninterrupted infusion at the same session time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import DosePlan, PlanInputs, confirm_plan
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import Infusion, InfusionError, Phase
from ketadesk.core.rebuild import (
    OffsetClock,
    RebuildError,
    plan_from_event,
    rebuild_infusion,
    resume_note,
    resume_time_s,
)


def make_plan(minutes: float = 40.0) -> DosePlan:
    decision = confirm_plan(PlanInputs(weight=70.0, dose_mg_per_kg=0.5, duration_min=minutes,
                                       concentration_mg_per_ml=1.0), who="AB")
    assert decision.plan is not None
    return decision.plan


def as_recorded(events: tuple[SessionEvent, ...]) -> list[SessionEvent]:
    """The events as they come back from a recording: data through JSON."""
    return [SessionEvent(e.t_s, e.wall_time, e.kind, e.detail, e.who,
                         json.loads(json.dumps(e.data))) for e in events]


def live_until(t_crash: float, commands: list[tuple[float, str]]) -> tuple[Infusion, FakeClock]:
    """A live infusion given `commands` at their times, run until the crash."""
    clock = FakeClock()
    inf = Infusion(make_plan(), clock)
    for t, cmd in commands:
        clock.set(t)
        if cmd == "start":
            inf.start("AB")
        elif cmd == "pause":
            inf.pause("nausea/vomiting", who="CD")
        elif cmd == "resume":
            inf.resume("CD")
        elif cmd.startswith("rate "):
            inf.change_rate(float(cmd.split()[1]), "BP rising", who="AB")
        elif cmd == "stop":
            inf.stop_early("patient request", who="AB")
        elif cmd == "recovery":
            inf.begin_recovery("AB")
        inf.tick()
    clock.set(t_crash)
    inf.tick()
    return inf, clock


def restart(inf: Infusion, at_s: float) -> Infusion:
    return rebuild_infusion(make_plan(), as_recorded(inf.events), FakeClock(at_s))


def test_crash_mid_infusion_at_20_min_restart_3_min_later_keeps_infusing() -> None:
    inf, clock = live_until(20 * 60.0, [(120.0, "start")])  # dose started at +2 min
    wall_start = clock.wall_time() - timedelta(seconds=clock.now())
    # KetaDesk is dead for 3 minutes; the restart reads the wall clock.
    now_s = resume_time_s(wall_start, 20 * 60.0, wall_start + timedelta(seconds=23 * 60.0))
    assert now_s == pytest.approx(23 * 60.0)
    rebuilt = restart(inf, now_s)
    snap = rebuilt.snapshot()
    assert snap.phase is Phase.INFUSING
    # The pump kept running: delivered = set rate x (restart - start), gap included.
    expected = inf.snapshot(now_s)  # the uninterrupted infusion at the same instant
    assert snap.delivered_mg == pytest.approx(expected.delivered_mg, rel=1e-12)
    assert snap.delivered_mg == pytest.approx(52.5 * (now_s - 120.0) / 3600.0, rel=1e-12)
    assert snap.remaining_s == pytest.approx(expected.remaining_s, rel=1e-12)
    assert snap.started_at_s == 120.0
    assert rebuilt.tick() == ()  # the replayed events are in the recording already
    completed = rebuilt.tick(120.0 + 2400.0)
    assert [e.data["to"] for e in completed] == ["COMPLETE"]
    assert completed[0].t_s == pytest.approx(2520.0)


def test_a_paused_infusion_stays_paused_through_the_gap() -> None:
    inf, _ = live_until(1500.0, [(60.0, "start"), (1260.0, "pause")])
    rebuilt = restart(inf, 1800.0)
    snap = rebuilt.snapshot()
    assert snap.phase is Phase.PAUSED
    assert snap.delivered_mg == pytest.approx(52.5 * 1200.0 / 3600.0, rel=1e-12)
    assert snap.remaining_s == pytest.approx(1200.0, rel=1e-9)  # the dose is not cut
    rebuilt.resume("AB")
    assert rebuilt.snapshot(1800.0 + 1200.0).phase is Phase.COMPLETE


def test_completion_during_the_gap_is_placed_at_its_instant_and_handed_out_once() -> None:
    inf, _ = live_until(60.0 + 38 * 60.0, [(60.0, "start")])
    rebuilt = restart(inf, 60.0 + 43 * 60.0)
    out = rebuilt.tick()
    assert [(e.kind, e.data.get("to")) for e in out] == [("phase", "COMPLETE")]
    assert out[0].t_s == pytest.approx(60.0 + 2400.0)
    snap = rebuilt.snapshot()
    assert snap.phase is Phase.COMPLETE and snap.delivered_mg == 35.0
    assert rebuilt.tick() == ()
    note = resume_note(60.0 + 38 * 60.0, 60.0 + 43 * 60.0, rebuilt)
    assert "completed at +41:00" in note.detail and "check the pump" in note.detail


def test_an_event_recorded_just_before_the_crash_is_not_handed_out_again() -> None:
    # The completion was recorded before the crash: the rebuilt infusion must not repeat it.
    inf, _ = live_until(60.0 + 2500.0, [(60.0, "start")])
    rebuilt = restart(inf, 60.0 + 2600.0)
    assert rebuilt.tick() == ()
    assert rebuilt.snapshot().phase is Phase.COMPLETE


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(5.0, 600.0),
                          st.sampled_from(["pause", "resume", "rate 40", "rate 70", "stop",
                                           "recovery"])), max_size=6),
       st.floats(0.0, 3000.0))
def test_the_rebuilt_infusion_equals_the_uninterrupted_one(
        steps: list[tuple[float, str]], gap_s: float) -> None:
    commands: list[tuple[float, str]] = [(30.0, "start")]
    t = 30.0
    clock = FakeClock()
    probe = Infusion(make_plan(), clock)  # keeps only the commands allowed where they fall
    clock.set(30.0)
    probe.start()
    for dt, cmd in steps:
        t += dt
        clock.set(t)
        try:
            if cmd == "pause":
                probe.pause("nausea/vomiting")
            elif cmd == "resume":
                probe.resume()
            elif cmd.startswith("rate"):
                probe.change_rate(float(cmd.split()[1]), "BP rising")
            elif cmd == "stop":
                probe.stop_early("patient request")
            else:
                probe.begin_recovery()
        except InfusionError:
            continue
        commands.append((t, cmd))
    crash = t + 1.0
    inf, live_clock = live_until(crash, commands)
    rebuilt = restart(inf, crash + gap_s)
    live_clock.set(crash + gap_s)
    a, b = rebuilt.snapshot(), inf.snapshot()
    assert a.phase is b.phase
    assert a.delivered_mg == pytest.approx(b.delivered_mg, rel=1e-9, abs=1e-9)
    assert a.remaining_s == pytest.approx(b.remaining_s, rel=1e-9, abs=1e-6)
    assert a.set_rate_ml_per_h == b.set_rate_ml_per_h
    ra, rb = rebuilt.rate_history(), inf.rate_history()
    assert [t for t, _ in ra] == pytest.approx([t for t, _ in rb])
    assert [r for _, r in ra] == pytest.approx([r for _, r in rb])


def test_the_plan_comes_back_from_its_recorded_numbers() -> None:
    inf, _ = live_until(10.0, [])
    plan = plan_from_event(as_recorded(inf.events)[0])
    assert plan.numbers == make_plan().numbers and plan.who == "AB"
    broken = SessionEvent(0.0, "", "plan", "Plan confirmed", "AB", {"dose_mg": 35.0})
    with pytest.raises(RebuildError, match="plan event at t=0 s is incomplete"):
        plan_from_event(broken)


def test_events_that_contradict_the_replay_are_refused_with_the_event_named() -> None:
    inf, _ = live_until(600.0, [(60.0, "start")])
    events = as_recorded(inf.events)
    # A resume recorded while the infusion was running cannot be replayed.
    bad = SessionEvent(300.0, "", "phase", "Infusion resumed", "AB",
                       {"from": "PAUSED", "to": "INFUSING"})
    with pytest.raises(RebuildError, match=r"'phase' at t=300 s .*cannot resume"):
        rebuild_infusion(make_plan(), [*events, bad], FakeClock(700.0))
    older = SessionEvent(10.0, "", "rate_change", "x", "AB", {"rate_ml_per_h": 40.0})
    with pytest.raises(RebuildError, match="earlier than the one before it"):
        rebuild_infusion(make_plan(), [*events, older], FakeClock(700.0))
    with pytest.raises(RebuildError, match="clock .* is before the last recorded"):
        rebuild_infusion(make_plan(), events, FakeClock(30.0))


def test_resume_time_never_goes_back_and_counts_only_a_real_gap() -> None:
    clock = FakeClock()
    start = clock.wall_time()
    assert resume_time_s(start, 600.0, start + timedelta(seconds=780)) == 780.0
    # A simulation run at 10x recorded more session time than wall time passed.
    assert resume_time_s(start, 6000.0, start + timedelta(seconds=700)) == 6000.0
    assert resume_time_s(start, 600.0, start - timedelta(hours=1)) == 600.0  # clock set back


def test_offset_clock_continues_the_session_seconds() -> None:
    base = FakeClock()
    clock = OffsetClock(base, 1380.0)
    assert clock.now() == 1380.0
    base.advance(2.5)
    assert clock.now() == 1382.5 and clock.wall_time() == base.wall_time()
    with pytest.raises(ValueError, match="start_s must be"):
        OffsetClock(base, float("nan"))


def test_resume_note_says_what_was_assumed() -> None:
    inf, _ = live_until(1200.0, [(0.0, "start")])
    rebuilt = restart(inf, 1380.0)
    note = resume_note(1200.0, 1380.0, rebuilt)
    assert note.phase is Phase.INFUSING and note.gap_to_s - note.gap_from_s == 180.0
    assert "+20:00 to +23:00 (3:00)" in note.detail
    assert f"{note.delivered_mg:.1f} mg delivered" in note.detail
    assert "kept running at 52.5 mL/h" in note.detail
    assert "No infusion plan" in resume_note(10.0, 20.0, None).detail


def test_scale_entries_and_edits_are_restored_with_their_timepoints() -> None:
    from ketadesk.core.assessments import AssessmentLog, EntryStatus, timepoint_id
    from ketadesk.core.rebuild import restore_assessments
    from ketadesk.core.scales import load_scales

    scales = load_scales()
    clock = FakeClock()
    log = AssessmentLog(scales, clock)
    clock.set(100.0)
    tp = timepoint_id("cadss", 0.0)
    log.record("cadss", [0] * 23, EntryStatus.COMPLETE, who="AB", timepoint_id=tp)
    clock.set(2500.0)
    log.record("moaas", [4], EntryStatus.COMPLETE, who="AB", performed_s=2450.0)
    clock.set(2600.0)
    log.edit("S2", who="CD", reason="misread", answers=[3])
    log.record("cadss", [1] * 10 + [None] * 13, EntryStatus.PARTIAL, who="AB")
    recorded = as_recorded(tuple(log.drain_events()))

    restored = AssessmentLog(scales, FakeClock(2800.0))
    assert restore_assessments(restored, recorded) == []
    assert restored.drain_events() == []  # nothing to record twice
    # the same entries, saved again at the restart
    assert restored.entries() == [replace(e, saved_s=r.saved_s)
                                  for e, r in zip(log.entries(), restored.entries(), strict=True)]
    assert restored.completed_timepoints() == log.completed_timepoints()
    assert restored.entry("S2").answers == (3,) and len(restored.history("S2")) == 2
    broken = SessionEvent(2700.0, "", "scale", "x", "AB", {"action": "record", "scale": "nope",
                                                           "answers": [], "status": "complete"})
    problems = restore_assessments(AssessmentLog(scales, FakeClock(2800.0)), [broken])
    assert len(problems) == 1 and "unknown scale 'nope'" in problems[0]
