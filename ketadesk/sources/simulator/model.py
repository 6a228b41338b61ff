"""The simulated patient's "true" physiology at any moment of a session.

PatientModel joins the PK (pk.py), the PD (pd.py), a PatientProfile, slow seeded noise and a
scenario's perturbations. The simulator source tells it the infusion's actual rate history and
asks `state_at(t_s)`; the source turns states into samples (numerics, NIBP at cuff cycles,
waveforms) and honours the flags (probe off, leads off, stalled). The same seed, profile,
events and rate history give the same states, whatever order the times are asked in.

Conditional events ("when sbp >= 180") are checked on every whole second in order, so when
they fire does not depend on how often the source happens to ask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ketadesk.core.config import defaults
from ketadesk.sources.simulator.patient import PatientProfile
from ketadesk.sources.simulator.pd import (
    PdParams,
    default_pd_params,
    predicted_cadss,
    pressor_response,
)
from ketadesk.sources.simulator.pk import (
    ConcentrationSolver,
    FloatArray,
    RateHistory,
    pk_parameters,
)
from ketadesk.sources.simulator.scenario import EventKind, Scenario, ScenarioEvent


@dataclass(frozen=True, slots=True)
class PhysiologyState:
    """The patient at t_s. Units as the channel table: bpm, %, /min, mmHg, degC."""

    t_s: float
    hr: float
    spo2: float
    rr: float
    sbp: float
    dbp: float
    map: float
    etco2: float
    temp: float
    plasma_ng_per_ml: float
    effect_ng_per_ml: float
    predicted_cadss: float  # what a rater would be expected to score now, 0-92
    probe_off: frozenset[str]  # channel ids whose probe is off ("spo2", "etco2", "temp")
    leads_off: bool  # ECG leads off: no ECG waveform and no ECG heart rate
    source_stalled: bool  # the source should deliver nothing while this is set
    symptoms: frozenset[str]  # e.g. "headache", "nausea", "vomiting", "agitation"


# Slow physiological wander, Ornstein-Uhlenbeck per channel: (SD, correlation time s).
# Not measurement noise: NIBP readings and waveforms add their own in the source.
_NOISE: dict[str, tuple[float, float]] = {
    "hr": (2.0, 60.0),
    "sbp": (3.0, 600.0),
    "dbp": (2.0, 600.0),
    "spo2": (0.4, 30.0),
    "rr": (1.0, 60.0),
    "etco2": (1.0, 120.0),
    "temp": (0.05, 1800.0),
}
_NOISE_CHANNELS = tuple(_NOISE)
_NOISE_SD = np.array([sd for sd, _ in _NOISE.values()])
_NOISE_A = np.exp(-1.0 / np.array([tau for _, tau in _NOISE.values()]))  # per-second decay
_NOISE_B = np.sqrt(1.0 - _NOISE_A**2)  # innovation scale that keeps the SD stationary
_CHUNK_S = 600  # noise is drawn in 10-minute blocks
_DECAY = _NOISE_A[None, :] ** np.arange(1, _CHUNK_S + 1)[:, None]
_MAX_T_S = 48 * 3600.0
_NONE: frozenset[str] = frozenset()
# Hypoventilation retains CO2: EtCO2 rises this much per breath/min below baseline.
_ETCO2_PER_RR_DEFICIT = 1.5


class PatientModel:
    """One simulated patient for one session."""

    def __init__(
        self,
        profile: PatientProfile,
        seed: int,
        *,
        events: Sequence[ScenarioEvent] = (),
        pk_model: str | None = None,
        pd: PdParams | None = None,
        noise_scale: float = 1.0,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        if not (math.isfinite(noise_scale) and noise_scale >= 0):
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
        self.profile = profile
        self.seed = seed
        self.pd = pd if pd is not None else default_pd_params()
        model_name = pk_model if pk_model is not None else defaults()["simulator"]["pk_model"]
        self._pk = ConcentrationSolver(pk_parameters(model_name), profile.weight_kg,
                                       self.pd.ke0_per_min)
        self._noise_scale = noise_scale
        self._rng = np.random.default_rng(seed)
        self._noise_rows: list[FloatArray] = []
        self._noise_last = np.zeros(len(_NOISE_CHANNELS))
        self._events = tuple(events)
        self._conditional = tuple(
            (i, e.trigger.when) for i, e in enumerate(self._events) if e.trigger.when
        )
        self._fired: dict[int, float] = {}  # conditional event index -> start_s
        self._scan_k = 0  # next whole second at which pending conditions are checked
        self._timed: dict[int, float] = {}
        self._injected: dict[int, float] = {}  # event index -> start_s, from inject()
        self._schedule: list[tuple[float, ScenarioEvent]] = []
        self._resolve_timed()

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, seed: int | None = None, *, pk_model: str | None = None,
        pd: PdParams | None = None, noise_scale: float = 1.0,
    ) -> PatientModel:
        """The scenario's patient and events; its own seed unless another is given."""
        return cls(scenario.patient, scenario.seed if seed is None else seed,
                   events=scenario.events, pk_model=pk_model, pd=pd, noise_scale=noise_scale)

    @property
    def rate_history(self) -> RateHistory:
        return self._pk.rate_history

    def set_rate_history(self, history: Sequence[Sequence[float]]) -> None:
        """The infusion's actual rate steps so far: (t_s, rate_mg_per_min), 0 while paused."""
        since_s = self._pk.set_rate_history(history)
        if math.isinf(since_s):
            return
        self._fired = {i: s for i, s in self._fired.items() if s <= since_s}
        self._scan_k = min(self._scan_k, math.floor(since_s) + 1)
        self._resolve_timed()

    def inject(self, event: ScenarioEvent, at_s: float) -> None:
        """Start `event` at `at_s` whatever its trigger says (the instructor's "trigger now").

        States at or before at_s are unchanged; conditional events are judged again from
        at_s, since the injected event may make one of them true sooner.
        """
        if not (math.isfinite(at_s) and 0.0 <= at_s <= _MAX_T_S):
            raise ValueError(f"at_s must be from 0 to {_MAX_T_S:.0f} s, got {at_s}")
        if not isinstance(event, ScenarioEvent):
            raise ValueError(f"inject needs a ScenarioEvent, got {type(event).__name__}")
        self._events = (*self._events, event)
        self._injected[len(self._events) - 1] = float(at_s)
        self._fired = {i: s for i, s in self._fired.items() if s <= at_s}
        self._scan_k = min(self._scan_k, math.floor(at_s) + 1)
        self._rebuild_schedule()

    @property
    def injected(self) -> tuple[tuple[float, ScenarioEvent], ...]:
        """Events started by inject(), with their start times, in the order injected."""
        return tuple((s, self._events[i]) for i, s in self._injected.items())

    def _resolve_timed(self) -> None:
        infusion_start_s = next((t for t, rate in self._pk.rate_history if rate > 0), None)
        self._timed = {}
        for i, e in enumerate(self._events):
            if i in self._injected:
                continue
            start_s = e.trigger.start_s(infusion_start_s)
            if start_s is not None:
                self._timed[i] = start_s
        self._rebuild_schedule()

    def _rebuild_schedule(self) -> None:
        starts = {**self._timed, **self._fired, **self._injected}
        self._schedule = sorted(((s, self._events[i]) for i, s in starts.items()),
                                key=lambda item: item[0])

    def state_at(self, t_s: float) -> PhysiologyState:
        """The patient's state at t_s (seconds since session start, 0 to 48 h)."""
        if not (0.0 <= t_s <= _MAX_T_S):
            raise ValueError(f"t_s must be from 0 to {_MAX_T_S:.0f} s, got {t_s}")
        if len(self._fired) < len(self._conditional):
            self._check_conditions(math.floor(t_s))
        return self._compute(t_s)

    def _check_conditions(self, until_k: int) -> None:
        while self._scan_k <= until_k:
            pending = [(i, when) for i, when in self._conditional if i not in self._fired]
            if not pending:
                return
            state = self._compute(float(self._scan_k))
            fired = [i for i, when in pending if when.holds(state)]
            for i in fired:
                self._fired[i] = float(self._scan_k)
            if fired:
                self._rebuild_schedule()
            self._scan_k += 1

    def _noise_row(self, k: int) -> list[float]:
        block, i = divmod(k, _CHUNK_S)
        while len(self._noise_rows) <= block:
            self._noise_rows.append(self._draw_block(len(self._noise_rows)))
        return self._noise_rows[block][i].tolist()  # type: ignore[no-any-return]

    def _draw_block(self, block: int) -> FloatArray:
        # Blocks are always drawn in order from one seeded stream, so block n is the same
        # whatever times were asked before.
        e = self._rng.standard_normal((_CHUNK_S + 1, len(_NOISE_CHANNELS)))
        sd = _NOISE_SD * self._noise_scale
        x0 = sd * e[0] if block == 0 else self._noise_last  # block 0 starts stationary
        # x_k = a x_(k-1) + b e_k solved in closed form: x_k = a^k (x_0 + sum_j a^-j b e_j).
        # a^-600 stays below e^20 for the shortest correlation time, so nothing overflows.
        rows = _DECAY * (x0 + np.cumsum(e[1:] * (sd * _NOISE_B / _DECAY), axis=0))
        self._noise_last = rows[-1]
        return rows

    def _compute(self, t_s: float) -> PhysiologyState:
        prof, pd = self.profile, self.pd
        cp, ce = self._pk.concentrations_at(t_s)
        sbp_rise, dbp_rise, hr_rise = pressor_response(ce, pd, prof.bp_factor, prof.hr_factor)
        v = {
            "hr": prof.baseline_hr_bpm + hr_rise,
            "sbp": prof.baseline_sbp_mmhg + sbp_rise,
            "dbp": prof.baseline_dbp_mmhg + dbp_rise,
            "spo2": prof.baseline_spo2_pct,
            "rr": prof.baseline_rr_per_min,
            "etco2": prof.baseline_etco2_mmhg,
            "temp": prof.baseline_temp_c,
            "predicted_cadss": predicted_cadss(ce, pd, prof.cadss_ec50_factor,
                                               prof.cadss_emax_factor, prof.infusion_number),
        }
        probe_off: set[str] = set()
        symptoms: set[str] = set()
        leads_off = stalled = False
        for start_s, ev in self._schedule:
            if start_s > t_s:
                break
            dt_s = t_s - start_s
            if ev.kind is EventKind.CHANGE:
                w = ev.weight(dt_s)
                if w > 0 and ev.channel is not None:
                    old = v[ev.channel]
                    change = ev.add if ev.to is None else ev.to - old
                    v[ev.channel] = old + w * (change or 0.0)
            elif ev.active(dt_s):
                if ev.kind is EventKind.PROBE_OFF and ev.channel is not None:
                    probe_off.add(ev.channel)
                leads_off |= ev.kind is EventKind.LEADS_OFF
                stalled |= ev.kind is EventKind.SOURCE_STALL
            if ev.symptoms and ev.active(dt_s):
                symptoms.update(ev.symptoms)
        v["etco2"] += _ETCO2_PER_RR_DEFICIT * max(0.0, prof.baseline_rr_per_min - v["rr"])
        n = self._noise_row(int(t_s))
        hr, sbp, dbp, spo2, rr, etco2, temp = (
            v[c] + n[j] for j, c in enumerate(_NOISE_CHANNELS)
        )
        dbp = min(dbp, sbp - 10.0)
        return PhysiologyState(
            t_s=t_s,
            hr=max(20.0, hr),
            spo2=min(100.0, max(50.0, spo2)),
            rr=max(0.0, rr),
            sbp=sbp,
            dbp=dbp,
            map=dbp + (sbp - dbp) / 3.0,
            etco2=max(0.0, etco2),
            temp=temp,
            plasma_ng_per_ml=cp,
            effect_ng_per_ml=ce,
            predicted_cadss=min(92.0, max(0.0, v["predicted_cadss"])),
            probe_off=frozenset(probe_off) if probe_off else _NONE,
            leads_off=leads_off,
            source_stalled=stalled,
            symptoms=frozenset(symptoms) if symptoms else _NONE,
        )
