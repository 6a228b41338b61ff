"""Write a recording, read it back: identical data, NaN included; row layout; bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import (
    CHUNKS_PER_S,
    ECG_HZ,
    NUMERIC_CHANNELS,
    PLETH_HZ,
    ecg_values,
    make_meta,
    numeric_value,
    pleth_values,
    second_batches,
)

from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import NumericSample, SampleBatch, WaveformChunk
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import ScaleStatus, SessionStatus, StoreError

SECONDS = 6


def write_session(directory: Path, seconds: int = SECONDS) -> Path:
    w = RecordingWriter.create_in(directory, make_meta())
    for k in range(seconds):
        for j, batch in enumerate(second_batches(k)):
            w.add_batch(batch)
            assert w.flush(k + (j + 1) / CHUNKS_PER_S, force=True)
    w.add_batch(SampleBatch(
        numerics=(NumericSample("hr", 2.5, math.nan), NumericSample("temp", 3.0, 36.6)),
        waveforms=(WaveformChunk("resp", 1.0, 25.0, np.array([0.5, np.nan, -1.0], np.float32)),)))
    w.add_event(SessionEvent(1.0, "2026-01-01T09:00:01+00:00", "phase", "infusion started",
                             "AB", {"phase": "infusion", "reading": math.nan}))
    w.add_alarm(2.0, "hr", "medium", "raised", 125.0, "HR high 125", "")
    w.add_alarm(2.5, None, "high", "raised", None, "recording failure", "")
    first = w.add_scale_entry(3.0, "cadss", ScaleStatus.COMPLETE, 7, {"amnesia": 1},
                              {"1": 2, "2": 1}, "AB")
    w.add_scale_entry(4.0, "cadss", "partial", None, {}, {"1": 3, "2": None}, "AB",
                      edit_of=first, reason="item 1 misheard")
    w.close(float(seconds))
    return w.path


def test_round_trip_gives_back_identical_data(tmp_path: Path) -> None:
    path = write_session(tmp_path)
    with open_recording(path) as rec:
        assert rec.meta == make_meta(session_id=rec.meta.session_id)
        assert rec.status is SessionStatus.CLOSED
        assert rec.end_t_s == SECONDS and rec.duration_s == SECONDS
        assert rec.numeric_channels() == tuple(sorted((*NUMERIC_CHANNELS, "temp")))
        for ch in NUMERIC_CHANNELS:
            s = rec.numeric(ch)
            expected = [numeric_value(ch, k) for k in range(SECONDS)]
            if ch == "hr":
                assert np.isnan(s.values[s.t_s == 2.5]).all()
                keep = s.t_s != 2.5
                np.testing.assert_array_equal(s.t_s[keep], np.arange(SECONDS))
                np.testing.assert_array_equal(s.values[keep], expected)
            else:
                np.testing.assert_array_equal(s.t_s, np.arange(SECONDS))
                np.testing.assert_array_equal(s.values, expected)
        ecg = rec.waveform("ecg_ii")
        np.testing.assert_array_equal(ecg.values, np.concatenate(
            [ecg_values(k) for k in range(SECONDS)]))
        np.testing.assert_allclose(ecg.t_s, np.arange(SECONDS * int(ECG_HZ)) / ECG_HZ,
                                   rtol=0, atol=1e-9)
        pleth = rec.waveform("pleth")
        np.testing.assert_array_equal(pleth.values, np.concatenate(
            [pleth_values(k) for k in range(SECONDS)]))
        assert pleth.values.dtype == np.float32
        resp = rec.waveform("resp")
        np.testing.assert_array_equal(resp.values, [0.5, np.nan, -1.0])
        np.testing.assert_allclose(resp.t_s, [1.0, 1.04, 1.08])

        (event,) = rec.events()
        assert event == SessionEvent(1.0, "2026-01-01T09:00:01+00:00", "phase",
                                     "infusion started", "AB",
                                     {"phase": "infusion", "reading": None})
        a1, a2 = rec.alarms()
        assert (a1.t_s, a1.channel, a1.priority, a1.state, a1.value) == (
            2.0, "hr", "medium", "raised", 125.0)
        assert a2.channel == "" and math.isnan(a2.value) and a2.message == "recording failure"
        s1, s2 = rec.scale_entries()
        assert (s1.total, s1.status, s1.answers) == (7.0, ScaleStatus.COMPLETE, {"1": 2, "2": 1})
        assert (s2.edit_of, s2.reason, s2.total) == (s1.id, "item 1 misheard", None)
        assert rec.scale_entries(current_only=True) == (s2,)
        assert rec.verify_audit().ok


def test_waveform_rows_hold_one_second_and_windows_read_only_what_is_asked(
        tmp_path: Path) -> None:
    path = write_session(tmp_path)
    with open_recording(path) as rec:
        rows = rec._conn.execute(
            "SELECT t0_s, n FROM waveforms WHERE channel = 'ecg_ii' ORDER BY t0_s").fetchall()
        # 200 ms chunks merged into one row per second, although committed every 200 ms
        assert rows == [(float(k), int(ECG_HZ)) for k in range(SECONDS)]
        win = rec.waveform("ecg_ii", 2.5, 3.5)
        assert len(win.t_s) == int(ECG_HZ)
        assert win.t_s[0] == pytest.approx(2.5) and win.t_s[-1] < 3.5
        np.testing.assert_array_equal(win.values, np.concatenate(
            [ecg_values(2)[125:], ecg_values(3)[:125]]))
        assert len(rec.waveform("ecg_ii", 100.0, 110.0).t_s) == 0
        assert len(rec.waveform("nonexistent").t_s) == 0
        assert len(rec.waveform("pleth", None, 1.0).t_s) == int(PLETH_HZ)


def test_big_chunks_are_split_and_gaps_start_new_rows(tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    values = np.arange(625, dtype=np.float32)  # 2.5 s in one chunk
    w.add_batch(SampleBatch(waveforms=(WaveformChunk("ecg_ii", 0.0, 250.0, values),)))
    # a gap of 1 s (e.g. leads off), then 0.5 s more
    w.add_batch(SampleBatch(waveforms=(WaveformChunk("ecg_ii", 3.5, 250.0, values[:125]),)))
    w.close(4.0)
    with open_recording(w.path) as rec:
        rows = rec._conn.execute(
            "SELECT t0_s, n FROM waveforms ORDER BY t0_s").fetchall()
        assert rows == [(0.0, 250), (1.0, 250), (2.0, 125), (3.5, 125)]
        s = rec.waveform("ecg_ii")
        np.testing.assert_array_equal(s.values, np.concatenate([values, values[:125]]))
        assert s.t_s[625] == pytest.approx(3.5)


def test_numerics_frame_is_long_format(tmp_path: Path) -> None:
    path = write_session(tmp_path)
    with open_recording(path) as rec:
        df = rec.numerics_frame()
        assert list(df.columns) == ["t_s", "channel", "value"]
        assert len(df) == SECONDS * len(NUMERIC_CHANNELS) + 2
        assert df[df.channel == "temp"].value.tolist() == [36.6]


def test_bad_input_is_refused_before_anything_is_queued(tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    good = NumericSample("hr", 1.0, 70.0)
    with pytest.raises(ValueError, match="numeric spo2 t_s must be a finite"):
        w.add_batch(SampleBatch(numerics=(good, NumericSample("spo2", math.inf, 97.0))))
    with pytest.raises(ValueError, match="rate_hz must be > 0"):
        w.add_batch(SampleBatch(waveforms=(WaveformChunk("ecg_ii", 0.0, 0.0,
                                                          np.zeros(3, np.float32)),)))
    with pytest.raises(ValueError, match="status 'done' is not allowed; use complete, partial"):
        w.add_scale_entry(1.0, "cadss", "done", 1, {}, {})
    with pytest.raises(ValueError, match="edit_of=9 names no recorded scale entry"):
        w.add_scale_entry(1.0, "cadss", "complete", 1, {}, {}, edit_of=9, reason="x")
    first = w.add_scale_entry(1.0, "cadss", "complete", 1, {}, {})
    with pytest.raises(ValueError, match="needs a reason"):
        w.add_scale_entry(2.0, "cadss", "complete", 2, {}, {}, edit_of=first)
    w.close(2.0)
    with pytest.raises(StoreError, match="is closed"):
        w.add_batch(SampleBatch(numerics=(good,)))
    with open_recording(w.path) as rec:
        assert rec.numeric_channels() == ()  # the rejected batch left nothing behind
        assert len(rec.scale_entries()) == 1


def test_new_recording_never_overwrites(tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    w.close(0.0)
    with pytest.raises(StoreError, match="already exists"):
        RecordingWriter(w.path, make_meta())
