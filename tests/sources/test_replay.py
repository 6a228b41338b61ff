"""ReplaySource: plays recordings as if live, under a FakeClock, at 1x and 60x."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb  # type: ignore[import-untyped, unused-ignore]
from replay_peers import MIMIC_CSV, MIMIC_RECORD, MIXED_RECORD, peer

from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceError,
    VitalsSource,
    WaveformChunk,
)
from ketadesk.sources.recordings import NumericSeries, Recording, WaveformSeries
from ketadesk.sources.replay import ReplaySource


def _drain(source: ReplaySource, clock: FakeClock, steps_s: list[float]) -> list[SampleBatch]:
    batches = []
    for step in steps_s:
        clock.advance(step)
        batches.append(source.read())
    return batches


def _numerics(batches: list[SampleBatch], channel: str) -> list[NumericSample]:
    return [s for b in batches for s in b.numerics if s.channel == channel]


def _chunks(batches: list[SampleBatch], channel: str) -> list[WaveformChunk]:
    return [w for b in batches for w in b.waveforms if w.channel == channel]


def _statuses(batches: list[SampleBatch], kind: str) -> list[str]:
    return [s.detail for b in batches for s in b.status if s.kind == kind]


# ---- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", ["0.5", "61", "0", "-1", "abc", "nan", ""])
def test_speed_outside_1_to_60_is_refused(speed: str) -> None:
    with pytest.raises(SourceError, match="speed must be between 1 and 60"):
        ReplaySource(path=str(peer(MIMIC_CSV)), speed=speed)


def test_bad_options() -> None:
    with pytest.raises(SourceError, match="option path is required"):
        ReplaySource()
    with pytest.raises(SourceError, match="unknown source option.*rate.*allowed: path"):
        ReplaySource(path=str(peer(MIMIC_CSV)), rate="2")
    with pytest.raises(SourceError, match="loop='maybe' is not allowed; choose one of yes, no"):
        ReplaySource(path=str(peer(MIMIC_CSV)), loop="maybe")
    with pytest.raises(SourceError, match="start_s must be from 0 to under 4320 s"):
        ReplaySource(path=str(peer(MIMIC_CSV)), start_s="5000")
    with pytest.raises(SourceError, match="not a number|start_s"):
        ReplaySource(path=str(peer(MIMIC_CSV)), start_s="soon")


def test_bad_file_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("time,hr\n0,1\n")
    with pytest.raises(SourceError, match=r"x\.csv: the first column must be 't_s'"):
        ReplaySource(path=str(tmp_path / "x.csv"))


def test_info_and_contract() -> None:
    source = ReplaySource(path=str(peer(MIXED_RECORD)), speed="2", loop="yes")
    assert isinstance(source, VitalsSource)
    assert source.info.provenance is Provenance.REPLAY
    assert source.info.channels == ("ecg_ii", "pleth")
    assert source.info.description == "replay of mixedsignals at 2x, looping"
    assert source.connection is ConnectionState.DISCONNECTED
    assert not source.read()  # not opened: nothing, no error


# ---- numerics at 1x and 60x ------------------------------------------------------------------


def test_numerics_at_1x_arrive_on_time() -> None:
    source = ReplaySource(path=str(peer(MIMIC_RECORD)))
    clock = FakeClock(start_s=100.0)
    source.open(clock)
    assert source.connection is ConnectionState.CONNECTED
    first = source.read()
    assert _statuses([first], "connection") == ["replay of s25047-2704-05-04-10-44n at 1x"]
    hr = _numerics([first], "hr")
    assert [s.t_s for s in hr] == [100.0]
    assert hr[0].value == pytest.approx(101.3)
    assert not _numerics([first], "nibp_sys")  # no cuff reading in the first minute: nothing sent
    spo2 = _numerics([first], "spo2")
    assert len(spo2) == 1 and np.isnan(spo2[0].value)  # the 0 "no probe" arrives as NaN
    clock.advance(59.9)
    assert not source.read().numerics
    clock.advance(0.1)
    hr = _numerics([source.read()], "hr")
    assert len(hr) == 1
    assert hr[0].t_s == pytest.approx(160.0) and hr[0].value == pytest.approx(103.0)
    clock.advance(60.0)
    batch = source.read()
    assert _numerics([batch], "nibp_sys")[0].value == 87.0  # first cuff reading at 120 s


def test_60x_delivers_3600_s_in_60_s_of_clock() -> None:
    raw = wfdb.rdrecord(str(peer(MIMIC_RECORD)))
    source = ReplaySource(path=str(peer(MIMIC_RECORD)), speed="60")
    clock = FakeClock(start_s=10.0)
    source.open(clock)
    batches = _drain(source, clock, [0.0] + [0.04] * 1500)  # 60 s of 25 Hz UI ticks
    assert clock.now() == pytest.approx(70.0)
    hr = _numerics(batches, "hr")
    # Samples at 0, 60, ..., 3600 s of recording: 61, stamped start + t / 60.
    assert len(hr) == 61
    assert hr[-1].t_s == pytest.approx(10.0 + 3600 / 60)
    times = [s.t_s for s in hr]
    assert times == sorted(set(times))  # none twice
    expected = raw.p_signal[:61, raw.sig_name.index("HR")]
    np.testing.assert_array_equal(
        [s.value for s in hr], np.where(expected == 0, np.nan, expected)
    )
    states = [source.connection]
    clock.advance(12.0)  # past 4320 s of recording
    end = source.read()
    assert len(_numerics([end], "hr")) == 72 - 61
    assert _statuses([end], "connection") == ["end of recording"]
    assert end.status[0].t_s == pytest.approx(10.0 + 4320 / 60)
    states.append(source.connection)
    assert states == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]
    clock.advance(100.0)
    assert not source.read()


def test_csv_replay_sends_every_row_once_across_uneven_reads() -> None:
    path = str(peer(MIMIC_CSV))
    source = ReplaySource(path=path, speed="37")
    clock = FakeClock()
    source.open(clock)
    steps = np.random.default_rng(8).uniform(0.0, 0.5, 600).tolist()
    batches = _drain(source, clock, steps)
    assert _statuses(batches, "connection")[-1] == "end of recording"
    rec = source.recording
    for cid, series in rec.numerics.items():
        got = _numerics(batches, cid)
        if cid.startswith("nibp"):  # intermittent: missing readings are not sent
            kept = ~np.isnan(series.values)
        else:
            kept = np.ones(len(series.values), dtype=bool)
        np.testing.assert_allclose([s.t_s for s in got], series.t_s[kept] / 37)
        np.testing.assert_array_equal([s.value for s in got], series.values[kept])


def test_start_s_seeks_into_the_recording() -> None:
    source = ReplaySource(path=str(peer(MIMIC_CSV)), start_s="119")
    clock = FakeClock()
    source.open(clock)
    assert not source.read().numerics
    clock.advance(1.0)
    hr = _numerics([source.read()], "hr")
    assert [s.t_s for s in hr] == [1.0]
    assert hr[0].value == pytest.approx(89.5)


# ---- waveforms -------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [1, 60])
def test_waveforms_whole_and_in_order_across_many_small_reads(speed: int) -> None:
    raw = wfdb.rdrecord(str(peer(MIXED_RECORD)), smooth_frames=False)
    source = ReplaySource(path=str(peer(MIXED_RECORD)), speed=str(speed))
    clock = FakeClock(start_s=5.0)
    source.open(clock)
    duration_s = 14400 / 62.4725 / speed
    steps = np.random.default_rng(speed).uniform(0.0, 0.08, 20000)
    steps = steps[: int(np.searchsorted(np.cumsum(steps), duration_s + 0.1)) + 1].tolist()
    batches = _drain(source, clock, steps)
    for cid, name in (("ecg_ii", "II"), ("pleth", "Pleth")):
        chunks = _chunks(batches, cid)
        i = raw.sig_name.index(name)
        rate_hz = 62.4725 * raw.samps_per_frame[i] * speed
        # Contiguous: each chunk starts one sample period after the previous one ends.
        t0s = np.array([c.t0_s for c in chunks])
        lengths = np.array([len(c.values) for c in chunks])
        assert all(c.rate_hz == pytest.approx(rate_hz) for c in chunks)
        np.testing.assert_allclose(t0s, 5.0 + np.concatenate([[0], np.cumsum(lengths)[:-1]])
                                   / rate_hz, rtol=0, atol=1e-9)
        values = np.concatenate([c.values for c in chunks])
        np.testing.assert_array_equal(values, raw.e_p_signal[i].astype(np.float32))
    ecg = np.concatenate([c.values for c in _chunks(batches, "ecg_ii")])
    assert 0.01 <= np.isnan(ecg).mean() <= 0.02  # the gaps travel as NaN
    assert _statuses(batches, "connection")[-1] == "end of recording"


def test_each_read_returns_only_samples_due() -> None:
    source = ReplaySource(path=str(peer(MIXED_RECORD)))
    clock = FakeClock()
    source.open(clock)
    source.read()
    clock.advance(1.0)
    (ecg,) = _chunks([source.read()], "ecg_ii")
    # Samples with t <= 1.0 s at 249.89 Hz: indices 1..249 after index 0 in the first read.
    assert ecg.t0_s == pytest.approx(1 / 249.89)
    assert len(ecg.values) == int(1.0 * 249.89)
    assert ecg.times()[-1] <= clock.now()


def test_skipped_signals_are_reported_once_at_start() -> None:
    source = ReplaySource(path=str(peer(MIXED_RECORD)))
    clock = FakeClock()
    source.open(clock)
    messages = _statuses([source.read()], "message")
    assert any(m.startswith("ABP:") for m in messages)
    clock.advance(1.0)
    assert not _statuses([source.read()], "message")


# ---- loop, close -----------------------------------------------------------------------------


def _tiny_recording() -> Recording:
    wave = np.arange(10, dtype=np.float32)
    wave[3] = np.nan
    return Recording(
        "tiny",
        {"hr": NumericSeries(np.array([0.0, 5.0]), np.array([60.0, np.nan]))},
        {"pleth": WaveformSeries(0.0, 1.0, wave)},
        10.0,
    )


def test_loop_restarts_from_the_beginning() -> None:
    source = ReplaySource.from_recording(_tiny_recording(), speed="2", loop=True, start_s="4")
    clock = FakeClock()
    source.open(clock)
    batches = _drain(source, clock, [0.0] + [0.25] * 40)  # 10 s of clock = 20 s of recording
    hr = _numerics(batches, "hr")
    # First pass from 4 s: hr at 5 s; then passes from 0: 0, 5, 0 s of recording.
    assert [s.t_s for s in hr] == pytest.approx([0.5, 3.0, 5.5, 8.0])
    assert [np.isnan(s.value) for s in hr] == [True, False, True, False]
    pleth = np.concatenate([c.values for c in _chunks(batches, "pleth")])
    np.testing.assert_array_equal(pleth[:6], np.arange(4, 10))
    np.testing.assert_array_equal(pleth[6:16], _tiny_recording().waveforms["pleth"].values)
    assert len(pleth) == 6 + 10 + 5  # third pass up to 4 s of recording (24 s in all)
    assert _statuses(batches, "message") == [
        "recording restarted (pass 2)", "recording restarted (pass 3)"
    ]
    assert not _statuses(batches, "connection")[1:]  # no "end of recording" when looping
    assert source.connection is ConnectionState.CONNECTED


def test_close_is_idempotent_and_silences_reads() -> None:
    source = ReplaySource.from_recording(_tiny_recording())
    clock = FakeClock()
    source.open(clock)
    source.close()
    source.close()
    clock.advance(5.0)
    assert not source.read()
    assert source.connection is ConnectionState.DISCONNECTED
