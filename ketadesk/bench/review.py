"""Review mode: open-to-first-paint and pan/zoom of 4 h and 12 h recordings (issue 6).

Each run writes fresh recordings with RecordingWriter into a temporary directory (generation
is not timed; nothing is cached between runs), then measures the review window beside a
naive one that loads every waveform sample and hands the full arrays to the curves with no
clipping or downsampling.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, WaveformChunk
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SessionMeta

ECG_HZ, PLETH_HZ = 250.0, 125.0
# 8 numerics at 1 Hz: the six a monitor sends plus two extra stored channels (perfusion
# index, ST level) that review does not plot but still has to load.
NUMERICS_1HZ: dict[str, tuple[float, float]] = {
    "hr": (72.0, 8.0), "pr": (72.0, 8.0), "spo2": (97.0, 1.5), "rr": (14.0, 2.0),
    "etco2": (36.0, 3.0), "temp": (36.8, 0.2), "pi": (3.0, 1.0), "st_ii": (0.0, 0.05),
}
NIBP_EVERY_S = 300.0
BLOCK_S = 600  # generated and committed in 10-minute blocks


def _ecg(t: np.ndarray) -> np.ndarray:
    """A beat-like synthetic ECG at ~72/min: a narrow QRS spike and a T wave."""
    phase = (t * 1.2) % 1.0
    return (1.2 * np.exp(-((phase - 0.2) / 0.012) ** 2)
            + 0.25 * np.exp(-((phase - 0.45) / 0.05) ** 2)
            - 0.1 + 0.02 * np.sin(t * 0.3)).astype(np.float32)


def _pleth(t: np.ndarray) -> np.ndarray:
    phase = (t * 1.2) % 1.0
    return (0.5 + 0.45 * np.sin(2 * np.pi * phase) ** 3).astype(np.float32)


def generate(path: Path, hours: float, seed: int = 1) -> Path:
    """A synthetic recording of `hours`: numerics, NIBP, ECG, pleth, a few events and alarms."""
    rng = np.random.default_rng(seed)
    meta = SessionMeta(patient_id="BENCH-1", clinician="BM", source_name="bench",
                       provenance=Provenance.SIMULATED,
                       start_wall_time=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
                       plan={"dose_mg_per_kg": 0.5, "weight_kg": 70.0, "duration_min": 40.0})
    total_s = int(hours * 3600)
    w = RecordingWriter(path, meta)
    for ev_t, kind, detail, data in (
            (600.0, "phase", "Infusion started", {"from": "BASELINE", "to": "INFUSING"}),
            (3000.0, "phase", "Infusion complete", {"from": "INFUSING", "to": "COMPLETE"}),
            (3060.0, "phase", "Recovery observation begun", {"from": "COMPLETE",
                                                              "to": "RECOVERY"})):
        if ev_t < total_s:
            w.add_event(SessionEvent(ev_t, "", kind, detail, "BM", data))
    for k in range(0, total_s, BLOCK_S):
        n_s = min(BLOCK_S, total_s - k)
        t = np.arange(k, k + n_s, dtype=np.float64)
        numerics = []
        for ch, (mean, sd) in NUMERICS_1HZ.items():
            values = mean + sd * np.sin(t / 900.0) + rng.normal(0, sd / 5, n_s)
            numerics += [NumericSample(ch, float(a), float(b)) for a, b in zip(t, values,
                                                                               strict=True)]
        for tn in np.arange(k + 30.0, k + n_s, NIBP_EVERY_S):
            sys_ = 125.0 + 15 * np.sin(tn / 2000.0)
            numerics += [NumericSample("nibp_sys", tn, sys_), NumericSample("nibp_dia", tn,
                                                                            sys_ - 45),
                         NumericSample("nibp_mean", tn, sys_ - 30)]
        waves = tuple(WaveformChunk(ch, float(k), rate, fn(k + np.arange(int(n_s * rate)) / rate))
                      for ch, rate, fn in (("ecg_ii", ECG_HZ, _ecg), ("pleth", PLETH_HZ, _pleth)))
        w.add_batch(SampleBatch(tuple(numerics), waves))
        if k % 3600 == 1800:
            w.add_alarm(k + 12.0, "nibp_sys", "medium", "raised", 168.0, "NIBP sys high 168")
        w.flush(float(k + n_s), force=True)
    w.close(float(total_s))
    return path


def _percentiles(ms: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "n": len(ms)}


def main_probe() -> None:  # pragma: no cover - a developer aid
    d = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    generate(d / "4h.kdrec", 4.0)
    print("generated 4 h in", round(time.perf_counter() - t, 2), "s")


if __name__ == "__main__":  # pragma: no cover
    main_probe()
