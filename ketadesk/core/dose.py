"""Dose plan arithmetic and the guards against typos that harm (issue 3).

Pure functions over frozen values: no clock, no Qt. A set-up dialog calls check_plan() whenever
an input changes, to show the numbers and the findings, and confirm_plan() when the clinician
confirms; `ketadesk plan` calls the same two. Guards never raise: each problem is a Finding
whose severity says what it takes to go on (REFUSED: fix the input; NEEDS_OVERRIDE: a written
reason; QUESTION: an acknowledgement; WARNING: nothing, but it stays visible).

Numbers are kept at full precision; round only for display (format_number()).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

LB_TO_KG = 0.45359237  # exact, by definition of the international pound

# Finding codes: stable ids a dialog or a script can refer to (override reasons and
# acknowledgements are keyed by them).
NOT_FINITE = "not_finite"
WEIGHT_RANGE = "weight_range"
WEIGHT_MAYBE_LB = "weight_maybe_lb"
WEIGHT_MAYBE_KG = "weight_maybe_kg"
DOSE_NOT_POSITIVE = "dose_not_positive"
DOSE_IMPLAUSIBLE = "dose_implausible"
DOSE_ABOVE_MAX = "dose_above_max"
TOTAL_ABOVE_CAP = "total_above_cap"
DURATION_NOT_POSITIVE = "duration_not_positive"
DURATION_UNUSUAL = "duration_unusual"
CONCENTRATION_SOURCE = "concentration_source"
CONCENTRATION_NOT_POSITIVE = "concentration_not_positive"
CONCENTRATION_ABSURD = "concentration_absurd"
CONCENTRATION_UNDILUTED = "concentration_undiluted"
BAG_SHORT = "bag_short"
BAG_EXCESS = "bag_excess"
RATE_HIGH = "rate_high"


class WeightUnit(StrEnum):
    KG = "kg"
    LB = "lb"


class Severity(StrEnum):
    REFUSED = "REFUSED"  # cannot go on until the input is changed
    NEEDS_OVERRIDE = "NEEDS_OVERRIDE"  # can go on with a written reason
    QUESTION = "QUESTION"  # can go on once acknowledged ("yes, I meant that")
    WARNING = "WARNING"  # shown, never blocks


@dataclass(frozen=True)
class Finding:
    code: str  # one of the module-level codes above
    severity: Severity
    field: str  # the input it is about: weight, dose, duration, concentration, bag, rate
    message: str  # what is wrong and what is allowed


@dataclass(frozen=True)
class DoseSettings:
    """Presets and guard limits; defaults mirror resources/defaults.toml [infusion.guards]."""

    dose_presets_mg_per_kg: tuple[float, ...] = (0.5, 0.75, 1.0)
    default_duration_min: float = 40.0
    weight_min_kg: float = 30.0
    weight_max_kg: float = 250.0
    lb_suspect_above_kg: float = 150.0
    kg_suspect_below_kg: float = 40.0
    max_dose_mg_per_kg: float = 1.0
    refuse_dose_above_mg_per_kg: float = 2.0
    max_total_mg: float = 100.0
    duration_usual_min_min: float = 20.0
    duration_usual_max_min: float = 120.0
    concentration_max_mg_per_ml: float = 100.0
    concentration_dilute_at_mg_per_ml: float = 100.0
    common_dilutions: str = (
        "1 mg/mL (e.g. 50 mg in 50 mL for a syringe pump) or the dose in a 100 mL bag "
        "of 0.9 % saline"
    )
    rate_max_ml_per_h: float = 999.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> DoseSettings:
        """Build from the [infusion] table of defaults.toml (presets, duration, guards)."""
        values: dict[str, Any] = {}
        if "dose_presets_mg_per_kg" in section:
            presets = section["dose_presets_mg_per_kg"]
            if not isinstance(presets, list) or not all(_is_number(p) and p > 0 for p in presets):
                raise ValueError(
                    "infusion.dose_presets_mg_per_kg must be a list of positive numbers, "
                    f"got {presets!r}"
                )
            values["dose_presets_mg_per_kg"] = tuple(float(p) for p in presets)
        if "default_duration_min" in section:
            values["default_duration_min"] = _config_number(section, "default_duration_min")
        guards = section.get("guards", {})
        known = {f.name: f for f in fields(cls)}
        for key, value in guards.items():
            if key not in known or key in ("dose_presets_mg_per_kg", "default_duration_min"):
                raise ValueError(f"unknown key infusion.guards.{key}")
            if key == "common_dilutions":
                if not isinstance(value, str):
                    raise ValueError("infusion.guards.common_dilutions must be text")
                values[key] = value
            else:
                values[key] = _config_number(guards, key, prefix="infusion.guards.")
        return cls(**values)


def load_dose_settings() -> DoseSettings:
    """DoseSettings from the shipped defaults.toml."""
    from ketadesk.core.config import defaults

    return DoseSettings.from_config(defaults().get("infusion", {}))


@dataclass(frozen=True)
class PlanInputs:
    """What the clinician typed. Give either concentration_mg_per_ml or bag_mg + bag_ml."""

    weight: float
    dose_mg_per_kg: float
    duration_min: float = 40.0
    weight_unit: WeightUnit = WeightUnit.KG
    concentration_mg_per_ml: float | None = None
    bag_mg: float | None = None
    bag_ml: float | None = None


@dataclass(frozen=True)
class PlanNumbers:
    """The arithmetic of DOMAIN.md 2, unrounded."""

    weight_kg: float
    dose_mg_per_kg: float
    duration_min: float
    concentration_mg_per_ml: float
    dose_mg: float
    dose_mg_per_h: float
    rate_ml_per_h: float
    volume_ml: float


@dataclass(frozen=True)
class Override:
    code: str
    reason: str
    message: str  # the finding that was overridden, for the record


@dataclass(frozen=True)
class DosePlan:
    """A confirmed plan: nothing starts without one."""

    inputs: PlanInputs
    numbers: PlanNumbers
    findings: tuple[Finding, ...]  # everything found, including what was overridden/acknowledged
    overrides: tuple[Override, ...]
    acknowledged: tuple[str, ...]  # codes of the QUESTION findings the clinician accepted
    who: str  # clinician initials

    @property
    def weight_kg(self) -> float:
        return self.numbers.weight_kg

    @property
    def dose_mg(self) -> float:
        return self.numbers.dose_mg

    @property
    def concentration_mg_per_ml(self) -> float:
        return self.numbers.concentration_mg_per_ml

    @property
    def rate_ml_per_h(self) -> float:
        return self.numbers.rate_ml_per_h

    @property
    def duration_s(self) -> float:
        return self.numbers.duration_min * 60.0


@dataclass(frozen=True)
class PlanCheck:
    """Numbers (None when the inputs cannot be computed) and every finding."""

    inputs: PlanInputs
    numbers: PlanNumbers | None
    findings: tuple[Finding, ...]

    def blocking(
        self,
        override_reasons: Mapping[str, str] | None = None,
        acknowledged: Collection[str] = (),
    ) -> tuple[Finding, ...]:
        """Findings that still stop confirmation given these reasons and acknowledgements."""
        reasons = override_reasons or {}

        def blocks(f: Finding) -> bool:
            if f.severity is Severity.NEEDS_OVERRIDE:
                return not reasons.get(f.code, "").strip()
            if f.severity is Severity.QUESTION:
                return f.code not in acknowledged
            return f.severity is Severity.REFUSED

        return tuple(f for f in self.findings if blocks(f))


@dataclass(frozen=True)
class PlanDecision:
    """confirm_plan()'s answer: a plan, or the findings that block it."""

    check: PlanCheck
    plan: DosePlan | None
    blocking: tuple[Finding, ...]

    @property
    def confirmed(self) -> bool:
        return self.plan is not None


def compute_numbers(inputs: PlanInputs) -> PlanNumbers | None:
    """The plan arithmetic, or None if an input is missing, zero, negative or not finite."""
    weight_kg = _weight_kg(inputs)
    conc = _concentration(inputs)
    if conc is None or not all(
        _positive(v) for v in (weight_kg, inputs.dose_mg_per_kg, inputs.duration_min)
    ):
        return None
    dose_mg = weight_kg * inputs.dose_mg_per_kg
    # Ordered so the worked examples come out exact in binary floating point:
    # 35 mg * 60 / 40 min = 52.5 mg/h; 35 mg * 100 mL / 35 mg = 100 mL -> 150 mL/h.
    if inputs.bag_mg is not None and inputs.bag_ml is not None:
        volume_ml = dose_mg * inputs.bag_ml / inputs.bag_mg
    else:
        volume_ml = dose_mg / conc
    return PlanNumbers(
        weight_kg=weight_kg,
        dose_mg_per_kg=float(inputs.dose_mg_per_kg),
        duration_min=float(inputs.duration_min),
        concentration_mg_per_ml=conc,
        dose_mg=dose_mg,
        dose_mg_per_h=dose_mg * 60.0 / inputs.duration_min,
        rate_ml_per_h=volume_ml * 60.0 / inputs.duration_min,
        volume_ml=volume_ml,
    )


def check_plan(inputs: PlanInputs, settings: DoseSettings | None = None) -> PlanCheck:
    """Compute the plan and run every guard. Never raises on bad numbers."""
    s = settings or DoseSettings()
    findings: list[Finding] = []

    def add(code: str, severity: Severity, field_name: str, message: str) -> None:
        findings.append(Finding(code, severity, field_name, message))

    _check_finite(inputs, add)
    _check_weight(inputs, s, add)
    _check_dose(inputs, s, add)
    _check_duration(inputs, s, add)
    _check_concentration(inputs, s, add)
    numbers = compute_numbers(inputs)
    if numbers is not None:
        _check_totals(inputs, numbers, s, add)
    return PlanCheck(inputs=inputs, numbers=numbers, findings=tuple(findings))


def confirm_plan(
    inputs: PlanInputs,
    *,
    override_reasons: Mapping[str, str] | None = None,
    acknowledged: Iterable[str] = (),
    who: str = "",
    settings: DoseSettings | None = None,
) -> PlanDecision:
    """Confirm a plan: only when nothing is REFUSED, every NEEDS_OVERRIDE has a reason
    (keyed by finding code) and every QUESTION is acknowledged (by code)."""
    check = check_plan(inputs, settings)
    reasons = {k: v.strip() for k, v in (override_reasons or {}).items()}
    acks = set(acknowledged)
    blocking = check.blocking(reasons, acks)
    if blocking or check.numbers is None:
        return PlanDecision(check=check, plan=None, blocking=blocking)
    plan = DosePlan(
        inputs=inputs,
        numbers=check.numbers,
        findings=check.findings,
        overrides=tuple(
            Override(f.code, reasons[f.code], f.message)
            for f in check.findings
            if f.severity is Severity.NEEDS_OVERRIDE
        ),
        acknowledged=tuple(f.code for f in check.findings if f.severity is Severity.QUESTION),
        who=who.strip(),
    )
    return PlanDecision(check=check, plan=plan, blocking=())


def format_number(x: float, max_decimals: int = 2) -> str:
    """Display rounding: at most max_decimals, trailing zeros dropped (35, 52.5, 0.35)."""
    text = f"{x:.{max_decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def describe_numbers(n: PlanNumbers, inputs: PlanInputs | None = None) -> list[str]:
    """Readable lines for the plan (dialog summary, `ketadesk plan`); inputs adds what was
    typed where it differs (a weight in lb, a bag)."""
    f = format_number
    weight = f"weight            {f(n.weight_kg, 1)} kg"
    conc = f"concentration     {f(n.concentration_mg_per_ml, 3)} mg/mL"
    if inputs is not None and inputs.weight_unit is WeightUnit.LB:
        weight += f"  (entered {f(inputs.weight, 1)} lb)"
    if inputs is not None and inputs.bag_mg is not None and inputs.bag_ml is not None:
        conc += f"  (bag: {f(inputs.bag_mg)} mg in {f(inputs.bag_ml, 1)} mL)"
    return [
        weight,
        f"dose              {f(n.dose_mg_per_kg, 3)} mg/kg = {f(n.dose_mg)} mg",
        f"duration          {f(n.duration_min, 1)} min",
        f"dose rate         {f(n.dose_mg_per_h)} mg/h",
        conc,
        f"pump rate         {f(n.rate_ml_per_h, 1)} mL/h",
        f"volume to infuse  {f(n.volume_ml, 1)} mL",
    ]


# ---- guards ---------------------------------------------------------------------------------

_Add = Callable[[str, Severity, str, str], None]  # add(code, severity, field, message)


def _check_finite(i: PlanInputs, add: _Add) -> None:
    named = {
        "weight": i.weight,
        "dose": i.dose_mg_per_kg,
        "duration": i.duration_min,
        "concentration": i.concentration_mg_per_ml,
        "bag mg": i.bag_mg,
        "bag mL": i.bag_ml,
    }
    for name, value in named.items():
        if value is not None and not math.isfinite(value):
            add(
                NOT_FINITE,
                Severity.REFUSED,
                name.split()[0],
                f"{name} is {value}, not a number: enter a finite value",
            )


def _check_weight(i: PlanInputs, s: DoseSettings, add: _Add) -> None:
    if not math.isfinite(i.weight):
        return
    kg = _weight_kg(i)
    shown = f"{format_number(i.weight, 1)} {i.weight_unit}"
    if i.weight_unit is WeightUnit.LB:
        shown += f" = {format_number(kg, 1)} kg"
    if not s.weight_min_kg <= kg <= s.weight_max_kg:
        add(
            WEIGHT_RANGE,
            Severity.REFUSED,
            "weight",
            f"weight {shown} is outside the allowed "
            f"{format_number(s.weight_min_kg)}-{format_number(s.weight_max_kg)} kg",
        )
        return
    # A pounds figure typed into the kg box is the classic 2.2x overdose. Above the threshold
    # the same number read as pounds is an ordinary adult weight, so ask rather than refuse
    # (very heavy patients exist).
    if i.weight_unit is WeightUnit.KG and kg > s.lb_suspect_above_kg:
        add(
            WEIGHT_MAYBE_LB,
            Severity.QUESTION,
            "weight",
            f"weight {shown} is above {format_number(s.lb_suspect_above_kg)} kg: "
            f"if it was pounds it is {format_number(kg * LB_TO_KG, 1)} kg; "
            "confirm the weight is in kg",
        )
    # The reverse slip (kg typed with the unit on lb) under-doses; still worth a question.
    if i.weight_unit is WeightUnit.LB and kg < s.kg_suspect_below_kg:
        add(
            WEIGHT_MAYBE_KG,
            Severity.QUESTION,
            "weight",
            f"weight {shown} is below {format_number(s.kg_suspect_below_kg)} kg: "
            f"if {format_number(i.weight, 1)} was kg, change the unit; "
            "confirm the weight is in lb",
        )


def _check_dose(i: PlanInputs, s: DoseSettings, add: _Add) -> None:
    d = i.dose_mg_per_kg
    if not math.isfinite(d):
        return
    if d <= 0:
        add(
            DOSE_NOT_POSITIVE,
            Severity.REFUSED,
            "dose",
            f"dose {format_number(d, 3)} mg/kg must be above 0 (presets: {_presets(s)} mg/kg)",
        )
    elif d > s.refuse_dose_above_mg_per_kg:
        add(
            DOSE_IMPLAUSIBLE,
            Severity.REFUSED,
            "dose",
            f"dose {format_number(d, 3)} mg/kg is above "
            f"{format_number(s.refuse_dose_above_mg_per_kg)} mg/kg, an anaesthetic dose, "
            f"not a sub-anaesthetic one (presets: {_presets(s)} mg/kg); check the decimal point",
        )
    elif d > s.max_dose_mg_per_kg:
        add(
            DOSE_ABOVE_MAX,
            Severity.NEEDS_OVERRIDE,
            "dose",
            f"dose {format_number(d, 3)} mg/kg is above the "
            f"{format_number(s.max_dose_mg_per_kg)} mg/kg maximum: give a reason to override",
        )


def _check_duration(i: PlanInputs, s: DoseSettings, add: _Add) -> None:
    m = i.duration_min
    if not math.isfinite(m):
        return
    if m <= 0:
        add(
            DURATION_NOT_POSITIVE,
            Severity.REFUSED,
            "duration",
            f"duration {format_number(m, 1)} min must be above 0 "
            f"(usual {format_number(s.default_duration_min)} min)",
        )
    elif not s.duration_usual_min_min <= m <= s.duration_usual_max_min:
        add(
            DURATION_UNUSUAL,
            Severity.QUESTION,
            "duration",
            f"duration {format_number(m, 1)} min is outside the usual "
            f"{format_number(s.duration_usual_min_min)}-{format_number(s.duration_usual_max_min)}"
            f" min (protocol: {format_number(s.default_duration_min)} min); confirm it",
        )


def _check_concentration(i: PlanInputs, s: DoseSettings, add: _Add) -> None:
    has_conc = i.concentration_mg_per_ml is not None
    has_bag = i.bag_mg is not None or i.bag_ml is not None
    if has_conc and has_bag:
        add(
            CONCENTRATION_SOURCE,
            Severity.REFUSED,
            "concentration",
            "give either a concentration in mg/mL or a bag (mg in bag and total mL), not both",
        )
        return
    if not has_conc and not has_bag:
        add(
            CONCENTRATION_SOURCE,
            Severity.REFUSED,
            "concentration",
            "no concentration: give mg/mL, or a bag (mg in bag and total mL)",
        )
        return
    if has_bag:
        if i.bag_mg is None or i.bag_ml is None:
            add(
                CONCENTRATION_SOURCE,
                Severity.REFUSED,
                "bag",
                "a bag needs both the mg it holds and its total mL",
            )
            return
        for value, unit in ((i.bag_mg, "mg"), (i.bag_ml, "mL")):
            if math.isfinite(value) and value <= 0:
                add(
                    CONCENTRATION_NOT_POSITIVE,
                    Severity.REFUSED,
                    "bag",
                    f"bag {unit} {format_number(value)} must be above 0",
                )
    elif i.concentration_mg_per_ml is not None:
        c = i.concentration_mg_per_ml
        if math.isfinite(c) and c <= 0:
            add(
                CONCENTRATION_NOT_POSITIVE,
                Severity.REFUSED,
                "concentration",
                f"concentration {format_number(c, 3)} mg/mL must be above 0 "
                "(vials: 10, 50, 100 mg/mL; infusions usually about 1 mg/mL or less)",
            )
    conc = _concentration(i)
    if conc is None:
        return
    where = "bag" if has_bag else "concentration"
    if conc > s.concentration_max_mg_per_ml:
        add(
            CONCENTRATION_ABSURD,
            Severity.REFUSED,
            where,
            f"concentration {format_number(conc, 3)} mg/mL is above "
            f"{format_number(s.concentration_max_mg_per_ml)} mg/mL, stronger than any vial "
            "(10, 50, 100 mg/mL)",
        )
    elif conc >= s.concentration_dilute_at_mg_per_ml:
        add(
            CONCENTRATION_UNDILUTED,
            Severity.WARNING,
            where,
            f"{format_number(conc, 3)} mg/mL must be diluted before IV use; "
            f"common dilutions: {s.common_dilutions}",
        )


def _check_totals(i: PlanInputs, n: PlanNumbers, s: DoseSettings, add: _Add) -> None:
    if n.dose_mg > s.max_total_mg:
        add(
            TOTAL_ABOVE_CAP,
            Severity.NEEDS_OVERRIDE,
            "dose",
            f"total dose {format_number(n.dose_mg)} mg is above the "
            f"{format_number(s.max_total_mg)} mg cap: give a reason to override",
        )
    if i.bag_mg is not None and i.bag_ml is not None:
        # Relative tolerance: "35 mg" typed for a 35.0000001 mg plan is the same bag.
        if i.bag_mg < n.dose_mg * (1 - 1e-9):
            add(
                BAG_SHORT,
                Severity.REFUSED,
                "bag",
                f"the bag holds {format_number(i.bag_mg)} mg but the plan needs "
                f"{format_number(n.dose_mg)} mg: prepare a bag with at least that much",
            )
        elif i.bag_mg > n.dose_mg * (1 + 1e-9):
            add(
                BAG_EXCESS,
                Severity.WARNING,
                "bag",
                f"the bag holds {format_number(i.bag_mg)} mg, more than the "
                f"{format_number(n.dose_mg)} mg dose: set the pump's volume to be infused to "
                f"{format_number(n.volume_ml, 1)} mL, not the whole "
                f"{format_number(i.bag_ml, 1)} mL bag",
            )
    if n.rate_ml_per_h > s.rate_max_ml_per_h:
        add(
            RATE_HIGH,
            Severity.QUESTION,
            "rate",
            f"pump rate {format_number(n.rate_ml_per_h, 1)} mL/h is above "
            f"{format_number(s.rate_max_ml_per_h)} mL/h: check the concentration or bag "
            "volume, and confirm",
        )


# ---- helpers --------------------------------------------------------------------------------


def _weight_kg(i: PlanInputs) -> float:
    return i.weight * LB_TO_KG if i.weight_unit is WeightUnit.LB else float(i.weight)


def _concentration(i: PlanInputs) -> float | None:
    """mg/mL from whichever source was given, or None if it is missing or not usable."""
    if i.concentration_mg_per_ml is not None and i.bag_mg is None and i.bag_ml is None:
        c = i.concentration_mg_per_ml
        return c if _positive(c) else None
    if (
        i.concentration_mg_per_ml is None
        and i.bag_mg is not None
        and i.bag_ml is not None
        and _positive(i.bag_mg)
        and _positive(i.bag_ml)
    ):
        return i.bag_mg / i.bag_ml
    return None


def _positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _config_number(section: Mapping[str, Any], key: str, prefix: str = "infusion.") -> float:
    value = section[key]
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{prefix}{key} must be a positive number, got {value!r}")
    return float(value)


def _presets(s: DoseSettings) -> str:
    return ", ".join(format_number(p) for p in s.dose_presets_mg_per_kg)
