"""A whole session without a screen: baseline -> start -> infusion -> recovery -> end.

The same Pipeline the GUI steps, driven in a loop by a protocol-following clinician: the
infusion starts when the baseline is over, recovery begins when the infusion has ended
(completed or stopped), and the session ends once the recovery time has passed. Anything else
a clinician does (pauses, scale entries) comes from `on_step`, e.g. a scenario's script player.
`ketadesk simulate` uses it; `ketadesk record` can share it (it takes any source).

Time moves only through `advance(dt_s)`: FakeClock.advance for a run at full speed, a sleep for
real time. Commands happen after the step at their time, like a click between two frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ketadesk.core.clock import Clock
from ketadesk.core.dose import DosePlan
from ketadesk.core.infusion import Infusion, Phase
from ketadesk.core.pipeline import Pipeline


class HeadlessError(ValueError):
    """The run cannot be set up as asked; the message says what is allowed."""


@dataclass(frozen=True)
class HeadlessTimeline:
    """Minutes of each part. The infusion lasts as long as the plan (plus any pauses)."""

    baseline_min: float = 10.0
    recovery_min: float = 60.0
    # A pause nobody resumes must not run forever: stop the infusion this long after its
    # planned end, with that reason recorded.
    overrun_limit_min: float = 60.0

    def __post_init__(self) -> None:
        for name, lo, hi in (("baseline_min", 0.0, 240.0), ("recovery_min", 0.0, 720.0),
                             ("overrun_limit_min", 1.0, 720.0)):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and lo <= v <= hi):
                raise HeadlessError(f"{name} must be a number from {lo:g} to {hi:g}, got {v!r}")


@dataclass
class HeadlessResult:
    started_s: float | None = None
    ended_infusion_s: float | None = None
    end_s: float = 0.0
    stopped_early: bool = False
    steps: int = 0
    notes: list[str] = field(default_factory=list)


def run_session(pipeline: Pipeline, plan: DosePlan, advance: Callable[[float], None],
                timeline: HeadlessTimeline | None = None, *, who: str = "",
                on_step: Callable[[float], object] | None = None,
                next_due_s: Callable[[], float | None] | None = None, step_s: float = 1.0,
                should_stop: Callable[[], bool] | None = None) -> HeadlessResult:
    """Run the session to its end (or until should_stop() says so); returns what happened.

    The plan is attached at the start, so the baseline is recorded with the plan known. Steps
    are step_s long but never pass a command's time (the protocol's own, or `next_due_s()`,
    e.g. a script's next action), so commands land on their exact second whatever step_s is:
    the samples do not depend on the step (the sources promise that), only how soon a
    technical alarm judged at ticks (no data for 10 s) is noticed.
    """
    if not (math.isfinite(step_s) and 0 < step_s <= 60):
        raise HeadlessError(f"step_s must be more than 0 and at most 60 s, got {step_s}")
    tl = timeline or HeadlessTimeline()
    session = pipeline.session
    clock: Clock = session.clock
    origin_s = clock.now()
    infusion = session.infusion if session.infusion is not None else session.set_plan(plan)
    result = HeadlessResult()
    start_at_s = origin_s + tl.baseline_min * 60.0
    end_at_s: float | None = None
    while True:
        now = clock.now()
        due = [t for t in (start_at_s if infusion.phase is Phase.BASELINE else None, end_at_s,
                           next_due_s() if next_due_s is not None else None)
               if t is not None and t > now]
        advance(min([step_s, *(t - now for t in due)]))
        now = clock.now()
        pipeline.step(now)
        result.steps += 1
        if on_step is not None:
            on_step(now)
        if end_at_s is None:
            end_at_s = _drive(infusion, now, start_at_s, tl, who, result)
        if end_at_s is not None and now >= end_at_s:
            break
        if should_stop is not None and should_stop():
            result.notes.append("stopped before the end was reached")
            break
    if infusion.phase is Phase.RECOVERY:
        reason = "" if _recovery_minimum_reached(infusion, now) else (
            f"headless run: recovery of {tl.recovery_min:g} min was asked for")
        infusion.end(who=who, reason=reason)
    pipeline.step(clock.now())  # hand the last events to the recorder
    result.end_s = clock.now()
    return result


def _recovery_minimum_reached(infusion: Infusion, now_s: float) -> bool:
    at = infusion.discharge_assessable_at_s
    return at is None or now_s >= at


def _drive(infusion: Infusion, now: float, start_at_s: float, tl: HeadlessTimeline, who: str,
           result: HeadlessResult) -> float | None:
    """Give the protocol's next command if it is due; returns the session's end time once known."""
    phase = infusion.phase
    if phase is Phase.BASELINE and now >= start_at_s:
        infusion.start(who=who)
        result.started_s = now
    elif phase in (Phase.INFUSING, Phase.PAUSED):
        if result.started_s is None:  # a script started it
            result.started_s = infusion.snapshot(now).started_at_s
        limit_s = (result.started_s or now) + infusion.plan.duration_s + tl.overrun_limit_min * 60.0
        if now >= limit_s:
            infusion.stop_early(f"headless run: not finished {tl.overrun_limit_min:g} min after "
                                "its planned end", who=who)
            result.notes.append("infusion stopped at the overrun limit")
    elif phase in (Phase.COMPLETE, Phase.STOPPED_EARLY):
        snap = infusion.snapshot(now)
        result.ended_infusion_s = snap.ended_at_s
        result.stopped_early = phase is Phase.STOPPED_EARLY
        infusion.begin_recovery(who=who)
        return (snap.ended_at_s or now) + tl.recovery_min * 60.0
    elif phase is Phase.RECOVERY:
        # Someone else (a script) began recovery: the end is still counted from the infusion.
        ended = infusion.snapshot(now).ended_at_s
        result.ended_infusion_s = ended
        return (ended or now) + tl.recovery_min * 60.0
    elif phase is Phase.ENDED:
        return now
    return None
