"""Reading a recording back: meta, numerics, waveform windows, events, alarms, scale entries.

The reading API for review mode, reports and exports. Opens read-only (a recording still being
written can be read; it shows what was committed). Arrays are numpy; pandas is imported only
by `numerics_frame()`. Any SQLite error while reading becomes a StoreError naming the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ketadesk.core.events import SessionEvent
from ketadesk.store import audit
from ketadesk.store.records import (
    AlarmRecord,
    ScaleRecord,
    ScaleStatus,
    SessionMeta,
    SessionStatus,
    StoreError,
)
from ketadesk.store.schema import check_recording, connect_readonly

if TYPE_CHECKING:
    import pandas as pd


class Series(NamedTuple):
    """Sample times (session seconds, float64) and values (NaN = no valid value)."""

    t_s: npt.NDArray[np.float64]
    values: npt.NDArray[np.floating[Any]]  # float64 for numerics, float32 for waveforms


class Recording:
    """One opened recording. Use as a context manager or call close()."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        with self._reading():
            info = check_recording(conn, path)
            try:
                self.meta = SessionMeta.from_identity(info.meta)
                self.status = SessionStatus(info.meta["status"])
            except (KeyError, ValueError, TypeError) as exc:
                raise StoreError(f"{path} is not a KetaDesk recording: bad meta ({exc})") from None
        self.schema_version = info.version
        end = info.meta.get("end_t_s")
        self.end_t_s: float | None = None if end is None else float(end)
        self.last_t_s = float(info.meta.get("last_t_s") or 0.0)  # writer heartbeat
        self.writer = (info.meta.get("writer_pid"), info.meta.get("writer_host"))
        self._max_row_s: dict[str, float] = {}

    @property
    def duration_s(self) -> float:
        """Seconds from start to the end time (closed/interrupted) or to the last commit (open)."""
        return self.end_t_s if self.end_t_s is not None else self.last_t_s

    def wall_time(self, t_s: float) -> datetime:
        """Wall-clock time of a session time (start wall time + monotonic seconds)."""
        return self.meta.start_wall_time + timedelta(seconds=t_s)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, ValueError, TypeError) as exc:  # ValueError: bad JSON in a row
            raise StoreError(f"{self.path} cannot be read (damaged or truncated?): {exc}") from None

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._reading():
            return self._conn.execute(sql, params).fetchall()

    # ---- numerics --------------------------------------------------------------------------

    def numeric_channels(self) -> tuple[str, ...]:
        return tuple(r[0] for r in self._all("SELECT DISTINCT channel FROM numerics ORDER BY 1"))

    def numeric(self, channel: str) -> Series:
        """One numeric channel in time order (an unknown channel gives empty arrays)."""
        rows = self._all("SELECT t_s, value FROM numerics WHERE channel = ? ORDER BY t_s",
                         (channel,))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 2)  # NULL (stored NaN) -> nan
        return Series(np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1]))

    def numerics(self) -> dict[str, Series]:
        return {ch: self.numeric(ch) for ch in self.numeric_channels()}

    def numerics_frame(self) -> pd.DataFrame:
        """All numerics as a long DataFrame (t_s, channel, value) sorted by channel and time."""
        import pandas as pd  # lazily: ~0.25 s to import, review/export only

        with self._reading():
            return pd.read_sql_query(
                "SELECT t_s, channel, value FROM numerics ORDER BY channel, t_s", self._conn,
                dtype={"t_s": "float64", "channel": "object", "value": "float64"})

    # ---- waveforms -------------------------------------------------------------------------

    def waveform_channels(self) -> tuple[str, ...]:
        return tuple(r[0] for r in self._all("SELECT DISTINCT channel FROM waveforms ORDER BY 1"))

    def waveform(
        self, channel: str, t0_s: float | None = None, t1_s: float | None = None
    ) -> Series:
        """Samples with t0_s <= t < t1_s (either bound may be None), reading only those rows.

        Values are float32; a gap between rows is not filled (check the time steps).
        """
        sql = "SELECT t0_s, rate_hz, n, samples FROM waveforms WHERE channel = ?"
        params: list[Any] = [channel]
        if t0_s is not None:
            sql += " AND t0_s > ?"  # a row starting before t0_s may still reach into the window
            params.append(t0_s - self._max_row_span_s(channel))
        if t1_s is not None:
            sql += " AND t0_s < ?"
            params.append(t1_s)
        rows = self._all(sql + " ORDER BY t0_s, id", tuple(params))
        if not rows:
            return Series(np.empty(0, np.float64), np.empty(0, np.float32))
        t0 = np.fromiter((r[0] for r in rows), np.float64, len(rows))
        rate = np.fromiter((r[1] for r in rows), np.float64, len(rows))
        n = np.fromiter((r[2] for r in rows), np.int64, len(rows))
        values = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").astype(np.float32)
        if len(values) != int(n.sum()):
            raise StoreError(f"{self.path}: waveform {channel} rows do not match their lengths")
        # Sample i of a row is at t0 + i / rate; computed for all rows at once.
        starts = (np.cumsum(n) - n).astype(np.float64)
        if np.all(rate == rate[0]):  # the usual case: 2 passes instead of 5
            t = np.repeat(t0 - starts / rate[0], n) + np.arange(len(values)) / rate[0]
        else:
            t = np.repeat(t0 - starts / rate, n) + np.arange(len(values)) / np.repeat(rate, n)
        keep = np.ones(len(t), dtype=bool)
        if t0_s is not None:
            keep &= t >= t0_s
        if t1_s is not None:
            keep &= t < t1_s
        if keep.all():
            return Series(t, values)
        return Series(t[keep], values[keep])

    def waveform_blocks(
        self, channel: str, rows_per_block: int = 2000
    ) -> Iterator[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                        npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Every row of a channel in time order, a block of rows at a time: (t0_s, rate_hz,
        n, values of the block's rows joined). For whole-recording passes (the review's
        min/max envelope) without holding every sample in memory at once."""
        with self._reading():
            cur = self._conn.execute("SELECT t0_s, rate_hz, n, samples FROM waveforms "
                                     "WHERE channel = ? ORDER BY t0_s, id", (channel,))
            while rows := cur.fetchmany(rows_per_block):
                n = np.fromiter((r[2] for r in rows), np.int64, len(rows))
                values = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4")
                if len(values) != int(n.sum()):
                    raise StoreError(f"{self.path}: waveform {channel} rows do not match "
                                     "their lengths")
                yield (np.fromiter((r[0] for r in rows), np.float64, len(rows)),
                       np.fromiter((r[1] for r in rows), np.float64, len(rows)), n,
                       values.astype(np.float32))

    def _max_row_span_s(self, channel: str) -> float:
        if channel not in self._max_row_s:
            (span,) = self._all("SELECT max(n / rate_hz) FROM waveforms WHERE channel = ?",
                                (channel,))[0]
            self._max_row_s[channel] = float(span or 0.0) + 1e-9
        return self._max_row_s[channel]

    # ---- events, alarms, scales ------------------------------------------------------------

    def events(self) -> tuple[SessionEvent, ...]:
        rows = self._all("SELECT t_s, wall_time, kind, detail, who, data FROM events ORDER BY id")
        with self._reading():
            return tuple(SessionEvent(t, w, k, d, who, json.loads(data))
                         for t, w, k, d, who, data in rows)

    def alarms(self) -> tuple[AlarmRecord, ...]:
        rows = self._all("SELECT id, t_s, channel, priority, state, value, message, who "
                         "FROM alarms ORDER BY id")
        return tuple(AlarmRecord(i, t, ch, p, st, float("nan") if v is None else v, m, who)
                     for i, t, ch, p, st, v, m, who in rows)

    def scale_entries(self, *, current_only: bool = False) -> tuple[ScaleRecord, ...]:
        """All scale entries in entry order; `current_only` drops entries corrected by an edit."""
        rows = self._all("SELECT id, t_s, scale, status, total, subscales, answers, who, "
                         "edit_of, reason FROM scale_entries ORDER BY id")
        with self._reading():
            entries = tuple(
                ScaleRecord(i, t, sc, ScaleStatus(st), tot, json.loads(sub), json.loads(ans),
                            who, edit_of, reason)
                for i, t, sc, st, tot, sub, ans, who, edit_of, reason in rows)
        if not current_only:
            return entries
        corrected = {e.edit_of for e in entries if e.edit_of is not None}
        return tuple(e for e in entries if e.id not in corrected)

    def verify_audit(self) -> audit.AuditCheck:
        """Recompute the audit hash chain; see ketadesk.store.audit."""
        with self._reading():
            return audit.verify(self._conn)

    # ---- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a recording read-only; StoreError ("X is not a KetaDesk recording: ...") otherwise."""
    p = Path(path)
    conn = connect_readonly(p)
    try:
        return Recording(p, conn)
    except BaseException:
        conn.close()
        raise
