"""The review SeriesProvider: numerics whole, waveforms per window, decimated without losing
peaks, gaps kept visible; the markers and the minimal summary read from a recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recording_helpers import make_meta

from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import NumericSample, SampleBatch, WaveformChunk
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.review_data import MarkerKind, markers, minimal_summary
from ketadesk.store.review_provider import (
    RAW_SPAN_S,
    ReviewSeriesProvider,
    break_gaps,
    minmax_decimate,
)

ECG_HZ = 250.0
GAP = (1200.0, 1380.0)  # KetaDesk down for 3 minutes
END_S = 2400.0


def _ecg(t: np.ndarray) -> np.ndarray:
    # one tall spike a second, at a place that moves, so peaks are easy to lose
    return np.where(np.isclose((t * 1.1) % 1.0, 0.5, atol=0.002), 3.0,
                    np.sin(t)).astype(np.float32)


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prov") / "r.kdrec"
    w = RecordingWriter(path, make_meta())
    for a, b in ((0.0, GAP[0]), (GAP[1], END_S)):
        t = np.arange(a, b, 600.0)
        for k in t:
            n = int(min(600.0, b - k) * ECG_HZ)
            times = k + np.arange(n) / ECG_HZ
            sec = np.arange(k, min(k + 600.0, b))
            w.add_batch(SampleBatch(
                numerics=tuple(NumericSample("hr", float(s), 60.0 + s / 100.0) for s in sec)
                + tuple(NumericSample("nibp_sys", float(s), 120.0 + s / 60.0)
                        for s in sec[::300]),
                waveforms=(WaveformChunk("ecg_ii", float(k), ECG_HZ, _ecg(times)),)))
            w.flush(float(min(k + 600.0, b)), force=True)
    w.add_event(SessionEvent(300.0, "", "phase", "Infusion started", "AB",
                             {"from": "BASELINE", "to": "INFUSING"}))
    w.add_event(SessionEvent(900.0, "", "phase", "Infusion paused", "AB",
                             {"from": "INFUSING", "to": "PAUSED", "reason": "nausea/vomiting"}))
    w.add_event(SessionEvent(GAP[1], "", "resumed", "KetaDesk resumed ...", "",
                             {"gap_from_s": GAP[0] - 1.0, "gap_to_s": GAP[1]}))
    w.add_event(SessionEvent(1500.0, "", "note", "patient asleep", "AB", {}))
    w.add_alarm(1000.0, "nibp_sys", "high", "raised", 190.0, "NIBP sys high 190")
    w.add_alarm(1010.0, "nibp_sys", "high", "cleared", None, "cleared")
    w.add_scale_entry(2000.0, "cadss", "complete", 12.0, {}, {"1": 1})
    w.close(END_S)
    return path


@pytest.fixture
def provider(recording_path: Path) -> ReviewSeriesProvider:
    rec = open_recording(recording_path)
    yield ReviewSeriesProvider(rec, max_points=2000)  # type: ignore[misc]
    rec.close()


def test_numerics_are_sliced_from_memory(provider: ReviewSeriesProvider) -> None:
    t, v = provider.series("hr", 100.0, 110.0)
    np.testing.assert_array_equal(t, np.arange(100.0, 111.0))
    np.testing.assert_allclose(v, 60.0 + t / 100.0)
    assert provider.time_span() == (0.0, END_S)
    assert provider.series("nope", 0.0, 10.0)[0].size == 0


def test_a_short_window_is_every_sample_read_from_the_file(
        provider: ReviewSeriesProvider, recording_path: Path) -> None:
    t, v = provider.series("ecg_ii", 500.0, 505.0)
    with open_recording(recording_path) as rec:
        raw = rec.waveform("ecg_ii", 500.0, 505.0)
    np.testing.assert_array_equal(t, raw.t_s)
    np.testing.assert_array_equal(v, raw.values.astype(np.float64))


@pytest.mark.parametrize("span_s", [RAW_SPAN_S / 2, RAW_SPAN_S * 2, END_S])
def test_long_windows_are_bounded_and_keep_every_peak(
        provider: ReviewSeriesProvider, recording_path: Path, span_s: float) -> None:
    t0 = 0.0 if span_s == END_S else 100.0
    t, v = provider.series("ecg_ii", t0, t0 + span_s)
    assert len(t) <= provider.max_points + 8
    with open_recording(recording_path) as rec:
        raw = rec.waveform("ecg_ii", t0, t0 + span_s)
    assert np.nanmax(v) == pytest.approx(float(raw.values.max()))
    assert np.nanmin(v) == pytest.approx(float(raw.values.min()))
    assert np.all(np.diff(t[np.isfinite(t)]) >= 0)


@pytest.mark.parametrize("span", [(1100.0, 1500.0), (0.0, END_S)])
def test_the_gap_of_a_resumed_session_is_a_break_not_a_line(
        provider: ReviewSeriesProvider, span: tuple[float, float]) -> None:
    t, v = provider.series("ecg_ii", *span)
    inside = (t > GAP[0] + 1.0) & (t < GAP[1] - 1.0)
    assert not np.isfinite(v[inside]).any()
    nan_at = t[np.isnan(v)]
    assert len(nan_at) >= 1 and np.any((nan_at >= GAP[0] - 2.0) & (nan_at <= GAP[1]))


def test_trends_break_over_the_gap_of_a_resumed_session(provider: ReviewSeriesProvider) -> None:
    t, v = provider.series("hr", GAP[0] - 5.0, GAP[1] + 5.0)
    (nan_at,) = t[np.isnan(v)]
    assert GAP[0] - 1.0 <= nan_at < GAP[1]
    assert np.isfinite(provider.series("hr", 0.0, GAP[0] - 2.0)[1]).all()


def test_envelope_is_built_once_per_channel(provider: ReviewSeriesProvider) -> None:
    provider.series("ecg_ii", 0.0, END_S)
    env = provider.envelope("ecg_ii")
    assert env is provider.envelope("ecg_ii")
    assert len(env.t0_s) == (END_S - (GAP[1] - GAP[0]))  # one row per second
    assert np.all(env.hi >= env.lo)


def test_decimation_and_gap_helpers() -> None:
    t = np.arange(10.0)
    v = np.array([0, 5, 1, 1, -3, 1, 1, 1, 9, 1], dtype=float)
    x, y = minmax_decimate(t, v, 2)
    np.testing.assert_array_equal(x, [0, 0, 5, 5])
    np.testing.assert_array_equal(y, [-3, 5, 1, 9])
    assert minmax_decimate(t, v, 5)[0] is t  # few enough already
    x, y = break_gaps(np.array([0.0, 1.0, 5.0, 6.0]), np.ones(4), 1.5)
    assert np.isnan(y[2]) and len(x) == 5


def test_markers_and_minimal_summary(recording_path: Path) -> None:
    with open_recording(recording_path) as rec:
        ms = markers(rec)
        got = [(m.t_s, m.kind, m.label) for m in ms]
        assert got == [
            (300.0, MarkerKind.PHASE, "Start"),
            (900.0, MarkerKind.PAUSE, "Pause: nausea/vomiting"),
            (1000.0, MarkerKind.ALARM_HIGH, "*** NIBP sys high 190"),
            (GAP[1], MarkerKind.GAP, "Resumed after a gap"),
            (1500.0, MarkerKind.NOTE, "Note: patient asleep"),
            (2000.0, MarkerKind.SCALE, "CADSS 12"),
        ]
        nums = {ch: (rec.numeric(ch).t_s, rec.numeric(ch).values) for ch in ("hr", "nibp_sys")}
        rows = dict(minimal_summary(rec, nums))
    assert rows["Infusion"] == "no plan recorded"
    assert rows["Peak HR"] == f"{60 + 2399 / 100:.0f} /min at +0:39:59"
    sbp_t = float(nums["nibp_sys"][0][-1])  # rising all session: the last cycle is the peak
    assert sbp_t == 2280.0 and rows["Peak SBP"] == f"{120 + sbp_t / 60:.0f} mmHg at +0:38:00"
    assert rows["Peak CADSS"] == "12 (CADSS) at +0:33:20"
    assert rows["Alarms"] == "1 high"
