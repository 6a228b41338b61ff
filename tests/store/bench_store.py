"""Benchmark (not a test): write 4 h of recording and read it back.

    PYTHONPATH=. /work/venv/bin/python tests/store/bench_store.py [--hours 4] [--dir /tmp/x]

Writes numerics 1 Hz x 8 channels, ECG 250 Hz and pleth 125 Hz, fed as a 25 Hz tick would feed
them (40 ms chunks). Live-like part: one commit per session second (synchronous=FULL) for the
first `--live-minutes`; the rest is committed once per minute of data so the run stays short.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, WaveformChunk
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SessionMeta

NUMERIC = ("hr", "pr", "spo2", "nibp_sys", "nibp_dia", "nibp_mean", "rr", "temp")
TICK_HZ = 25


def second_of_batches(k: int, rng: np.random.Generator) -> list[SampleBatch]:
    ecg = rng.standard_normal(250).astype(np.float32)
    pleth = rng.standard_normal(125).astype(np.float32)
    batches = []
    for j in range(TICK_HZ):
        t = k + j / TICK_HZ
        numerics = tuple(NumericSample(ch, float(k), 70.0 + i) for i, ch in enumerate(NUMERIC))
        batches.append(SampleBatch(
            numerics=numerics if j == 0 else (),
            waveforms=(WaveformChunk("ecg_ii", t, 250.0, ecg[j * 10:(j + 1) * 10]),
                       WaveformChunk("pleth", t, 125.0, pleth[j * 5:(j + 1) * 5]))))
    return batches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--live-minutes", type=float, default=10.0)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="kd-bench-"))
    meta = SessionMeta("BENCH", "XX", "bench", Provenance.SIMULATED, datetime.now(UTC))
    rng = np.random.default_rng(1)
    seconds = int(args.hours * 3600)
    live_s = int(args.live_minutes * 60)
    precomputed = [second_of_batches(k, rng) for k in range(60)]  # reuse: generation isn't timed

    w = RecordingWriter.create_in(directory, meta)
    commit_ms: list[float] = []
    add_ms: list[float] = []
    t_start = time.perf_counter()
    for k in range(seconds):
        batches = precomputed[k % 60]
        t0 = time.perf_counter()
        for j, b in enumerate(batches):
            shifted = SampleBatch(
                numerics=tuple(NumericSample(s.channel, float(k), s.value) for s in b.numerics),
                waveforms=tuple(WaveformChunk(c.channel, k + j / TICK_HZ, c.rate_hz, c.values)
                                for c in b.waveforms))
            w.add_batch(shifted)
        t1 = time.perf_counter()
        add_ms.append((t1 - t0) * 1e3)
        if k < live_s or (k + 1) % 60 == 0:
            assert w.flush(k + 1.0, force=True)
            if k < live_s:
                commit_ms.append((time.perf_counter() - t1) * 1e3)
    w.close(float(seconds))
    write_s = time.perf_counter() - t_start
    size_mb = w.path.stat().st_size / 1e6

    t0 = time.perf_counter()
    rec = open_recording(w.path)
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    nums = rec.numerics()
    t_num = time.perf_counter() - t0
    t0 = time.perf_counter()
    mid = seconds / 2
    win = rec.waveform("ecg_ii", mid, mid + 10)
    t_win = time.perf_counter() - t0
    t0 = time.perf_counter()
    ecg = rec.waveform("ecg_ii")
    t_ecg = time.perf_counter() - t0
    t0 = time.perf_counter()
    check = rec.verify_audit()
    t_audit = time.perf_counter() - t0
    rec.close()

    def p(xs: list[float], q: float) -> float:
        return sorted(xs)[int(q * (len(xs) - 1))]

    print(f"file {w.path} {size_mb:.1f} MB, {args.hours} h")
    print(f"write total {write_s:.1f} s ({live_s} one-second commits, then one per minute)")
    print(f"add one second of data (25 batches): mean {statistics.mean(add_ms):.3f} ms, "
          f"p99 {p(add_ms, 0.99):.3f} ms")
    print(f"commit of one second (synchronous=FULL): mean {statistics.mean(commit_ms):.2f} ms, "
          f"p99 {p(commit_ms, 0.99):.2f} ms, max {max(commit_ms):.2f} ms")
    print(f"open {t_open * 1e3:.1f} ms; all numerics ({sum(len(s.t_s) for s in nums.values())} "
          f"samples, {len(nums)} ch) {t_num * 1e3:.1f} ms")
    print(f"ECG 10 s window ({len(win.t_s)} samples) {t_win * 1e3:.2f} ms; "
          f"all ECG ({len(ecg.t_s)} samples) {t_ecg * 1e3:.1f} ms")
    print(f"verify_audit {t_audit * 1e3:.1f} ms: {check.message}")


if __name__ == "__main__":
    main()
