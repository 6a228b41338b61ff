from __future__ import annotations

import sqlite3
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest

from ketadesk.core.course import CourseSession, OutcomeScale, SessionStatus
from ketadesk.store.patients import (
    DB_NAME,
    SCHEMA_VERSION,
    PatientStore,
    PatientStoreError,
    data_dir,
    default_path,
)

TODAY = date(2026, 1, 20)


@pytest.fixture
def store(tmp_path: Path) -> PatientStore:
    s = PatientStore(tmp_path / "d" / DB_NAME)
    yield s  # type: ignore[misc]
    s.close()


def test_data_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETADESK_DATA_DIR", str(tmp_path / "x"))
    assert data_dir() == tmp_path / "x" and default_path() == tmp_path / "x" / DB_NAME
    assert data_dir(str(tmp_path / "y")) == tmp_path / "y"
    monkeypatch.delenv("KETADESK_DATA_DIR")
    assert "ketadesk" in str(data_dir())


def test_file_is_private_wal_and_versioned(store: PatientStore) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.add_patient("KD-1", 1980, "F", 70, on=TODAY)
    wal = store.path.with_name(DB_NAME + "-wal")
    assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert store.schema_version == SCHEMA_VERSION
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_add_search_and_weights(store: PatientStore) -> None:
    for pid in ("KD-0002", "KD-0010", "kx_7", "AB-1"):
        store.add_patient(pid, 1975, "x", on=TODAY)
    store.add_weight("KD-0002", 72.5, TODAY - timedelta(days=7))
    store.add_weight("KD-0002", 71.0, TODAY - timedelta(days=1))
    assert [p.patient_id for p in store.search("kd-")] == ["KD-0002", "KD-0010"]
    assert [p.patient_id for p in store.search("k")] == ["KD-0002", "KD-0010", "kx_7"]
    assert [p.patient_id for p in store.search("%")] == []  # LIKE wildcards are literal
    assert [p.patient_id for p in store.search("kx_")] == ["kx_7"]
    assert len(store.search()) == 4
    p = store.get_patient("KD-0002")
    assert p is not None and p.sex == "X" and p.year_of_birth == 1975
    w = store.latest_weight("KD-0002")
    assert w is not None and w.kg == 71.0
    assert [x.kg for x in store.weights("KD-0002")] == [72.5, 71.0]


@pytest.mark.parametrize(("args", "msg"), [
    (("John Smith", 1980, "M"), "no spaces, no names"),
    (("", 1980, "M"), "pseudonymous ID"),
    (("KD-9", 1850, "M"), "from 1900 to"),
    (("KD-9", 2099, "M"), "from 1900 to"),
    (("KD-9", 1980, "male"), "F, M, X"),
])
def test_bad_patient_input_is_refused(store: PatientStore, args: tuple[str, int, str],
                                      msg: str) -> None:
    with pytest.raises(PatientStoreError, match=msg):
        store.add_patient(*args, on=TODAY)


def test_duplicates_and_weights_are_checked(store: PatientStore) -> None:
    store.add_patient("KD-1", 1980, "F", on=TODAY)
    with pytest.raises(PatientStoreError, match="already exists"):
        store.add_patient("KD-1", 1981, "M", on=TODAY)
    with pytest.raises(PatientStoreError, match="30-250 kg"):
        store.add_weight("KD-1", 700)
    with pytest.raises(PatientStoreError, match="no patient"):
        store.add_weight("KD-2", 70)


def test_sessions_index_round_trip_and_update(store: PatientStore) -> None:
    store.add_patient("KD-1", 1980, "F", 70, on=TODAY)
    planned = CourseSession(TODAY + timedelta(days=3), SessionStatus.PLANNED, 0.75)
    rid = store.save_session("KD-1", planned, today=TODAY)
    done = CourseSession(TODAY, SessionStatus.DONE, 0.5, 141.0, 89.0, 6.0, ("hypertension",), 2,
                         ("nausea",), False, "rec-1")
    rid2 = store.save_session("KD-1", done, screening={"cleared": True},
                              titration={"chosen_mg_per_kg": 0.5},
                              discharge={"all_met": True}, today=TODAY)
    rows = store.session_rows("KD-1")
    assert [r.row_id for r in rows] == [rid2, rid]  # by date
    assert rows[0].session == done and rows[0].screening == {"cleared": True}
    assert rows[1].session == planned and rows[1].discharge is None
    store.save_session("KD-1", CourseSession(TODAY + timedelta(days=3), SessionStatus.PLANNED,
                                             1.0), row_id=rid, today=TODAY)
    assert store.sessions("KD-1")[1].dose_mg_per_kg == 1.0
    assert store.last_done("KD-1") == done
    with pytest.raises(PatientStoreError, match="mark it planned"):
        store.save_session("KD-1", CourseSession(TODAY + timedelta(days=1), SessionStatus.DONE),
                           today=TODAY)
    with pytest.raises(PatientStoreError, match="no session 999"):
        store.save_session("KD-1", planned, row_id=999, today=TODAY)


def test_outcomes_and_course(store: PatientStore) -> None:
    store.add_patient("KD-1", 1980, "F", 70, on=TODAY)
    d0 = TODAY - timedelta(days=14)
    store.add_outcome("KD-1", OutcomeScale.MADRS, 32, d0, "AB", today=TODAY)
    for k in range(4):
        store.save_session("KD-1", CourseSession(d0 + timedelta(days=3 * k), SessionStatus.DONE,
                                                 0.5), today=TODAY)
    store.add_outcome("KD-1", OutcomeScale.MADRS, 15, TODAY, "AB", today=TODAY)
    with pytest.raises(PatientStoreError, match="allowed 0-27"):
        store.add_outcome("KD-1", OutcomeScale.PHQ9, 30, TODAY, today=TODAY)
    with pytest.raises(PatientStoreError, match="future"):
        store.add_outcome("KD-1", OutcomeScale.PHQ9, 3, TODAY + timedelta(days=1), today=TODAY)
    c = store.course("KD-1", TODAY)
    last = c.latest(OutcomeScale.MADRS)
    assert last is not None and last.response is True and last.remission is False
    assert c.progress.done == 4


def test_reopen_keeps_data_and_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    with PatientStore(path) as s:
        s.add_patient("KD-1", 1980, "F", on=TODAY)
    with PatientStore(path) as s:
        assert s.get_patient("KD-1") is not None
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(PatientStoreError, match="newer than this"):
        PatientStore(path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(PatientStoreError, match="not a usable patient database"):
        PatientStore(path)
