"""The simulator as a VitalsSource: a PatientModel turned into monitor samples.

Numerics each second, NIBP at cuff cycles (every 5 min during the infusion, 15 min otherwise,
plus "cycle NIBP now"), ECG and pleth whose beats follow the heart rate. The patient is a
scenario's PatientModel (model.py); `follow_infusion` lets it feel the real infusion's rate
history, so pauses and rate changes move the concentrations. Flags from the model: an SpO2
probe off reads 0 with a flat pleth, leads off give ECG noise and no ECG heart rate, a stalled
source delivers nothing at all for that time. Symptoms (nausea, headache, ...) come as
"message" status events, as the person at the chair would notice them.

Samples are generated up to the clock's now on each read, so the speed factor lives in the
clock (ScaledClock) and a FakeClock runs whole sessions with no waiting. The samples do not
depend on how reads are chunked: every random stream is drawn per second or per sample in
order, and the model's state at t depends only on the rates before t.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from ketadesk.core.clock import Clock
from ketadesk.core.config import defaults
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceError,
    SourceInfo,
    SourceOption,
    StatusEvent,
    WaveformChunk,
    parse_options,
)
from ketadesk.sources.simulator.model import PatientModel, PhysiologyState
from ketadesk.sources.simulator.patient import (
    NAMED_PROFILES,
    PatientProfile,
    named_profile,
    with_overrides,
)
from ketadesk.sources.simulator.pk import PK_MODELS, RateHistory
from ketadesk.sources.simulator.scenario import (
    PROBE_CHANNELS,
    Scenario,
    ScenarioError,
    ScenarioEvent,
    load_named_scenario,
)
from ketadesk.sources.simulator.waveforms import ECG_TABLE, PLETH_TABLE, BeatPhase

ECG_HZ = 250.0
PLETH_HZ = 125.0
FIRST_NIBP_S = 30.0  # the first cuff cycle a little after monitoring starts


def _sim_defaults() -> dict[str, object]:
    return dict(defaults().get("simulator", {}))


def _options() -> tuple[SourceOption, ...]:
    d = _sim_defaults()
    return (
        SourceOption("seed", "random seed; the same seed gives the same patient "
                             "(default: the scenario's seed)", ""),
        SourceOption("scenario", "scenario name (`ketadesk scenarios` lists them)", "normal"),
        SourceOption("profile", "patient profile: " + ", ".join(NAMED_PROFILES)
                     + " (default: the scenario's patient)", ""),
        SourceOption("pk_model", "PK model: " + " or ".join(sorted(PK_MODELS)),
                     str(d.get("pk_model", "clements"))),
        SourceOption("weight_kg", "weight before a dose plan gives one, kg "
                                  "(default: the profile's)", ""),
        SourceOption("nibp_interval_min", "minutes between NIBP cycles during the infusion",
                     str(d.get("nibp_interval_infusion_min", 5))),
        SourceOption("nibp_other_min", "minutes between NIBP cycles before and after it",
                     str(d.get("nibp_interval_other_min", 15))),
    )


def _minutes(opts: dict[str, str], key: str) -> float:
    try:
        value = float(opts[key])
    except ValueError:
        value = math.nan
    if not 1.0 <= value <= 60.0:
        raise SourceError(f"{key} must be a number from 1 to 60, got {opts[key]!r}")
    return value * 60.0


class SimulatorSource:
    """Simulated adult patient (the default source; no real patient), driven by a scenario
    and the real infusion."""

    provenance: ClassVar[Provenance] = Provenance.SIMULATED

    options: tuple[SourceOption, ...] = _options()

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)
        try:
            self.scenario: Scenario = load_named_scenario(opts["scenario"])
        except ScenarioError as e:
            raise SourceError(f"scenario: {e}") from None
        seed_text = opts["seed"].strip()
        try:
            self.seed = self.scenario.seed if not seed_text else int(seed_text)
        except ValueError:
            raise SourceError(f"seed must be a whole number >= 0, got {seed_text!r}") from None
        if self.seed < 0:
            raise SourceError(f"seed must be a whole number >= 0, got {seed_text!r}")
        try:
            profile = (named_profile(opts["profile"]) if opts["profile"].strip()
                       else self.scenario.patient)
        except ValueError as e:
            raise SourceError(f"profile: {e}") from None
        if opts["weight_kg"].strip():
            try:
                profile = with_overrides(profile, {"weight_kg": float(opts["weight_kg"])})
            except ValueError:
                raise SourceError(f"weight_kg must be a number from 30 to 250, got "
                                  f"{opts['weight_kg']!r}") from None
        self.profile: PatientProfile = profile
        if opts["pk_model"] not in PK_MODELS:
            raise SourceError(f"pk_model must be one of {', '.join(sorted(PK_MODELS))}, got "
                              f"{opts['pk_model']!r}")
        self.pk_model = opts["pk_model"]
        self.nibp_interval_infusion_s = _minutes(opts, "nibp_interval_min")
        self.nibp_interval_other_s = _minutes(opts, "nibp_other_min")
        self.model = self._new_model(profile)
        self._clock: Clock | None = None
        self._t0 = 0.0
        self._next_numeric_s = 0.0
        self._next_nibp_s = FIRST_NIBP_S
        self._nibp_requested = False
        self._last_nibp_s = 0.0
        self._ecg = BeatPhase(ECG_HZ)
        self._pleth = BeatPhase(PLETH_HZ)
        # One noise stream per output so the samples do not depend on how reads are chunked.
        self._noise = np.random.default_rng([self.seed, 1])
        self._wave_noise = {"ecg_ii": np.random.default_rng([self.seed, 2]),
                            "pleth": np.random.default_rng([self.seed, 3])}
        self._probe_off: frozenset[str] = frozenset()
        self._leads_off = False
        self._symptoms: frozenset[str] = frozenset()
        # The state of each recent whole second: waveforms look HR up per sample, and the model
        # itself only moves forward.
        self._states: dict[int, PhysiologyState] = {}
        self.truth: PhysiologyState | None = None  # the latest second's state (instructor)
        # The infusion being followed (see follow_infusion).
        self._rate_history: Callable[[], Sequence[tuple[float, float]]] | None = None
        self._ended_at_s: Callable[[], float | None] | None = None
        self._seen_history: RateHistory = ()
        self._infusion_started_s: float | None = None  # model time
        self._infusion_ended = False

    def _new_model(self, profile: PatientProfile) -> PatientModel:
        return PatientModel(profile, self.seed, events=self.scenario.events,
                            pk_model=self.pk_model)

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            name="simulator",
            description=(f"Simulated patient: scenario {self.scenario.name}, profile "
                         f"{self.profile.name}, {self.profile.weight_kg:g} kg, seed {self.seed}"),
            channels=("hr", "pr", "spo2", "nibp_sys", "nibp_dia", "nibp_mean", "rr", "etco2",
                      "temp", "ecg_ii", "pleth"),
            provenance=Provenance.SIMULATED,
        )

    @property
    def connection(self) -> ConnectionState:
        return ConnectionState.CONNECTED if self._clock else ConnectionState.DISCONNECTED

    @property
    def t0_s(self) -> float:
        """Clock time at open: model time = clock time - t0_s."""
        return self._t0

    @property
    def nibp_interval_s(self) -> float:
        """The gap between the last cuff cycle and the next one scheduled (60-3600 s): what
        a monitor's NIBP-overdue check should expect right now."""
        return min(3600.0, max(60.0, self._next_nibp_s - self._last_nibp_s))

    def _cycle_s(self) -> float:
        """The cuff cycle in force: shorter while the infusion runs or is paused."""
        if self._infusion_started_s is not None and not self._infusion_ended:
            return self.nibp_interval_infusion_s
        return self.nibp_interval_other_s

    def open(self, clock: Clock) -> None:
        self._clock = clock
        self._t0 = clock.now()
        self._next_numeric_s = 0.0
        self._next_nibp_s = FIRST_NIBP_S

    def close(self) -> None:
        self._clock = None

    # ---- commands -------------------------------------------------------------------------

    def cycle_nibp_now(self) -> None:
        """Start an NIBP measurement at the next read (the 'cycle NIBP now' button)."""
        self._nibp_requested = True

    def follow_infusion(self, rate_history: Callable[[], Sequence[tuple[float, float]]],
                        weight_kg: float | None = None,
                        ended_at_s: Callable[[], float | None] | None = None) -> None:
        """Feel the real infusion from now on.

        `rate_history()` gives the steps (t_s, rate_mg_per_min) in clock seconds (the session's
        time), asked on every read; `ended_at_s()` the clock time the infusion ended (None while
        it runs or is paused), asked only when the history changes. `weight_kg` is the plan's
        weight: it replaces the profile's, so the concentrations scale with the dose plan.
        """
        if weight_kg is not None and weight_kg != self.profile.weight_kg:
            try:
                profile = with_overrides(self.profile, {"weight_kg": float(weight_kg)})
            except ValueError:
                raise SourceError(f"the plan's weight {weight_kg!r} kg is outside what the "
                                  "simulator models (30 to 250 kg)") from None
            self._rebuild(profile)
        self._rate_history = rate_history
        self._ended_at_s = ended_at_s
        self._seen_history = ()
        self._sync_infusion()

    def _rebuild(self, profile: PatientProfile) -> None:
        # The noise comes from the seed alone, so the new patient differs only in the PK.
        old = self.model
        self.model = self._new_model(profile)
        self.model.set_rate_history(old.rate_history)
        for at_s, event in old.injected:
            self.model.inject(event, at_s)
        self.profile = self.model.profile

    def trigger_now(self, events: Sequence[ScenarioEvent]) -> float:
        """Start these events at the next second not yet delivered; returns that clock time."""
        at_s = self._next_numeric_s
        for event in events:
            self.model.inject(event, at_s)
        return at_s + self._t0

    # ---- reading --------------------------------------------------------------------------

    def _sync_infusion(self) -> None:
        if self._rate_history is None:
            return
        raw = tuple(self._rate_history())
        if raw == self._seen_history:
            return
        self._seen_history = raw
        shifted = tuple((max(0.0, t - self._t0), r) for t, r in raw)
        self.model.set_rate_history(shifted)
        start = next((t for t, r in shifted if r > 0), None)
        if start is not None and self._infusion_started_s is None:
            self._infusion_started_s = start
            # The infusion's shorter cycle counts from the start; a cycle already due sooner
            # stays. After the infusion the next cycle is simply the longer one.
            self._next_nibp_s = min(self._next_nibp_s, start + self.nibp_interval_infusion_s)
        ended = self._ended_at_s() if self._ended_at_s is not None else None
        if ended is not None:
            self._infusion_ended = True

    def read(self) -> SampleBatch:
        if self._clock is None:
            raise SourceError("the simulator is not open; call open(clock) first")
        self._sync_infusion()
        now = self._clock.now() - self._t0
        numerics: list[NumericSample] = []
        status: list[StatusEvent] = []
        while self._next_numeric_s <= now:
            t = self._next_numeric_s
            st = self.model.state_at(t)
            self._states[int(t)] = st
            self.truth = st
            self._next_numeric_s += 1.0
            if st.source_stalled:
                continue  # nothing at all: the no-data alarm must see silence
            status.extend(self._sensor_changes(t + self._t0, st))
            numerics.extend(self._numerics(t + self._t0, st))
            if self._nibp_requested or t >= self._next_nibp_s:
                numerics.extend(self._nibp(t + self._t0, st))
                self._last_nibp_s = t
                self._next_nibp_s = t + self._cycle_s()
                self._nibp_requested = False
        waves = [*self._wave("ecg_ii", self._ecg, now), *self._wave("pleth", self._pleth, now)]
        for old in [k for k in self._states if k < now - 2]:
            del self._states[old]
        return SampleBatch(tuple(numerics), tuple(waves), tuple(status))

    def _sensor_changes(self, t: float, st: PhysiologyState) -> list[StatusEvent]:
        out = []
        for ch in PROBE_CHANNELS:
            if (ch in st.probe_off) != (ch in self._probe_off):
                out.append(StatusEvent(t, "probe_off" if ch in st.probe_off else "probe_on", ch))
        self._probe_off = st.probe_off
        if st.leads_off != self._leads_off:
            self._leads_off = st.leads_off
            out.append(StatusEvent(t, "leads_off" if st.leads_off else "leads_on", "ecg_ii"))
        if st.symptoms != self._symptoms:
            # What the patient says or shows, as the person at the chair would notice it.
            for name in sorted(st.symptoms - self._symptoms):
                out.append(StatusEvent(t, "message", None, f"patient: {name}"))
            for name in sorted(self._symptoms - st.symptoms):
                out.append(StatusEvent(t, "message", None, f"patient: {name} has passed"))
            self._symptoms = st.symptoms
        return out

    def _numerics(self, t: float, st: PhysiologyState) -> list[NumericSample]:
        n = self._noise
        off = st.probe_off
        # Draw every noise value every second, used or not, so the stream stays in step.
        e = n.standard_normal(5)
        # A monitor reports whole numbers for these; an absent probe reads 0 like real monitors.
        spo2 = 0.0 if "spo2" in off else round(min(100.0, st.spo2 + 0.3 * e[0]))
        pr = 0.0 if "spo2" in off else round(st.hr + 0.8 * e[1])
        hr = 0.0 if st.leads_off else round(st.hr + 0.5 * e[2])
        etco2 = 0.0 if "etco2" in off else round(st.etco2 + 0.5 * e[4])
        temp = 0.0 if "temp" in off else round(st.temp, 1)
        return [
            NumericSample("hr", t, float(hr)),
            NumericSample("pr", t, float(pr)),
            NumericSample("spo2", t, float(spo2)),
            NumericSample("rr", t, float(round(st.rr + 0.4 * e[3]))),
            NumericSample("etco2", t, float(etco2)),
            NumericSample("temp", t, float(temp)),
        ]

    def _nibp(self, t: float, st: PhysiologyState) -> list[NumericSample]:
        e = self._noise.standard_normal(2)
        sys_ = round(st.sbp + 3.0 * e[0])
        dia = round(st.dbp + 2.0 * e[1])
        mean = round(dia + (sys_ - dia) / 3.0)
        return [NumericSample("nibp_sys", t, float(sys_)), NumericSample("nibp_dia", t, float(dia)),
                NumericSample("nibp_mean", t, float(mean))]

    def _wave(self, channel: str, beat: BeatPhase, now: float) -> list[WaveformChunk]:
        rate = int(beat.rate_hz)  # 250 and 125: whole samples per second
        n_done = beat.n_done
        n_target = int(math.floor(now * rate)) + 1
        n_new = n_target - n_done
        if n_new <= 0:
            return []
        t0 = n_done / rate
        # Sample n lies in second n // rate: count the new samples in each second, so the
        # per-second state (HR, flags) is repeated onto the samples without per-sample lookups.
        first, last = n_done // rate, (n_target - 1) // rate
        per_sec = [self._states[s] for s in range(first, last + 1)]
        counts = [min(n_target, (s + 1) * rate) - max(n_done, s * rate)
                  for s in range(first, last + 1)]
        hr = np.repeat([s.hr for s in per_sec], counts)
        phases = beat.advance(hr)
        noise = self._wave_noise[channel].standard_normal(n_new)
        if channel == "ecg_ii":
            values = ECG_TABLE(phases) + 0.02 * noise
            if any(s.leads_off for s in per_sec):
                leads_off = np.repeat([s.leads_off for s in per_sec], counts)
                values = np.where(leads_off, 0.05 * noise, values)
        else:
            values = PLETH_TABLE(phases) + 0.01 * noise
            if any("spo2" in s.probe_off for s in per_sec):
                # A probe off the finger gives a flat line.
                probe_off = np.repeat(["spo2" in s.probe_off for s in per_sec], counts)
                values = np.where(probe_off, 0.0, values)
        if not any(s.source_stalled for s in per_sec):
            return [WaveformChunk(channel, t0 + self._t0, beat.rate_hz,
                                  values.astype(np.float32))]
        keep = ~np.repeat([s.source_stalled for s in per_sec], counts)
        # A stall drops its samples: deliver the runs on either side as separate chunks.
        out = []
        edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            out.append(WaveformChunk(channel, (n_done + int(a)) / rate + self._t0, beat.rate_hz,
                                     values[a:b].astype(np.float32)))
        return out
