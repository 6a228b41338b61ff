"""Discharge at the end of a session: the checklist, the BP landmarks and the session's figures.

DOMAIN.md 8: discharge criteria are mental status back to baseline, vitals acceptable and an
escort present; the record keeps total minutes monitored and the time the patient would have
been ready to leave; esketamine monitoring asks for BP before the dose, at 40 min and at
discharge. The minimum observation comes from the infusion's recovery rule
(InfusionSnapshot.discharge_assessable). Vital-sign limits are site choices
(resources/defaults.toml [discharge]).

BP landmarks are taken from the session's NIBP buffer, never typed: before the dose = the last
reading at or before the dose start; at 40 min = the reading nearest to dose start + 40 min
(within a tolerance, else none); at discharge = the last reading.

Choice: BP is required for "vitals acceptable"; HR, SpO2 and RR are checked when a recent
reading exists and noted as "not measured" otherwise (some sources do not provide them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from ketadesk.core.buffer import SeriesProvider
from ketadesk.core.course import CourseSession, SessionStatus
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import EVENT_PHASE, InfusionSnapshot, Phase

if TYPE_CHECKING:
    from ketadesk.core.session import Reading, Session

EVENT_DISCHARGE = "discharge"
AT_40_S = 40 * 60.0  # DOMAIN.md 8: the esketamine "at 40 min" BP, from the dose start


class DischargeError(ValueError):
    """A discharge that cannot be recorded as asked; the message says what is needed."""


class Item(StrEnum):
    MENTAL_STATUS = "mental status at baseline"
    VITALS = "vitals acceptable"
    ESCORT = "escort present"
    OBSERVATION = "minimum observation elapsed"


@dataclass(frozen=True)
class DischargeSettings:
    """Defaults mirror resources/defaults.toml [discharge]."""

    sys_max_mmhg: float = 160.0
    sys_min_mmhg: float = 90.0
    dia_max_mmhg: float = 100.0
    hr_min: float = 50.0
    hr_max: float = 110.0
    spo2_min: float = 94.0
    rr_min: float = 10.0
    rr_max: float = 25.0
    max_reading_age_min: float = 20.0
    bp_at_40_tolerance_min: float = 10.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> DischargeSettings:
        known = set(cls.__dataclass_fields__)
        values: dict[str, float] = {}
        for key, value in section.items():
            if key not in known:
                raise DischargeError(f"unknown key discharge.{key}; allowed: "
                                     f"{', '.join(sorted(known))}")
            if (not isinstance(value, int | float) or isinstance(value, bool)
                    or not math.isfinite(value) or value < 0):
                raise DischargeError(f"discharge.{key} must be a number >= 0, got {value!r}")
            values[key] = float(value)
        return cls(**values)


def load_discharge_settings() -> DischargeSettings:
    from ketadesk.core.config import defaults

    return DischargeSettings.from_config(defaults().get("discharge", {}))


@dataclass(frozen=True)
class DischargeInputs:
    """What the clinician judges at the bedside; None = not assessed yet (never "yes")."""

    mental_status_at_baseline: bool | None = None
    escort_present: bool | None = None


@dataclass(frozen=True)
class BpReading:
    t_s: float
    sys_mmhg: float
    dia_mmhg: float | None  # None when the cycle gave no valid diastolic

    def text(self) -> str:
        dia = "?" if self.dia_mmhg is None else f"{self.dia_mmhg:.0f}"
        return f"{self.sys_mmhg:.0f}/{dia}"


@dataclass(frozen=True)
class BpLandmarks:
    before_dose: BpReading | None
    at_40_min: BpReading | None
    at_discharge: BpReading | None


@dataclass(frozen=True)
class ChecklistItem:
    item: Item
    met: bool
    detail: str


@dataclass(frozen=True)
class DischargeChecklist:
    items: tuple[ChecklistItem, ...]
    now_s: float
    bp: BpLandmarks
    minutes_monitored: float
    ready_at_s: float | None  # when the minimum observation is (was) over

    @property
    def all_met(self) -> bool:
        return all(i.met for i in self.items)

    def unmet(self) -> tuple[ChecklistItem, ...]:
        return tuple(i for i in self.items if not i.met)


@dataclass(frozen=True)
class DischargeRecord:
    checklist: DischargeChecklist
    who: str
    wall_time: str
    reason: str  # why discharged with criteria unmet ("" when all met)

    def to_dict(self) -> dict[str, Any]:
        c = self.checklist

        def bp(r: BpReading | None) -> dict[str, Any] | None:
            return None if r is None else {"t_s": r.t_s, "sys_mmhg": r.sys_mmhg,
                                           "dia_mmhg": r.dia_mmhg}

        return {
            "all_met": c.all_met,
            "items": [{"item": i.item.value, "met": i.met, "detail": i.detail} for i in c.items],
            "bp_before_dose": bp(c.bp.before_dose),
            "bp_at_40_min": bp(c.bp.at_40_min),
            "bp_at_discharge": bp(c.bp.at_discharge),
            "minutes_monitored": round(c.minutes_monitored, 1),
            "ready_at_s": c.ready_at_s,
            "discharged_at_s": c.now_s,
            "reason": self.reason,
            "who": self.who,
            "wall_time": self.wall_time,
        }

    def to_event(self) -> SessionEvent:
        c = self.checklist

        def bp(r: BpReading | None) -> str:
            return "none" if r is None else r.text()

        state = "criteria met" if c.all_met else "criteria NOT met: " + "; ".join(
            i.detail for i in c.unmet()) + f"; reason: {self.reason}"
        detail = (f"Discharged, {state}. BP before dose {bp(c.bp.before_dose)}, at 40 min "
                  f"{bp(c.bp.at_40_min)}, at discharge {bp(c.bp.at_discharge)}; "
                  f"{c.minutes_monitored:.0f} min monitored")
        return SessionEvent(c.now_s, self.wall_time, EVENT_DISCHARGE, detail, self.who,
                            self.to_dict())


# ---- BP landmarks --------------------------------------------------------------------------------

def nibp_readings(series: SeriesProvider, t1_s: float) -> list[BpReading]:
    """Valid systolic readings up to t1_s, each paired with the diastolic of the same cycle
    (the nearest diastolic sample within 5 s)."""
    ts, vs = series.series("nibp_sys", -math.inf, t1_s)
    td, vd = series.series("nibp_dia", -math.inf, t1_s)
    ok = np.isfinite(vd)
    td, vd = td[ok], vd[ok]
    out: list[BpReading] = []
    for t, v in zip(ts, vs, strict=True):
        if not math.isfinite(v):
            continue
        dia: float | None = None
        if len(td):
            k = int(np.argmin(np.abs(td - t)))
            if abs(td[k] - t) <= 5.0:
                dia = float(vd[k])
        out.append(BpReading(float(t), float(v), dia))
    return out


def bp_landmarks(series: SeriesProvider, dose_start_s: float | None, now_s: float,
                 settings: DischargeSettings | None = None) -> BpLandmarks:
    s = settings or DischargeSettings()
    readings = nibp_readings(series, now_s)
    last = readings[-1] if readings else None
    if dose_start_s is None:
        return BpLandmarks(None, None, last)
    before = [r for r in readings if r.t_s <= dose_start_s]
    target = dose_start_s + AT_40_S
    near = [r for r in readings if abs(r.t_s - target) <= s.bp_at_40_tolerance_min * 60.0]
    at_40 = min(near, key=lambda r: (abs(r.t_s - target), r.t_s)) if near else None
    return BpLandmarks(before[-1] if before else None, at_40, last)


# ---- the checklist -------------------------------------------------------------------------------

def evaluate_discharge(
    inputs: DischargeInputs, infusion: InfusionSnapshot | None, readings: Mapping[str, Reading],
    series: SeriesProvider, now_s: float, settings: DischargeSettings | None = None,
) -> DischargeChecklist:
    s = settings or DischargeSettings()
    start = infusion.started_at_s if infusion is not None else None
    bp = bp_landmarks(series, start, now_s, s)
    items = (
        _judged(Item.MENTAL_STATUS, inputs.mental_status_at_baseline,
                "mental status back to baseline", "mental status not back to baseline"),
        _vitals(bp.at_discharge, readings, now_s, s),
        _judged(Item.ESCORT, inputs.escort_present, "escort present",
                "no escort: the patient must not leave alone or drive"),
        _observation(infusion, now_s),
    )
    # Monitored from the first sample the session received; (0, 0) means no data at all.
    t0, t1 = series.time_span()
    minutes = max(0.0, now_s - t0) / 60.0 if (t0, t1) != (0.0, 0.0) else 0.0
    ready = infusion.discharge_assessable_at_s if infusion is not None else None
    return DischargeChecklist(items, now_s, bp, minutes, ready)


def session_checklist(session: Session, inputs: DischargeInputs, now_s: float,
                      settings: DischargeSettings | None = None) -> DischargeChecklist:
    """The checklist for a live session (its infusion, latest readings and buffers)."""
    inf = session.infusion.snapshot(now_s) if session.infusion is not None else None
    return evaluate_discharge(inputs, inf, session.readings, session.buffers, now_s, settings)


def record_discharge(checklist: DischargeChecklist, who: str, wall_time: str, reason: str = "",
                     ) -> DischargeRecord:
    """The discharge record; with criteria unmet it needs a reason (e.g. left against advice)."""
    if not who.strip():
        raise DischargeError("discharge needs the clinician's initials")
    if not checklist.all_met and not reason.strip():
        missing = "; ".join(i.detail for i in checklist.unmet())
        raise DischargeError(f"discharge criteria not met ({missing}): give a reason to "
                             "record the discharge anyway")
    return DischargeRecord(checklist, who.strip(), wall_time,
                           "" if checklist.all_met else reason.strip())


def _judged(item: Item, value: bool | None, yes: str, no: str) -> ChecklistItem:
    if value is None:
        return ChecklistItem(item, False, f"{item.value}: not assessed yet")
    return ChecklistItem(item, value, yes if value else no)


def _observation(infusion: InfusionSnapshot | None, now_s: float) -> ChecklistItem:
    if infusion is None or infusion.discharge_assessable_at_s is None:
        return ChecklistItem(Item.OBSERVATION, False,
                             "minimum observation not started: the infusion has not ended")
    at = infusion.discharge_assessable_at_s
    if now_s >= at:
        return ChecklistItem(Item.OBSERVATION, True,
                             f"minimum observation elapsed (assessable since {_clock(at)})")
    return ChecklistItem(Item.OBSERVATION, False,
                         f"minimum observation not elapsed: {math.ceil((at - now_s) / 60):.0f} "
                         f"min to go (at {_clock(at)})")


def _vitals(bp: BpReading | None, readings: Mapping[str, Reading], now_s: float,
            s: DischargeSettings) -> ChecklistItem:
    max_age = s.max_reading_age_min * 60.0
    problems: list[str] = []
    notes: list[str] = []
    if bp is None or now_s - bp.t_s > max_age:
        problems.append(f"no BP in the last {s.max_reading_age_min:g} min: take one")
    else:
        if not s.sys_min_mmhg <= bp.sys_mmhg <= s.sys_max_mmhg:
            problems.append(f"systolic {bp.sys_mmhg:.0f} outside {s.sys_min_mmhg:g}-"
                            f"{s.sys_max_mmhg:g}")
        if bp.dia_mmhg is None:
            problems.append("no valid diastolic in the last BP: repeat it")
        elif bp.dia_mmhg > s.dia_max_mmhg:
            problems.append(f"diastolic {bp.dia_mmhg:.0f} above {s.dia_max_mmhg:g}")
        notes.append(f"BP {bp.text()}")
    for ch, label, lo, hi in (("hr", "HR", s.hr_min, s.hr_max), ("spo2", "SpO2", s.spo2_min, None),
                              ("rr", "RR", s.rr_min, s.rr_max)):
        r = readings.get(ch)
        if r is None or not r.valid or now_s - r.t_s > max_age:
            notes.append(f"{label} not measured")
            continue
        limit = f">= {lo:g}" if hi is None else f"{lo:g}-{hi:g}"
        if r.value < lo or (hi is not None and r.value > hi):
            problems.append(f"{label} {r.value:.0f} outside {limit}")
        else:
            notes.append(f"{label} {r.value:.0f}")
    if problems:
        return ChecklistItem(Item.VITALS, False, "vitals not acceptable: " + "; ".join(problems))
    return ChecklistItem(Item.VITALS, True, "vitals acceptable: " + ", ".join(notes))


# ---- the session's figures for the course -------------------------------------------------

def session_course_row(session: Session, on: date, now_s: float,
                       adverse_events: Sequence[str] = (), session_ref: str = "",
                       ) -> CourseSession:
    """The course row of a finished (or running) session: dose, peaks after the dose start,
    peak CADSS, pause reasons, clinical alarms raised, stopped early."""
    inf = session.infusion
    start = inf.snapshot(now_s).started_at_s if inf is not None else None
    t0 = -math.inf if start is None else start

    def peak(ch: str) -> float | None:
        _, v = session.buffers.series(ch, t0, now_s)
        v = v[np.isfinite(v)]
        return float(np.max(v)) if len(v) else None

    cadss = [e.score.total for e in session.assessments.entries("cadss")
             if e.score.complete and e.performed_s >= t0]
    pauses: list[str] = []
    stopped = False
    if inf is not None:
        for ev in inf.events:
            if ev.kind == EVENT_PHASE and ev.data.get("to") == Phase.PAUSED.value:
                pauses.append(str(ev.data.get("reason", "")))
            if ev.kind == EVENT_PHASE and ev.data.get("to") == Phase.STOPPED_EARLY.value:
                stopped = True
    alarms = sum(1 for e in session.alarm_log()
                 if e.state.value == "raised" and not e.technical)
    return CourseSession(
        on=on, status=SessionStatus.DONE,
        dose_mg_per_kg=inf.plan.numbers.dose_mg_per_kg if inf is not None else None,
        peak_sys_mmhg=peak("nibp_sys") if start is not None else None,
        peak_dia_mmhg=peak("nibp_dia") if start is not None else None,
        peak_cadss=float(max(cadss)) if cadss else None,
        pause_reasons=tuple(pauses), alarms=alarms,
        adverse_events=tuple(a.strip() for a in adverse_events if a.strip()),
        stopped_early=stopped, session_ref=session_ref)


def _clock(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}"
