"""Ketamine pharmacokinetics for the simulated patient: plasma and effect-site concentration.

Mammillary compartment models with parameters per kg and rate constants per minute
(DOMAIN.md section 5): Clements and Nimmo 1981 (two compartments, fits the 0.5 mg/kg over
40 min protocol best) and Domino (three compartments). An effect compartment (rate ke0,
owned by the PD parameters) is solved in the same linear system, because it is driven by
the same input.

The input is the infusion's actual rate history: steps `(t_s, rate_mg_per_min)`, each rate
holding from its t_s until the next step (0 before the first and while paused). Between
steps the input is constant, so every segment is solved exactly with a matrix exponential:
x(t + dt) = Phi(dt) x(t) + Gamma(dt) rate. Calling every second costs one cached 4x4
product, and the solver keeps its state and moves forward instead of starting again at 0.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RateHistory = tuple[tuple[float, float], ...]
"""Steps (t_s, rate_mg_per_min), times non-decreasing; a rate holds until the next step."""

_NG_PER_ML_PER_MG_PER_L = 1000.0


@dataclass(frozen=True)
class PkParameters:
    """One published compartment model (DOMAIN.md 5). k13 = k31 = 0 for two compartments."""

    name: str
    v1_l_per_kg: float
    k10_per_min: float
    k12_per_min: float
    k21_per_min: float
    k13_per_min: float = 0.0
    k31_per_min: float = 0.0


CLEMENTS_1981 = PkParameters("clements", 1.7522, 0.0109, 0.0186, 0.0137)
DOMINO = PkParameters("domino", 0.063, 0.4381, 0.5921, 0.2470, 0.5900, 0.0146)
PK_MODELS: dict[str, PkParameters] = {m.name: m for m in (CLEMENTS_1981, DOMINO)}


def pk_parameters(name: str) -> PkParameters:
    """The model called `name`, with the allowed names in the error if there is none."""
    try:
        return PK_MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown PK model {name!r}; allowed: {', '.join(sorted(PK_MODELS))}"
        ) from None


def validate_rate_history(history: Sequence[Sequence[float]]) -> RateHistory:
    """The history as a tuple of float pairs, or ValueError saying which step is wrong."""
    steps: list[tuple[float, float]] = []
    last_t = -math.inf
    for i, step in enumerate(history):
        if len(step) != 2:
            raise ValueError(f"rate history step {i} must be (t_s, rate_mg_per_min), got {step!r}")
        t_s, rate = float(step[0]), float(step[1])
        if not (math.isfinite(t_s) and t_s >= 0):
            raise ValueError(f"rate history step {i}: t_s must be a finite number >= 0, got {t_s}")
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(
                f"rate history step {i}: rate_mg_per_min must be finite and >= 0, got {rate}"
            )
        if t_s < last_t:
            raise ValueError(
                f"rate history step {i}: times must not go backwards ({t_s} after {last_t})"
            )
        steps.append((t_s, rate))
        last_t = t_s
    return tuple(steps)


def constant_infusion(dose_mg: float, duration_min: float, start_s: float) -> RateHistory:
    """The rate history of an uninterrupted infusion: `dose_mg` over `duration_min` from start_s."""
    if not (dose_mg > 0 and duration_min > 0 and start_s >= 0):
        raise ValueError(
            f"need dose_mg > 0, duration_min > 0, start_s >= 0; got {dose_mg}, {duration_min},"
            f" {start_s}"
        )
    return ((start_s, dose_mg / duration_min), (start_s + duration_min * 60.0, 0.0))


def divergence_s(old: RateHistory, new: RateHistory) -> float:
    """The earliest time from which the two histories may give different rates (inf: never).

    A state at time t depends only on the rates before t, so states up to this time stay valid.
    """
    for (t_old, r_old), (t_new, r_new) in zip(old, new, strict=False):
        if (t_old, r_old) != (t_new, r_new):
            return min(t_old, t_new)
    if len(old) == len(new):
        return math.inf
    longer = old if len(old) > len(new) else new
    return longer[min(len(old), len(new))][0]


def _expm(m: FloatArray) -> FloatArray:
    """Matrix exponential by scaling and squaring a Taylor series (small matrices only).

    Used instead of an eigen-decomposition because the augmented matrix is singular and
    ke0 may coincide with a disposition eigenvalue; numpy has no expm and scipy is not a
    dependency.
    """
    norm = float(np.abs(m).sum(axis=1).max())
    squarings = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    a = m / (2.0**squarings)
    result = np.eye(m.shape[0])
    term = np.eye(m.shape[0])
    for k in range(1, 16):
        term = term @ a / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


class ConcentrationSolver:
    """Plasma and effect-site concentration of one patient under a changing rate history.

    State: amounts (mg) in the central and two peripheral compartments, and the effect-site
    concentration (ng/mL). Queries at increasing times advance the kept state; a query in the
    past restarts from the nearest kept state at a rate step (exact, so nothing drifts).
    """

    def __init__(self, params: PkParameters, weight_kg: float, ke0_per_min: float) -> None:
        if not (math.isfinite(weight_kg) and 20.0 <= weight_kg <= 300.0):
            raise ValueError(f"weight_kg must be between 20 and 300, got {weight_kg}")
        if not (math.isfinite(ke0_per_min) and ke0_per_min > 0):
            raise ValueError(f"ke0_per_min must be > 0, got {ke0_per_min}")
        self.params = params
        self.weight_kg = weight_kg
        self.v1_l = params.v1_l_per_kg * weight_kg
        p = params
        to_ng_per_ml = _NG_PER_ML_PER_MG_PER_L / self.v1_l
        # Augmented generator [[A, b], [0, 0]]: its exponential holds Phi and Gamma together.
        g = np.zeros((5, 5))
        g[0, 0] = -(p.k10_per_min + p.k12_per_min + p.k13_per_min)
        g[0, 1] = p.k21_per_min
        g[0, 2] = p.k31_per_min
        g[1, 0] = p.k12_per_min
        g[1, 1] = -p.k21_per_min
        g[2, 0] = p.k13_per_min
        g[2, 2] = -p.k31_per_min
        g[3, 0] = ke0_per_min * to_ng_per_ml
        g[3, 3] = -ke0_per_min
        g[0, 4] = 1.0  # input enters the central compartment, mg per min per (mg/min)
        self._generator = g
        self._to_ng_per_ml = to_ng_per_ml
        self._steps: dict[float, tuple[FloatArray, FloatArray]] = {}
        self._history: RateHistory = ()
        self._reset()

    def _reset(self) -> None:
        self._t_s = 0.0
        self._x: FloatArray = np.zeros(4)
        # States at rate-step times already passed, for cheap queries in the past.
        self._kept_t: list[float] = [0.0]
        self._kept_x: list[FloatArray] = [np.zeros(4)]

    @property
    def rate_history(self) -> RateHistory:
        return self._history

    def set_rate_history(self, history: Sequence[Sequence[float]]) -> float:
        """Use a new rate history; returns the time from which results may have changed."""
        if history is self._history:
            return math.inf
        new = validate_rate_history(history)
        since_s = divergence_s(self._history, new)
        self._history = new
        if since_s < self._t_s:
            keep = bisect.bisect_right(self._kept_t, since_s)
            del self._kept_t[keep:], self._kept_x[keep:]
            self._t_s, self._x = self._kept_t[-1], self._kept_x[-1]
        return since_s

    def _transition(self, dt_min: float) -> tuple[FloatArray, FloatArray]:
        hit = self._steps.get(dt_min)
        if hit is None:
            e = _expm(self._generator * dt_min)
            hit = (np.ascontiguousarray(e[:4, :4]), np.ascontiguousarray(e[:4, 4]))
            if len(self._steps) > 256:  # irregular gaps: keep the cache bounded
                self._steps.clear()
            self._steps[dt_min] = hit
        return hit

    def _rate_at(self, t_s: float) -> tuple[float, float]:
        """The rate in force just after t_s and the time of the next step (inf if none)."""
        h = self._history
        i = bisect.bisect_right(h, (t_s, math.inf))
        rate = h[i - 1][1] if i > 0 else 0.0
        next_s = h[i][0] if i < len(h) else math.inf
        return rate, next_s

    def _advance(self, t0_s: float, x: FloatArray, t_s: float, keep: bool) -> FloatArray:
        while t0_s < t_s:
            rate, next_s = self._rate_at(t0_s)
            t1_s = min(t_s, next_s)
            phi, gamma = self._transition((t1_s - t0_s) / 60.0)
            x = phi @ x + gamma * rate
            t0_s = t1_s
            if keep and t1_s == next_s and t1_s > self._kept_t[-1]:
                self._kept_t.append(t1_s)
                self._kept_x.append(x)
        return x

    def amounts_at(self, t_s: float) -> FloatArray:
        """Compartment amounts (mg) and effect-site concentration (ng/mL) at t_s."""
        if t_s >= self._t_s:
            self._x = self._advance(self._t_s, self._x, t_s, keep=True)
            self._t_s = t_s
            return self._x
        if t_s < 0:
            raise ValueError(f"t_s must be >= 0, got {t_s}")
        i = bisect.bisect_right(self._kept_t, t_s) - 1
        return self._advance(self._kept_t[i], self._kept_x[i], t_s, keep=False)

    def concentrations_at(self, t_s: float) -> tuple[float, float]:
        """(plasma, effect-site) concentration in ng/mL at t_s."""
        x = self.amounts_at(t_s)
        return float(x[0]) * self._to_ng_per_ml, float(x[3])
