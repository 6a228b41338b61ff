"""Dose plan arithmetic (DOMAIN.md 2) and the guards against typos that harm (issue 3)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from ketadesk.core import dose
from ketadesk.core.dose import (
    LB_TO_KG,
    DoseSettings,
    PlanInputs,
    Severity,
    WeightUnit,
    check_plan,
    compute_numbers,
    confirm_plan,
    format_number,
    load_dose_settings,
)

REL = 1e-12


def conc(
    weight: float = 70.0,
    dose_mg_per_kg: float = 0.5,
    minutes: float = 40.0,
    mg_per_ml: float = 1.0,
    unit: WeightUnit = WeightUnit.KG,
) -> PlanInputs:
    return PlanInputs(
        weight=weight,
        dose_mg_per_kg=dose_mg_per_kg,
        duration_min=minutes,
        weight_unit=unit,
        concentration_mg_per_ml=mg_per_ml,
    )


def bag(
    weight: float = 70.0,
    dose_mg_per_kg: float = 0.5,
    minutes: float = 40.0,
    bag_mg: float = 35.0,
    bag_ml: float = 100.0,
) -> PlanInputs:
    return PlanInputs(
        weight=weight,
        dose_mg_per_kg=dose_mg_per_kg,
        duration_min=minutes,
        bag_mg=bag_mg,
        bag_ml=bag_ml,
    )


def codes(inputs: PlanInputs, settings: DoseSettings | None = None) -> dict[str, Severity]:
    return {f.code: f.severity for f in check_plan(inputs, settings).findings}


# ---- arithmetic ---------------------------------------------------------------------------------


def test_worked_example_matches_domain_exactly() -> None:
    n = compute_numbers(conc())
    assert n is not None
    assert (n.weight_kg, n.dose_mg, n.dose_mg_per_h, n.rate_ml_per_h, n.volume_ml) == (
        70.0,
        35.0,
        52.5,
        52.5,
        35.0,
    )
    assert n.concentration_mg_per_ml == 1.0


def test_worked_bag_example_runs_at_150_ml_per_h() -> None:
    n = compute_numbers(bag())
    assert n is not None
    assert n.rate_ml_per_h == 150.0
    assert n.volume_ml == 100.0
    assert n.concentration_mg_per_ml == pytest.approx(0.35, rel=REL)
    assert check_plan(bag()).findings == ()


@pytest.mark.parametrize("preset", [0.5, 0.75, 1.0])
@pytest.mark.parametrize("mg_per_ml", [1.0, 10.0])
def test_every_preset_follows_the_domain_formulas(preset: float, mg_per_ml: float) -> None:
    n = compute_numbers(conc(weight=80.0, dose_mg_per_kg=preset, mg_per_ml=mg_per_ml))
    assert n is not None
    dose_mg = 80.0 * preset
    assert n.dose_mg == pytest.approx(dose_mg, rel=REL)
    assert n.dose_mg_per_h == pytest.approx(dose_mg / (40 / 60), rel=REL)
    assert n.rate_ml_per_h == pytest.approx(dose_mg / mg_per_ml / (40 / 60), rel=REL)
    assert n.volume_ml == pytest.approx(dose_mg / mg_per_ml, rel=REL)


def test_custom_dose_and_duration() -> None:
    n = compute_numbers(conc(weight=62.0, dose_mg_per_kg=0.6, minutes=60, mg_per_ml=0.5))
    assert n is not None
    assert n.dose_mg == pytest.approx(37.2, rel=REL)
    assert n.dose_mg_per_h == pytest.approx(37.2, rel=REL)
    assert n.rate_ml_per_h == pytest.approx(74.4, rel=REL)
    assert n.volume_ml == pytest.approx(74.4, rel=REL)


def test_pounds_are_converted_to_kg() -> None:
    n = compute_numbers(conc(weight=154.0, unit=WeightUnit.LB))
    assert n is not None
    assert n.weight_kg == pytest.approx(154.0 * 0.45359237, rel=REL)
    assert n.dose_mg == pytest.approx(154.0 * 0.45359237 * 0.5, rel=REL)
    back = compute_numbers(conc(weight=70.0 / LB_TO_KG, unit=WeightUnit.LB))
    assert back is not None and back.dose_mg == pytest.approx(35.0, rel=REL)


def test_numbers_are_none_when_not_computable() -> None:
    assert compute_numbers(conc(mg_per_ml=0.0)) is None
    assert compute_numbers(conc(minutes=math.nan)) is None
    assert compute_numbers(PlanInputs(weight=70, dose_mg_per_kg=0.5)) is None


def test_format_number_rounds_only_for_display() -> None:
    assert format_number(35.0) == "35"
    assert format_number(52.5) == "52.5"
    assert format_number(0.35) == "0.35"
    assert format_number(130.9876, 1) == "131"
    assert format_number(-0.0001) == "0"


# ---- guards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "unit", "refused"),
    [
        (29.9, WeightUnit.KG, True),
        (30.0, WeightUnit.KG, False),
        (250.0, WeightUnit.KG, False),
        (250.1, WeightUnit.KG, True),
        (60.0, WeightUnit.LB, True),
        (560.0, WeightUnit.LB, True),
        (0.0, WeightUnit.KG, True),
        (-70.0, WeightUnit.KG, True),
    ],
)
def test_weight_outside_30_to_250_kg_is_refused(
    weight: float, unit: WeightUnit, refused: bool
) -> None:
    found = [
        f
        for f in check_plan(conc(weight=weight, dose_mg_per_kg=0.3, unit=unit)).findings
        if f.code == dose.WEIGHT_RANGE
    ]
    assert bool(found) is refused
    if refused:
        assert found[0].severity is Severity.REFUSED
        assert "30-250 kg" in found[0].message


def test_kg_weight_plausible_only_in_pounds_is_questioned() -> None:
    found = check_plan(conc(weight=154.0, dose_mg_per_kg=0.5)).findings
    assert [(f.code, f.severity) for f in found] == [(dose.WEIGHT_MAYBE_LB, Severity.QUESTION)]
    assert "69.9 kg" in found[0].message and "150 kg" in found[0].message
    assert dose.WEIGHT_MAYBE_LB not in codes(conc(weight=150.0, dose_mg_per_kg=0.5))
    # The same number entered as pounds is the ordinary adult it probably is.
    assert codes(conc(weight=154.0, unit=WeightUnit.LB)) == {}


def test_lb_weight_plausible_only_in_kg_is_questioned() -> None:
    assert codes(conc(weight=80.0, unit=WeightUnit.LB)) == {dose.WEIGHT_MAYBE_KG: Severity.QUESTION}
    assert codes(conc(weight=90.0, unit=WeightUnit.LB)) == {}  # 40.8 kg


@pytest.mark.parametrize(
    ("mg_per_kg", "expected"),
    [
        (0.0, {dose.DOSE_NOT_POSITIVE: Severity.REFUSED}),
        (-0.5, {dose.DOSE_NOT_POSITIVE: Severity.REFUSED}),
        (1.0, {}),
        (1.01, {dose.DOSE_ABOVE_MAX: Severity.NEEDS_OVERRIDE}),
        (
            5.0,
            {
                dose.DOSE_IMPLAUSIBLE: Severity.REFUSED,
                dose.TOTAL_ABOVE_CAP: Severity.NEEDS_OVERRIDE,
            },
        ),
    ],
)
def test_dose_guards(mg_per_kg: float, expected: dict[str, Severity]) -> None:
    # 60 kg keeps 1.01 mg/kg under the 100 mg cap so only the dose guard speaks.
    assert codes(conc(weight=60.0, dose_mg_per_kg=mg_per_kg)) == expected


def test_total_above_cap_needs_override_and_cap_is_configurable() -> None:
    assert codes(conc(weight=100.0, dose_mg_per_kg=1.0)) == {}
    found = check_plan(conc(weight=110.0, dose_mg_per_kg=1.0)).findings
    assert [(f.code, f.severity) for f in found] == [
        (dose.TOTAL_ABOVE_CAP, Severity.NEEDS_OVERRIDE)
    ]
    assert "110 mg" in found[0].message and "100 mg" in found[0].message
    tight = DoseSettings(max_total_mg=30.0)
    assert codes(conc(), tight) == {dose.TOTAL_ABOVE_CAP: Severity.NEEDS_OVERRIDE}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (19.0, {dose.DURATION_UNUSUAL: Severity.QUESTION}),
        (20.0, {}),
        (40.0, {}),
        (120.0, {}),
        (121.0, {dose.DURATION_UNUSUAL: Severity.QUESTION}),
        (0.0, {dose.DURATION_NOT_POSITIVE: Severity.REFUSED}),
    ],
)
def test_duration_guards(minutes: float, expected: dict[str, Severity]) -> None:
    assert codes(conc(minutes=minutes)) == expected


def test_undiluted_vial_strength_warns_with_common_dilutions() -> None:
    found = check_plan(conc(mg_per_ml=100.0)).findings
    assert [(f.code, f.severity) for f in found] == [
        (dose.CONCENTRATION_UNDILUTED, Severity.WARNING)
    ]
    assert "must be diluted" in found[0].message and "1 mg/mL" in found[0].message
    assert confirm_plan(conc(mg_per_ml=100.0)).confirmed  # a warning never blocks
    assert codes(conc(mg_per_ml=50.0)) == {}


@pytest.mark.parametrize(
    ("mg_per_ml", "code"),
    [
        (0.0, dose.CONCENTRATION_NOT_POSITIVE),
        (-1.0, dose.CONCENTRATION_NOT_POSITIVE),
        (150.0, dose.CONCENTRATION_ABSURD),
        (math.inf, dose.NOT_FINITE),
    ],
)
def test_impossible_concentration_is_refused(mg_per_ml: float, code: str) -> None:
    assert codes(conc(mg_per_ml=mg_per_ml)) == {code: Severity.REFUSED}


def test_concentration_source_must_be_exactly_one() -> None:
    both = dataclasses.replace(conc(), bag_mg=35.0, bag_ml=100.0)
    half_bag = PlanInputs(weight=70, dose_mg_per_kg=0.5, bag_mg=35.0)
    neither = PlanInputs(weight=70, dose_mg_per_kg=0.5)
    for inputs in (both, half_bag, neither):
        assert codes(inputs) == {dose.CONCENTRATION_SOURCE: Severity.REFUSED}
    assert codes(bag(bag_ml=0.0)) == {dose.CONCENTRATION_NOT_POSITIVE: Severity.REFUSED}


def test_bag_holding_less_than_the_dose_is_refused_and_more_warns() -> None:
    assert codes(bag(bag_mg=30.0)) == {dose.BAG_SHORT: Severity.REFUSED}
    found = check_plan(bag(bag_mg=50.0, bag_ml=100.0)).findings
    assert [(f.code, f.severity) for f in found] == [(dose.BAG_EXCESS, Severity.WARNING)]
    assert "70 mL" in found[0].message  # 35 mg of 0.5 mg/mL


def test_pump_rate_beyond_a_pump_is_questioned() -> None:
    # 1000 mL typed for a 100 mL bag: 1500 mL/h.
    assert codes(bag(bag_ml=1000.0)) == {dose.RATE_HIGH: Severity.QUESTION}


def test_not_finite_inputs_are_refused_without_raising() -> None:
    found = codes(conc(weight=math.nan, dose_mg_per_kg=math.inf))
    assert found == {dose.NOT_FINITE: Severity.REFUSED}
    assert check_plan(conc(weight=math.nan)).numbers is None


# ---- confirmation -------------------------------------------------------------------------------


def test_clean_plan_confirms_into_a_frozen_plan() -> None:
    decision = confirm_plan(conc(), who=" AB ")
    assert decision.confirmed and decision.blocking == ()
    plan = decision.plan
    assert plan is not None
    assert (plan.dose_mg, plan.rate_ml_per_h, plan.who, plan.duration_s) == (
        35.0,
        52.5,
        "AB",
        2400.0,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.who = "XY"  # type: ignore[misc]


def test_override_needs_a_written_reason() -> None:
    inputs = conc(weight=80.0, dose_mg_per_kg=1.2)  # 96 mg: only the mg/kg maximum
    for reasons in (None, {}, {dose.DOSE_ABOVE_MAX: "   "}, {dose.TOTAL_ABOVE_CAP: "x"}):
        decision = confirm_plan(inputs, override_reasons=reasons)
        assert not decision.confirmed
        assert [f.code for f in decision.blocking] == [dose.DOSE_ABOVE_MAX]
    decision = confirm_plan(inputs, override_reasons={dose.DOSE_ABOVE_MAX: " titration "})
    assert decision.plan is not None
    assert [(o.code, o.reason) for o in decision.plan.overrides] == [
        (dose.DOSE_ABOVE_MAX, "titration")
    ]


def test_question_needs_acknowledgement() -> None:
    inputs = conc(weight=160.0, dose_mg_per_kg=0.5)  # 80 mg
    assert [f.code for f in confirm_plan(inputs).blocking] == [dose.WEIGHT_MAYBE_LB]
    decision = confirm_plan(inputs, acknowledged=[dose.WEIGHT_MAYBE_LB])
    assert decision.plan is not None
    assert decision.plan.acknowledged == (dose.WEIGHT_MAYBE_LB,)


def test_refused_cannot_be_overridden_or_acknowledged() -> None:
    inputs = conc(weight=300.0)
    every = [f.code for f in check_plan(inputs).findings]
    decision = confirm_plan(
        inputs, override_reasons=dict.fromkeys(every, "please"), acknowledged=every
    )
    assert not decision.confirmed
    assert [f.severity for f in decision.blocking] == [Severity.REFUSED]


def test_settings_come_from_defaults_toml_and_bad_config_is_named() -> None:
    s = load_dose_settings()
    assert s == DoseSettings()
    assert (s.weight_min_kg, s.weight_max_kg, s.max_dose_mg_per_kg, s.max_total_mg) == (
        30.0,
        250.0,
        1.0,
        100.0,
    )
    assert s.dose_presets_mg_per_kg == (0.5, 0.75, 1.0)
    custom = DoseSettings.from_config({"guards": {"max_total_mg": 80}})
    assert custom.max_total_mg == 80.0
    with pytest.raises(ValueError, match="infusion.guards.max_total_mg"):
        DoseSettings.from_config({"guards": {"max_total_mg": "lots"}})
    with pytest.raises(ValueError, match="unknown key infusion.guards.max_dose"):
        DoseSettings.from_config({"guards": {"max_dose": 1.0}})
