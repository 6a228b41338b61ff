"""PK of the simulated patient: published concentrations, linearity, exactness, incrementality."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from ketadesk.sources.simulator.pk import (
    CLEMENTS_1981,
    DOMINO,
    ConcentrationSolver,
    PkParameters,
    constant_infusion,
    divergence_s,
    pk_parameters,
    validate_rate_history,
)

STANDARD = constant_infusion(35.0, 40.0, 0.0)  # 70 kg x 0.5 mg/kg over 40 min (DOMAIN.md 2)


def cp_at(params: PkParameters, history: tuple[tuple[float, float], ...], t_s: float,
          weight_kg: float = 70.0) -> float:
    solver = ConcentrationSolver(params, weight_kg, 0.15)
    solver.set_rate_history(history)
    return solver.concentrations_at(t_s)[0]


def reference_cp(params: PkParameters, history: tuple[tuple[float, float], ...], t_s: float,
                 weight_kg: float = 70.0, dt_min: float = 0.01) -> float:
    """Independent check: classical RK4 on the compartment ODEs with small steps."""
    p = params
    k1 = p.k10_per_min + p.k12_per_min + p.k13_per_min

    def rate(t_min: float) -> float:
        r = 0.0
        for t0_s, value in history:
            if t0_s / 60.0 <= t_min + 1e-12:
                r = value
        return r

    def f(x: np.ndarray, r: float) -> np.ndarray:
        return np.array([
            -k1 * x[0] + p.k21_per_min * x[1] + p.k31_per_min * x[2] + r,
            p.k12_per_min * x[0] - p.k21_per_min * x[1],
            p.k13_per_min * x[0] - p.k31_per_min * x[2],
        ])

    x = np.zeros(3)
    steps = round(t_s / 60.0 / dt_min)
    for i in range(steps):
        r = rate(i * dt_min)  # steps fall on the grid in these tests
        a = f(x, r)
        b = f(x + dt_min / 2 * a, r)
        c = f(x + dt_min / 2 * b, r)
        d = f(x + dt_min * c, r)
        x = x + dt_min / 6 * (a + 2 * b + 2 * c + d)
    return float(x[0]) / (p.v1_l_per_kg * weight_kg) * 1000.0


def test_clements_gives_the_published_177_ng_per_ml_at_40_min() -> None:
    assert 170.0 <= cp_at(CLEMENTS_1981, STANDARD, 2400.0) <= 185.0


def test_domino_gives_about_240_ng_per_ml_at_40_min() -> None:
    # DOMAIN.md 5 says ~240; the exact solution gives 240.3.
    assert 235.0 <= cp_at(DOMINO, STANDARD, 2400.0) <= 245.0


@pytest.mark.parametrize("params", [CLEMENTS_1981, DOMINO])
def test_exact_solution_matches_a_small_step_integrator(params: PkParameters) -> None:
    # Infusion with a pause and a restart at a different rate.
    history = ((60.0, 0.875), (1200.0, 0.0), (1500.0, 1.2), (2700.0, 0.0))
    for t_s in (600.0, 1500.0, 2700.0, 5400.0):
        assert cp_at(params, history, t_s) == pytest.approx(
            reference_cp(params, history, t_s), rel=1e-6)


@pytest.mark.parametrize("params", [CLEMENTS_1981, DOMINO])
def test_concentration_is_linear_in_dose(params: PkParameters) -> None:
    double = tuple((t, 2 * r) for t, r in STANDARD)
    for t_s in (300.0, 2400.0, 7200.0):
        assert cp_at(params, double, t_s) == pytest.approx(2 * cp_at(params, STANDARD, t_s),
                                                           rel=1e-12)


def test_per_kg_dosing_gives_the_same_concentration_whatever_the_weight() -> None:
    light = cp_at(CLEMENTS_1981, constant_infusion(25.0, 40, 0), 2400.0, weight_kg=50.0)
    heavy = cp_at(CLEMENTS_1981, constant_infusion(60.0, 40, 0), 2400.0, weight_kg=120.0)
    assert light == pytest.approx(heavy, rel=1e-12)


def test_terminal_half_life_is_about_three_hours() -> None:
    # DOMAIN.md 5: elimination half-life ~2.5-3 h.
    c1, c2 = (cp_at(CLEMENTS_1981, STANDARD, m * 60.0) for m in (300.0, 360.0))
    half_life_h = 60.0 * math.log(2) / math.log(c1 / c2) / 60.0
    assert 2.5 <= half_life_h <= 3.2


def test_nothing_before_the_infusion_and_falling_after_it() -> None:
    history = constant_infusion(35.0, 40.0, 600.0)
    assert cp_at(CLEMENTS_1981, history, 599.0) == 0.0
    after = [cp_at(CLEMENTS_1981, history, 3000.0 + 60.0 * m) for m in range(0, 120, 10)]
    assert all(a > b for a, b in zip(after, after[1:], strict=False))


def test_effect_site_lags_plasma_and_peaks_after_the_infusion_ends() -> None:
    solver = ConcentrationSolver(CLEMENTS_1981, 70.0, 0.15)
    solver.set_rate_history(STANDARD)
    cp40, ce40 = solver.concentrations_at(2400.0)
    assert ce40 < cp40
    ce = [solver.concentrations_at(60.0 * m)[1] for m in range(30, 70)]
    peak_min = 30 + int(np.argmax(ce))
    assert 41 <= peak_min <= 50


def test_incremental_queries_equal_a_fresh_solve() -> None:
    history = ((600.0, 0.875), (1800.0, 0.0), (2100.0, 0.875), (3300.0, 0.0))
    stepped = ConcentrationSolver(CLEMENTS_1981, 70.0, 0.15)
    stepped.set_rate_history(history)
    for t in range(0, 4000):
        stepped.concentrations_at(float(t))
    for t_s in (4000.0, 1000.5, 2100.0, 50.0):  # forward, then into the past
        fresh = ConcentrationSolver(CLEMENTS_1981, 70.0, 0.15)
        fresh.set_rate_history(history)
        assert stepped.concentrations_at(t_s) == pytest.approx(fresh.concentrations_at(t_s),
                                                               rel=1e-9, abs=1e-12)


def test_a_history_changed_in_the_past_is_recomputed() -> None:
    solver = ConcentrationSolver(CLEMENTS_1981, 70.0, 0.15)
    solver.set_rate_history(constant_infusion(35.0, 40.0, 600.0))
    solver.concentrations_at(2000.0)
    # The source learns late that the pump paused at 1800 s.
    paused = ((600.0, 0.875), (1800.0, 0.0))
    since = solver.set_rate_history(paused)
    assert since == 1800.0
    fresh = ConcentrationSolver(CLEMENTS_1981, 70.0, 0.15)
    fresh.set_rate_history(paused)
    assert solver.concentrations_at(2500.0) == pytest.approx(fresh.concentrations_at(2500.0))


def test_divergence_is_the_first_differing_step() -> None:
    a = ((600.0, 1.0), (1800.0, 0.0))
    assert divergence_s(a, a) == math.inf
    assert divergence_s(a, a + ((2000.0, 1.0),)) == 2000.0
    assert divergence_s(a, ((600.0, 1.0), (1700.0, 0.0))) == 1700.0
    assert divergence_s((), a) == 600.0


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (((0.0, -1.0),), "rate_mg_per_min must be finite and >= 0"),
        (((100.0, 1.0), (50.0, 0.0)), "must not go backwards"),
        (((math.nan, 1.0),), "t_s must be a finite number"),
        (((1.0, 2.0, 3.0),), "must be (t_s, rate_mg_per_min)"),
    ],
)
def test_bad_rate_histories_are_refused_with_the_reason(
    history: tuple[tuple[float, ...], ...], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_rate_history(history)


def test_unknown_model_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: clements, domino"):
        pk_parameters("schnider")

