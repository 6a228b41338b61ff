"""The patient database: pseudonymous patients, weights, the session index, outcome scores.

One SQLite file, patients.db, in the data directory, beside the per-session recordings (which
this module does not read or write: the sessions table only points at them). WAL with
synchronous=FULL like the recordings (an acknowledged write survives a crash); the file is
created 0600 and its directory 0700, because it links pseudonyms to treatment.

No names: a patient is a pseudonymous ID (letters, digits, '-' and '_'; no spaces, so a full
name cannot be typed by mistake), a year of birth and a sex (F, M or X).

The schema carries its version in PRAGMA user_version; MIGRATIONS[i] moves version i to i+1,
each in one transaction, so opening an older file upgrades it in place.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ketadesk.core.course import (
    CourseError,
    CourseSession,
    CourseSettings,
    CourseSummary,
    OutcomeScale,
    OutcomeScore,
    SessionStatus,
    summarize,
    validate_score,
    validate_session_date,
)

# Re-exported: the patients CLI and tests name them from here.
from ketadesk.store.catalog import ENV_VAR as ENV_VAR
from ketadesk.store.catalog import data_dir as data_dir

DB_NAME = "patients.db"
SEXES = ("F", "M", "X")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
# Adult weights, as the dose guards ([infusion.guards] weight_min_kg/weight_max_kg).
WEIGHT_RANGE_KG = (30.0, 250.0)

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        year_of_birth INTEGER NOT NULL,
        sex TEXT NOT NULL CHECK (sex IN ('F', 'M', 'X')),
        created TEXT NOT NULL
    );
    CREATE TABLE weights (
        patient_id TEXT NOT NULL REFERENCES patients(id),
        on_date TEXT NOT NULL,
        kg REAL NOT NULL
    );
    CREATE INDEX weights_patient ON weights(patient_id, on_date);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        session_ref TEXT NOT NULL,
        on_date TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('planned', 'done')),
        dose_mg_per_kg REAL,
        peak_sys_mmhg REAL,
        peak_dia_mmhg REAL,
        peak_cadss REAL,
        pause_reasons TEXT NOT NULL DEFAULT '[]',
        alarms INTEGER NOT NULL DEFAULT 0,
        adverse_events TEXT NOT NULL DEFAULT '[]',
        stopped_early INTEGER NOT NULL DEFAULT 0,
        screening TEXT,
        titration TEXT,
        discharge TEXT
    );
    CREATE INDEX sessions_patient ON sessions(patient_id, on_date);
    CREATE TABLE outcomes (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        on_date TEXT NOT NULL,
        scale TEXT NOT NULL,
        total INTEGER NOT NULL,
        who TEXT NOT NULL,
        entered TEXT NOT NULL
    );
    CREATE INDEX outcomes_patient ON outcomes(patient_id, on_date);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class PatientStoreError(ValueError):
    """Bad input or an unusable file; the message says what is wrong and what is allowed."""


def default_path(directory: Path | None = None) -> Path:
    """patients.db in `directory`, else in the data directory (catalog.data_dir: the one rule
    for recordings and patients alike, so both live side by side)."""
    return (directory if directory is not None else data_dir()) / DB_NAME


@dataclass(frozen=True)
class Patient:
    patient_id: str
    year_of_birth: int
    sex: str
    created: str  # ISO 8601 UTC


@dataclass(frozen=True)
class WeightEntry:
    on: date
    kg: float


@dataclass(frozen=True)
class SessionIndexRow:
    """One session of the index: the course row and the JSON records stored with it."""

    row_id: int
    patient_id: str
    session: CourseSession
    screening: dict[str, Any] | None
    titration: dict[str, Any] | None
    discharge: dict[str, Any] | None


def validate_patient_id(text: str) -> str:
    pid = text.strip()
    if not ID_PATTERN.fullmatch(pid):
        raise PatientStoreError(
            f"patient ID {text!r} is not allowed: use a pseudonymous ID of 1-32 letters, digits, "
            "'-' or '_' starting with a letter or digit (no spaces, no names), e.g. KD-0042")
    return pid


def validate_year_of_birth(year: object, today: date) -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= today.year:
        raise PatientStoreError(f"year of birth {year!r} is not allowed: give a year from 1900 "
                                f"to {today.year}")
    return year


def validate_sex(sex: str) -> str:
    s = sex.strip().upper()
    if s not in SEXES:
        raise PatientStoreError(f"sex {sex!r} is not one of: {', '.join(SEXES)}")
    return s


def validate_weight(kg: object) -> float:
    lo, hi = WEIGHT_RANGE_KG
    if (not isinstance(kg, int | float) or isinstance(kg, bool) or not math.isfinite(kg)
            or not lo <= kg <= hi):
        raise PatientStoreError(f"weight {kg!r} kg is not allowed: give {lo:g}-{hi:g} kg")
    return float(kg)


class PatientStore:
    """patients.db: open (creating or migrating it), read and write; close when done."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # Create it private before SQLite does (SQLite gives its -wal/-shm the same mode).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(self.path, 0o600)
        try:
            # Autocommit mode: every write below runs in its own explicit BEGIN IMMEDIATE/COMMIT.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise PatientStoreError(f"{self.path} is not a usable patient database: {exc}") \
                from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PatientStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise PatientStoreError(f"{self.path} has schema version {version}, newer than this "
                                    f"KetaDesk ({SCHEMA_VERSION}): update KetaDesk")
        for i in range(version, SCHEMA_VERSION):
            with self._tx():
                for stmt in _statements(MIGRATIONS[i]):
                    self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version = {i + 1}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- patients -----------------------------------------------------------------------------

    def add_patient(self, patient_id: str, year_of_birth: int, sex: str,
                    weight_kg: float | None = None, *, on: date | None = None) -> Patient:
        today = on or date.today()
        pid = validate_patient_id(patient_id)
        yob = validate_year_of_birth(year_of_birth, today)
        sx = validate_sex(sex)
        kg = None if weight_kg is None else validate_weight(weight_kg)
        if self.get_patient(pid) is not None:
            raise PatientStoreError(f"patient {pid} already exists: pick it from the list")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._tx() as db:
            db.execute("INSERT INTO patients VALUES (?, ?, ?, ?)", (pid, yob, sx, created))
            if kg is not None:
                db.execute("INSERT INTO weights VALUES (?, ?, ?)", (pid, today.isoformat(), kg))
        return Patient(pid, yob, sx, created)

    def get_patient(self, patient_id: str) -> Patient | None:
        row = self._db.execute("SELECT id, year_of_birth, sex, created FROM patients WHERE id = ?",
                               (patient_id.strip(),)).fetchone()
        return None if row is None else Patient(row[0], int(row[1]), row[2], row[3])

    def require(self, patient_id: str) -> Patient:
        p = self.get_patient(patient_id)
        if p is None:
            raise PatientStoreError(f"no patient {patient_id!r}: add it first (`ketadesk "
                                    "patient add`) or check the ID")
        return p

    def search(self, prefix: str = "") -> list[Patient]:
        """Patients whose ID starts with prefix (case-insensitive), by ID."""
        esc = prefix.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            "SELECT id, year_of_birth, sex, created FROM patients WHERE id LIKE ? ESCAPE '\\' "
            "ORDER BY id COLLATE NOCASE", (esc + "%",)).fetchall()
        return [Patient(r[0], int(r[1]), r[2], r[3]) for r in rows]

    # ---- weights ------------------------------------------------------------------------------

    def add_weight(self, patient_id: str, kg: float, on: date | None = None) -> WeightEntry:
        pid = self.require(patient_id).patient_id
        day = on or date.today()
        if day > date.today():
            raise PatientStoreError(f"weight date {day.isoformat()} is in the future")
        w = validate_weight(kg)
        with self._tx() as db:
            db.execute("INSERT INTO weights VALUES (?, ?, ?)", (pid, day.isoformat(), w))
        return WeightEntry(day, w)

    def weights(self, patient_id: str) -> list[WeightEntry]:
        rows = self._db.execute("SELECT on_date, kg FROM weights WHERE patient_id = ? "
                                "ORDER BY on_date, rowid", (patient_id,)).fetchall()
        return [WeightEntry(date.fromisoformat(r[0]), float(r[1])) for r in rows]

    def latest_weight(self, patient_id: str) -> WeightEntry | None:
        w = self.weights(patient_id)
        return w[-1] if w else None

    # ---- sessions -----------------------------------------------------------------------------

    def save_session(self, patient_id: str, row: CourseSession, *,
                     screening: Mapping[str, Any] | None = None,
                     titration: Mapping[str, Any] | None = None,
                     discharge: Mapping[str, Any] | None = None,
                     row_id: int | None = None, today: date | None = None) -> int:
        """Add a session to the index, or update row_id (e.g. planned -> done); its id."""
        pid = self.require(patient_id).patient_id
        try:
            validate_session_date(row, today or date.today())
        except CourseError as exc:
            raise PatientStoreError(str(exc)) from None
        values = (pid, row.session_ref, row.on.isoformat(), row.status.value,
                  row.dose_mg_per_kg, row.peak_sys_mmhg, row.peak_dia_mmhg, row.peak_cadss,
                  json.dumps(list(row.pause_reasons)), row.alarms,
                  json.dumps(list(row.adverse_events)), int(row.stopped_early),
                  _json(screening), _json(titration), _json(discharge))
        cols = ("patient_id, session_ref, on_date, status, dose_mg_per_kg, peak_sys_mmhg, "
                "peak_dia_mmhg, peak_cadss, pause_reasons, alarms, adverse_events, stopped_early, "
                "screening, titration, discharge")
        with self._tx() as db:
            if row_id is None:
                cur = db.execute(f"INSERT INTO sessions ({cols}) VALUES "
                                 f"({', '.join('?' * len(values))})", values)
                return int(cur.lastrowid or 0)
            sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
            cur = db.execute(f"UPDATE sessions SET {sets} WHERE id = ? AND patient_id = ?",
                             (*values, row_id, pid))
            if cur.rowcount != 1:
                raise PatientStoreError(f"no session {row_id} for patient {pid} to update")
            return row_id

    def session_rows(self, patient_id: str) -> list[SessionIndexRow]:
        rows = self._db.execute(
            "SELECT id, patient_id, session_ref, on_date, status, dose_mg_per_kg, peak_sys_mmhg, "
            "peak_dia_mmhg, peak_cadss, pause_reasons, alarms, adverse_events, stopped_early, "
            "screening, titration, discharge FROM sessions WHERE patient_id = ? "
            "ORDER BY on_date, id", (patient_id,)).fetchall()
        out: list[SessionIndexRow] = []
        for r in rows:
            cs = CourseSession(
                on=date.fromisoformat(r[3]), status=SessionStatus(r[4]), dose_mg_per_kg=r[5],
                peak_sys_mmhg=r[6], peak_dia_mmhg=r[7], peak_cadss=r[8],
                pause_reasons=tuple(json.loads(r[9])), alarms=int(r[10]),
                adverse_events=tuple(json.loads(r[11])), stopped_early=bool(r[12]),
                session_ref=r[2])
            out.append(SessionIndexRow(int(r[0]), r[1], cs, _load(r[13]), _load(r[14]),
                                       _load(r[15])))
        return out

    def sessions(self, patient_id: str) -> list[CourseSession]:
        return [r.session for r in self.session_rows(patient_id)]

    def last_done(self, patient_id: str) -> CourseSession | None:
        done = [s for s in self.sessions(patient_id) if s.status is SessionStatus.DONE]
        return done[-1] if done else None

    # ---- outcomes -----------------------------------------------------------------------------

    def add_outcome(self, patient_id: str, scale: OutcomeScale, total: object, on: date,
                    who: str = "", *, today: date | None = None) -> OutcomeScore:
        pid = self.require(patient_id).patient_id
        try:
            value = validate_score(scale, total, on, today or date.today())
        except CourseError as exc:
            raise PatientStoreError(str(exc)) from None
        entered = datetime.now(UTC).isoformat(timespec="seconds")
        with self._tx() as db:
            db.execute("INSERT INTO outcomes (patient_id, on_date, scale, total, who, entered) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (pid, on.isoformat(), scale.value, value, who.strip(), entered))
        return OutcomeScore(on, scale, value, who.strip())

    def outcomes(self, patient_id: str) -> list[OutcomeScore]:
        rows = self._db.execute("SELECT on_date, scale, total, who FROM outcomes WHERE "
                                "patient_id = ? ORDER BY on_date, id", (patient_id,)).fetchall()
        return [OutcomeScore(date.fromisoformat(r[0]), OutcomeScale(r[1]), int(r[2]), r[3])
                for r in rows]

    def course(self, patient_id: str, today: date | None = None,
               settings: CourseSettings | None = None) -> CourseSummary:
        pid = self.require(patient_id).patient_id
        return summarize(self.sessions(pid), self.outcomes(pid), today or date.today(), settings)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _json(d: Mapping[str, Any] | None) -> str | None:
    return None if d is None else json.dumps(dict(d))


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None
