"""The treatment course: sessions done and planned, spacing, induction progress, outcomes.

Course arithmetic over frozen rows, by calendar date (the course is counted in days, not in
session seconds). DOMAIN.md 1: an induction course of 6 infusions over 2-3 weeks; DOMAIN.md 4:
PHQ-9 0-27 with severity cut-offs 5/10/15/20, MADRS 0-60, response = a fall of at least 50 %,
MADRS remission <= 10-12. Every limit is in resources/defaults.toml [course].

Choices where DOMAIN.md is silent (marked in defaults.toml too):
- the pre-course baseline of a scale is its last score dated on or before the first session
  (a score on the day of the first session is taken as given before it);
- PHQ-9 remission is a total below 5 (below the "mild" cut-off);
- response needs a baseline above 0 (a fall from 0 has no meaning).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any


class CourseError(ValueError):
    """Bad course input (score, date, setting); the message says what is allowed."""


class SessionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"


class OutcomeScale(StrEnum):
    PHQ9 = "phq9"
    MADRS = "madrs"


SCALE_RANGES: Mapping[OutcomeScale, tuple[int, int]] = {
    OutcomeScale.PHQ9: (0, 27),
    OutcomeScale.MADRS: (0, 60),
}
SCALE_NAMES: Mapping[OutcomeScale, str] = {OutcomeScale.PHQ9: "PHQ-9",
                                           OutcomeScale.MADRS: "MADRS"}

# DOMAIN.md 4: PHQ-9 severity cut-offs 5/10/15/20 (the lower bound of each band).
PHQ9_BANDS: tuple[tuple[int, str], ...] = (
    (0, "none-minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"),
    (20, "severe"))


@dataclass(frozen=True)
class CourseSettings:
    """Defaults mirror resources/defaults.toml [course]."""

    induction_sessions: int = 6
    induction_max_days: int = 21
    max_gap_days: int = 7
    min_gap_days: int = 2
    response_fall_fraction: float = 0.5
    madrs_remission_at_or_below: int = 10
    phq9_remission_below: int = 5

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CourseSettings:
        ints = {"induction_sessions", "induction_max_days", "max_gap_days", "min_gap_days",
                "madrs_remission_at_or_below", "phq9_remission_below"}
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key in ints:
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise CourseError(f"course.{key} must be a whole number >= 1, got {value!r}")
                values[key] = value
            elif key == "response_fall_fraction":
                if (not isinstance(value, int | float) or isinstance(value, bool)
                        or not 0 < value <= 1):
                    raise CourseError(f"course.{key} must be a fraction in (0, 1], got {value!r}")
                values[key] = float(value)
            else:
                allowed = ", ".join(sorted(ints | {"response_fall_fraction"}))
                raise CourseError(f"unknown key course.{key}; allowed: {allowed}")
        s = cls(**values)
        if not 10 <= s.madrs_remission_at_or_below <= 12:
            raise CourseError("course.madrs_remission_at_or_below must be 10-12 (DOMAIN.md 4: "
                              f"remission <= 10-12), got {s.madrs_remission_at_or_below}")
        if not 1 <= s.phq9_remission_below <= 27:
            raise CourseError(f"course.phq9_remission_below must be 1-27, got "
                              f"{s.phq9_remission_below}")
        return s


def load_course_settings() -> CourseSettings:
    from ketadesk.core.config import defaults

    return CourseSettings.from_config(defaults().get("course", {}))


@dataclass(frozen=True)
class CourseSession:
    """One row of the course: a session done or planned, with its summary figures."""

    on: date
    status: SessionStatus
    dose_mg_per_kg: float | None = None
    peak_sys_mmhg: float | None = None
    peak_dia_mmhg: float | None = None
    peak_cadss: float | None = None
    pause_reasons: tuple[str, ...] = ()
    alarms: int = 0  # clinical alarms raised (technical alarms not counted)
    adverse_events: tuple[str, ...] = ()
    stopped_early: bool = False
    session_ref: str = ""  # the session recording's id or path, "" for a planned session

    @property
    def pauses(self) -> int:
        return len(self.pause_reasons)


@dataclass(frozen=True)
class OutcomeScore:
    on: date
    scale: OutcomeScale
    total: int
    who: str = ""


class WarningKind(StrEnum):
    GAP = "gap"
    SAME_DAY = "same_day"
    AFTER_WINDOW = "after_window"


@dataclass(frozen=True)
class SpacingWarning:
    kind: WarningKind
    first: date
    second: date
    message: str


@dataclass(frozen=True)
class InductionProgress:
    target: int
    done: int
    planned: int
    first_day: date | None  # the first session done
    deadline: date | None  # first_day + induction_max_days
    complete: bool
    on_schedule: bool | None  # None before the course starts
    message: str


@dataclass(frozen=True)
class OutcomeStatus:
    score: OutcomeScore
    baseline: OutcomeScore | None
    change_fraction: float | None  # (baseline - total) / baseline; positive = better
    response: bool | None  # None when there is no usable baseline or this is the baseline
    remission: bool
    severity: str  # PHQ-9 band, "" for MADRS (DOMAIN.md gives no bands)
    is_baseline: bool


@dataclass(frozen=True)
class CourseSummary:
    sessions: tuple[CourseSession, ...]  # by date, done before planned on the same day
    warnings: tuple[SpacingWarning, ...]
    progress: InductionProgress
    outcomes: Mapping[OutcomeScale, tuple[OutcomeStatus, ...]] = field(default_factory=dict)

    def latest(self, scale: OutcomeScale) -> OutcomeStatus | None:
        rows = self.outcomes.get(scale, ())
        return rows[-1] if rows else None


# ---- validation ---------------------------------------------------------------------------------

def parse_scale(text: str) -> OutcomeScale:
    t = text.strip().lower().replace("-", "").replace("_", "")
    for s in OutcomeScale:
        if t == s.value:
            return s
    raise CourseError(f"scale {text!r} is not one of: {', '.join(s.value for s in OutcomeScale)}")


def validate_score(scale: OutcomeScale, total: object, on: date, today: date) -> int:
    """The total as an int, or CourseError naming the allowed range / date."""
    lo, hi = SCALE_RANGES[scale]
    name = SCALE_NAMES[scale]
    if isinstance(total, float) and math.isfinite(total) and total.is_integer():
        total = int(total)
    if not isinstance(total, int) or isinstance(total, bool):
        raise CourseError(f"{name} total {total!r} is not a whole number; allowed {lo}-{hi}")
    if not lo <= total <= hi:
        raise CourseError(f"{name} total {total} is out of range; allowed {lo}-{hi}")
    if on > today:
        raise CourseError(f"date {on.isoformat()} is in the future (today is "
                          f"{today.isoformat()}); a score is entered once it is taken")
    return total


def validate_session_date(row: CourseSession, today: date) -> None:
    """A session marked done cannot be dated in the future (a planned one can)."""
    if row.status is SessionStatus.DONE and row.on > today:
        raise CourseError(f"a session done cannot be dated {row.on.isoformat()}, after today "
                          f"{today.isoformat()}; mark it planned instead")


# ---- arithmetic ---------------------------------------------------------------------------------

def sort_sessions(sessions: Iterable[CourseSession]) -> tuple[CourseSession, ...]:
    return tuple(sorted(sessions, key=lambda r: (r.on, r.status is SessionStatus.PLANNED)))


def spacing_warnings(sessions: Sequence[CourseSession], settings: CourseSettings | None = None,
                     ) -> tuple[SpacingWarning, ...]:
    """A gap over max_gap_days and two sessions on one day, over done and planned sessions;
    and planned sessions after the induction window, when the course has begun."""
    s = settings or CourseSettings()
    rows = sort_sessions(sessions)
    out: list[SpacingWarning] = []
    for a, b in zip(rows, rows[1:], strict=False):
        gap = (b.on - a.on).days
        if gap == 0:
            out.append(SpacingWarning(WarningKind.SAME_DAY, a.on, b.on,
                                      f"two sessions on {a.on.isoformat()} ({a.status.value} and "
                                      f"{b.status.value}): one session a day"))
        elif gap > s.max_gap_days:
            out.append(SpacingWarning(WarningKind.GAP, a.on, b.on,
                                      f"gap of {gap} days between {a.on.isoformat()} and "
                                      f"{b.on.isoformat()} (more than {s.max_gap_days})"))
    done = [r for r in rows if r.status is SessionStatus.DONE]
    if done:
        deadline = done[0].on + timedelta(days=s.induction_max_days)
        for r in rows:
            if r.status is SessionStatus.PLANNED and r.on > deadline:
                out.append(SpacingWarning(
                    WarningKind.AFTER_WINDOW, done[0].on, r.on,
                    f"planned session on {r.on.isoformat()} is after the induction window "
                    f"({s.induction_max_days} days from {done[0].on.isoformat()}, to "
                    f"{deadline.isoformat()})"))
    return tuple(out)


def induction_progress(sessions: Sequence[CourseSession], today: date,
                       settings: CourseSettings | None = None) -> InductionProgress:
    """Sessions done against the target, and whether the rest still fits the window.

    On schedule: the remaining sessions fit before the deadline at min_gap_days apart, starting
    today (or tomorrow, when a session was already done today)."""
    s = settings or CourseSettings()
    rows = sort_sessions(sessions)
    done = [r for r in rows if r.status is SessionStatus.DONE]
    planned = [r for r in rows if r.status is SessionStatus.PLANNED]
    target = s.induction_sessions
    if not done:
        return InductionProgress(target, 0, len(planned), None, None, False, None,
                                 f"not started: 0 of {target} sessions done")
    first = done[0].on
    deadline = first + timedelta(days=s.induction_max_days)
    n = len(done)
    if n >= target:
        span = (done[target - 1].on - first).days
        ok = span <= s.induction_max_days
        return InductionProgress(
            target, n, len(planned), first, deadline, True, ok,
            f"induction complete: {target} sessions in {span} days"
            + ("" if ok else f", longer than the {s.induction_max_days}-day window"))
    remaining = target - n
    next_day = today + timedelta(days=1) if done[-1].on >= today else today
    if next_day > deadline:
        ok = False
    else:
        ok = (remaining - 1) * s.min_gap_days <= (deadline - next_day).days
    days_left = (deadline - today).days
    state = "on schedule" if ok else "behind schedule"
    return InductionProgress(
        target, n, len(planned), first, deadline, False, ok,
        f"{n} of {target} sessions done; {remaining} to go by {deadline.isoformat()} "
        f"({days_left} day{'' if days_left == 1 else 's'} left): {state}")


def phq9_severity(total: int) -> str:
    band = PHQ9_BANDS[0][1]
    for lower, name in PHQ9_BANDS:
        if total >= lower:
            band = name
    return band


def is_remission(scale: OutcomeScale, total: int, settings: CourseSettings | None = None) -> bool:
    s = settings or CourseSettings()
    if scale is OutcomeScale.MADRS:
        return total <= s.madrs_remission_at_or_below
    return total < s.phq9_remission_below


def change_fraction(baseline: int, total: int) -> float | None:
    """The fall from baseline as a fraction of it (0.5 = halved); None when baseline is 0."""
    if baseline <= 0:
        return None
    return (baseline - total) / baseline


def is_response(baseline: int, total: int, settings: CourseSettings | None = None) -> bool | None:
    s = settings or CourseSettings()
    frac = change_fraction(baseline, total)
    if frac is None:
        return None
    # A tiny tolerance so a fall of exactly half (e.g. 30 -> 15) counts despite float rounding.
    return frac >= s.response_fall_fraction - 1e-9


def outcome_statuses(scores: Iterable[OutcomeScore], first_session: date | None,
                     settings: CourseSettings | None = None,
                     ) -> dict[OutcomeScale, tuple[OutcomeStatus, ...]]:
    """Per scale, each score with its change from the pre-course baseline."""
    s = settings or CourseSettings()
    out: dict[OutcomeScale, tuple[OutcomeStatus, ...]] = {}
    for scale in OutcomeScale:
        rows = sorted((x for x in scores if x.scale is scale), key=lambda x: x.on)
        if not rows:
            continue
        before = [x for x in rows if first_session is None or x.on <= first_session]
        baseline = before[-1] if before else None
        statuses: list[OutcomeStatus] = []
        for x in rows:
            is_base = x is baseline
            # Scores up to the baseline are history: no change or response is computed for them.
            judged = baseline is not None and not is_base and x.on >= baseline.on
            frac = change_fraction(baseline.total, x.total) if judged and baseline else None
            resp = is_response(baseline.total, x.total, s) if judged and baseline else None
            statuses.append(OutcomeStatus(
                x, baseline, frac, resp, is_remission(scale, x.total, s),
                phq9_severity(x.total) if scale is OutcomeScale.PHQ9 else "", is_base))
        out[scale] = tuple(statuses)
    return out


def summarize(sessions: Iterable[CourseSession], scores: Iterable[OutcomeScore], today: date,
              settings: CourseSettings | None = None) -> CourseSummary:
    s = settings or CourseSettings()
    rows = sort_sessions(sessions)
    done = [r for r in rows if r.status is SessionStatus.DONE]
    first = done[0].on if done else None
    return CourseSummary(rows, spacing_warnings(rows, s), induction_progress(rows, today, s),
                         outcome_statuses(list(scores), first, s))


def describe_outcome(st: OutcomeStatus, settings: CourseSettings | None = None) -> str:
    """One line, e.g. "MADRS 14 on 2026-01-20: -53 % from 30, response; not in remission"."""
    s = settings or CourseSettings()
    x = st.score
    name = SCALE_NAMES[x.scale]
    text = f"{name} {x.total} on {x.on.isoformat()}"
    if x.scale is OutcomeScale.PHQ9:
        text += f" ({st.severity})"
    if st.is_baseline:
        text += ": pre-course baseline"
    elif st.baseline is None:
        text += ": no pre-course baseline, response not computed"
    elif x.on < st.baseline.on:
        text += ": before the pre-course baseline"
    elif st.change_fraction is None:
        text += f": baseline {st.baseline.total}, response not computed"
    else:
        fall = st.change_fraction * 100
        text += (f": {-fall:+.0f} % from {st.baseline.total}, "
                 + ("response" if st.response else
                    f"no response (needs a fall >= {s.response_fall_fraction * 100:.0f} %)"))
    limit = (f"<= {s.madrs_remission_at_or_below}" if x.scale is OutcomeScale.MADRS
             else f"< {s.phq9_remission_below}")
    text += "; remission" if st.remission else f"; not in remission ({limit})"
    return text
