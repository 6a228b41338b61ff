"""Live dashboard: frame time with 4 h of history, and ingest cost at 0 h and 4 h."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from ketadesk.core.clock import FakeClock
from ketadesk.core.session import BufferConfig, Session
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo, WaveformChunk

HISTORY_S = 4 * 3600
ECG_HZ, PLETH_HZ = 250.0, 125.0
NUMERIC_CHANNELS = ("hr", "pr", "spo2", "rr", "etco2", "temp")


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(samples_ms), 3),
            "p95_ms": round(float(np.percentile(samples_ms, 95)), 3), "frames": len(samples_ms)}


def fill_history(session: Session, seconds: int) -> None:
    """Put `seconds` of synthetic numerics and waveforms straight into the buffers."""
    t = np.arange(seconds, dtype=float)
    for ch in NUMERIC_CHANNELS:
        session.buffers.buffer(ch).extend(t, 70 + 5 * np.sin(t / 300))
    nibp_t = t[30::300]
    for ch, base in (("nibp_sys", 125.0), ("nibp_dia", 80.0), ("nibp_mean", 95.0)):
        session.buffers.buffer(ch).extend(nibp_t, base + 10 * np.sin(nibp_t / 900))
    for ch, rate in (("ecg_ii", ECG_HZ), ("pleth", PLETH_HZ)):
        n = int(seconds * rate)
        tw = np.arange(n) / rate
        session.buffers.buffer(ch).extend(tw, np.sin(tw * 2 * np.pi * 1.2))


def _one_second(t0: float) -> SampleBatch:
    numerics = tuple(NumericSample(ch, t0, 70.0) for ch in NUMERIC_CHANNELS)
    waves = tuple(WaveformChunk(ch, t0, rate, np.zeros(int(rate), dtype=np.float32))
                  for ch, rate in (("ecg_ii", ECG_HZ), ("pleth", PLETH_HZ)))
    return SampleBatch(numerics, waves)


def bench_ingest(quick: bool) -> dict[str, Any]:
    """Cost per sample of session.ingest (ring buffers) vs np.append, at 0 h and 4 h."""
    info = SourceInfo("bench", "bench", (), Provenance.SIMULATED)
    seconds = 20 if quick else 60
    per_batch = len(NUMERIC_CHANNELS) + int(ECG_HZ + PLETH_HZ)

    def ring(prefill: int) -> float:
        s = Session(FakeClock(), info, BufferConfig(4.5, 4.5))
        fill_history(s, prefill)
        batches = [_one_second(prefill + i) for i in range(seconds)]
        t = time.perf_counter()
        for b in batches:
            s.ingest(b)
        return (time.perf_counter() - t) / (seconds * per_batch) * 1e6

    def naive(prefill: int) -> float:
        hist = {ch: np.zeros(int(prefill * r)) for ch, r in (("ecg_ii", ECG_HZ), ("pleth", PLETH_HZ))}
        hist.update({ch: np.zeros(prefill) for ch in NUMERIC_CHANNELS})
        batches = [_one_second(prefill + i) for i in range(seconds)]
        t = time.perf_counter()
        for b in batches:
            for w in b.waveforms:
                hist[w.channel] = np.append(hist[w.channel], w.values)
            for n in b.numerics:
                hist[n.channel] = np.append(hist[n.channel], n.value)
        return (time.perf_counter() - t) / (seconds * per_batch) * 1e6

    r0, r4 = ring(0), ring(HISTORY_S)
    n0, n4 = naive(0), naive(HISTORY_S)
    return {
        "ingest_us_per_sample_0h": round(r0, 3), "ingest_us_per_sample_4h": round(r4, 3),
        "ingest_4h_over_0h": round(r4 / r0, 2), "target_4h_over_0h_max": 1.5,
        "naive_np_append_us_per_sample_0h": round(n0, 3),
        "naive_np_append_us_per_sample_4h": round(n4, 3),
        "speedup_vs_naive_at_4h": round(n4 / r4, 1),
    }


def bench_frames(quick: bool) -> dict[str, Any]:
    """Frame time of the real main window (pipeline step + redraw + paint) with 4 h of history,
    beside a naive dashboard that np.appends and hands the whole history to scrolling plots."""
    import pyqtgraph as pg

    from ketadesk.app import build_dashboard, qt_app
    from ketadesk.sources.simulator.source import SimulatorSource

    app = qt_app()
    clock = FakeClock()
    dash = build_dashboard(SimulatorSource(seed="1"), clock)
    dash.window.resize(1400, 900)
    dash.window.show()
    fill_history(dash.session, HISTORY_S)
    clock.set(HISTORY_S)
    dash.source.open(clock)  # restart the simulator at 4 h so it produces only new samples
    for _ in range(5):  # warm-up
        clock.advance(0.04)
        dash.controller.step()
        app.processEvents()
    frames = []
    # A frame as the app runs it: one timer tick (pipeline + redraw), then Qt paints what
    # changed. 25 frames per session second, so the 1 Hz trend redraw is in every 25th frame.
    for _ in range(100 if quick else 500):
        clock.advance(0.04)
        t = time.perf_counter()
        dash.controller.step()
        app.processEvents()
        frames.append((time.perf_counter() - t) * 1000)
    dash.close()

    # Naive: np.append the new samples and redraw the entire history on scrolling axes.
    win = pg.GraphicsLayoutWidget()
    win.resize(1400, 900)
    hist: dict[str, np.ndarray] = {}
    curves = {}
    for row, (ch, rate) in enumerate((("ecg_ii", ECG_HZ), ("pleth", PLETH_HZ), ("hr", 1.0),
                                      ("nibp_sys", 1 / 300), ("spo2", 1.0), ("rr", 1.0))):
        n = int(HISTORY_S * rate)
        hist[ch] = np.sin(np.arange(n) / max(rate, 1.0))
        curves[ch] = (win.addPlot(row=row, col=0).plot(pen="g"), rate)
    win.show()
    naive = []
    for _ in range(3 if quick else 8):
        t = time.perf_counter()
        for ch, (curve, rate) in curves.items():
            hist[ch] = np.append(hist[ch], np.zeros(max(1, int(rate * 0.04))))
            curve.setData(hist[ch])
        app.processEvents()
        naive.append((time.perf_counter() - t) * 1000)
    win.close()
    win.deleteLater()
    app.processEvents()
    live = _percentiles(frames)
    base = _percentiles(naive)
    return {"frame_with_4h_history": live, "frame_target_p95_ms": 16.7,
            "naive_frame_with_4h_history": base,
            "frame_speedup_vs_naive_p95": round(base["p95_ms"] / live["p95_ms"], 1)}
