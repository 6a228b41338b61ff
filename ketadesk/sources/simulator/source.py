"""The simulator as a VitalsSource: numerics each second, NIBP at cuff cycles, ECG and pleth.

Samples are generated up to the clock's now on each read, so the speed factor lives in the
clock (ScaledClock) and a FakeClock runs whole sessions with no waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ketadesk.core.clock import Clock
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
from ketadesk.sources.simulator.waveforms import BeatPhase, ecg_template, pleth_template

ECG_HZ = 250.0
PLETH_HZ = 125.0


@dataclass(frozen=True)
class VitalState:
    """The simulated patient's true state at one moment (what a perfect monitor would read)."""

    hr: float
    spo2: float
    rr: float
    sbp: float
    dbp: float
    etco2: float
    temp: float
    probe_off: bool = False
    leads_off: bool = False

    @property
    def map(self) -> float:
        return self.dbp + (self.sbp - self.dbp) / 3.0


class RestingModel:
    """A calm adult at rest with slow seeded drift (Ornstein-Uhlenbeck per vital)."""

    _MEAN = {"hr": 74.0, "spo2": 97.5, "rr": 14.0, "sbp": 124.0, "dbp": 78.0,
             "etco2": 38.0, "temp": 36.8}
    _SD = {"hr": 3.0, "spo2": 0.6, "rr": 1.2, "sbp": 4.0, "dbp": 3.0, "etco2": 1.5, "temp": 0.1}
    _TAU_S = 60.0

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._dev = dict.fromkeys(self._MEAN, 0.0)
        self._t = -1

    def state_at(self, t_s: float) -> VitalState:
        # Advance the drift one whole second at a time so the path depends only on the seed.
        target = int(math.floor(t_s))
        a = math.exp(-1.0 / self._TAU_S)
        while self._t < target:
            for k in self._dev:
                self._dev[k] = a * self._dev[k] + math.sqrt(1 - a * a) * self._SD[k] * float(
                    self._rng.standard_normal()
                )
            self._t += 1
        v = {k: self._MEAN[k] + self._dev[k] for k in self._MEAN}
        return VitalState(hr=v["hr"], spo2=min(100.0, v["spo2"]), rr=v["rr"], sbp=v["sbp"],
                          dbp=v["dbp"], etco2=v["etco2"], temp=v["temp"])


class SimulatorSource:
    """Simulated adult patient (the default source; no real patient)."""

    provenance: ClassVar[Provenance] = Provenance.SIMULATED

    options: tuple[SourceOption, ...] = (
        SourceOption("seed", "random seed; the same seed gives the same patient", "1"),
        SourceOption("nibp_interval_min", "minutes between automatic NIBP cycles", "5"),
    )

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)
        try:
            self.seed = int(opts["seed"])
        except ValueError:
            raise SourceError(f"seed must be a whole number, got {opts['seed']!r}") from None
        try:
            self.nibp_interval_s = float(opts["nibp_interval_min"]) * 60.0
        except ValueError:
            self.nibp_interval_s = -1.0
        if not 60.0 <= self.nibp_interval_s <= 3600.0:
            raise SourceError(
                f"nibp_interval_min must be a number from 1 to 60, got {opts['nibp_interval_min']!r}"
            )
        self.model = RestingModel(self.seed)
        self._clock: Clock | None = None
        self._t0 = 0.0
        self._next_numeric_s = 0.0
        self._next_nibp_s = 0.0
        self._nibp_requested = False
        self._ecg = BeatPhase(ECG_HZ)
        self._pleth = BeatPhase(PLETH_HZ)
        # One noise stream per output so the samples do not depend on how reads are chunked.
        self._noise = np.random.default_rng([self.seed, 1])
        self._wave_noise = {"ecg_ii": np.random.default_rng([self.seed, 2]),
                            "pleth": np.random.default_rng([self.seed, 3])}
        self._probe_off = False
        self._leads_off = False
        # The state of each recent whole second: waveforms look HR up per sample, and the model
        # itself only moves forward.
        self._states: dict[int, VitalState] = {}

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            name="simulator",
            description=f"Simulated adult patient (seed {self.seed})",
            channels=("hr", "pr", "spo2", "nibp_sys", "nibp_dia", "nibp_mean", "rr", "etco2",
                      "temp", "ecg_ii", "pleth"),
            provenance=Provenance.SIMULATED,
        )

    @property
    def connection(self) -> ConnectionState:
        return ConnectionState.CONNECTED if self._clock else ConnectionState.DISCONNECTED

    def open(self, clock: Clock) -> None:
        self._clock = clock
        self._t0 = clock.now()
        # First numerics right away; the first NIBP cycle a few seconds in (the cuff inflates).
        self._next_numeric_s = 0.0
        self._next_nibp_s = 30.0

    def close(self) -> None:
        self._clock = None

    def cycle_nibp_now(self) -> None:
        """Start an NIBP measurement at the next read (the 'cycle NIBP now' button)."""
        self._nibp_requested = True

    def read(self) -> SampleBatch:
        if self._clock is None:
            raise SourceError("the simulator is not open; call open(clock) first")
        now = self._clock.now() - self._t0
        numerics: list[NumericSample] = []
        status: list[StatusEvent] = []
        while self._next_numeric_s <= now:
            t = self._next_numeric_s
            st = self.model.state_at(t)
            self._states[int(t)] = st
            status.extend(self._sensor_changes(t + self._t0, st))
            numerics.extend(self._numerics(t + self._t0, st))
            if self._nibp_requested or t >= self._next_nibp_s:
                numerics.extend(self._nibp(t + self._t0, st))
                self._next_nibp_s = t + self.nibp_interval_s
                self._nibp_requested = False
            self._next_numeric_s += 1.0
        waves = tuple(w for w in (self._wave("ecg_ii", self._ecg, now),
                                  self._wave("pleth", self._pleth, now)) if w is not None)
        for old in [k for k in self._states if k < now - 2]:
            del self._states[old]
        return SampleBatch(tuple(numerics), waves, tuple(status))

    def _sensor_changes(self, t: float, st: VitalState) -> list[StatusEvent]:
        out = []
        if st.probe_off != self._probe_off:
            self._probe_off = st.probe_off
            out.append(StatusEvent(t, "probe_off" if st.probe_off else "probe_on", "spo2"))
        if st.leads_off != self._leads_off:
            self._leads_off = st.leads_off
            out.append(StatusEvent(t, "leads_off" if st.leads_off else "leads_on", "ecg_ii"))
        return out

    def _numerics(self, t: float, st: VitalState) -> list[NumericSample]:
        n = self._noise
        # A monitor reports whole numbers for these; an absent probe reads 0 like real monitors.
        spo2 = 0.0 if st.probe_off else round(min(100.0, st.spo2 + 0.3 * n.standard_normal()))
        pr = 0.0 if st.probe_off else round(st.hr + 0.8 * n.standard_normal())
        hr = 0.0 if st.leads_off else round(st.hr + 0.5 * n.standard_normal())
        return [
            NumericSample("hr", t, float(hr)),
            NumericSample("pr", t, float(pr)),
            NumericSample("spo2", t, float(spo2)),
            NumericSample("rr", t, float(round(st.rr + 0.4 * n.standard_normal()))),
            NumericSample("etco2", t, float(round(st.etco2 + 0.5 * n.standard_normal()))),
            NumericSample("temp", t, round(st.temp, 1)),
        ]

    def _nibp(self, t: float, st: VitalState) -> list[NumericSample]:
        n = self._noise
        sys_ = round(st.sbp + 3.0 * n.standard_normal())
        dia = round(st.dbp + 2.0 * n.standard_normal())
        mean = round(dia + (sys_ - dia) / 3.0)
        return [NumericSample("nibp_sys", t, float(sys_)), NumericSample("nibp_dia", t, float(dia)),
                NumericSample("nibp_mean", t, float(mean))]

    def _wave(self, channel: str, beat: BeatPhase, now: float) -> WaveformChunk | None:
        n_target = int(math.floor(now * beat.rate_hz)) + 1
        n_new = n_target - beat.n_done
        if n_new <= 0:
            return None
        t0 = beat.n_done / beat.rate_hz
        times = t0 + np.arange(n_new) / beat.rate_hz
        # HR is piecewise constant per second, so look it up per sample from the model.
        secs = np.floor(times).astype(np.int64)
        hr = np.empty(n_new)
        for s in np.unique(secs):
            hr[secs == s] = self._states[int(s)].hr
        phases = beat.advance(hr)
        st = self._states[int(secs[-1])]
        noise = self._wave_noise[channel]
        if channel == "ecg_ii":
            values = ecg_template(phases) + 0.02 * noise.standard_normal(n_new)
            if st.leads_off:
                values = 0.05 * noise.standard_normal(n_new)
        else:
            values = pleth_template(phases) + 0.01 * noise.standard_normal(n_new)
            if st.probe_off:
                values = np.zeros(n_new)  # a probe off the finger gives a flat line
        return WaveformChunk(channel, t0 + self._t0, beat.rate_hz, values.astype(np.float32))
