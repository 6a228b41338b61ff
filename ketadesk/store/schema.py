"""The recording's SQLite schema, its versions and migrations, and the check that a file is ours.

The format is documented in docs/recording-format.md. PRAGMA user_version holds the schema
version. A new file is built as version 1 and then migrated, so every migration runs on every
new recording and cannot rot untested.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ketadesk.store.records import FORMAT, IDENTITY_KEYS, StoreError

# Tables whose rows are never changed or removed; each row also sits in the audit chain
# (numerics only get the triggers: they are too many to chain, see docs/recording-format.md).
APPEND_ONLY = ("events", "alarms", "scale_entries", "audit", "numerics")


def _append_only_triggers(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be changed'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows cannot be deleted'); END;
"""


SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE numerics (t_s REAL NOT NULL, channel TEXT NOT NULL, value REAL);
-- Covering indexes: reading a channel (or a row's time span) never touches the table pages.
CREATE INDEX numerics_channel_t ON numerics (channel, t_s, value);
CREATE TABLE waveforms (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    t0_s REAL NOT NULL,
    rate_hz REAL NOT NULL CHECK (rate_hz > 0),
    n INTEGER NOT NULL CHECK (n > 0),
    samples BLOB NOT NULL CHECK (length(samples) = 4 * n)
);
CREATE INDEX waveforms_channel_t0 ON waveforms (channel, t0_s, n, rate_hz);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, t_s REAL NOT NULL, wall_time TEXT NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, who TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, t_s REAL NOT NULL, channel TEXT NOT NULL, priority TEXT NOT NULL,
    state TEXT NOT NULL, value REAL, message TEXT NOT NULL, who TEXT NOT NULL
);
CREATE TABLE scale_entries (
    id INTEGER PRIMARY KEY, t_s REAL NOT NULL, scale TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'partial')),
    total REAL, subscales TEXT NOT NULL, answers TEXT NOT NULL, who TEXT NOT NULL,
    edit_of INTEGER REFERENCES scale_entries (id), reason TEXT NOT NULL
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, t_s REAL NOT NULL, action TEXT NOT NULL, tbl TEXT NOT NULL,
    ref_id INTEGER, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
""" + "".join(_append_only_triggers(t) for t in APPEND_ONLY) + """
CREATE TRIGGER waveforms_no_delete BEFORE DELETE ON waveforms
BEGIN SELECT RAISE(ABORT, 'waveforms rows cannot be deleted'); END;
-- The newest row of a channel is written at every commit and may only grow afterwards, so a
-- crash loses at most the time since the last commit (see docs/recording-format.md).
CREATE TRIGGER waveforms_grow_only BEFORE UPDATE ON waveforms
WHEN NOT (NEW.id = OLD.id AND NEW.channel = OLD.channel AND NEW.t0_s = OLD.t0_s
          AND NEW.rate_hz = OLD.rate_hz AND NEW.n > OLD.n
          AND substr(NEW.samples, 1, length(OLD.samples)) = OLD.samples)
BEGIN SELECT RAISE(ABORT, 'waveforms rows may only be extended'); END;
"""


@dataclass(frozen=True)
class Migration:
    to_version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "time indexes on events, alarms and scale entries (review reads them by time window)",
        """
        CREATE INDEX IF NOT EXISTS events_t ON events (t_s);
        CREATE INDEX IF NOT EXISTS alarms_t ON alarms (t_s);
        CREATE INDEX IF NOT EXISTS scale_entries_t ON scale_entries (t_s);
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].to_version if MIGRATIONS else 1

REQUIRED_TABLES = ("meta", "numerics", "waveforms", "events", "alarms", "scale_entries", "audit")


def statements(script: str) -> list[str]:
    """Split a script into statements (triggers contain ';'), so they can run in one transaction.

    sqlite3.executescript() would commit first; creation and migration must be atomic instead.
    """
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        raise ValueError(f"incomplete SQL statement at the end of a script: {current.strip()!r}")
    return out


def create_schema(conn: sqlite3.Connection, version: int = SCHEMA_VERSION) -> None:
    """Create version 1, then migrate up to `version`; the caller owns the transaction."""
    for stmt in statements(SCHEMA_V1):
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 1")
    apply_migrations(conn, 1, [m for m in MIGRATIONS if m.to_version <= version])


def apply_migrations(
    conn: sqlite3.Connection, from_version: int, migrations: Sequence[Migration] = MIGRATIONS
) -> list[Migration]:
    """Run the migrations above `from_version` in order; the caller owns the transaction."""
    done: list[Migration] = []
    version = from_version
    for m in migrations:
        if m.to_version <= version:
            continue
        if m.to_version != version + 1:
            raise StoreError(f"migration list has a gap: from version {version} to {m.to_version}")
        for stmt in statements(m.sql):
            conn.execute(stmt)
        version = m.to_version
        conn.execute(f"PRAGMA user_version = {int(version)}")
        done.append(m)
    return done


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection (the file is never created or changed)."""
    if not path.is_file():
        raise StoreError(f"{path} does not exist or is not a file")
    try:
        return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path} cannot be opened: {exc}") from None


@dataclass(frozen=True)
class FileCheck:
    version: int
    meta: dict[str, Any]  # every meta key, JSON-decoded


def check_recording(
    conn: sqlite3.Connection, path: Path, newest: int = SCHEMA_VERSION
) -> FileCheck:
    """Make sure the file is a KetaDesk recording this version can read, or say why not."""
    what = f"{path} is not a KetaDesk recording"
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise StoreError(f"{what}: not a readable SQLite database ({exc})") from None
    if not tables:
        raise StoreError(f"{what}: it is empty (no tables)")
    if "meta" not in tables:
        raise StoreError(f"{what}: it has no meta table (tables: {', '.join(sorted(tables))})")
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
        meta = {str(k): json.loads(v) for k, v in rows}
    except (sqlite3.Error, ValueError, TypeError) as exc:
        raise StoreError(f"{what}: its meta table cannot be read ({exc})") from None
    if meta.get("format") != FORMAT:
        raise StoreError(f"{what}: meta 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
    if version > newest:
        raise StoreError(
            f"{path} was written by a newer KetaDesk (recording format version {version}; "
            f"this version reads versions 1 to {newest}): update KetaDesk to open it"
        )
    if version < 1:
        raise StoreError(f"{what}: unknown format version {version} (expected 1 to {newest})")
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise StoreError(f"{what}: tables missing: {', '.join(missing)}")
    absent = [k for k in (*IDENTITY_KEYS, "status") if k not in meta]
    if absent:
        raise StoreError(f"{what}: meta keys missing: {', '.join(absent)}")
    return FileCheck(version, meta)
