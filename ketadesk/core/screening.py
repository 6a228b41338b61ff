"""Screening before each session, from the clinic protocol (issue 9).

Pure functions over frozen values. The screening dialog (or `evaluate` in a script) turns the
clinician's answers into findings, each with a verdict:

- BLOCK_ABSOLUTE: an absolute contraindication (history of schizophrenia or active psychosis);
  no override exists, the session does not go ahead.
- BLOCK_OVERRIDABLE: the protocol says stop (baseline BP above the exclusion limit, active
  substance use not yet screened, fasting too short, no escort); the clinician may go on with
  a written reason and their initials, and that override is stored with the session.
- INCOMPLETE: a question was not answered or a value is not plausible; answer or correct it.
  It cannot be overridden, because an unasked question is not a decision.
- FLAG: shown and stored, never blocks (recent medications to review).
- OK: checked and fine (shown, so the record says what was checked).

Thresholds are site choices (resources/defaults.toml [screening]); DOMAIN.md 1 gives the
exclusion limit > 150/90 mmHg.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from ketadesk.core.buffer import SeriesProvider
from ketadesk.core.events import SessionEvent

EVENT_SCREENING = "screening"

# Finding codes (stable ids: overrides are keyed by them).
BP_HIGH = "bp_high"
BP_MISSING = "bp_missing"
BP_IMPLAUSIBLE = "bp_implausible"
BP_OK = "bp_ok"
PSYCHOSIS = "psychosis"
PSYCHOSIS_UNANSWERED = "psychosis_unanswered"
PSYCHOSIS_OK = "psychosis_ok"
SUBSTANCE_UNSCREENED = "substance_unscreened"
SUBSTANCE_SCREENED = "substance_screened"
SUBSTANCE_UNANSWERED = "substance_unanswered"
SUBSTANCE_OK = "substance_ok"
MEDICATION = "medication"  # one per category: "medication:<category>"
MEDICATION_OTHER = "medication:other"
MEDICATION_OK = "medication_ok"
FASTING_SHORT = "fasting_short"
FASTING_MISSING = "fasting_missing"
FASTING_OK = "fasting_ok"
ESCORT_ABSENT = "escort_absent"
ESCORT_UNANSWERED = "escort_unanswered"
ESCORT_OK = "escort_ok"


class ScreeningError(ValueError):
    """A bad override or setting; the message says what is wrong and what is allowed."""


class Verdict(StrEnum):
    BLOCK_ABSOLUTE = "BLOCK_ABSOLUTE"
    BLOCK_OVERRIDABLE = "BLOCK_OVERRIDABLE"
    INCOMPLETE = "INCOMPLETE"
    FLAG = "FLAG"
    OK = "OK"


class MedCategory(StrEnum):
    """Recent medications the protocol asks about (DOMAIN.md 8: sedatives, stimulants, MAOIs)."""

    BENZODIAZEPINE = "benzodiazepine"
    STIMULANT = "stimulant"
    MAOI = "maoi"
    LAMOTRIGINE = "lamotrigine"


# Why each category is flagged: review points, not rules (the prescriber decides).
_MED_NOTES: Mapping[MedCategory, str] = {
    MedCategory.BENZODIAZEPINE: "benzodiazepines may blunt the response to ketamine; "
    "review timing of the last dose",
    MedCategory.STIMULANT: "stimulants add to ketamine's blood-pressure rise; "
    "review whether today's dose was taken",
    MedCategory.MAOI: "MAOIs with ketamine's sympathetic effect can raise BP further; "
    "review with the prescriber",
    MedCategory.LAMOTRIGINE: "lamotrigine may reduce ketamine's effects; review the dose",
}


@dataclass(frozen=True)
class ScreeningSettings:
    """Defaults mirror resources/defaults.toml [screening]."""

    bp_block_above_sys_mmhg: float = 150.0
    bp_block_above_dia_mmhg: float = 90.0
    # Outside these a baseline BP is treated as a typo or an artefact, not a value.
    bp_plausible_sys_mmhg: tuple[float, float] = (60.0, 280.0)
    bp_plausible_dia_mmhg: tuple[float, float] = (30.0, 180.0)
    min_fasting_h: float = 4.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ScreeningSettings:
        known = {"bp_block_above_sys_mmhg", "bp_block_above_dia_mmhg", "bp_plausible_sys_mmhg",
                 "bp_plausible_dia_mmhg", "min_fasting_h"}
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key not in known:
                raise ScreeningError(
                    f"unknown key screening.{key}; allowed: {', '.join(sorted(known))}")
            if key.startswith("bp_plausible"):
                if (not isinstance(value, list) or len(value) != 2
                        or not all(_is_number(v) for v in value) or not value[0] < value[1]):
                    raise ScreeningError(
                        f"screening.{key} must be [low, high] with low < high, got {value!r}")
                values[key] = (float(value[0]), float(value[1]))
            else:
                if not _is_number(value) or value <= 0:
                    raise ScreeningError(
                        f"screening.{key} must be a positive number, got {value!r}")
                values[key] = float(value)
        return cls(**values)


def load_screening_settings() -> ScreeningSettings:
    """ScreeningSettings from the shipped defaults.toml."""
    from ketadesk.core.config import defaults

    return ScreeningSettings.from_config(defaults().get("screening", {}))


@dataclass(frozen=True)
class ScreeningInputs:
    """The clinician's answers. None means "not asked yet" and never counts as "no"."""

    baseline_sys_mmhg: float | None = None
    baseline_dia_mmhg: float | None = None
    bp_source: str = "entered"  # "entered" by the clinician or "session NIBP"
    psychosis_history: bool | None = None  # schizophrenia history or active psychosis
    active_substance_use: bool | None = None
    substance_screened: bool = False  # the screen for recent use was done and reviewed
    recent_medications: frozenset[MedCategory] = frozenset()
    other_medications: str = ""  # free text, e.g. "zopiclone last night"
    fasting_h: float | None = None
    escort_present: bool | None = None


@dataclass(frozen=True)
class ScreeningFinding:
    code: str
    verdict: Verdict
    field: str  # the input it is about: bp, psychosis, substance, medication, fasting, escort
    message: str  # what is wrong and what is allowed


@dataclass(frozen=True)
class ScreeningOverride:
    code: str
    reason: str
    who: str
    message: str  # the finding that was overridden, for the record


@dataclass(frozen=True)
class ScreeningResult:
    inputs: ScreeningInputs
    findings: tuple[ScreeningFinding, ...]
    overrides: tuple[ScreeningOverride, ...] = field(default=())

    @property
    def blocking(self) -> tuple[ScreeningFinding, ...]:
        """Findings that still stop the session (absolute, incomplete, or not overridden)."""
        done = {o.code for o in self.overrides}
        return tuple(
            f for f in self.findings
            if f.verdict in (Verdict.BLOCK_ABSOLUTE, Verdict.INCOMPLETE)
            or (f.verdict is Verdict.BLOCK_OVERRIDABLE and f.code not in done))

    @property
    def cleared(self) -> bool:
        """True when the session may go ahead."""
        return not self.blocking

    @property
    def absolute(self) -> bool:
        return any(f.verdict is Verdict.BLOCK_ABSOLUTE for f in self.findings)

    def of(self, verdict: Verdict) -> tuple[ScreeningFinding, ...]:
        return tuple(f for f in self.findings if f.verdict is verdict)

    def override(self, code: str, reason: str, who: str) -> ScreeningResult:
        """A new result with this BLOCK_OVERRIDABLE finding overridden (reason and initials)."""
        finding = next((f for f in self.findings if f.code == code), None)
        if finding is None:
            present = ", ".join(f.code for f in self.of(Verdict.BLOCK_OVERRIDABLE)) or "none"
            raise ScreeningError(
                f"no finding {code!r} to override; overridable findings: {present}")
        if finding.verdict is Verdict.BLOCK_ABSOLUTE:
            raise ScreeningError(
                f"{finding.message}: an absolute contraindication cannot be overridden")
        if finding.verdict is Verdict.INCOMPLETE:
            raise ScreeningError(f"{finding.message}: answer or correct it; it cannot be "
                                 "overridden")
        if finding.verdict is not Verdict.BLOCK_OVERRIDABLE:
            raise ScreeningError(f"finding {code!r} is {finding.verdict.value}: "
                                 "only BLOCK_OVERRIDABLE findings need an override")
        if not reason.strip():
            raise ScreeningError(f"overriding {code!r} needs a reason")
        if not who.strip():
            raise ScreeningError(f"overriding {code!r} needs the clinician's initials")
        kept = tuple(o for o in self.overrides if o.code != code)
        new = ScreeningOverride(code, reason.strip(), who.strip(), finding.message)
        return replace(self, overrides=(*kept, new))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the session index and the report."""
        i = self.inputs
        return {
            "cleared": self.cleared,
            "inputs": {
                "baseline_sys_mmhg": i.baseline_sys_mmhg,
                "baseline_dia_mmhg": i.baseline_dia_mmhg,
                "bp_source": i.bp_source,
                "psychosis_history": i.psychosis_history,
                "active_substance_use": i.active_substance_use,
                "substance_screened": i.substance_screened,
                "recent_medications": sorted(m.value for m in i.recent_medications),
                "other_medications": i.other_medications,
                "fasting_h": i.fasting_h,
                "escort_present": i.escort_present,
            },
            "findings": [{"code": f.code, "verdict": f.verdict.value, "field": f.field,
                          "message": f.message} for f in self.findings],
            "overrides": [{"code": o.code, "reason": o.reason, "who": o.who,
                           "message": o.message} for o in self.overrides],
        }

    def to_event(self, t_s: float, wall_time: str, who: str) -> SessionEvent:
        """The SessionEvent (kind "screening") stored with the session."""
        state = "cleared" if self.cleared else "blocked"
        notes = [f.message for f in self.findings if f.verdict is not Verdict.OK]
        detail = f"Screening {state}" + (": " + "; ".join(notes) if notes else "")
        for o in self.overrides:
            detail += f". Override {o.code} by {o.who}: {o.reason}"
        return SessionEvent(t_s, wall_time, EVENT_SCREENING, detail, who.strip(), self.to_dict())


def evaluate(inputs: ScreeningInputs, settings: ScreeningSettings | None = None,
             ) -> ScreeningResult:
    """Every finding for these answers, in a stable order. Never raises on bad answers."""
    s = settings or ScreeningSettings()
    findings: list[ScreeningFinding] = []
    findings += _bp(inputs, s)
    findings += _psychosis(inputs)
    findings += _substance(inputs)
    findings += _medications(inputs)
    findings += _fasting(inputs, s)
    findings += _escort(inputs)
    return ScreeningResult(inputs, tuple(findings))


def baseline_bp_from_series(series: SeriesProvider, t0_s: float, t1_s: float,
                            ) -> tuple[float, float] | None:
    """Mean valid systolic/diastolic NIBP between t0_s and t1_s (the session's baseline
    phase), as the session computes its baselines; None if either has no valid reading."""
    means: list[float] = []
    for ch in ("nibp_sys", "nibp_dia"):
        _, v = series.series(ch, t0_s, t1_s)
        v = v[np.isfinite(v)]
        if not len(v):
            return None
        means.append(float(np.mean(v)))
    return means[0], means[1]


# ---- the rules --------------------------------------------------------------------------------

def _bp(i: ScreeningInputs, s: ScreeningSettings) -> list[ScreeningFinding]:
    sys_, dia = i.baseline_sys_mmhg, i.baseline_dia_mmhg
    if sys_ is None or dia is None:
        return [ScreeningFinding(BP_MISSING, Verdict.INCOMPLETE, "bp",
                                 "no baseline BP: enter systolic and diastolic, or take an NIBP "
                                 "reading before screening")]
    lo_s, hi_s = s.bp_plausible_sys_mmhg
    lo_d, hi_d = s.bp_plausible_dia_mmhg
    if not (_finite(sys_) and _finite(dia) and lo_s <= sys_ <= hi_s and lo_d <= dia <= hi_d
            and sys_ > dia):
        return [ScreeningFinding(
            BP_IMPLAUSIBLE, Verdict.INCOMPLETE, "bp",
            f"baseline BP {_bp_text(sys_, dia)} is not plausible: systolic {lo_s:g}-{hi_s:g}, "
            f"diastolic {lo_d:g}-{hi_d:g} mmHg, systolic above diastolic; re-measure or correct")]
    limit = f"{s.bp_block_above_sys_mmhg:g}/{s.bp_block_above_dia_mmhg:g}"
    if sys_ > s.bp_block_above_sys_mmhg or dia > s.bp_block_above_dia_mmhg:
        return [ScreeningFinding(
            BP_HIGH, Verdict.BLOCK_OVERRIDABLE, "bp",
            f"baseline BP {_bp_text(sys_, dia)} mmHg ({i.bp_source}) is above {limit}: "
            "uncontrolled hypertension is an exclusion; re-measure after rest, or override "
            "with a reason")]
    return [ScreeningFinding(BP_OK, Verdict.OK, "bp",
                             f"baseline BP {_bp_text(sys_, dia)} mmHg ({i.bp_source}) is at or "
                             f"below {limit}")]


def _psychosis(i: ScreeningInputs) -> list[ScreeningFinding]:
    if i.psychosis_history is None:
        return [ScreeningFinding(PSYCHOSIS_UNANSWERED, Verdict.INCOMPLETE, "psychosis",
                                 "history of schizophrenia or active psychosis not answered")]
    if i.psychosis_history:
        return [ScreeningFinding(PSYCHOSIS, Verdict.BLOCK_ABSOLUTE, "psychosis",
                                 "history of schizophrenia or active psychosis: absolute "
                                 "contraindication, no ketamine session")]
    return [ScreeningFinding(PSYCHOSIS_OK, Verdict.OK, "psychosis",
                             "no history of schizophrenia or active psychosis")]


def _substance(i: ScreeningInputs) -> list[ScreeningFinding]:
    if i.active_substance_use is None:
        return [ScreeningFinding(SUBSTANCE_UNANSWERED, Verdict.INCOMPLETE, "substance",
                                 "active substance use not answered")]
    if i.active_substance_use and not i.substance_screened:
        return [ScreeningFinding(SUBSTANCE_UNSCREENED, Verdict.BLOCK_OVERRIDABLE, "substance",
                                 "active substance use reported: blocked pending the screen for "
                                 "recent use; record the screen, or override with a reason")]
    if i.active_substance_use:
        return [ScreeningFinding(SUBSTANCE_SCREENED, Verdict.FLAG, "substance",
                                 "active substance use reported; screen for recent use done")]
    return [ScreeningFinding(SUBSTANCE_OK, Verdict.OK, "substance", "no active substance use")]


def _medications(i: ScreeningInputs) -> list[ScreeningFinding]:
    out = [ScreeningFinding(f"{MEDICATION}:{m.value}", Verdict.FLAG, "medication",
                            f"recent {m.value}: {_MED_NOTES[m]}")
           for m in MedCategory if m in i.recent_medications]
    if i.other_medications.strip():
        out.append(ScreeningFinding(MEDICATION_OTHER, Verdict.FLAG, "medication",
                                    f"other recent medication: {i.other_medications.strip()}; "
                                    "review"))
    if not out:
        out.append(ScreeningFinding(MEDICATION_OK, Verdict.OK, "medication",
                                    "no flagged recent medication"))
    return out


def _fasting(i: ScreeningInputs, s: ScreeningSettings) -> list[ScreeningFinding]:
    h = i.fasting_h
    if h is None or not _finite(h) or h < 0:
        what = "not recorded" if h is None else f"{h!r} h is not a number of hours >= 0"
        return [ScreeningFinding(FASTING_MISSING, Verdict.INCOMPLETE, "fasting",
                                 f"fasting time {what}: enter hours since the last meal")]
    if h < s.min_fasting_h:
        return [ScreeningFinding(
            FASTING_SHORT, Verdict.BLOCK_OVERRIDABLE, "fasting",
            f"fasted {h:g} h, less than the {s.min_fasting_h:g} h the protocol asks (nausea "
            "and vomiting are common); wait, or override with a reason")]
    return [ScreeningFinding(FASTING_OK, Verdict.OK, "fasting", f"fasted {h:g} h")]


def _escort(i: ScreeningInputs) -> list[ScreeningFinding]:
    if i.escort_present is None:
        return [ScreeningFinding(ESCORT_UNANSWERED, Verdict.INCOMPLETE, "escort",
                                 "escort for discharge not answered")]
    if not i.escort_present:
        return [ScreeningFinding(ESCORT_ABSENT, Verdict.BLOCK_OVERRIDABLE, "escort",
                                 "no escort for discharge: the patient must not leave alone or "
                                 "drive; arrange one, or override with a reason")]
    return [ScreeningFinding(ESCORT_OK, Verdict.OK, "escort", "escort present for discharge")]


def parse_medications(names: Collection[str]) -> frozenset[MedCategory]:
    """Category names (any case) -> categories; an unknown name raises with the allowed ones."""
    out: set[MedCategory] = set()
    for n in names:
        try:
            out.add(MedCategory(n.strip().lower()))
        except ValueError:
            allowed = ", ".join(m.value for m in MedCategory)
            raise ScreeningError(f"medication category {n!r} is not one of: {allowed}") from None
    return frozenset(out)


def _bp_text(sys_: float, dia: float) -> str:
    return f"{sys_:g}/{dia:g}"


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
