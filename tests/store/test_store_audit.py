"""The append-only tables refuse changes; the hash chain verifies and catches tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import make_meta, second_batches

from ketadesk.core.events import SessionEvent
from ketadesk.store.audit import GENESIS
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import RecordingWriter


def recorded(tmp_path: Path) -> Path:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    for k in range(2):
        for b in second_batches(k):
            w.add_batch(b)
    w.add_event(SessionEvent(0.5, "2026-01-01T09:00:00.5+00:00", "phase", "start", "AB"))
    w.add_alarm(1.0, "hr", "medium", "raised", 130.0, "HR high")
    w.add_scale_entry(1.5, "moaas", "complete", 4, {}, {"moaas": 4}, "AB")
    w.add_event(SessionEvent(1.8, "2026-01-01T09:00:01.8+00:00", "note", "calm", "AB"))
    w.close(2.0)
    return w.path


def audit_seq_of(conn: sqlite3.Connection, tbl: str, ref_id: int) -> int:
    (seq,) = conn.execute("SELECT seq FROM audit WHERE tbl = ? AND ref_id = ?",
                          (tbl, ref_id)).fetchone()
    return int(seq)


@pytest.mark.parametrize("table", ["events", "alarms", "scale_entries", "audit", "numerics"])
def test_append_only_tables_refuse_update_and_delete(tmp_path: Path, table: str) -> None:
    conn = sqlite3.connect(recorded(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
        conn.execute(f"UPDATE {table} SET t_s = t_s + 1")
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
        conn.execute(f"DELETE FROM {table}")
    conn.close()


def test_waveform_rows_can_only_grow(tmp_path: Path) -> None:
    conn = sqlite3.connect(recorded(tmp_path))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        conn.execute("DELETE FROM waveforms")
    with pytest.raises(sqlite3.IntegrityError, match="may only be extended"):
        conn.execute("UPDATE waveforms SET samples = zeroblob(4 * n)")
    (rowid, n, blob) = conn.execute("SELECT id, n, samples FROM waveforms LIMIT 1").fetchone()
    with pytest.raises(sqlite3.IntegrityError, match="may only be extended"):
        conn.execute("UPDATE waveforms SET n = ?, samples = ? WHERE id = ?",
                     (n + 1, np.float32(1).tobytes() + blob, rowid))  # prefix changed
    conn.execute("UPDATE waveforms SET n = ?, samples = ? WHERE id = ?",
                 (n + 1, blob + np.float32(1).tobytes(), rowid))  # a real extension passes
    conn.close()


def test_chain_verifies_and_names_its_last_hash(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    with open_recording(path) as rec:
        check = rec.verify_audit()
    conn = sqlite3.connect(path)
    (last,) = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    (count,) = conn.execute("SELECT count(*) FROM audit").fetchone()
    conn.close()
    # opened + 4 entries + closed
    assert tuple(check) == (True, last, None, f"{count} audit rows verified") and count == 6
    assert check.last_hash != GENESIS


def tamper(path: Path, *sql: str) -> None:
    """What someone with the file and a SQLite shell could do: drop the guard, then edit."""
    conn = sqlite3.connect(path)
    for table in ("events", "audit", "alarms"):
        conn.execute(f"DROP TRIGGER {table}_no_update")
        conn.execute(f"DROP TRIGGER {table}_no_delete")
    for s in sql:
        conn.execute(s)
    conn.commit()
    conn.close()


def verify(path: Path) -> tuple[bool, int | None, str]:
    with open_recording(path) as rec:
        ok, _, bad_row, message = rec.verify_audit()
    return ok, bad_row, message


def test_changed_event_is_caught_at_its_audit_row(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    conn = sqlite3.connect(path)
    seq = audit_seq_of(conn, "events", 2)
    conn.close()
    tamper(path, "UPDATE events SET detail = 'agitated' WHERE id = 2")
    assert verify(path) == (False, seq, f"audit row {seq}: events row 2 differs from the "
                                        "audited copy")


def test_deleted_alarm_is_caught(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    tamper(path, "DELETE FROM alarms WHERE id = 1")
    ok, bad_row, message = verify(path)
    assert not ok and bad_row is not None and "alarms row 1 is missing" in message


def test_rewritten_audit_row_breaks_the_chain(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    tamper(path, "UPDATE audit SET t_s = 99 WHERE seq = 3")
    assert verify(path) == (False, 3, "audit row 3: hash does not match its contents (row changed)")


def test_removed_audit_row_is_caught(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    tamper(path, "DELETE FROM audit WHERE seq = 6")  # the last one: rows 1-5 still chain
    assert verify(path) == (False, None, "the chain ends at row 5 but the recording's meta "
                                         "says it ends at row 6 (rows cut from the end)")
    path2 = recorded(tmp_path / "b")
    tamper(path2, "DELETE FROM audit WHERE seq = 2")
    assert verify(path2)[:2] == (False, 3)


def test_row_smuggled_in_behind_the_chain_is_caught(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    tamper(path, "INSERT INTO events (id, t_s, wall_time, kind, detail, who, data) "
                 "VALUES (3, 1.9, '', 'note', 'added later', 'XX', '{}')")
    assert verify(path) == (False, None, "events row 3 is not in the audit chain (added "
                                         "behind it)")


def test_changed_patient_id_in_meta_is_caught(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    tamper(path, "UPDATE meta SET value = '\"P-9999\"' WHERE key = 'patient_id'")
    assert verify(path) == (False, 1, "audit row 1: session meta differs from the meta "
                                      "recorded at session start and in audited changes")


def test_details_set_up_after_start_are_audited_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "d.kdrec"
    w = RecordingWriter(path, make_meta())
    w.update_details(30.0, patient_id="P-0042", clinician="AB", plan={"dose_mg_per_kg": 0.5})
    with pytest.raises(ValueError, match="allowed: patient_id, clinician, plan"):
        w.update_details(31.0, provenance="live")
    w.close(40.0)
    rec = open_recording(path)
    assert rec.meta.patient_id == "P-0042" and rec.meta.plan == {"dose_mg_per_kg": 0.5}
    assert rec.verify_audit()[0]
    rec.close()
    tamper(path, "UPDATE meta SET value = '{\"dose_mg_per_kg\": 1.0}' WHERE key = 'plan'")
    ok, _, message = verify(path)
    assert not ok and "session meta differs" in message
