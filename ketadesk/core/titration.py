"""Titration support: a suggested dose for the next session, never applied automatically.

DOMAIN.md 1: 0.5 mg/kg first, later sessions may be titrated to 0.75 or 1.0 mg/kg by
tolerability and dissociation depth. The rule here is deliberately simple and configurable
(resources/defaults.toml [titration]):

- no previous session: the first step;
- the previous session was not well tolerated (stopped early, a pause for a listed reason such
  as hypertension, a listed adverse event, or a peak BP at or above the limits): stay;
- dissociation unknown (no CADSS) or above the step-up limit: stay;
- otherwise step up one protocol step (or stay at the top step).

The clinician chooses; `decide` records the choice with a reason (required when the choice
differs from the suggestion) and who, as a TitrationDecision stored with the session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ketadesk.core.course import CourseSession
from ketadesk.core.events import SessionEvent

EVENT_TITRATION = "titration"


class TitrationError(ValueError):
    """A bad choice or setting; the message says what is allowed."""


class Suggestion(StrEnum):
    START = "start"  # no previous session
    STAY = "stay"
    STEP_UP = "step up"


@dataclass(frozen=True)
class TitrationSettings:
    steps_mg_per_kg: tuple[float, ...] = (0.5, 0.75, 1.0)
    stay_if_peak_sys_at_or_above_mmhg: float = 180.0
    stay_if_peak_dia_at_or_above_mmhg: float = 110.0
    stay_if_pause_reasons: tuple[str, ...] = ("hypertension", "nausea/vomiting")
    step_up_if_peak_cadss_at_or_below: float = 10.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> TitrationSettings:
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key == "steps_mg_per_kg":
                if (not isinstance(value, list) or not value
                        or not all(_is_number(v) and v > 0 for v in value)
                        or sorted(value) != value or len(set(value)) != len(value)):
                    raise TitrationError("titration.steps_mg_per_kg must be increasing positive "
                                         f"numbers, got {value!r}")
                values[key] = tuple(float(v) for v in value)
            elif key == "stay_if_pause_reasons":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise TitrationError(f"titration.{key} must be a list of text, got {value!r}")
                values[key] = tuple(v.strip().lower() for v in value)
            elif key in ("stay_if_peak_sys_at_or_above_mmhg", "stay_if_peak_dia_at_or_above_mmhg",
                         "step_up_if_peak_cadss_at_or_below"):
                if not _is_number(value) or value < 0:
                    raise TitrationError(f"titration.{key} must be a number >= 0, got {value!r}")
                values[key] = float(value)
            else:
                raise TitrationError(f"unknown key titration.{key}")
        return cls(**values)


def load_titration_settings() -> TitrationSettings:
    from ketadesk.core.config import defaults

    return TitrationSettings.from_config(defaults().get("titration", {}))


@dataclass(frozen=True)
class TitrationSuggestion:
    suggestion: Suggestion
    dose_mg_per_kg: float
    reasons: tuple[str, ...]
    previous: CourseSession | None
    steps_mg_per_kg: tuple[float, ...]  # offered to the clinician

    @property
    def text(self) -> str:
        return f"{self.suggestion.value} at {self.dose_mg_per_kg:g} mg/kg: " + "; ".join(
            self.reasons)


@dataclass(frozen=True)
class TitrationDecision:
    chosen_mg_per_kg: float
    suggested_mg_per_kg: float
    suggestion: Suggestion
    previous_mg_per_kg: float | None
    reason: str
    who: str
    wall_time: str  # ISO 8601

    @property
    def follows_suggestion(self) -> bool:
        return math.isclose(self.chosen_mg_per_kg, self.suggested_mg_per_kg)

    def to_dict(self) -> dict[str, Any]:
        return {"chosen_mg_per_kg": self.chosen_mg_per_kg,
                "suggested_mg_per_kg": self.suggested_mg_per_kg,
                "suggestion": self.suggestion.value,
                "previous_mg_per_kg": self.previous_mg_per_kg,
                "follows_suggestion": self.follows_suggestion,
                "reason": self.reason, "who": self.who, "wall_time": self.wall_time}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TitrationDecision:
        return cls(float(d["chosen_mg_per_kg"]), float(d["suggested_mg_per_kg"]),
                   Suggestion(d["suggestion"]),
                   None if d.get("previous_mg_per_kg") is None
                   else float(d["previous_mg_per_kg"]),
                   str(d["reason"]), str(d["who"]), str(d["wall_time"]))

    def to_event(self, t_s: float) -> SessionEvent:
        prev = "none" if self.previous_mg_per_kg is None else f"{self.previous_mg_per_kg:g}"
        detail = (f"Dose chosen {self.chosen_mg_per_kg:g} mg/kg (suggested "
                  f"{self.suggested_mg_per_kg:g}, previous {prev}): {self.reason}")
        return SessionEvent(t_s, self.wall_time, EVENT_TITRATION, detail, self.who,
                            self.to_dict())


def suggest(previous: CourseSession | None, settings: TitrationSettings | None = None,
            ) -> TitrationSuggestion:
    """The protocol step suggested after `previous` (the last session done), with reasons."""
    s = settings or TitrationSettings()
    steps = s.steps_mg_per_kg
    if previous is None or previous.dose_mg_per_kg is None:
        why = ("first session: the protocol's starting dose" if previous is None
               else "previous dose not recorded: the protocol's starting dose")
        return TitrationSuggestion(Suggestion.START, steps[0], (why,), previous, steps)
    dose = previous.dose_mg_per_kg
    stay: list[str] = []
    if previous.stopped_early:
        stay.append("the previous infusion was stopped early")
    listed = set(s.stay_if_pause_reasons)
    for r in previous.pause_reasons:
        if r.strip().lower() in listed:
            stay.append(f"paused for {r}")
    for ev in previous.adverse_events:
        if ev.strip().lower() in listed:
            stay.append(f"adverse event: {ev}")
    if previous.peak_sys_mmhg is not None and (
            previous.peak_sys_mmhg >= s.stay_if_peak_sys_at_or_above_mmhg
            or (previous.peak_dia_mmhg or 0.0) >= s.stay_if_peak_dia_at_or_above_mmhg):
        stay.append(f"peak BP {previous.peak_sys_mmhg:g}/{_num(previous.peak_dia_mmhg)} reached "
                    f"{s.stay_if_peak_sys_at_or_above_mmhg:g}/"
                    f"{s.stay_if_peak_dia_at_or_above_mmhg:g}")
    if previous.peak_cadss is None:
        stay.append("no CADSS recorded: dissociation unknown")
    elif previous.peak_cadss > s.step_up_if_peak_cadss_at_or_below:
        stay.append(f"peak CADSS {previous.peak_cadss:g} above "
                    f"{s.step_up_if_peak_cadss_at_or_below:g}")
    higher = [x for x in steps if x > dose + 1e-9]
    if not stay and not higher:
        stay.append(f"already at the highest protocol step ({steps[-1]:g} mg/kg)")
    if stay:
        return TitrationSuggestion(Suggestion.STAY, dose, tuple(stay), previous, steps)
    bp = ("" if previous.peak_sys_mmhg is None
          else f", peak BP {previous.peak_sys_mmhg:g}/{_num(previous.peak_dia_mmhg)}")
    why = (f"{dose:g} mg/kg well tolerated (no listed pause or adverse event{bp}) with peak "
           f"CADSS {previous.peak_cadss:g} (<= {s.step_up_if_peak_cadss_at_or_below:g})")
    return TitrationSuggestion(Suggestion.STEP_UP, higher[0], (why,), previous, steps)


def decide(suggestion: TitrationSuggestion, chosen_mg_per_kg: float, reason: str, who: str,
           when: datetime) -> TitrationDecision:
    """Record the clinician's choice. A reason is required when it differs from the suggestion;
    the dose guards (dose.py) still check the plan built from it."""
    if not _is_number(chosen_mg_per_kg) or chosen_mg_per_kg <= 0:
        steps = ", ".join(f"{x:g}" for x in suggestion.steps_mg_per_kg)
        raise TitrationError(f"chosen dose {chosen_mg_per_kg!r} mg/kg must be a positive number "
                             f"(protocol steps: {steps})")
    if not who.strip():
        raise TitrationError("the dose choice needs the clinician's initials")
    agrees = math.isclose(chosen_mg_per_kg, suggestion.dose_mg_per_kg)
    if not agrees and not reason.strip():
        raise TitrationError(f"{chosen_mg_per_kg:g} mg/kg differs from the suggested "
                             f"{suggestion.dose_mg_per_kg:g} mg/kg: give a reason")
    text = reason.strip() or "as suggested: " + "; ".join(suggestion.reasons)
    prev = suggestion.previous.dose_mg_per_kg if suggestion.previous is not None else None
    return TitrationDecision(float(chosen_mg_per_kg), suggestion.dose_mg_per_kg,
                             suggestion.suggestion, prev, text, who.strip(), when.isoformat())


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
