"""The audit chain: every event, alarm, scale entry and lifecycle step, hashed in sequence.

hash = sha256(prev_hash + canonical JSON of the audit row without its hashes). The first row
chains from GENESIS. Each 'insert' row carries the canonical JSON of the row it records, so
verification also catches a changed, removed or smuggled-in row in events/alarms/scale_entries.
Meta keeps the chain's head (audit_seq, audit_head) so rows cut from the end are noticed too,
unless meta is rewritten as well: anchor `last_hash` outside the file (e.g. on the report)
for proof against that.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any, NamedTuple

from ketadesk.store.records import DETAIL_KEYS, IDENTITY_KEYS, canonical_json

GENESIS = "0" * 64
AUDITED_TABLES = ("events", "alarms", "scale_entries")
AUDIT_COLUMNS = ("seq", "t_s", "action", "tbl", "ref_id", "payload", "prev_hash", "hash")


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def make_audit_row(
    seq: int, t_s: float, action: str, tbl: str, ref_id: int | None, payload: str, prev_hash: str
) -> dict[str, Any]:
    """A complete audit row (all AUDIT_COLUMNS), its hash chained to `prev_hash`."""
    fields: dict[str, Any] = {
        "seq": seq, "t_s": t_s, "action": action, "tbl": tbl, "ref_id": ref_id, "payload": payload,
    }
    return {**fields, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, fields)}


class AuditCheck(NamedTuple):
    ok: bool
    last_hash: str  # hash of the last row that verified (GENESIS if none)
    first_bad_row: int | None  # audit seq of the first row that fails, None if ok or not row-bound
    message: str  # what was found, one line


def _rows(conn: sqlite3.Connection, sql: str) -> list[dict[str, Any]]:
    cur = conn.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


def verify(conn: sqlite3.Connection) -> AuditCheck:
    """Recompute the chain and compare it with the audited tables and the session meta."""
    stored = {
        t: {r["id"]: canonical_json(r) for r in _rows(conn, f"SELECT * FROM {t}")}
        for t in AUDITED_TABLES
    }
    meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    seen: dict[str, set[int]] = {t: set() for t in AUDITED_TABLES}
    last = GENESIS
    expected_seq = 1
    identity: dict[str, Any] | None = None  # the meta as the chain says it should be
    identity_seq = 0
    cur = conn.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit ORDER BY seq")
    for values in cur:
        row = dict(zip(AUDIT_COLUMNS, values, strict=True))
        seq = int(row["seq"])

        def bad(why: str, seq: int = seq, last: str = last) -> AuditCheck:
            return AuditCheck(False, last, seq, f"audit row {seq}: {why}")

        if seq != expected_seq:
            return bad(f"sequence jumps from {expected_seq - 1} to {seq} (rows removed)")
        if row["prev_hash"] != last:
            return bad("prev_hash does not match the previous row's hash")
        fields = {k: row[k] for k in AUDIT_COLUMNS[:6]}
        if chain_hash(last, fields) != row["hash"]:
            return bad("hash does not match its contents (row changed)")
        tbl, ref = row["tbl"], row["ref_id"]
        if row["action"] == "insert":
            if tbl not in stored:
                return bad(f"records an insert into unknown table {tbl!r}")
            if stored[tbl].get(ref) != row["payload"]:
                state = "is missing" if ref not in stored[tbl] else "differs from the audited copy"
                return bad(f"{tbl} row {ref} {state}")
            seen[tbl].add(ref)
        elif row["action"] == "opened":
            identity, identity_seq = json.loads(row["payload"]), seq
        elif row["action"] == "details":
            changes = json.loads(row["payload"])
            if identity is None or not set(changes) <= set(DETAIL_KEYS):
                return bad("records a change of session details it may not make")
            identity.update(changes)
            identity_seq = seq
        last = row["hash"]
        expected_seq += 1
    if identity is not None:
        actual = {k: meta.get(k) for k in IDENTITY_KEYS}
        if canonical_json(actual) != canonical_json(identity):
            return AuditCheck(False, last, identity_seq,
                              f"audit row {identity_seq}: session meta differs from the meta "
                              "recorded at session start and in audited changes")
    for tbl in AUDITED_TABLES:
        extra = sorted(set(stored[tbl]) - seen[tbl])
        if extra:
            return AuditCheck(False, last, None,
                              f"{tbl} row {extra[0]} is not in the audit chain (added behind it)")
    if expected_seq == 1:
        return AuditCheck(False, last, None, "the audit chain is empty")
    if (meta.get("audit_seq"), meta.get("audit_head")) != (expected_seq - 1, last):
        return AuditCheck(False, last, None,
                          f"the chain ends at row {expected_seq - 1} but the recording's meta "
                          f"says it ends at row {meta.get('audit_seq')} (rows cut from the end)")
    return AuditCheck(True, last, None, f"{expected_seq - 1} audit rows verified")
