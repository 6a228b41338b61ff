"""File permissions and schema migrations."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from recording_helpers import make_meta, second_batches

from ketadesk.store.files import lock_path
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SessionStatus, StoreError
from ketadesk.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    apply_migrations,
    statements,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_recording_files_are_owner_only(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "ketadesk"
    w = RecordingWriter.create_in(directory, make_meta())
    for b in second_batches(0):
        w.add_batch(b)
    assert w.flush(1.0)
    # while recording: database, WAL, shared memory and lock all exist and are 0600
    for suffix in ("", "-wal", "-shm", ".lock"):
        assert mode(w.path.with_name(w.path.name + suffix)) == 0o600, suffix
    assert mode(directory) == 0o700
    w.close(1.0)
    assert mode(w.path) == 0o600
    assert not lock_path(w.path).exists()  # a clean close removes the lock file


def test_new_files_are_created_at_the_current_version_through_every_migration(
        tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    w.close(0.0)
    conn = sqlite3.connect(w.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"events_t", "alarms_t", "scale_entries_t"} <= indexes  # added by migration 2
    conn.close()


def make_v1_file(tmp_path: Path) -> Path:
    """A recording as version 1 wrote it: version 2 only added three indexes."""
    w = RecordingWriter.create_in(tmp_path, make_meta())
    for b in second_batches(0):
        w.add_batch(b)
    w.close(1.0, status=SessionStatus.INTERRUPTED)
    conn = sqlite3.connect(w.path)
    for index in ("events_t", "alarms_t", "scale_entries_t"):
        conn.execute(f"DROP INDEX {index}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    return w.path


def test_v1_file_is_read_as_is_and_migrated_when_resumed(tmp_path: Path) -> None:
    path = make_v1_file(tmp_path)
    with open_recording(path) as rec:
        assert rec.schema_version == 1
        assert len(rec.waveform("ecg_ii").t_s) == 250
    w = RecordingWriter.resume(path)
    w.close(2.0)
    with open_recording(path) as rec:
        assert rec.schema_version == SCHEMA_VERSION
        assert rec.verify_audit().ok
        actions = [r[0] for r in rec._conn.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[-3:] == ["migrated", "resumed", "closed"]


def test_migration_runner_applies_in_order_and_refuses_gaps(tmp_path: Path) -> None:
    path = make_v1_file(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    noop = Migration(SCHEMA_VERSION + 1, "no-op", "")
    conn.execute("BEGIN")
    done = apply_migrations(conn, 1, (*MIGRATIONS, noop))
    conn.execute("COMMIT")
    assert [m.to_version for m in done] == [*(m.to_version for m in MIGRATIONS), noop.to_version]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == noop.to_version
    with pytest.raises(StoreError, match="gap"):
        apply_migrations(conn, noop.to_version, (Migration(noop.to_version + 2, "x", ""),))
    conn.close()
    # a file at a version this KetaDesk does not know is refused, not misread
    with pytest.raises(StoreError, match=f"newer KetaDesk .*version {noop.to_version}"):
        open_recording(path)


def test_statement_splitter_keeps_triggers_whole() -> None:
    script = ("CREATE TABLE t (x);\n"
              "CREATE TRIGGER t_no BEFORE DELETE ON t\nBEGIN SELECT RAISE(ABORT, 'no'); END;\n"
              "-- trailing comment\n")
    assert len(statements(script)) == 2
    with pytest.raises(ValueError, match="incomplete SQL"):
        statements("CREATE TABLE t (x)")
