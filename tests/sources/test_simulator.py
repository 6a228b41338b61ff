from __future__ import annotations

import numpy as np
import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import SampleBatch, SourceError
from ketadesk.sources.simulator.source import SimulatorSource


def _run(seed: str, steps: list[float]) -> list[SampleBatch]:
    clock = FakeClock()
    src = SimulatorSource(seed=seed)
    src.open(clock)
    out = []
    for dt in steps:
        clock.advance(dt)
        out.append(src.read())
    return out


def _numerics(batches: list[SampleBatch]) -> list[tuple[str, float, float]]:
    return [(n.channel, n.t_s, n.value) for b in batches for n in b.numerics]


def _wave(batches: list[SampleBatch], ch: str) -> np.ndarray:
    return np.concatenate([w.values for b in batches for w in b.waveforms if w.channel == ch])


def test_same_seed_same_data_however_reads_are_chunked() -> None:
    fine = _run("7", [0.0625] * 960)  # 60 s at 16 Hz (0.0625 is exact in binary)
    coarse = _run("7", [13.0, 13.0, 13.0, 21.0])
    assert _numerics(fine) == _numerics(coarse)
    a, b = _wave(fine, "ecg_ii"), _wave(coarse, "ecg_ii")
    n = min(len(a), len(b))
    np.testing.assert_allclose(a[:n], b[:n], atol=1e-6)


def test_different_seeds_differ() -> None:
    assert _numerics(_run("1", [60.0])) != _numerics(_run("2", [60.0]))


def test_rates_numerics_each_second_nibp_at_cycles_waveforms_at_250_and_125_hz() -> None:
    batches = _run("3", [1.0] * 600)
    nums = _numerics(batches)
    hr_times = [t for ch, t, _ in nums if ch == "hr"]
    assert np.allclose(np.diff(hr_times), 1.0) and len(hr_times) == 601
    nibp_times = [t for ch, t, _ in nums if ch == "nibp_sys"]
    assert nibp_times == [30.0]  # first cycle at 30 s; before an infusion every 15 min
    assert len(_wave(batches, "ecg_ii")) == 600 * 250 + 1
    assert len(_wave(batches, "pleth")) == 600 * 125 + 1
    rates = {w.channel: w.rate_hz for b in batches for w in b.waveforms}
    assert rates == {"ecg_ii": 250.0, "pleth": 125.0}


def test_ecg_beats_follow_the_heart_rate() -> None:
    batches = _run("4", [60.0])
    ecg = _wave(batches, "ecg_ii")
    # R waves: local maxima above 0.6 mV.
    peaks = np.flatnonzero((ecg[1:-1] > 0.6) & (ecg[1:-1] >= ecg[:-2]) & (ecg[1:-1] > ecg[2:]))
    hr = [v for ch, _, v in _numerics(batches) if ch == "hr"]
    assert abs(len(peaks) - np.mean(hr)) <= 3


def test_values_are_plausible_adult_vitals() -> None:
    nums = _numerics(_run("5", [1.0] * 1200))
    by = {ch: [v for c, _, v in nums if c == ch] for ch in ("hr", "spo2", "rr", "nibp_sys")}
    assert min(by["hr"]) > 50 and max(by["hr"]) < 110
    assert min(by["spo2"]) >= 92 and max(by["spo2"]) <= 100
    assert min(by["rr"]) >= 8 and max(by["rr"]) <= 22
    assert 95 < min(by["nibp_sys"]) < max(by["nibp_sys"]) < 160


def test_cycle_nibp_now_measures_at_the_next_read() -> None:
    clock = FakeClock()
    src = SimulatorSource()
    src.open(clock)
    clock.advance(100)
    src.read()
    src.cycle_nibp_now()
    clock.advance(1)
    assert any(n.channel == "nibp_sys" for n in src.read().numerics)


@pytest.mark.parametrize("opts", [{"seed": "x"}, {"seed": "-1"}, {"nibp_interval_min": "0"},
                                  {"nibp_interval_min": "abc"}, {"nibp_other_min": "61"},
                                  {"pk_model": "nope"}, {"weight_kg": "20"},
                                  {"profile": "nobody"}, {"scenario": "nothing"}])
def test_bad_options_say_what_is_allowed(opts: dict[str, str]) -> None:
    with pytest.raises(SourceError, match="must be|unknown|no scenario"):
        SimulatorSource(**opts)


def test_bad_option_messages_name_what_is_allowed() -> None:
    with pytest.raises(SourceError, match="available: .*normal"):
        SimulatorSource(scenario="nothing")
    with pytest.raises(SourceError, match="clements or domino|clements, domino"):
        SimulatorSource(pk_model="x")
    with pytest.raises(SourceError, match="sensitive"):
        SimulatorSource(profile="x")


def test_read_before_open_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="not open"):
        SimulatorSource().read()
