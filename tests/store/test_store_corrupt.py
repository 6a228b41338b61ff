"""Files that are not (or no longer) KetaDesk recordings give a clear StoreError, never a crash."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from recording_helpers import make_meta, second_batches

from ketadesk.store.catalog import list_sessions
from ketadesk.store.reader import Recording, open_recording
from ketadesk.store.recording import RecordingWriter, close_as_interrupted, find_unfinished
from ketadesk.store.records import SUFFIX, StoreError
from ketadesk.store.schema import SCHEMA_VERSION

NOT_OURS = "is not a KetaDesk recording"


def read_everything(rec: Recording) -> None:
    rec.numerics()
    for ch in rec.waveform_channels():
        rec.waveform(ch)
    rec.events()
    rec.alarms()
    rec.scale_entries()
    rec.verify_audit()


def good_recording(directory: Path, seconds: int = 30) -> Path:
    w = RecordingWriter.create_in(directory, make_meta())
    for k in range(seconds):
        for b in second_batches(k):
            w.add_batch(b)
    w.close(float(seconds))
    return w.path


@pytest.mark.parametrize("content, message", [
    (os.urandom(4096), f"{NOT_OURS}: not a readable SQLite database"),
    (b"", f"{NOT_OURS}: it is empty"),
    (b"SQLite format 3\x00" + b"\x00" * 84, NOT_OURS),
])
def test_bytes_that_are_not_a_recording(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / f"junk{SUFFIX}"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as err:
        open_recording(path)
    assert str(path) in str(err.value)
    with pytest.raises(StoreError, match=NOT_OURS):
        RecordingWriter.resume(path)
    with pytest.raises(StoreError, match=NOT_OURS):
        close_as_interrupted(path)


def test_other_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / f"other{SUFFIX}"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=f"{NOT_OURS}: it has no meta table \\(tables: "
                                         "customers\\)"):
        open_recording(path)


def test_meta_of_another_format(tmp_path: Path) -> None:
    path = tmp_path / f"other{SUFFIX}"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('format', '\"something-else\"')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="meta 'format' is 'something-else'"):
        open_recording(path)


def test_newer_schema_version(tmp_path: Path) -> None:
    path = good_recording(tmp_path, 1)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="written by a newer KetaDesk"):
        open_recording(path)
    with pytest.raises(StoreError, match="newer KetaDesk"):
        RecordingWriter.resume(path)


def test_truncated_recording(tmp_path: Path) -> None:
    path = good_recording(tmp_path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(StoreError) as err, open_recording(path) as rec:
        read_everything(rec)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_recording(tmp_path / f"nothing{SUFFIX}")


def test_directory_scans_skip_or_report_bad_files(tmp_path: Path) -> None:
    good = good_recording(tmp_path, 1)
    (tmp_path / f"junk{SUFFIX}").write_bytes(os.urandom(2048))
    assert find_unfinished(tmp_path) == []
    sessions = list_sessions(tmp_path)
    assert [s.path for s in sessions] == [good, tmp_path / f"junk{SUFFIX}"]
    assert sessions[0].problem is None
    assert sessions[1].problem is not None and NOT_OURS in sessions[1].problem
