"""Storage faults: nothing is dropped, the fault is reported, everything is written once possible.

Root ignores chmod, and an unprivileged full disk cannot be made, so faults come from a
connection that fails like a full disk, SQLite's own query_only switch (a real "readonly
database" error) and a directory path blocked by a file (a real OS error at creation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recording_helpers import (
    FaultyConnection,
    ecg_values,
    faulty_connect,
    make_meta,
    second_batches,
)

from ketadesk.core.events import SessionEvent
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import StoreError

DISK_FULL = "database or disk is full"


def add_second(w: RecordingWriter, k: int) -> None:
    for b in second_batches(k):
        w.add_batch(b)


def committed_ecg_seconds(path: Path) -> int:
    with open_recording(path) as rec:
        return len(rec.waveform("ecg_ii").t_s) // 250


def test_disk_full_keeps_everything_and_writes_it_when_space_returns(tmp_path: Path) -> None:
    conns: list[FaultyConnection] = []
    faults: list[str | None] = []
    w = RecordingWriter.create_in(tmp_path, make_meta(), connect=faulty_connect(conns),
                                  on_fault=faults.append)
    add_second(w, 0)
    assert w.flush(1.0) and w.fault is None

    conns[0].fail_with = DISK_FULL
    for k in range(1, 4):
        add_second(w, k)
        w.add_event(SessionEvent(k + 0.5, "", "note", f"note {k}", "AB"))
        assert not w.flush(k + 1.0)
    assert w.fault is not None and w.fault.startswith("recording failure")
    assert DISK_FULL in w.fault
    assert len(faults) == 1  # the hook hears of a new fault once, not at every retry
    assert w.pending_rows > 0 and w.committed_t_s == 1.0
    assert committed_ecg_seconds(w.path) == 1  # nothing half-written

    assert not w.flush(4.5)  # not due yet: retries keep the once-a-second pace
    conns[0].fail_with = None
    assert w.flush(5.0)
    assert w.fault is None and faults == [faults[0], None] and w.pending_rows == 0
    w.close(5.0)
    with open_recording(w.path) as rec:
        np.testing.assert_array_equal(rec.waveform("ecg_ii").values,
                                      np.concatenate([ecg_values(k) for k in range(4)]))
        assert [e.detail for e in rec.events()] == ["note 1", "note 2", "note 3"]
        assert len(rec.numeric("hr").t_s) == 4
        assert rec.verify_audit().ok


def test_read_only_database_is_a_fault_not_a_crash(tmp_path: Path) -> None:
    conns: list[FaultyConnection] = []
    w = RecordingWriter.create_in(tmp_path, make_meta(), connect=faulty_connect(conns))
    conns[0].execute("PRAGMA query_only = ON")  # SQLite itself now refuses every write
    add_second(w, 0)
    assert not w.flush(1.0)
    assert w.fault is not None and "readonly database" in w.fault
    conns[0].execute("PRAGMA query_only = OFF")
    add_second(w, 1)
    assert w.flush(2.0) and w.fault is None
    w.close(2.0)
    assert committed_ecg_seconds(w.path) == 2


def test_unwritable_directory_at_start_is_retried_until_it_can_be_created(
        tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    faults: list[str | None] = []
    w = RecordingWriter.create_in(blocker / "ketadesk", make_meta(), on_fault=faults.append)
    assert w.fault is not None and "recording failure" in w.fault and len(faults) == 1
    add_second(w, 0)
    w.add_alarm(0.5, None, "high", "raised", None, "recording failure")
    assert not w.flush(1.0) and not w.path.exists()
    blocker.unlink()
    add_second(w, 1)
    assert w.flush(2.0) and w.fault is None and faults[-1] is None
    w.close(2.0)
    assert committed_ecg_seconds(w.path) == 2
    with open_recording(w.path) as rec:
        assert rec.alarms()[0].message == "recording failure"
        assert rec.verify_audit().ok


def test_failed_close_can_be_repeated(tmp_path: Path) -> None:
    conns: list[FaultyConnection] = []
    w = RecordingWriter.create_in(tmp_path, make_meta(), connect=faulty_connect(conns))
    add_second(w, 0)
    conns[0].fail_with = DISK_FULL
    with pytest.raises(StoreError, match="recording failure.*not closed yet"):
        w.close(1.0)
    assert not w.closed
    conns[0].fail_with = None
    w.close(1.0)
    assert w.closed
    with open_recording(w.path) as rec:
        assert rec.end_t_s == 1.0 and rec.verify_audit().ok
        assert committed_ecg_seconds(w.path) == 1


def test_flush_commits_once_a_second_unless_forced(tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())  # first commit at t=0
    assert [w.flush(t) for t in (0.4, 0.99, 1.0, 1.5, 2.0)] == [False, False, True, False, True]
    assert w.flush(2.1, force=True) and w.committed_t_s == 2.1
    w.close(3.0)


def test_full_disk_at_the_first_commit_leaves_no_half_made_recording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conns: list[FaultyConnection] = []
    monkeypatch.setattr(FaultyConnection, "fail_with", DISK_FULL)  # from the very first write
    w = RecordingWriter.create_in(tmp_path, make_meta(), connect=faulty_connect(conns))
    assert w.fault is not None and DISK_FULL in w.fault
    with pytest.raises(StoreError, match="is empty"):
        open_recording(w.path)  # schema and meta come in one transaction, or not at all
    add_second(w, 0)
    conns[0].fail_with = None
    assert w.flush(1.0)
    w.close(1.0)
    with open_recording(w.path) as rec:
        assert rec.meta.patient_id == make_meta().patient_id and rec.verify_audit().ok
    assert committed_ecg_seconds(w.path) == 1
