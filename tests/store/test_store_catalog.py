"""The data directory, the session list and session lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import pytest
from recording_helpers import make_meta, second_batches

from ketadesk.sources.base import Provenance
from ketadesk.store.catalog import (
    ENV_VAR,
    data_dir,
    ensure_data_dir,
    list_sessions,
    resolve_session,
)
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SUFFIX, SessionStatus, StoreError


def test_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert data_dir() == Path(platformdirs.user_data_dir("ketadesk"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(str(tmp_path / "cli")) == tmp_path / "cli"
    monkeypatch.setenv(ENV_VAR, "")
    assert data_dir() == Path(platformdirs.user_data_dir("ketadesk"))


def test_ensure_data_dir_creates_owner_only(tmp_path: Path) -> None:
    d = ensure_data_dir(tmp_path / "a" / "ketadesk")
    assert d.is_dir() and d.stat().st_mode & 0o777 == 0o700


def record(directory: Path, hour: int, seconds: int, close: bool, **meta: object) -> Path:
    w = RecordingWriter.create_in(directory, make_meta(
        start_wall_time=datetime(2026, 3, 2, hour, 0, tzinfo=UTC), **meta))
    for k in range(seconds):
        for b in second_batches(k):
            w.add_batch(b)
    w.flush(float(seconds), force=True)
    if close:
        w.close(float(seconds))
    else:
        w._release()  # as if the process had died: lock gone, status still open
    return w.path


def test_list_sessions_reads_meta_newest_first(tmp_path: Path) -> None:
    older = record(tmp_path, 9, 3, True, patient_id="P-1",
                   plan={"dose_mg_per_kg": 0.75})
    newer = record(tmp_path, 11, 2, False, patient_id="P-2", provenance=Provenance.LIVE,
                   plan={})
    (tmp_path / "notes.txt").write_text("not a recording, not listed")
    s_new, s_old = list_sessions(tmp_path)
    assert (s_old.path, s_old.patient_id, s_old.dose_mg_per_kg, s_old.provenance,
            s_old.status, s_old.duration_s, s_old.unfinished) == (
        older, "P-1", 0.75, Provenance.SIMULATED, SessionStatus.CLOSED, 3.0, False)
    assert (s_new.path, s_new.patient_id, s_new.dose_mg_per_kg, s_new.provenance,
            s_new.status, s_new.duration_s, s_new.unfinished) == (
        newer, "P-2", None, Provenance.LIVE, SessionStatus.OPEN, 2.0, True)
    assert s_new.start_wall_time == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert list_sessions(tmp_path / "missing") == []


def test_resolve_session_by_path_id_and_prefix(tmp_path: Path) -> None:
    a = record(tmp_path, 9, 1, True, session_id="aaaa1111" + "0" * 24)
    b = record(tmp_path, 10, 1, True, session_id="aaaa2222" + "0" * 24)
    assert resolve_session(str(a)) == a
    assert resolve_session("aaaa1", tmp_path) == a
    assert resolve_session("aaaa2222" + "0" * 24, tmp_path) == b
    assert resolve_session(b.name[:18], tmp_path) == b  # the file name's start works too
    with pytest.raises(StoreError, match="ambiguous: it matches aaaa2222.*aaaa1111"):
        resolve_session("aaaa", tmp_path)
    with pytest.raises(StoreError, match=r"no session .bbbb. in .* \(newest sessions: aaaa2222"):
        resolve_session("bbbb", tmp_path)
    with pytest.raises(StoreError, match="too short"):
        resolve_session("aa", tmp_path)
    with pytest.raises(StoreError, match="no recording file"):
        resolve_session(str(tmp_path / f"x{SUFFIX}"), tmp_path)
