"""Simulated patients: baseline vitals, history and how strongly they respond to ketamine.

A PatientProfile is plain data. Named profiles serve demos and scenarios; `generate_profile`
draws a plausible patient from a numpy Generator, so a seed gives the same patient every time.
Between-patient spread follows DOMAIN.md 3 and 5: log-normal EC50 (CV ~50 %), and a minority
of large responders, more often when older, hypertensive or early in the course.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PatientProfile:
    """One patient. Factors multiply the population PD parameters (1.0 = population median)."""

    name: str = "typical"
    age_y: float = 45.0
    weight_kg: float = 70.0
    baseline_sbp_mmhg: float = 124.0
    baseline_dbp_mmhg: float = 78.0
    baseline_hr_bpm: float = 72.0
    baseline_spo2_pct: float = 98.0
    baseline_rr_per_min: float = 14.0
    baseline_temp_c: float = 36.7
    baseline_etco2_mmhg: float = 37.0
    hypertension: bool = False
    infusion_number: int = 3  # 1 = first of the course; dissociation is larger at the first
    cadss_ec50_factor: float = 1.0  # < 1: dissociates at lower concentrations
    cadss_emax_factor: float = 1.0
    bp_factor: float = 1.0  # scales the SBP/DBP rise
    hr_factor: float = 1.0  # scales the heart-rate rise

    def __post_init__(self) -> None:
        for name, (lo, hi) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and lo <= value <= hi
            ):
                raise ValueError(f"patient {name} must be a number from {lo} to {hi}, "
                                 f"got {value!r}")
        if not isinstance(self.hypertension, bool):
            raise ValueError(f"patient hypertension must be true or false, got "
                             f"{self.hypertension!r}")
        if not isinstance(self.infusion_number, int) or isinstance(self.infusion_number, bool):
            raise ValueError(f"patient infusion_number must be a whole number, got "
                             f"{self.infusion_number!r}")
        if self.baseline_dbp_mmhg >= self.baseline_sbp_mmhg:
            raise ValueError("patient baseline_dbp_mmhg must be below baseline_sbp_mmhg")


# Plausible envelopes, to catch typos in scenario files rather than to judge eligibility.
_RANGES: dict[str, tuple[float, float]] = {
    "age_y": (18, 100),
    "weight_kg": (30, 250),
    "baseline_sbp_mmhg": (70, 220),
    "baseline_dbp_mmhg": (40, 130),
    "baseline_hr_bpm": (35, 160),
    "baseline_spo2_pct": (80, 100),
    "baseline_rr_per_min": (4, 40),
    "baseline_temp_c": (34, 40),
    "baseline_etco2_mmhg": (20, 60),
    "infusion_number": (1, 50),
    "cadss_ec50_factor": (0.05, 20),
    "cadss_emax_factor": (0, 5),
    "bp_factor": (0, 10),
    "hr_factor": (0, 10),
}

PROFILE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PatientProfile))

NAMED_PROFILES: dict[str, PatientProfile] = {
    p.name: p
    for p in (
        PatientProfile(),
        # Yale series: larger rises in older, already hypertensive patients (DOMAIN.md 3);
        # baseline just inside the > 150/90 exclusion.
        PatientProfile(
            name="older hypertensive", age_y=66, weight_kg=84, baseline_sbp_mmhg=146,
            baseline_dbp_mmhg=88, baseline_hr_bpm=74, baseline_spo2_pct=96,
            hypertension=True, infusion_number=2, bp_factor=1.8,
        ),
        PatientProfile(
            name="sensitive", age_y=38, weight_kg=62, baseline_sbp_mmhg=118,
            baseline_dbp_mmhg=74, infusion_number=1, cadss_ec50_factor=0.6,
            cadss_emax_factor=1.4,
        ),
        PatientProfile(
            name="anxious young", age_y=23, weight_kg=58, baseline_sbp_mmhg=132,
            baseline_dbp_mmhg=84, baseline_hr_bpm=94, baseline_rr_per_min=18,
            infusion_number=1, hr_factor=2.5, bp_factor=1.1,
        ),
    )
}


def named_profile(name: str) -> PatientProfile:
    """A shipped profile by name, with the allowed names in the error."""
    try:
        return NAMED_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown patient profile {name!r}; allowed: "
                         f"{', '.join(repr(n) for n in NAMED_PROFILES)}") from None


def with_overrides(profile: PatientProfile, overrides: Mapping[str, Any]) -> PatientProfile:
    """A copy with some fields replaced; unknown names and bad values raise ValueError."""
    unknown = sorted(set(overrides) - set(PROFILE_FIELDS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(PROFILE_FIELDS)}")
    values = dict(overrides)
    for key, value in values.items():
        # TOML writes 70 for 70.0; accept whole numbers where floats are meant.
        if isinstance(getattr(profile, key), float) and isinstance(value, int) and not isinstance(
            value, bool
        ):
            values[key] = float(value)
    return dataclasses.replace(profile, **values)


# Share of patients who are large responders before risk factors, and the risk multipliers.
# Tuned so that 5-15 % of a generated course population has a large excursion (DOMAIN.md 5).
_LARGE_RESPONDER_BASE = 0.035
_RISK_OLDER = 1.6  # age >= 60
_RISK_HYPERTENSIVE = 1.7
_RISK_EARLY_INFUSION = 1.5  # infusions 1-3 (Yale: severe hypertension mostly in 1-3)


def large_responder_probability(age_y: float, hypertension: bool, infusion_number: int) -> float:
    """Chance that a generated patient is a large responder (BP or dissociation)."""
    p = _LARGE_RESPONDER_BASE
    if age_y >= 60:
        p *= _RISK_OLDER
    if hypertension:
        p *= _RISK_HYPERTENSIVE
    if infusion_number <= 3:
        p *= _RISK_EARLY_INFUSION
    return p


def _clip(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))


def generate_profile(rng: np.random.Generator, infusion_number: int = 1) -> PatientProfile:
    """A random plausible patient eligible for treatment (baseline at most 150/90)."""
    if not 1 <= infusion_number <= 50:
        raise ValueError(f"infusion_number must be from 1 to 50, got {infusion_number}")
    age = _clip(rng.normal(45, 13), 18, 80)
    hypertension = bool(rng.random() < _clip(0.1 + 0.012 * (age - 40), 0.05, 0.6))
    sbp = _clip(rng.normal(118 + 0.3 * (age - 45) + (12 if hypertension else 0), 9), 95, 150)
    dbp = _clip(rng.normal(74 + (6 if hypertension else 0), 6), 55, min(90, sbp - 25))
    # Log-normal with CV 50 % and median 1: sigma^2 = ln(1 + CV^2).
    cv50_sigma = math.sqrt(math.log(1.25))
    ec50_factor = float(rng.lognormal(0.0, cv50_sigma))
    emax_factor = float(rng.lognormal(0.0, 0.2))
    # Yale SD of the SBP rise is ~70 % of its mean; older and hypertensive patients rise more.
    bp_factor = float(rng.lognormal(0.0, 0.5)) * (1 + 0.01 * (age - 45))
    if hypertension:
        bp_factor *= 1.25
    hr_factor = float(rng.lognormal(0.0, 0.4))
    if rng.random() < large_responder_probability(age, hypertension, infusion_number):
        if rng.random() < 0.7:  # Yale: hypertension is the commoner large response
            bp_factor = max(bp_factor, 1.0) * float(rng.uniform(2.6, 4.0))
        else:
            ec50_factor = min(ec50_factor, 1.0) * 0.45
            emax_factor = max(emax_factor, 1.0) * float(rng.uniform(1.5, 2.2))
    return PatientProfile(
        name="generated",
        age_y=round(age, 1),
        weight_kg=round(_clip(rng.normal(80, 16), 45, 150), 1),
        baseline_sbp_mmhg=round(sbp, 1),
        baseline_dbp_mmhg=round(dbp, 1),
        baseline_hr_bpm=round(_clip(rng.normal(72, 10), 50, 105), 1),
        baseline_spo2_pct=round(_clip(rng.normal(97.5, 1.0), 94, 100), 1),
        baseline_rr_per_min=round(_clip(rng.normal(14, 2), 10, 20), 1),
        baseline_temp_c=round(_clip(rng.normal(36.7, 0.25), 36.0, 37.4), 2),
        hypertension=hypertension,
        infusion_number=infusion_number,
        cadss_ec50_factor=_clip(ec50_factor, 0.05, 20),
        cadss_emax_factor=_clip(emax_factor, 0, 5),
        bp_factor=_clip(bp_factor, 0, 10),
        hr_factor=_clip(hr_factor, 0, 10),
    )
