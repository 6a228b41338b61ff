"""PD of the simulated patient: the shipped parameters reproduce DOMAIN.md 3 and 5."""

from __future__ import annotations

import dataclasses

import pytest

from ketadesk.sources.simulator.model import PatientModel, PhysiologyState
from ketadesk.sources.simulator.patient import PatientProfile, named_profile
from ketadesk.sources.simulator.pd import (
    PdParams,
    default_pd_params,
    predicted_cadss,
    pressor_response,
    sigmoid_emax,
)
from ketadesk.sources.simulator.pk import constant_infusion

START_S = 600.0  # 10 min baseline, then 40 min infusion
END_S = START_S + 2400.0


def session(profile: PatientProfile, pd: PdParams | None = None) -> list[PhysiologyState]:
    """Noise-free states every 30 s from 0 to 3 h of a standard 0.5 mg/kg session."""
    model = PatientModel(profile, 1, pd=pd, noise_scale=0.0)
    model.set_rate_history(constant_infusion(0.5 * profile.weight_kg, 40.0, START_S))
    return [model.state_at(30.0 * k) for k in range(0, 361)]


def at(states: list[PhysiologyState], t_s: float) -> PhysiologyState:
    return next(s for s in states if s.t_s == t_s)


def test_sigmoid_emax_shape() -> None:
    assert sigmoid_emax(0.0, 30, 150, 2.5) == 0.0
    assert sigmoid_emax(150.0, 30, 150, 2.5) == pytest.approx(15.0)
    values = [sigmoid_emax(c, 30, 150, 2.5) for c in range(0, 1000, 50)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < 30


def test_shipped_parameters_lie_in_domain_ranges() -> None:
    p = default_pd_params()
    assert 0.1 <= p.ke0_per_min <= 0.2
    assert 2.0 <= p.cadss_hill <= 3.0
    assert p.cadss_emax == pytest.approx(30.0)
    assert 0.0 < p.dbp_fraction < 1.0


def test_typical_patient_peaks_near_40_min_in_the_target_ranges() -> None:
    profile = named_profile("typical")
    states = session(profile)
    s40 = at(states, END_S)
    assert 8.0 <= s40.predicted_cadss <= 12.0
    assert 12.0 <= s40.sbp - profile.baseline_sbp_mmhg <= 16.0
    assert 6.0 <= s40.dbp - profile.baseline_dbp_mmhg <= 11.0
    assert 0.5 <= s40.hr - profile.baseline_hr_bpm <= 6.0
    peak = max(states, key=lambda s: s.sbp)
    assert 38.0 <= (peak.t_s - START_S) / 60.0 <= 48.0
    cadss_peak = max(states, key=lambda s: s.predicted_cadss)
    assert 38.0 <= (cadss_peak.t_s - START_S) / 60.0 <= 48.0
    assert cadss_peak.predicted_cadss <= 12.0


@pytest.mark.parametrize("minutes_after_end", [80, 120])
def test_typical_patient_is_near_baseline_80_to_120_min_after_the_end(
    minutes_after_end: int,
) -> None:
    profile = named_profile("typical")
    states = session(profile)
    peak_rise = max(s.sbp for s in states) - profile.baseline_sbp_mmhg
    late = at(states, END_S + 60.0 * minutes_after_end)
    assert late.sbp - profile.baseline_sbp_mmhg < min(3.0, 0.2 * peak_rise)
    assert late.dbp - profile.baseline_dbp_mmhg < 2.0
    assert late.predicted_cadss < 2.0


def test_domain_hyperbola_would_not_return_to_baseline_in_time() -> None:
    # Why bp_hill is 3 (pd.py docstring): with 25 Ce / (150 + Ce) the rise 120 min after the
    # end is still over a third of the peak, because Ce falls with a ~3 h half-life.
    profile = named_profile("typical")
    hyperbola = dataclasses.replace(default_pd_params(), bp_hill=1.0)
    states = session(profile, hyperbola)
    peak_rise = max(s.sbp for s in states) - profile.baseline_sbp_mmhg
    late_rise = at(states, END_S + 7200.0).sbp - profile.baseline_sbp_mmhg
    assert late_rise > 0.35 * peak_rise


def test_first_infusion_dissociates_more() -> None:
    p = default_pd_params()
    first = predicted_cadss(160.0, p, infusion_number=1)
    later = predicted_cadss(160.0, p, infusion_number=4)
    assert first == pytest.approx(later * p.first_infusion_cadss_factor)


def test_patient_factors_scale_the_responses() -> None:
    p = default_pd_params()
    sbp, dbp, hr = pressor_response(150.0, p)
    sbp2, dbp2, hr2 = pressor_response(150.0, p, bp_factor=2.0, hr_factor=3.0)
    assert (sbp2, dbp2, hr2) == pytest.approx((2 * sbp, 2 * dbp, 3 * hr))
    assert predicted_cadss(150.0, p, ec50_factor=0.5) > predicted_cadss(150.0, p)
    assert predicted_cadss(10_000.0, p, emax_factor=5.0) <= 92.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ke0": 0.1}, "unknown key(s) ke0; allowed: ke0_per_min"),
        ({"cadss_hill": -1}, "cadss_hill must be a number >= 0"),
        ({"cadss_hill": 0}, "cadss_hill must be > 0"),
        ({"dbp_fraction": 1.5}, "dbp_fraction must be between 0 and 1"),
        ({"bp_hill": "3"}, "bp_hill must be a number"),
    ],
)
def test_bad_pd_config_names_the_key(change: dict[str, object], message: str) -> None:
    values = {**dataclasses.asdict(default_pd_params()), **change}
    with pytest.raises(ValueError, match="simulator.pd") as info:
        PdParams.from_mapping(values)
    assert message in str(info.value)


def test_missing_pd_key_is_named() -> None:
    values = dataclasses.asdict(default_pd_params())
    del values["hr_emax_bpm"]
    with pytest.raises(ValueError, match="missing key\\(s\\) hr_emax_bpm"):
        PdParams.from_mapping(values)
