"""Rebuilding a session after KetaDesk itself stopped (crash, kill, power loss): issue 6.

The infusion state is not stored as such; it is replayed from the recorded session events
(start, pause, resume, rate change, stop, completion, recovery) through the same Infusion
code that made them, so the rebuilt phase, delivered dose and remaining time follow exactly
the arithmetic of the live timer.

The rule for the time KetaDesk was down (the decision, see also docs/recording-format.md):
the pump is a separate device that KetaDesk only tracks, and it does not stop when KetaDesk
dies. So the gap is counted as it really passed: the resumed session clock continues at the
true time since session start (`resume_time_s`: last recorded time + the wall-clock gap), and
an infusion that was INFUSING at the crash is taken to have kept running at its set rate
(it may even have completed during the gap: the completion is then placed at its computed
instant). A PAUSED infusion stays paused (the pump was stopped). The session records a
"resumed" event that says so and asks the clinician to check the pump, which is the
authority; pause or stop it in KetaDesk if the pump says otherwise.

Keeping session time = time since start also keeps "wall time = start + t_s" of the
recording format true, and the protocol times (+40 min, recovery minimum) right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ketadesk.core.assessments import AssessmentError, AssessmentLog, EntryStatus
from ketadesk.core.clock import Clock
from ketadesk.core.dose import DosePlan, PlanInputs, PlanNumbers
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import (
    EVENT_PHASE,
    EVENT_PLAN,
    EVENT_RATE_CHANGE,
    EVENT_RECOVERY,
    Infusion,
    InfusionError,
    InfusionSettings,
    Phase,
)

EVENT_RESUMED = "resumed"  # the session kind recorded when a crashed session is resumed

# Beyond this gap a session is not resumed (the dialog offers only closing it): the patient
# has been without KetaDesk's monitoring for too long for "the pump kept running" to be a
# sensible assumption to build on.
MAX_RESUME_GAP_S = 3600.0

_INFUSION_KINDS = frozenset({EVENT_PLAN, EVENT_PHASE, EVENT_RATE_CHANGE, EVENT_RECOVERY,
                             "override", "acknowledgement"})


class RebuildError(Exception):
    """The recorded events cannot be replayed; the message names the event and why."""


class OffsetClock:
    """A clock that continues a session: now() = start_s + base.now() (base starts at 0)."""

    def __init__(self, base: Clock, start_s: float) -> None:
        if not (math.isfinite(start_s) and start_s >= 0):
            raise ValueError(f"start_s must be a finite number of seconds >= 0, got {start_s!r}")
        self._base = base
        self._start_s = float(start_s)

    def now(self) -> float:
        return self._start_s + self._base.now()

    def wall_time(self) -> datetime:
        return self._base.wall_time()


class _ReplayClock:
    """Event times while replaying, then the live clock (the infusion keeps this clock)."""

    def __init__(self, live: Clock, t_s: float) -> None:
        self.live = live
        self.t_s = t_s
        self.replaying = True

    def now(self) -> float:
        return self.t_s if self.replaying else self.live.now()

    def wall_time(self) -> datetime:
        if self.replaying:
            return self.live.wall_time() - timedelta(seconds=self.live.now() - self.t_s)
        return self.live.wall_time()


def resume_time_s(start_wall: datetime, last_t_s: float, now_wall: datetime) -> float:
    """The session time to resume at: the last recorded time plus the wall-clock gap.

    A wall clock that went backwards, or a session recorded faster than real time (a
    simulation at 10x), gives no positive gap: then the session continues right after its
    last recorded second.
    """
    gap_s = (now_wall - start_wall).total_seconds() - last_t_s
    return last_t_s + max(0.0, gap_s)


def plan_from_event(event: SessionEvent) -> DosePlan:
    """The confirmed plan as recorded in a "plan" event (its numbers, not recomputed).

    The plan was checked and confirmed when it was made; recomputing it with today's
    settings could change a number under an infusion that is already running.
    """
    d = event.data
    try:
        numbers = PlanNumbers(**{f: float(d[f]) for f in PlanNumbers.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise RebuildError(f"the plan event at t={event.t_s:.0f} s is incomplete: {exc}") from None
    # The weight as kilograms: the unit it was typed in matters only to the plan dialog.
    inputs = PlanInputs(weight=numbers.weight_kg, dose_mg_per_kg=numbers.dose_mg_per_kg,
                        duration_min=numbers.duration_min,
                        concentration_mg_per_ml=numbers.concentration_mg_per_ml)
    return DosePlan(inputs=inputs, numbers=numbers, findings=(), overrides=(), acknowledged=(),
                    who=event.who)


def last_plan(events: Sequence[SessionEvent]) -> tuple[DosePlan, int] | None:
    """The plan in force (the last plan event) and its index in `events`, or None."""
    for i in range(len(events) - 1, -1, -1):
        if events[i].kind == EVENT_PLAN:
            return plan_from_event(events[i]), i
    return None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _replay_one(inf: Infusion, e: SessionEvent) -> None:
    """Give the command that made a recorded event (automatic events need none)."""
    d = e.data
    if e.kind == EVENT_RATE_CHANGE:
        inf.change_rate(float(d["rate_ml_per_h"]), _text(d, "reason") or "recorded", who=e.who)
        return
    if e.kind != EVENT_PHASE:
        return  # plan, override, acknowledgement (made with the plan), recovery (automatic)
    to, came_from = Phase(d["to"]), Phase(d["from"])
    if to is Phase.INFUSING and came_from is Phase.BASELINE:
        inf.start(who=e.who)
    elif to is Phase.INFUSING:
        inf.resume(who=e.who)
    elif to is Phase.PAUSED:
        inf.pause(_text(d, "reason"), _text(d, "text"), who=e.who)
    elif to is Phase.STOPPED_EARLY:
        inf.stop_early(_text(d, "reason") or "recorded", who=e.who)
    elif to is Phase.RECOVERY:
        inf.begin_recovery(who=e.who)
    elif to is Phase.ENDED:
        inf.end(who=e.who, reason=_text(d, "reason"))
    # COMPLETE is reached by the timer itself when the replay clock gets there.


def rebuild_infusion(
    plan: DosePlan,
    events: Sequence[SessionEvent],
    clock: Clock,
    settings: InfusionSettings | None = None,
) -> Infusion:
    """An Infusion on `clock` in the state the recorded `events` describe.

    `events` are the session's recorded events in recording order (other kinds are
    skipped); the infusion events after the plan in force are replayed. Events the replay
    itself makes (all of them already recorded) are not handed out again: the first tick()
    returns only what happens from the last recorded infusion event on, such as a
    completion that fell in the time KetaDesk was down. Raises RebuildError if an event
    cannot be replayed or the replay disagrees with what was recorded.
    """
    found = last_plan(events)
    start = 0 if found is None else found[1]
    relevant = [e for e in events[start:] if e.kind in _INFUSION_KINDS]
    t0 = relevant[0].t_s if relevant else clock.now()
    replay = _ReplayClock(clock, t0)
    inf = Infusion(plan, replay, settings)
    for e in relevant:
        if e.t_s < replay.t_s:
            raise RebuildError(f"recorded event {e.kind!r} at t={e.t_s:.3f} s is earlier than "
                               f"the one before it (t={replay.t_s:.3f} s)")
        replay.t_s = e.t_s
        try:
            _replay_one(inf, e)
        except (InfusionError, KeyError, TypeError, ValueError) as exc:
            raise RebuildError(f"cannot replay the recorded event {e.kind!r} at "
                               f"t={e.t_s:.0f} s ({e.detail!r}): {exc}") from None
        if e.kind == EVENT_PHASE and inf.phase.value != e.data.get("to"):
            raise RebuildError(f"the replay disagrees with the recording at t={e.t_s:.0f} s: "
                               f"recorded {e.data.get('to')}, replayed {inf.phase.value}")
    inf.tick(replay.t_s)  # everything so far is in the recording already
    if clock.now() < replay.t_s:
        raise RebuildError(f"the clock ({clock.now():.0f} s) is before the last recorded "
                           f"infusion event ({replay.t_s:.0f} s)")
    replay.replaying = False
    return inf


def restore_assessments(log: AssessmentLog, events: Sequence[SessionEvent]) -> list[str]:
    """Replay the recorded scale entries and edits into a new log (same entry ids, so the
    timepoints done before the crash count as done). Returns a line per entry that could not
    be replayed (e.g. a scale file changed since); the rest is restored regardless."""
    problems: list[str] = []
    for e in events:
        if e.kind != "scale":
            continue
        d = e.data
        try:
            answers = [None if a is None else int(a) for a in d.get("answers", [])]
            status = EntryStatus(d.get("status", "partial"))
            performed = float(d.get("performed_s", e.t_s))
            if d.get("action") == "edit":
                log.edit(str(d["entry_id"]), who=e.who or "?", reason=str(d.get("reason") or "?"),
                         answers=answers, status=status, performed_s=performed)
            else:
                log.record(str(d["scale"]), answers, status, who=e.who, performed_s=performed,
                           timepoint_id=d.get("timepoint"))
        except (AssessmentError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"scale entry at t={e.t_s:.0f} s: {exc}")
    log.drain_events()  # all of them are in the recording already
    return problems


@dataclass(frozen=True)
class ResumeNote:
    """What the "resumed" event says about the gap and the infusion."""

    gap_from_s: float
    gap_to_s: float
    phase: Phase | None  # None: no plan was confirmed before the crash
    delivered_mg: float | None
    detail: str


def resume_note(last_t_s: float, now_s: float, infusion: Infusion | None) -> ResumeNote:
    """The text and data of the "resumed" event, with the infusion rebuilt to `now_s`."""
    gap = max(0.0, now_s - last_t_s)
    text = (f"KetaDesk resumed this session after an interruption: no monitoring from "
            f"{_clock(last_t_s)} to {_clock(now_s)} ({_duration(gap)}).")
    if infusion is None:
        return ResumeNote(last_t_s, now_s, None, None, text + " No infusion plan was recorded.")
    snap = infusion.snapshot(now_s)
    phase = snap.phase
    if phase is Phase.INFUSING:
        text += (f" The pump is assumed to have kept running at {snap.set_rate_ml_per_h:g} mL/h: "
                 f"{snap.delivered_mg:.1f} mg delivered by now. Check the pump; pause or stop "
                 "here if it differs.")
    elif phase is Phase.PAUSED:
        text += " The infusion was paused and is assumed still paused: check the pump."
    elif phase is Phase.COMPLETE and snap.ended_at_s is not None and snap.ended_at_s > last_t_s:
        text += (f" The infusion is computed to have completed at {_clock(snap.ended_at_s)}, "
                 "while KetaDesk was down: check the pump.")
    else:
        text += f" Infusion phase: {phase.value}."
    return ResumeNote(last_t_s, now_s, phase, snap.delivered_mg, text)


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _clock(t_s: float) -> str:
    return "+" + _duration(t_s)
