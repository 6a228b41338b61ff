"""Ketamine pharmacodynamics for the simulated patient: dissociation, blood pressure, heart rate.

No published model maps ketamine concentration to CADSS or BP in depressed patients
(DOMAIN.md 5); this is the assumed model DOMAIN.md describes, every number configurable in
resources/defaults.toml [simulator.pd]:

- effect site: dCe/dt = ke0 (Cp - Ce), solved with the PK (pk.ConcentrationSolver);
- CADSS: sigmoid Emax of Ce;
- SBP, DBP and HR rise: sigmoid Emax of Ce. DOMAIN's hyperbola 25 Ce / (150 + Ce) is almost
  linear below 150 ng/mL, so after the infusion it falls only as fast as Ce, whose terminal
  half-life is ~2.6 h: 120 min after the end it still leaves about half of the peak rise,
  where the series report BP back at baseline within ~1.5 h. A Hill coefficient of 3 keeps
  the same peak and makes the rise fall about three times faster than Ce on the way down
  (bp_hill = 1 restores DOMAIN's formula).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ketadesk.core.config import defaults


@dataclass(frozen=True)
class PdParams:
    """Population values; a patient scales them with the factors in its PatientProfile."""

    ke0_per_min: float
    cadss_ec50_ng_per_ml: float
    cadss_hill: float
    cadss_emax: float
    first_infusion_cadss_factor: float
    bp_ec50_ng_per_ml: float
    bp_hill: float
    sbp_emax_mmhg: float
    dbp_fraction: float
    hr_emax_bpm: float

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "[simulator.pd]") -> PdParams:
        """Build from a config table, naming the key and what is allowed when it is wrong."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(names)}")
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
        parsed: dict[str, float] = {}
        for name in names:
            raw = values[name]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not (
                math.isfinite(raw) and raw >= 0
            ):
                raise ValueError(f"{where}: {name} must be a number >= 0, got {raw!r}")
            parsed[name] = float(raw)
        for name in ("ke0_per_min", "cadss_ec50_ng_per_ml", "cadss_hill", "bp_ec50_ng_per_ml",
                     "bp_hill"):
            if parsed[name] == 0:
                raise ValueError(f"{where}: {name} must be > 0")
        if parsed["dbp_fraction"] > 1:
            raise ValueError(f"{where}: dbp_fraction must be between 0 and 1")
        return cls(**parsed)


def default_pd_params() -> PdParams:
    """The shipped parameters from resources/defaults.toml [simulator.pd]."""
    return PdParams.from_mapping(defaults()["simulator"]["pd"])


def sigmoid_emax(c: float, emax: float, ec50: float, hill: float) -> float:
    """Emax * c^hill / (ec50^hill + c^hill); 0 for c <= 0."""
    if c <= 0:
        return 0.0
    r: float = (c / ec50) ** hill
    return emax * r / (1.0 + r)


def predicted_cadss(
    ce_ng_per_ml: float, p: PdParams, ec50_factor: float = 1.0, emax_factor: float = 1.0,
    infusion_number: int = 2,
) -> float:
    """Expected CADSS total (0-92) at effect-site concentration Ce.

    DOMAIN.md 4: dissociation is larger at the first infusion, then plateaus.
    """
    emax = p.cadss_emax * emax_factor
    if infusion_number == 1:
        emax *= p.first_infusion_cadss_factor
    return min(92.0, sigmoid_emax(ce_ng_per_ml, emax, p.cadss_ec50_ng_per_ml * ec50_factor,
                                  p.cadss_hill))


def pressor_response(
    ce_ng_per_ml: float, p: PdParams, bp_factor: float = 1.0, hr_factor: float = 1.0
) -> tuple[float, float, float]:
    """(SBP rise mmHg, DBP rise mmHg, HR rise bpm) at Ce. DBP rises by a fixed fraction of
    SBP; HR follows the same curve, small (Guangzhou series: pulse +2 bpm, DOMAIN.md 3)."""
    shape = sigmoid_emax(ce_ng_per_ml, 1.0, p.bp_ec50_ng_per_ml, p.bp_hill)
    sbp = shape * p.sbp_emax_mmhg * bp_factor
    return sbp, sbp * p.dbp_fraction, shape * p.hr_emax_bpm * hr_factor
