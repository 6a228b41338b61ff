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
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, WaveformChunk
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SessionMeta
from ketadesk.ui.review.review_window import ReviewWindow

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


class _PaintWatch(QObject):
    """Counts Paint events on the plot viewports: a view counts as drawn once each painted."""

    def __init__(self, viewports: list[QWidget]) -> None:
        super().__init__()
        self.viewports = viewports
        self.painted: set[int] = set()
        for v in viewports:
            v.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.painted.add(id(obj))
        return False

    def wait(self, app: Any, timeout_s: float = 120.0) -> bool:
        """Process events until every viewport has painted since the last reset."""
        deadline = time.perf_counter() + timeout_s
        while len(self.painted) < len(self.viewports):
            app.processEvents()
            if time.perf_counter() > deadline:
                return False
        return True

    def reset(self) -> None:
        self.painted.clear()


def _ops(span_s: float, n: int, seed: int) -> list[tuple[float, float]]:
    """n x ranges: pans (same span, moved a quarter) alternating with zooms (new span, from
    20 s to the whole session, log-uniform, anywhere)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    a, b = 0.0, span_s
    for i in range(n):
        if i % 2 == 0:
            width = float(np.exp(rng.uniform(np.log(20.0), np.log(span_s))))
            a = float(rng.uniform(0.0, span_s - width))
            b = a + width
        else:
            step = (b - a) * 0.25 * (1 if rng.random() < 0.5 else -1)
            if a + step < 0 or b + step > span_s:
                step = -step
            a, b = a + step, b + step
        out.append((a, b))
    return out


def measure(path: Path, *, windowed: bool, n_ops: int, app: Any) -> dict[str, Any]:
    """Open-to-first-paint of the review window, then n_ops pans/zooms each until painted."""
    t = time.perf_counter()
    rec = open_recording(path)
    window = ReviewWindow(rec, windowed=windowed)
    window.resize(1400, 900)
    watch = _PaintWatch([window.waves.viewport(), window.trends.viewport()])
    window.show()
    painted = watch.wait(app)
    open_ms = (time.perf_counter() - t) * 1000
    times = []
    for a, b in _ops(window.span_s[1], n_ops, seed=7):
        watch.reset()
        t = time.perf_counter()
        window.set_x_range_s(a, b)
        painted = watch.wait(app) and painted
        times.append((time.perf_counter() - t) * 1000)
    points = sum(len(c.getData()[0] if c.getData()[0] is not None else ())
                 for c in window.wave_curves.values())
    window.close()
    window.deleteLater()
    app.processEvents()
    return {"open_to_first_paint_ms": round(open_ms, 1), "pan_zoom": _percentiles(times),
            "waveform_points_in_curves_after_last_op": points, "all_painted": painted}


def bench_review(quick: bool) -> dict[str, Any]:
    """The 4 h and 12 h sessions, review window beside the naive baseline, in one run."""
    from ketadesk.app import qt_app

    app = qt_app()
    out: dict[str, Any] = {
        "window": "1400x900 offscreen, software rendering",
        "pan_zoom_ops": "x ranges set directly: pans (a quarter of the span) alternating with "
                        "zooms (20 s to the whole session, log-uniform), each timed until "
                        "every plot view has painted",
        "targets": {"open_4h_ms": 1000, "open_12h_ms": 2500, "pan_zoom_p95_ms": 33},
        "naive": "every waveform sample loaded at open and handed whole to the curves; trends "
                 "without clipping or downsampling",
    }
    with tempfile.TemporaryDirectory(prefix="ketadesk-bench-review-") as tmp:
        d = Path(tmp)
        # Warm-up on a 1-minute file: Qt and pyqtgraph one-time set-up (fonts, shaders of the
        # raster engine) is not part of opening a recording.
        measure(generate(d / "warmup.kdrec", 1 / 60), windowed=True, n_ops=2, app=app)
        for label, hours in (("4h", 4.0), ("12h", 12.0)):
            t = time.perf_counter()
            path = generate(d / f"{label}.kdrec", hours)
            res: dict[str, Any] = {"generate_s_not_timed": round(time.perf_counter() - t, 1),
                                   "file_mb": round(path.stat().st_size / 1e6, 1)}
            res["review"] = measure(path, windowed=True, n_ops=50, app=app)
            # Capped: each naive op repaints millions of points (0.2-1 s), 50 of them would
            # take minutes; fewer still in --quick to stay under its 60 s.
            naive_ops = {("4h", True): 10, ("4h", False): 25, ("12h", True): 4,
                         ("12h", False): 10}[(label, quick)]
            res["naive"] = measure(path, windowed=False, n_ops=naive_ops, app=app)
            res["naive"]["capped_ops"] = f"{naive_ops} ops instead of 50 (slow by design)"
            out[label] = res
    r4, r12 = out["4h"]["review"], out["12h"]["review"]
    out["targets_met"] = {
        "open_4h": r4["open_to_first_paint_ms"] <= 1000,
        "open_12h": r12["open_to_first_paint_ms"] <= 2500,
        "pan_zoom_p95_4h": r4["pan_zoom"]["p95_ms"] <= 33,
        "pan_zoom_p95_12h": r12["pan_zoom"]["p95_ms"] <= 33,
    }
    return out


def main_probe() -> None:  # pragma: no cover - a developer aid
    import json
    import os
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    print(json.dumps(bench_review("--quick" in sys.argv), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main_probe()
