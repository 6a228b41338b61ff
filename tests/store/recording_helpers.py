"""Shared pieces for the recording-store tests: metadata, synthetic seconds, a faulty connection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, WaveformChunk
from ketadesk.store.records import SessionMeta

NUMERIC_CHANNELS = ("hr", "spo2", "rr")
ECG_HZ = 250.0
PLETH_HZ = 125.0
CHUNKS_PER_S = 5


def make_meta(**overrides: Any) -> SessionMeta:
    values: dict[str, Any] = {
        "patient_id": "P-0042",
        "clinician": "AB",
        "source_name": "simulator",
        "provenance": Provenance.SIMULATED,
        "start_wall_time": datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        "plan": {"dose_mg_per_kg": 0.5, "weight_kg": 70.0, "duration_min": 40},
        "config": {"alarms": {"hr": {"low": 50, "high": 120}, "spo2": {"low": 90}}},
    }
    values.update(overrides)
    return SessionMeta(**values)


def numeric_value(channel: str, k: int) -> float:
    return 60.0 + NUMERIC_CHANNELS.index(channel) * 10 + (k % 7) * 0.25


def ecg_values(k: int) -> np.ndarray:
    """Sample values of second k, distinct everywhere so misplaced samples are caught."""
    return (k * 1000 + np.arange(int(ECG_HZ))).astype(np.float32)


def pleth_values(k: int) -> np.ndarray:
    return (-k * 1000 - np.arange(int(PLETH_HZ))).astype(np.float32)


def second_batches(k: int) -> list[SampleBatch]:
    """Second k of synthetic data: numerics at t=k, waveforms in 200 ms chunks."""
    ecg, pleth = ecg_values(k), pleth_values(k)
    ne, npl = len(ecg) // CHUNKS_PER_S, len(pleth) // CHUNKS_PER_S
    out = []
    for j in range(CHUNKS_PER_S):
        t = k + j / CHUNKS_PER_S
        numerics = tuple(NumericSample(ch, float(k), numeric_value(ch, k))
                         for ch in NUMERIC_CHANNELS) if j == 0 else ()
        out.append(SampleBatch(numerics=numerics, waveforms=(
            WaveformChunk("ecg_ii", t, ECG_HZ, ecg[j * ne:(j + 1) * ne]),
            WaveformChunk("pleth", t, PLETH_HZ, pleth[j * npl:(j + 1) * npl]))))
    return out


class FaultyConnection(sqlite3.Connection):
    """A real connection whose writes fail with a chosen error while `fail_with` is set.

    A full disk cannot be made without privileges (no tmpfs) and root ignores chmod, so the
    storage faults are injected here, at the same calls SQLite itself would fail.
    """

    fail_with: str | None = None

    def _maybe_fail(self, sql: str) -> None:
        if self.fail_with and sql.lstrip().split(None, 1)[0].upper() in (
                "INSERT", "UPDATE", "COMMIT"):
            raise sqlite3.OperationalError(self.fail_with)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._maybe_fail(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._maybe_fail(sql)
        return super().executemany(sql, *args)


def faulty_connect(holder: list[FaultyConnection]) -> Any:
    """A `connect` hook for RecordingWriter that keeps the connection where the test sees it."""
    def connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, factory=FaultyConnection)
        assert isinstance(conn, FaultyConnection)
        holder.append(conn)
        return conn
    return connect
