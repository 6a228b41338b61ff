"""The infusion timer: phases, delivered dose, recovery clock and session events (issue 3).

One Infusion runs one confirmed DosePlan (see dose.py) on an injected Clock. Durations use
only clock.now() (monotonic); clock.wall_time() is read only to stamp events, so a wall-clock
jump changes no duration, no delivered dose and no completion time.

Delivered dose is the integral of the pump's real rate over the time it ran: it is banked at
every rate change, pause and resume, and between those it is linear in time. The completion
instant is computed analytically from the banked dose, so completion lands exactly on the
planned total even when it falls between two ticks; delivered is clamped to the plan.

The session calls the commands (start, pause, ...) on clicks, and tick() every frame to get
the events it has not yet seen (automatic completion, recovery minimum reached, and the events
the commands made): record from tick(), the commands' return values are for display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from ketadesk.core.clock import Clock
from ketadesk.core.dose import DosePlan, format_number
from ketadesk.core.events import SessionEvent

# SessionEvent kinds made here.
EVENT_PLAN = "plan"
EVENT_OVERRIDE = "override"
EVENT_ACKNOWLEDGEMENT = "acknowledgement"
EVENT_PHASE = "phase"
EVENT_RATE_CHANGE = "rate_change"
EVENT_RECOVERY = "recovery"


class InfusionError(Exception):
    """A command that is not allowed now, or a bad argument; the message says what is allowed."""


class Phase(StrEnum):
    BASELINE = "BASELINE"
    INFUSING = "INFUSING"
    PAUSED = "PAUSED"
    COMPLETE = "COMPLETE"
    STOPPED_EARLY = "STOPPED_EARLY"
    RECOVERY = "RECOVERY"
    ENDED = "ENDED"


class Action(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CHANGE_RATE = "change rate"
    STOP_EARLY = "stop early"
    BEGIN_RECOVERY = "begin recovery"
    END = "end"


# Where each command may be given. COMPLETE is never commanded: the timer reaches it.
ALLOWED_FROM: Mapping[Action, frozenset[Phase]] = {
    Action.START: frozenset({Phase.BASELINE}),
    Action.PAUSE: frozenset({Phase.INFUSING}),
    Action.RESUME: frozenset({Phase.PAUSED}),
    Action.CHANGE_RATE: frozenset({Phase.INFUSING, Phase.PAUSED}),
    Action.STOP_EARLY: frozenset({Phase.INFUSING, Phase.PAUSED}),
    Action.BEGIN_RECOVERY: frozenset({Phase.COMPLETE, Phase.STOPPED_EARLY}),
    Action.END: frozenset({Phase.RECOVERY}),
}


def allowed_actions(phase: Phase) -> tuple[Action, ...]:
    """Commands allowed from a phase, in a stable order (for buttons and error messages)."""
    return tuple(a for a in Action if phase in ALLOWED_FROM[a])


class RecoveryRule(StrEnum):
    AFTER_END = "after_end"  # minimum observation after the infusion ended (default 60 min)
    FROM_DOSE_START = "from_dose_start"  # esketamine-style: from the dose start (120 min)
    LATER_OF_BOTH = "later_of_both"


@dataclass(frozen=True)
class InfusionSettings:
    """Defaults mirror resources/defaults.toml [infusion] and [infusion.recovery]."""

    pause_reasons: tuple[str, ...] = (
        "hypertension",
        "nausea/vomiting",
        "patient request",
        "line problem",
        "other",
    )
    other_reason: str = "other"  # the pause reason that needs free text
    max_pump_rate_ml_per_h: float = 999.0
    recovery_rule: RecoveryRule = RecoveryRule.AFTER_END
    recovery_min_after_end_min: float = 60.0
    recovery_min_from_dose_start_min: float = 120.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> InfusionSettings:
        """Build from the [infusion] table of defaults.toml; bad values raise ValueError."""
        values: dict[str, Any] = {}
        if "pause_reasons" in section:
            reasons = section["pause_reasons"]
            if (
                not isinstance(reasons, list)
                or not reasons
                or not all(isinstance(r, str) and r.strip() for r in reasons)
            ):
                raise ValueError(
                    f"infusion.pause_reasons must be a non-empty list of text, got {reasons!r}"
                )
            values["pause_reasons"] = tuple(r.strip() for r in reasons)
        if "other_reason" in section:
            values["other_reason"] = str(section["other_reason"]).strip()
        if "max_pump_rate_ml_per_h" in section:
            values["max_pump_rate_ml_per_h"] = _positive_number(
                section["max_pump_rate_ml_per_h"], "infusion.max_pump_rate_ml_per_h"
            )
        recovery = section.get("recovery", {})
        if "rule" in recovery:
            try:
                values["recovery_rule"] = RecoveryRule(recovery["rule"])
            except ValueError:
                allowed = ", ".join(r.value for r in RecoveryRule)
                raise ValueError(
                    f"infusion.recovery.rule {recovery['rule']!r} is not one of: {allowed}"
                ) from None
        for key, name in (
            ("min_after_end_min", "recovery_min_after_end_min"),
            ("min_from_dose_start_min", "recovery_min_from_dose_start_min"),
        ):
            if key in recovery:
                values[name] = _positive_number(recovery[key], f"infusion.recovery.{key}")
        settings = cls(**values)
        if settings.other_reason not in settings.pause_reasons:
            raise ValueError(
                f"infusion.other_reason {settings.other_reason!r} is not in pause_reasons"
            )
        return settings


def load_infusion_settings() -> InfusionSettings:
    """InfusionSettings from the shipped defaults.toml."""
    from ketadesk.core.config import defaults

    return InfusionSettings.from_config(defaults().get("infusion", {}))


@dataclass(frozen=True)
class InfusionSnapshot:
    """Live values at t_s, for panels and the recorder."""

    t_s: float
    phase: Phase
    started_at_s: float | None
    ended_at_s: float | None  # when the infusion completed or was stopped
    elapsed_infusing_s: float  # time the pump ran (pauses excluded)
    elapsed_since_start_s: float  # since start, pauses included (0 before start)
    remaining_s: float  # infusing time still needed at the set rate (0 once ended)
    expected_end_s: float | None  # only while INFUSING: when the plan total will be reached
    delivered_mg: float
    delivered_mg_per_kg: float
    progress: float  # delivered / planned, 0-1
    rate_ml_per_h: float  # actual now: 0 unless INFUSING
    rate_mg_per_h: float
    set_rate_ml_per_h: float  # the pump setting, which runs again on resume
    recovery_elapsed_s: float | None
    discharge_assessable_at_s: float | None
    discharge_assessable: bool


class Infusion:
    """The phase machine and dose integrator for one confirmed plan."""

    def __init__(
        self, plan: DosePlan, clock: Clock, settings: InfusionSettings | None = None
    ) -> None:
        self._plan = plan
        self._clock = clock
        self._settings = settings or InfusionSettings()
        self._phase = Phase.BASELINE
        self._dose_mg = plan.dose_mg
        self._conc = plan.concentration_mg_per_ml
        self._set_rate_ml_per_h = plan.rate_ml_per_h
        self._start_s: float | None = None
        self._end_s: float | None = None
        # Banked values hold everything up to _anchor_s; after it, the current rate runs.
        self._anchor_s = 0.0
        self._banked_mg = 0.0
        self._banked_run_s = 0.0
        self._steps: list[tuple[float, float]] = []
        self._events: list[SessionEvent] = []
        self._handed_out = 0
        self._last_t = clock.now()
        self._recovery_reached_told = False
        self._record_plan(self._last_t)

    # ---- queries ------------------------------------------------------------------------------

    @property
    def plan(self) -> DosePlan:
        return self._plan

    @property
    def settings(self) -> InfusionSettings:
        return self._settings

    @property
    def phase(self) -> Phase:
        self._advance(self._time(None))
        return self._phase

    @property
    def events(self) -> tuple[SessionEvent, ...]:
        """Every event so far (tick() hands each out once)."""
        return tuple(self._events)

    def allowed_actions(self) -> tuple[Action, ...]:
        return allowed_actions(self.phase)

    def rate_history(self) -> tuple[tuple[float, float], ...]:
        """Steps (t_s, rate_mg_per_min) of the real rate, for a PK simulator: each rate holds
        from its t_s until the next step; before the first step the rate is 0, and it is 0
        while paused and after the infusion ended."""
        self._advance(self._time(None))
        return tuple(self._steps)

    def delivered_mg(self, now_s: float | None = None) -> float:
        t = self._time(now_s)
        self._advance(t)
        return self._delivered_at(t)

    def snapshot(self, now_s: float | None = None) -> InfusionSnapshot:
        t = self._time(now_s)
        self._advance(t)
        running = self._phase is Phase.INFUSING
        delivered = self._delivered_at(t)
        remaining = self._remaining_s(t)
        rate_ml = self._set_rate_ml_per_h if running else 0.0
        discharge_at = self.discharge_assessable_at_s
        return InfusionSnapshot(
            t_s=t,
            phase=self._phase,
            started_at_s=self._start_s,
            ended_at_s=self._end_s,
            elapsed_infusing_s=self._banked_run_s + (t - self._anchor_s if running else 0.0),
            elapsed_since_start_s=0.0 if self._start_s is None else t - self._start_s,
            remaining_s=remaining,
            expected_end_s=self._completion_s() if running else None,
            delivered_mg=delivered,
            delivered_mg_per_kg=delivered / self._plan.weight_kg,
            progress=delivered / self._dose_mg,
            rate_ml_per_h=rate_ml,
            rate_mg_per_h=rate_ml * self._conc,
            set_rate_ml_per_h=self._set_rate_ml_per_h,
            recovery_elapsed_s=None if self._end_s is None else t - self._end_s,
            discharge_assessable_at_s=discharge_at,
            discharge_assessable=discharge_at is not None and t >= discharge_at,
        )

    @property
    def discharge_assessable_at_s(self) -> float | None:
        """When the minimum recovery observation is over (None until the infusion ended)."""
        if self._end_s is None or self._start_s is None:
            return None
        s = self._settings
        after_end = self._end_s + s.recovery_min_after_end_min * 60.0
        # Never before the infusion ended, even when pauses made it run past the 120 min.
        from_start = max(self._end_s, self._start_s + s.recovery_min_from_dose_start_min * 60.0)
        if s.recovery_rule is RecoveryRule.AFTER_END:
            return after_end
        if s.recovery_rule is RecoveryRule.FROM_DOSE_START:
            return from_start
        return max(after_end, from_start)

    # ---- commands -----------------------------------------------------------------------------

    def tick(self, now_s: float | None = None) -> tuple[SessionEvent, ...]:
        """Advance to now (completion, recovery minimum) and return events not yet handed out."""
        self._advance(self._time(now_s))
        new = tuple(self._events[self._handed_out :])
        self._handed_out = len(self._events)
        return new

    def start(self, who: str | None = None) -> SessionEvent:
        t = self._begin(Action.START)
        self._start_s = t
        self._anchor_s = t
        self._phase = Phase.INFUSING
        self._step(t, self._rate_mg_per_min())
        return self._transition(
            t,
            Phase.BASELINE,
            f"Infusion started at {self._rate_text()}",
            who,
            {"rate_ml_per_h": self._set_rate_ml_per_h, "planned_remaining_s": self._remaining_s(t)},
        )

    def pause(self, reason: str, text: str = "", who: str | None = None) -> SessionEvent:
        reason_id = self._pause_reason(reason, text)
        t = self._begin(Action.PAUSE)
        self._bank(t)
        self._phase = Phase.PAUSED
        self._step(t, 0.0)
        why = reason_id + (f" ({text.strip()})" if text.strip() else "")
        return self._transition(
            t,
            Phase.INFUSING,
            f"Infusion paused: {why}",
            who,
            {"reason": reason_id, "text": text.strip(), "delivered_mg": self._banked_mg},
        )

    def resume(self, who: str | None = None) -> SessionEvent:
        t = self._begin(Action.RESUME)
        self._anchor_s = t
        self._phase = Phase.INFUSING
        self._step(t, self._rate_mg_per_min())
        remaining = self._remaining_s(t)
        return self._transition(
            t,
            Phase.PAUSED,
            f"Infusion resumed at {self._rate_text()}, {_duration_text(remaining)} to go",
            who,
            {"rate_ml_per_h": self._set_rate_ml_per_h, "remaining_s": remaining},
        )

    def change_rate(
        self, rate_ml_per_h: float, reason: str, who: str | None = None
    ) -> SessionEvent:
        max_rate = self._settings.max_pump_rate_ml_per_h
        if not (math.isfinite(rate_ml_per_h) and 0 < rate_ml_per_h <= max_rate):
            raise InfusionError(
                f"rate {rate_ml_per_h} mL/h is not allowed: give a rate above 0 and at most "
                f"{format_number(max_rate)} mL/h"
            )
        if not reason.strip():
            raise InfusionError("a rate change needs a reason")
        t = self._begin(Action.CHANGE_RATE)
        old = self._set_rate_ml_per_h
        if rate_ml_per_h == old:
            raise InfusionError(f"the pump is already set to {format_number(old, 1)} mL/h")
        self._bank(t)
        self._set_rate_ml_per_h = float(rate_ml_per_h)
        if self._phase is Phase.INFUSING:
            self._step(t, self._rate_mg_per_min())
        remaining = self._remaining_s(t)
        return self._event(
            t,
            EVENT_RATE_CHANGE,
            f"Rate changed {format_number(old, 1)} -> {format_number(rate_ml_per_h, 1)} mL/h: "
            f"{reason.strip()}; {_duration_text(remaining)} of infusing to go",
            who,
            {
                "old_rate_ml_per_h": old,
                "rate_ml_per_h": self._set_rate_ml_per_h,
                "rate_mg_per_h": self._set_rate_ml_per_h * self._conc,
                "reason": reason.strip(),
                "remaining_s": remaining,
                "delivered_mg": self._banked_mg,
                "phase": self._phase.value,
            },
        )

    def stop_early(self, reason: str, who: str | None = None) -> SessionEvent:
        if not reason.strip():
            raise InfusionError("stopping early needs a reason")
        t = self._begin(Action.STOP_EARLY)
        previous = self._phase
        self._bank(t)
        self._phase = Phase.STOPPED_EARLY
        self._end_s = t
        self._step(t, 0.0)
        delivered = self._banked_mg
        return self._transition(
            t,
            previous,
            f"Infusion stopped early after {format_number(delivered)} of "
            f"{format_number(self._dose_mg)} mg: {reason.strip()}",
            who,
            {
                "reason": reason.strip(),
                "delivered_mg": delivered,
                "undelivered_mg": self._dose_mg - delivered,
            },
        )

    def begin_recovery(self, who: str | None = None) -> SessionEvent:
        t = self._begin(Action.BEGIN_RECOVERY)
        previous = self._phase
        self._phase = Phase.RECOVERY
        at = self.discharge_assessable_at_s
        return self._transition(
            t,
            previous,
            "Recovery observation begun",
            who,
            {"discharge_assessable_at_s": at},
        )

    def end(self, who: str | None = None, reason: str = "") -> SessionEvent:
        """End observation. Before the recovery minimum this needs a reason (it is recorded)."""
        t = self._begin(Action.END)
        at = self.discharge_assessable_at_s
        early = at is not None and t < at
        if at is not None and t < at and not reason.strip():
            raise InfusionError(
                f"the recovery minimum is not reached: discharge can be assessed at "
                f"{_clock_text(at)} (in {_duration_text(at - t)}); give a reason to end early"
            )
        self._phase = Phase.ENDED
        detail = "Session ended" + (
            f" before the recovery minimum: {reason.strip()}" if early else ""
        )
        return self._transition(
            t,
            Phase.RECOVERY,
            detail,
            who,
            {"reason": reason.strip(), "before_recovery_minimum": early},
        )

    # ---- internals ----------------------------------------------------------------------------

    def _time(self, now_s: float | None) -> float:
        t = self._clock.now() if now_s is None else float(now_s)
        if not math.isfinite(t) or t < self._last_t:
            raise InfusionError(
                f"time {t} s is before the last time seen ({self._last_t} s): "
                "give monotonic seconds from the session clock"
            )
        self._last_t = t
        return t

    def _begin(self, action: Action) -> float:
        """Advance to now and check the command is allowed in the resulting phase."""
        t = self._time(None)
        self._advance(t)
        allowed_from = ALLOWED_FROM[action]
        if self._phase not in allowed_from:
            needed = " or ".join(p.value for p in Phase if p in allowed_from)
            here = ", ".join(a.value for a in allowed_actions(self._phase)) or "nothing"
            raise InfusionError(
                f"cannot {action.value}: the infusion is {self._phase.value}, not {needed}; "
                f"allowed from {self._phase.value}: {here}"
            )
        return t

    def _advance(self, t: float) -> None:
        """Apply what time alone does: completion, then the recovery minimum."""
        if self._phase is Phase.INFUSING:
            done_s = self._completion_s()
            if t >= done_s:
                self._banked_run_s += done_s - self._anchor_s
                self._banked_mg = self._dose_mg  # exactly the plan, never a rounding off
                self._anchor_s = done_s
                self._end_s = done_s
                self._phase = Phase.COMPLETE
                self._step(done_s, 0.0)
                self._transition(
                    done_s,
                    Phase.INFUSING,
                    f"Infusion complete: {format_number(self._dose_mg)} mg delivered",
                    "",
                    {"delivered_mg": self._dose_mg, "automatic": True},
                )
        at = self.discharge_assessable_at_s
        if (
            at is not None
            and t >= at
            and not self._recovery_reached_told
            and self._phase is not Phase.ENDED
        ):
            self._recovery_reached_told = True
            self._event(
                at,
                EVENT_RECOVERY,
                f"Recovery minimum reached ({self._settings.recovery_rule.value}): "
                "discharge criteria can be assessed",
                "",
                {"discharge_assessable_at_s": at, "rule": self._settings.recovery_rule.value},
            )

    def _completion_s(self) -> float:
        return self._anchor_s + (self._dose_mg - self._banked_mg) * 3600.0 / self._rate_mg_per_h()

    def _delivered_at(self, t: float) -> float:
        if self._phase is not Phase.INFUSING:
            return self._banked_mg
        running = self._banked_mg + self._rate_mg_per_h() * (t - self._anchor_s) / 3600.0
        return min(self._dose_mg, running)

    def _remaining_s(self, t: float) -> float:
        if self._phase is Phase.INFUSING:
            return max(0.0, self._completion_s() - t)
        if self._phase in (Phase.BASELINE, Phase.PAUSED):
            return (self._dose_mg - self._banked_mg) * 3600.0 / self._rate_mg_per_h()
        return 0.0

    def _bank(self, t: float) -> None:
        if self._phase is Phase.INFUSING:
            self._banked_mg = self._delivered_at(t)
            self._banked_run_s += t - self._anchor_s
        self._anchor_s = t

    def _rate_mg_per_h(self) -> float:
        return self._set_rate_ml_per_h * self._conc

    def _rate_mg_per_min(self) -> float:
        return self._rate_mg_per_h() / 60.0

    def _rate_text(self) -> str:
        return (
            f"{format_number(self._set_rate_ml_per_h, 1)} mL/h "
            f"({format_number(self._rate_mg_per_h())} mg/h)"
        )

    def _step(self, t: float, rate_mg_per_min: float) -> None:
        # Two commands at the same instant (pause then resume) leave one step, not a zero-width one.
        if self._steps and self._steps[-1][0] == t:
            self._steps[-1] = (t, rate_mg_per_min)
        else:
            self._steps.append((t, rate_mg_per_min))

    def _transition(
        self, t: float, previous: Phase, detail: str, who: str | None, data: dict[str, Any]
    ) -> SessionEvent:
        data = {"from": previous.value, "to": self._phase.value, **data}
        return self._event(t, EVENT_PHASE, detail, who, data)

    def _event(
        self, t: float, kind: str, detail: str, who: str | None, data: dict[str, Any]
    ) -> SessionEvent:
        # Events at a past instant (completion between ticks) get that instant's wall time.
        wall = self._clock.wall_time() - timedelta(seconds=self._clock.now() - t)
        event = SessionEvent(
            t_s=t,
            wall_time=wall.isoformat(),
            kind=kind,
            detail=detail,
            who=self._plan.who if who is None else who.strip(),
            data=data,
        )
        self._events.append(event)
        return event

    def _record_plan(self, t: float) -> None:
        p = self._plan
        n = p.numbers
        self._event(
            t,
            EVENT_PLAN,
            f"Plan confirmed: {format_number(n.dose_mg)} mg "
            f"({format_number(n.dose_mg_per_kg, 3)} mg/kg x {format_number(n.weight_kg, 1)} kg) "
            f"over {format_number(n.duration_min, 1)} min at {format_number(n.rate_ml_per_h, 1)} "
            f"mL/h of {format_number(n.concentration_mg_per_ml, 3)} mg/mL",
            None,
            {
                **asdict(n),
                "weight_unit": p.inputs.weight_unit.value,
                "findings": [f.code for f in p.findings],
            },
        )
        for o in p.overrides:
            self._event(
                t,
                EVENT_OVERRIDE,
                f"Override: {o.message}. Reason: {o.reason}",
                None,
                {"code": o.code, "reason": o.reason},
            )
        by_code = {f.code: f for f in p.findings}
        for code in p.acknowledged:
            message = by_code[code].message if code in by_code else code
            self._event(t, EVENT_ACKNOWLEDGEMENT, f"Acknowledged: {message}", None, {"code": code})

    def _pause_reason(self, reason: str, text: str) -> str:
        allowed = self._settings.pause_reasons
        match = next((r for r in allowed if r.lower() == reason.strip().lower()), None)
        if match is None:
            raise InfusionError(f"pause reason {reason!r} is not one of: {', '.join(allowed)}")
        if match == self._settings.other_reason and not text.strip():
            raise InfusionError(f"pause reason {match!r} needs a description in text")
        return match


def _positive_number(value: object, name: str) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _duration_text(seconds: float) -> str:
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _clock_text(t_s: float) -> str:
    return "+" + _duration_text(t_s)
