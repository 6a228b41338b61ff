"""Writing a session recording, and recovering sessions whose writer died.

One SQLite file per session, WAL with synchronous=FULL, committed at least once a second
(DESIGN.md: this lost no acknowledged row under kill -9). Clock-free: every method takes
session seconds. Everything added is kept in memory until a commit succeeds: a full disk or a
read-only directory sets `fault` (and calls `on_fault`) and the next due flush tries again;
nothing is dropped, so memory grows while the fault lasts (about 8 MB per hour of ECG 250 Hz +
pleth 125 Hz + 8 numerics at 1 Hz).

A lock file (see files.py) tells a live writer from a dead one; the meta table also names the
writer's pid and host, for people.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from ketadesk import __version__
from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import SampleBatch, WaveformChunk
from ketadesk.store import audit
from ketadesk.store.files import WriterLock, ensure_private_dir, lock_path, writer_alive
from ketadesk.store.records import (
    DETAIL_KEYS,
    SUFFIX,
    ScaleStatus,
    SessionMeta,
    SessionStatus,
    StoreError,
    canonical_json,
    session_file_name,
    to_jsonable,
)
from ketadesk.store.schema import (
    SCHEMA_VERSION,
    apply_migrations,
    check_recording,
    connect_readonly,
    create_schema,
)

COMMIT_INTERVAL_S = 1.0
BUSY_TIMEOUT_MS = 250  # a commit waits at most this long for a reader's lock; then retried

FaultHook = Callable[[str | None], None]
Connect = Callable[[Path], sqlite3.Connection]


def _default_connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _finite(value: float, what: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number of seconds, got {value!r}")
    return v + 0.0  # -0.0 -> 0.0: SQLite would return 0.0 and break the audit comparison


def _text(value: str | Enum) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


# ---- pending waveform rows ---------------------------------------------------------------

@dataclass
class _WaveRow:
    """Samples for one waveforms row (at most one second); `rowid` once stored provisionally."""

    channel: str
    t0_s: float
    rate_hz: float
    parts: list[npt.NDArray[np.float32]] = field(default_factory=list)
    n: int = 0
    rowid: int | None = None
    stored_n: int = 0

    def continues(self, chunk: WaveformChunk) -> bool:
        end = self.t0_s + self.n / self.rate_hz
        return chunk.rate_hz == self.rate_hz and abs(chunk.t0_s - end) <= 0.5 / self.rate_hz

    def blob(self) -> bytes:
        if len(self.parts) > 1:
            self.parts = [np.concatenate(self.parts)]
        return self.parts[0].tobytes()


def _row_capacity(rate_hz: float) -> int:
    return max(1, int(rate_hz))  # samples in one second (one sample for rates below 1 Hz)


@dataclass(frozen=True)
class _Entry:
    table: str
    row: dict[str, Any]


class RecordingWriter:
    """Appends one session to its recording file. Single-threaded: call from the session tick.

    `RecordingWriter(path, meta)` starts a new file (never overwrites);
    `RecordingWriter.resume(path)` appends to an interrupted one. Call `flush(now_s)` every
    tick (it commits once a second) and `close(now_s)` at the end.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: SessionMeta,
        *,
        on_fault: FaultHook | None = None,
        connect: Connect | None = None,
    ) -> None:
        self._setup(Path(path), on_fault, connect)
        if self.path.exists() or lock_path(self.path).exists():
            raise StoreError(f"{self.path} already exists: a new recording never overwrites a "
                             "file (RecordingWriter.resume appends to an interrupted one)")
        self.meta = meta
        identity = meta.identity()
        for key, value in identity.items():
            self._meta_updates[key] = value
        self._meta_updates["status"] = SessionStatus.OPEN.value
        self._meta_updates["end_t_s"] = None
        self._meta_updates.update(self._writer_info())
        self._audit(0.0, "opened", "meta", None, canonical_json(identity))
        # A directory that cannot be written yet is a fault like any other: data stays in
        # memory and creation is retried at each due flush.
        self._commit(0.0)

    @classmethod
    def create_in(
        cls, directory: str | os.PathLike[str], meta: SessionMeta, **kwargs: Any
    ) -> RecordingWriter:
        """Start a new recording in `directory` (created 0700 if missing), named by start time."""
        return cls(Path(directory) / session_file_name(meta), meta, **kwargs)

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike[str],
        *,
        on_fault: FaultHook | None = None,
        connect: Connect | None = None,
    ) -> RecordingWriter:
        """Append to an interrupted (or open, writer dead) recording, migrating it if older.

        Times continue in the same session seconds: start the new clock at `last_t_s`.
        """
        self, status = cls._attach(Path(path), on_fault, connect)
        try:
            if status is SessionStatus.CLOSED:
                raise StoreError(f"{self.path} was closed normally; start a new recording instead")
            if status is SessionStatus.OPEN:
                self._mark_interrupted()
            self._meta_updates.update(status=SessionStatus.OPEN.value, end_t_s=None)
            self._meta_updates.update(self._writer_info())
            self._audit(self.last_t_s, "resumed", "meta", None,
                        canonical_json({"app_version": __version__, **self._writer_info()}))
            if not self._commit(self.last_t_s):
                raise StoreError(f"cannot resume {self.path}: {self._fault}")
        except BaseException:
            self._release()
            raise
        return self

    # ---- state -----------------------------------------------------------------------------

    def _setup(self, path: Path, on_fault: FaultHook | None, connect: Connect | None) -> None:
        self.path = path
        self.on_fault = on_fault
        self._connect = connect or _default_connect
        self._conn: sqlite3.Connection | None = None
        self._needs_schema = False
        self._lock: WriterLock | None = None
        self._stored_meta: dict[str, Any] = {}
        self._numerics: list[tuple[float, str, float | None]] = []
        self._open_rows: dict[str, _WaveRow] = {}
        self._ready_rows: list[_WaveRow] = []
        self._entries: list[_Entry] = []
        self._meta_updates: dict[str, Any] = {}
        self._next_ids = {"events": 1, "alarms": 1, "scale_entries": 1}
        self._seq = 0
        self._last_hash = audit.GENESIS
        self._fault: str | None = None
        self._last_attempt_s: float | None = None
        self._committed_t_s: float | None = None
        self._last_t_s = 0.0
        self._unsaved_since_s: float | None = None
        self._closed = False
        self._close_recorded = False

    @staticmethod
    def _writer_info() -> dict[str, Any]:
        return {"writer_pid": os.getpid(), "writer_host": socket.gethostname()}

    @property
    def fault(self) -> str | None:
        """Why the last commit failed ("recording failure: ..."), None while all is written."""
        return self._fault

    @property
    def committed_t_s(self) -> float | None:
        """`now_s` of the last successful commit: everything added before it is on disk."""
        return self._committed_t_s

    @property
    def last_t_s(self) -> float:
        """The latest session time seen (data or flush); a resumed session continues after it."""
        return self._last_t_s

    @property
    def pending_rows(self) -> int:
        """Rows waiting in memory for the next commit (waveform rows counted once each)."""
        waves = (*self._ready_rows, *self._open_rows.values())
        return (len(self._numerics) + len(self._entries)
                + sum(1 for r in waves if r.n > r.stored_n))

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the recording {self.path.name} is closed; nothing more can be added")

    def _seen(self, t_s: float) -> None:
        if t_s > self._last_t_s:
            self._last_t_s = t_s
        if self._unsaved_since_s is None:
            self._unsaved_since_s = t_s

    # ---- adding ----------------------------------------------------------------------------

    def add_batch(self, batch: SampleBatch) -> None:
        """Queue a source batch's numerics and waveforms (status events go in via add_event).

        The whole batch is checked before anything is queued, so a bad sample queues nothing.
        """
        self._check_open()
        numerics = []
        for s in batch.numerics:
            if not s.channel:
                raise ValueError("numeric sample without a channel id")
            value = float(s.value)
            numerics.append((_finite(s.t_s, f"numeric {s.channel} t_s"), s.channel,
                             value if not math.isnan(value) else None))
        chunks = []
        for c in batch.waveforms:
            if not c.channel:
                raise ValueError("waveform chunk without a channel id")
            _finite(c.t0_s, f"waveform {c.channel} t0_s")
            if not (math.isfinite(c.rate_hz) and c.rate_hz > 0):
                raise ValueError(f"waveform {c.channel} rate_hz must be > 0, got {c.rate_hz!r}")
            values = np.array(c.values, dtype="<f4", copy=True)  # the source may reuse its array
            if values.ndim != 1:
                raise ValueError(f"waveform {c.channel} values must be 1-D, got shape "
                                 f"{values.shape}")
            chunks.append((c, values))
        self._numerics.extend(numerics)
        for t_s, _, _ in numerics:
            self._seen(t_s)
        for c, values in chunks:
            if len(values):
                self._queue_waveform(c, values)
                self._seen(c.t0_s + (len(values) - 1) / c.rate_hz)

    def _queue_waveform(self, chunk: WaveformChunk, values: npt.NDArray[np.float32]) -> None:
        rate = float(chunk.rate_hz)
        cap = _row_capacity(rate)
        row = self._open_rows.pop(chunk.channel, None)
        if row is not None and not row.continues(chunk):
            self._ready_rows.append(row)  # a gap or a new rate starts a new row
            row = None
        i = 0
        while i < len(values):
            if row is None:
                row = _WaveRow(chunk.channel, float(chunk.t0_s) + i / rate, rate)
            take = min(cap - row.n, len(values) - i)
            row.parts.append(values[i:i + take])
            row.n += take
            i += take
            if row.n >= cap:
                self._ready_rows.append(row)
                row = None
        if row is not None:
            self._open_rows[chunk.channel] = row

    def add_event(self, event: SessionEvent) -> int:
        """Queue a session event; returns its id in the recording."""
        self._check_open()
        t_s = _finite(event.t_s, f"event {event.kind!r} t_s")
        return self._add_entry("events", t_s, {
            "wall_time": str(event.wall_time), "kind": str(event.kind),
            "detail": str(event.detail), "who": str(event.who),
            "data": canonical_json(to_jsonable(event.data)),
        })

    def update_details(self, t_s: float, **details: Any) -> None:
        """Fill in patient, clinician or plan once known (set up after monitoring began).

        Each change goes into the audit chain, so the verifier accepts the new meta.
        """
        self._check_open()
        unknown = sorted(set(details) - set(DETAIL_KEYS))
        if unknown:
            raise ValueError(f"cannot change {', '.join(unknown)}; allowed: {', '.join(DETAIL_KEYS)}")
        t = _finite(t_s, "details t_s")
        clean = {k: to_jsonable(v) for k, v in details.items()}
        self._meta_updates.update(clean)
        self._audit(t, "details", "meta", None, canonical_json(clean))

    def add_alarm(
        self,
        t_s: float,
        channel: str | None,
        priority: str | Enum,
        state: str | Enum,
        value: float | None = None,
        message: str = "",
        who: str = "",
    ) -> int:
        """Queue an alarm state change (raised, acknowledged, cleared ...); returns its id."""
        self._check_open()
        t = _finite(t_s, "alarm t_s")
        v = None if value is None or not math.isfinite(float(value)) else float(value) + 0.0
        return self._add_entry("alarms", t, {
            "channel": channel or "", "priority": _text(priority), "state": _text(state),
            "value": v, "message": str(message), "who": str(who),
        })

    def add_scale_entry(
        self,
        t_s: float,
        scale: str,
        status: ScaleStatus | str,
        total: float | None,
        subscales: Mapping[str, Any],
        answers: Mapping[str, Any],
        who: str = "",
        edit_of: int | None = None,
        reason: str = "",
    ) -> int:
        """Queue a scale entry; an edit names the entry it corrects and why. Returns its id."""
        self._check_open()
        t = _finite(t_s, "scale entry t_s")
        if not scale:
            raise ValueError("scale entry without a scale name")
        try:
            st = ScaleStatus(_text(status))
        except ValueError:
            allowed = ", ".join(s.value for s in ScaleStatus)
            raise ValueError(
                f"scale entry status {status!r} is not allowed; use {allowed}") from None
        if edit_of is not None:
            if not 1 <= edit_of < self._next_ids["scale_entries"]:
                raise ValueError(f"edit_of={edit_of} names no recorded scale entry")
            if not reason.strip():
                raise ValueError("an edit of a scale entry needs a reason")
        tot = None if total is None or not math.isfinite(float(total)) else float(total) + 0.0
        return self._add_entry("scale_entries", t, {
            "scale": str(scale), "status": st.value, "total": tot,
            "subscales": canonical_json(to_jsonable(subscales)),
            "answers": canonical_json(to_jsonable(answers)),
            "who": str(who), "edit_of": edit_of, "reason": str(reason),
        })

    def _add_entry(self, table: str, t_s: float, fields: dict[str, Any]) -> int:
        ident = self._next_ids[table]
        self._next_ids[table] = ident + 1
        row = {"id": ident, "t_s": t_s, **fields}
        self._entries.append(_Entry(table, row))
        self._audit(t_s, "insert", table, ident, canonical_json(row))
        self._seen(t_s)
        return ident

    def _audit(self, t_s: float, action: str, tbl: str, ref_id: int | None, payload: str) -> None:
        self._seq += 1
        row = audit.make_audit_row(self._seq, t_s + 0.0, action, tbl, ref_id, payload,
                                   self._last_hash)
        self._last_hash = row["hash"]
        self._entries.append(_Entry("audit", row))

    # ---- committing ------------------------------------------------------------------------

    def flush(self, now_s: float, *, force: bool = False) -> bool:
        """Commit if forced or at least COMMIT_INTERVAL_S since the last attempt.

        Returns True when a commit succeeded. Call it every tick; after a failure the next
        due flush retries with everything still pending.
        """
        self._check_open()
        now = _finite(now_s, "flush now_s")
        # The tolerance keeps float noise (2.6 - 1.6 < 1.0) from pushing a commit a tick late.
        due = (self._last_attempt_s is None
               or now - self._last_attempt_s >= COMMIT_INTERVAL_S - 1e-9)
        if not (force or due):
            return False
        return self._commit(now)

    def _commit(self, now_s: float) -> bool:
        self._last_attempt_s = now_s
        if now_s > self._last_t_s:
            self._last_t_s = now_s
        try:
            if self._conn is None:
                self._create_file()
            new_rowids = self._write_pending()
        except (sqlite3.Error, OSError) as exc:
            self._rollback()
            # Stable text while the cause lasts, so on_fault hears of each new cause once;
            # the amount waiting is in pending_rows.
            since = "" if self._unsaved_since_s is None else (
                f" since t={self._unsaved_since_s:.0f} s")
            self._set_fault(f"recording failure: cannot write {self.path.name}: {exc}; "
                            f"data kept in memory{since}, retrying every second")
            return False
        for row, rowid in new_rowids:
            row.rowid = rowid
        for row in self._open_rows.values():
            row.stored_n = row.n
        self._numerics.clear()
        self._ready_rows.clear()
        self._entries.clear()
        self._meta_updates.clear()
        if self._needs_schema:
            self._restrict_permissions()  # -wal and -shm exist only after the first write
            self._needs_schema = False
        self._committed_t_s = now_s
        self._unsaved_since_s = None
        self._set_fault(None)
        return True

    def _write_pending(self) -> list[tuple[_WaveRow, int]]:
        conn = self._conn
        assert conn is not None
        new_rowids: list[tuple[_WaveRow, int]] = []
        conn.execute("BEGIN IMMEDIATE")
        if self._needs_schema:
            create_schema(conn)
        if self._numerics:
            conn.executemany("INSERT INTO numerics (t_s, channel, value) VALUES (?, ?, ?)",
                             self._numerics)
        rows = [r for r in (*self._ready_rows, *self._open_rows.values()) if r.n > r.stored_n]
        for row in rows:
            if row.rowid is None:
                cur = conn.execute(
                    "INSERT INTO waveforms (channel, t0_s, rate_hz, n, samples) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (row.channel, row.t0_s, row.rate_hz, row.n, row.blob()))
                if row.channel in self._open_rows and self._open_rows[row.channel] is row:
                    assert cur.lastrowid is not None
                    new_rowids.append((row, cur.lastrowid))
            else:
                conn.execute("UPDATE waveforms SET n = ?, samples = ? WHERE id = ?",
                             (row.n, row.blob(), row.rowid))
        for entry in self._entries:
            cols = ", ".join(entry.row)
            marks = ", ".join(f":{c}" for c in entry.row)
            conn.execute(f"INSERT INTO {entry.table} ({cols}) VALUES ({marks})", entry.row)
        # The chain's head in meta lets verification notice rows cut from the end of the chain.
        meta = {**self._meta_updates, "last_t_s": self._last_t_s, "audit_seq": self._seq,
                "audit_head": self._last_hash}
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         [(k, canonical_json(v)) for k, v in meta.items()])
        conn.execute("COMMIT")
        return new_rowids

    def _rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            # If even this fails the connection is unusable; the next commit reports it again.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _set_fault(self, fault: str | None) -> None:
        changed = fault != self._fault
        self._fault = fault
        if changed and self.on_fault is not None:
            self.on_fault(fault)

    def _create_file(self) -> None:
        ensure_private_dir(self.path.parent)
        self._lock = self._lock or WriterLock.acquire(self.path)
        created = False
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            created = True
            self._open_connection()
            self._needs_schema = True  # created in the first commit, with the meta: atomic
        except BaseException:
            self._rollback()
            self._close_connection()
            if created:  # still empty: creation is retried at the next due flush
                with contextlib.suppress(OSError):
                    self.path.unlink()
            raise

    def _open_connection(self) -> sqlite3.Connection:
        conn = self._connect(self.path)
        self._conn = conn
        conn.isolation_level = None  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch {self.path.name} to WAL (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _restrict_permissions(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(OSError):
                os.chmod(p, 0o600)

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _release(self, unlink_lock: bool = False) -> None:
        self._close_connection()
        if self._lock is not None:
            self._lock.release(unlink=unlink_lock)
            self._lock = None

    # ---- existing files --------------------------------------------------------------------

    @classmethod
    def _attach(
        cls, path: Path, on_fault: FaultHook | None, connect: Connect | None
    ) -> tuple[RecordingWriter, SessionStatus]:
        """A writer holding the lock of an existing recording, and the file's status."""
        self = cls.__new__(cls)
        self._setup(path, on_fault, connect)
        self._open_existing()
        return self, self._stored_status

    def _open_existing(self) -> None:
        """Lock, check and load the state of an existing recording; migrate it if older."""
        ro = connect_readonly(self.path)  # clear errors for foreign or newer files first
        try:
            check_recording(ro, self.path)
        finally:
            ro.close()
        self._lock = WriterLock.acquire(self.path)
        try:
            conn = self._open_connection()
            info = check_recording(conn, self.path)
            self._stored_meta = info.meta
            try:
                self.meta = SessionMeta.from_identity(info.meta)
                self._stored_status = SessionStatus(info.meta["status"])
            except (KeyError, ValueError, TypeError) as exc:
                raise StoreError(f"{self.path} is not a KetaDesk recording: bad meta ({exc})"
                                 ) from None
            for table in self._next_ids:
                (max_id,) = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
                self._next_ids[table] = int(max_id) + 1
            last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            if last is not None:
                self._seq, self._last_hash = int(last[0]), str(last[1])
            self._last_t_s = float(info.meta.get("last_t_s") or 0.0)
            if info.version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                done = apply_migrations(conn, info.version)
                conn.execute("COMMIT")
                for m in done:
                    self._audit(self._last_t_s, "migrated", "meta", None,
                                canonical_json({"to_version": m.to_version,
                                                "description": m.description}))
            self._restrict_permissions()
        except BaseException:
            self._rollback()
            self._release()
            raise

    def _mark_interrupted(self) -> None:
        self._meta_updates.update(status=SessionStatus.INTERRUPTED.value, end_t_s=self._last_t_s)
        self._audit(self._last_t_s, SessionStatus.INTERRUPTED.value, "meta", None,
                    canonical_json({"end_t_s": self._last_t_s,
                                    "dead_writer_pid": self._stored_meta.get("writer_pid"),
                                    "dead_writer_host": self._stored_meta.get("writer_host")}))

    # ---- ending ----------------------------------------------------------------------------

    def close(self, now_s: float | None = None,
              status: SessionStatus = SessionStatus.CLOSED) -> None:
        """End the session: status and end time, a final commit, lock released.

        Raises StoreError if the final commit fails; everything stays in memory and close()
        can be called again. Closing twice is harmless.
        """
        if self._closed:
            return
        if status is SessionStatus.OPEN:
            raise ValueError("close() needs status closed or interrupted, not open")
        end = self._last_t_s if now_s is None else max(_finite(now_s, "close now_s"),
                                                        self._last_t_s)
        if not self._close_recorded:
            for row in self._open_rows.values():
                self._ready_rows.append(row)  # the last partial second is final now
            self._open_rows.clear()
            self._meta_updates.update(status=status.value, end_t_s=end)
            self._audit(end, status.value, "meta", None, canonical_json({"end_t_s": end}))
            self._close_recorded = True
        if not self._commit(end):
            raise StoreError(f"{self._fault}; the recording is not closed yet")
        self._closed = True
        self._release(unlink_lock=True)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(status=SessionStatus.CLOSED if et is None else SessionStatus.INTERRUPTED)


def find_unfinished(directory: str | os.PathLike[str]) -> list[Path]:
    """Recordings still marked open whose writer is dead (crash, kill, power loss)."""
    found: list[Path] = []
    for path in sorted(Path(directory).glob(f"*{SUFFIX}")):
        if writer_alive(path):
            continue
        try:
            conn = connect_readonly(path)
            try:
                status = check_recording(conn, path).meta.get("status")
            finally:
                conn.close()
        except StoreError:
            continue  # unreadable files are listed (with their problem) by catalog.list_sessions
        if status == SessionStatus.OPEN.value:
            found.append(path)
    return found


def close_as_interrupted(path: str | os.PathLike[str]) -> SessionStatus:
    """Mark a recording whose writer died as interrupted at its last committed time.

    Returns the status afterwards (a closed or already interrupted file is left as it is).
    Raises StoreError if a live writer holds it or the file is not a recording.
    """
    writer, status = RecordingWriter._attach(Path(path), None, None)
    try:
        if status is SessionStatus.OPEN:
            writer._mark_interrupted()
            status = SessionStatus.INTERRUPTED
        if writer._entries and not writer._commit(writer.last_t_s):
            raise StoreError(f"cannot mark {path} as interrupted: {writer.fault}")
    except BaseException:
        writer._release()
        raise
    writer._release(unlink_lock=True)
    return status
