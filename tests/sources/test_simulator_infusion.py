"""The simulator driven by the real infusion through the pipeline, and its flags as samples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import DosePlan, PlanInputs, confirm_plan
from ketadesk.core.events import SessionEvent
from ketadesk.core.pipeline import Pipeline
from ketadesk.core.session import Session
from ketadesk.sources.base import SampleBatch, SourceError
from ketadesk.sources.simulator.scenario import EventKind, ScenarioEvent, Trigger
from ketadesk.sources.simulator.source import SimulatorSource


def plan(weight_kg: float = 70.0) -> DosePlan:
    decision = confirm_plan(PlanInputs(weight=weight_kg, dose_mg_per_kg=0.5, duration_min=40.0,
                                       concentration_mg_per_ml=1.0), who="AB")
    assert decision.plan is not None, decision.blocking
    return decision.plan


class Collect:
    """A pipeline sink that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []

    def add_batch(self, batch: SampleBatch) -> None:
        self.batches.append(batch)

    def add_events(self, events: list[SessionEvent]) -> None: ...

    def flush(self, now_s: float) -> None: ...


class Run:
    """A session on a FakeClock with the simulator, stepped by the pipeline."""

    def __init__(self, start_s: float = 0.0, weight_kg: float = 70.0, **opts: str) -> None:
        self.clock = FakeClock(start_s)
        self.source = SimulatorSource(**{"seed": "3", **opts})
        self.source.open(self.clock)
        self.session = Session(self.clock, self.source.info)
        self.session.set_plan(plan(weight_kg))
        self.sink = Collect()
        self.pipeline = Pipeline(self.source, self.session, self.sink)

    @property
    def batches(self) -> list[SampleBatch]:
        return self.sink.batches

    def until(self, t_s: float, dt_s: float = 10.0) -> None:
        # Steps of 10 s give the same samples as 1 s steps (tested below), only faster.
        while self.clock.now() < t_s:
            self.clock.advance(min(dt_s, t_s - self.clock.now()))
            self.pipeline.step(self.clock.now())

    @property
    def infusion(self):  # type: ignore[no-untyped-def]
        assert self.session.infusion is not None
        return self.session.infusion

    def numerics(self, channel: str) -> list[tuple[float, float]]:
        return [(n.t_s, n.value) for b in self.batches for n in b.numerics if n.channel == channel]


def standard(run: Run, start_s: float, between: Callable[[], None] | None = None) -> None:
    run.until(start_s)
    run.infusion.start()
    if between is not None:
        between()
    run.until(start_s + 40 * 60)


def test_concentration_follows_the_started_infusion_clements_by_default() -> None:
    r = Run()
    r.until(600)
    assert r.source.truth is not None and r.source.truth.plasma_ng_per_ml == 0.0
    r.infusion.start()
    r.until(600 + 2400)
    # DOMAIN.md 5: Clements ~177 ng/mL at the end of 0.5 mg/kg over 40 min (70 kg).
    assert 160 < r.source.truth.plasma_ng_per_ml < 195


def test_domino_is_selectable_and_gives_higher_concentrations() -> None:
    r = Run(pk_model="domino")
    standard(r, 600)
    assert r.source.truth is not None and r.source.truth.plasma_ng_per_ml > 215


def test_a_pause_lowers_the_concentration() -> None:
    straight, paused = Run(), Run()
    straight.until(600)
    straight.infusion.start()
    straight.until(1800 + 600)
    paused.until(600)
    paused.infusion.start()
    paused.until(1800)
    paused.infusion.pause("hypertension")
    paused.until(1800 + 600)
    assert paused.source.truth is not None and straight.source.truth is not None
    assert paused.source.truth.plasma_ng_per_ml < 0.8 * straight.source.truth.plasma_ng_per_ml


def test_the_plan_weight_replaces_the_profile_weight() -> None:
    r = Run(weight_kg=100.0)
    r.until(5)
    assert r.source.profile.weight_kg == 100.0
    assert "100 kg" in r.source.info.description


def test_source_times_are_clock_seconds_when_opened_late() -> None:
    r = Run(start_s=250.0)
    r.until(250 + 600)
    r.infusion.start()
    r.until(250 + 600 + 2400)
    assert r.numerics("hr")[0][0] == 250.0
    assert r.source.truth is not None
    assert r.source.truth.t_s == 3000.0  # model time counts from the source's open
    assert 160 < r.source.truth.plasma_ng_per_ml < 195


def test_nibp_every_5_min_from_the_start_15_otherwise_and_never_overdue() -> None:
    r = Run()
    standard(r, 600)
    r.until(600 + 2400 + 3600)
    t = [tt for tt, _ in r.numerics("nibp_sys")]
    # 30 s after monitoring began; the next 15 min cycle (930 s) is brought forward to 5 min
    # after the start; the last infusion cycle lands on the completion at 3000 s.
    assert t[:2] == [30.0, 900.0]
    during = [x for x in t if 600 <= x <= 3000]
    assert during[-1] == 3000.0 and np.allclose(np.diff(during), 300.0)
    after = [x for x in t if x >= 3000]
    assert np.allclose(np.diff(after), 900.0) and len(after) == 5
    assert not [a for a in r.session.alarm_log() if a.alarm_id == "tech.nibp_overdue"]


def test_same_commands_give_the_same_samples_however_the_steps_are_cut() -> None:
    def go(dt_s: float) -> list[tuple[str, float, float]]:
        r = Run()
        r.until(100, dt_s)
        r.infusion.start()
        r.until(300, dt_s)
        r.infusion.pause("hypertension")
        r.until(400, dt_s)
        r.infusion.resume()
        r.until(600, dt_s)
        return [(n.channel, n.t_s, n.value) for b in r.batches for n in b.numerics]

    assert go(0.25) == go(1.0) == go(20.0)


def test_probe_off_reads_zero_flat_pleth_and_a_status_event() -> None:
    r = Run()
    r.until(100)
    r.source.trigger_now((ScenarioEvent(Trigger(at_min=0), EventKind.PROBE_OFF, channel="spo2",
                                        duration_s=20.0),))
    r.batches.clear()
    r.until(110)
    assert {v for _, v in r.numerics("spo2")} == {0.0}
    pleth = np.concatenate([w.values for b in r.batches for w in b.waveforms
                            if w.channel == "pleth"])
    assert np.all(pleth[-500:] == 0.0)
    assert any(s.kind == "probe_off" and s.channel == "spo2" for b in r.batches for s in b.status)
    assert "spo2" in r.session.sensor_off
    r.until(140)
    assert r.numerics("spo2")[-1][1] > 85 and "spo2" not in r.session.sensor_off


def test_a_stall_delivers_nothing_raises_no_data_and_then_resumes() -> None:
    r = Run()
    r.until(100, 1.0)
    at = r.source.trigger_now((ScenarioEvent(Trigger(at_min=0), EventKind.SOURCE_STALL,
                                             duration_s=45.0),))
    r.batches.clear()
    r.until(at + 45, 1.0)
    assert not any(b.numerics or b.waveforms for b in r.batches[1:-1])
    assert any(a.alarm_id.startswith("tech.no_data") for a in r.session.alarm_log())
    r.until(at + 50)
    hr = r.numerics("hr")
    assert hr[-1][0] >= at + 45
    ecg = [w for b in r.batches for w in b.waveforms if w.channel == "ecg_ii"]
    assert ecg[-1].t0_s >= at + 45 - 1


def test_leads_off_gives_ecg_noise_and_no_ecg_heart_rate() -> None:
    r = Run()
    r.until(60)
    r.source.trigger_now((ScenarioEvent(Trigger(at_min=0), EventKind.LEADS_OFF,
                                        duration_s=30.0),))
    r.batches.clear()
    r.until(80)
    assert {v for _, v in r.numerics("hr")} == {0.0}
    assert min(v for _, v in r.numerics("pr")) > 40
    ecg = np.concatenate([w.values for b in r.batches for w in b.waveforms
                          if w.channel == "ecg_ii"])
    assert ecg[-2000:].max() < 0.4  # no R waves


def test_a_weight_the_simulator_cannot_model_is_refused_with_the_range() -> None:
    with pytest.raises(SourceError, match="30 to 250 kg"):
        Run().source.follow_infusion(lambda: (), 20.0)
