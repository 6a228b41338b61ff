"""A first SQLite recorder for `ketadesk record` (issue 2); the full format is issue 6.

WAL with synchronous=FULL and a commit at least once a second (DESIGN.md: lost no
acknowledged row under kill -9); waveforms as one float32 blob per chunk.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import SampleBatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS numerics (t_s REAL NOT NULL, channel TEXT NOT NULL, value REAL);
CREATE TABLE IF NOT EXISTS waveforms (channel TEXT NOT NULL, t0_s REAL NOT NULL,
    rate_hz REAL NOT NULL, n INTEGER NOT NULL, samples BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (t_s REAL NOT NULL, wall_time TEXT NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, who TEXT NOT NULL, data TEXT NOT NULL);
"""


class Recorder:
    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in meta.items()])
        self._db.commit()
        self._last_commit_s = float("-inf")

    def add_batch(self, batch: SampleBatch) -> None:
        if batch.numerics:
            self._db.executemany("INSERT INTO numerics VALUES (?, ?, ?)",
                                 [(s.t_s, s.channel, s.value) for s in batch.numerics])
        for w in batch.waveforms:
            self._db.execute("INSERT INTO waveforms VALUES (?, ?, ?, ?, ?)",
                             (w.channel, w.t0_s, w.rate_hz, len(w.values),
                              np.asarray(w.values, dtype="<f4").tobytes()))

    def add_events(self, events: list[SessionEvent]) -> None:
        self._db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
            [(e.t_s, e.wall_time, e.kind, e.detail, e.who, json.dumps(e.data)) for e in events])

    def flush(self, now_s: float, force: bool = False) -> None:
        if force or now_s - self._last_commit_s >= 1.0:
            self._db.commit()
            self._last_commit_s = now_s

    def close(self) -> None:
        self._db.commit()
        self._db.close()
