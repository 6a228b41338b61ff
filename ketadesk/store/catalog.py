"""Where recordings live and what is there: the data directory, the session list, lookups.

The data directory is, in order: the command-line override, $KETADESK_DATA_DIR, then the
platform's user data directory (platformdirs.user_data_dir("ketadesk")).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import platformdirs

from ketadesk.sources.base import Provenance
from ketadesk.store.files import ensure_private_dir, writer_alive
from ketadesk.store.reader import open_recording
from ketadesk.store.records import SUFFIX, SessionStatus, StoreError

ENV_VAR = "KETADESK_DATA_DIR"


def data_dir(override: str | None = None) -> Path:
    """The directory recordings are written to and listed from (not created here)."""
    chosen = override or os.environ.get(ENV_VAR) or platformdirs.user_data_dir("ketadesk")
    return Path(chosen).expanduser()


ensure_data_dir = ensure_private_dir  # create the data directory 0700 if missing


@dataclass(frozen=True)
class SessionSummary:
    """One line of the session list; `problem` says why a file could not be read (then the
    other fields are empty)."""

    path: Path
    session_id: str = ""
    patient_id: str = ""
    clinician: str = ""
    start_wall_time: datetime | None = None
    dose_mg_per_kg: float | None = None
    provenance: Provenance | None = None
    status: SessionStatus | None = None
    duration_s: float | None = None
    unfinished: bool = False  # open, but its writer is dead: recover with close_as_interrupted
    problem: str | None = None


def _dose(plan: object) -> float | None:
    value = plan.get("dose_mg_per_kg") if isinstance(plan, dict) else None
    return float(value) if isinstance(value, int | float) else None


def summarize(path: Path) -> SessionSummary:
    """Read one file's meta (no signal data) into a summary; never raises for a bad file."""
    try:
        with open_recording(path) as rec:
            m = rec.meta
            return SessionSummary(
                path=path, session_id=m.session_id, patient_id=m.patient_id,
                clinician=m.clinician, start_wall_time=m.start_wall_time,
                dose_mg_per_kg=_dose(m.plan), provenance=m.provenance, status=rec.status,
                duration_s=rec.duration_s,
                unfinished=rec.status is SessionStatus.OPEN and not writer_alive(path),
            )
    except StoreError as exc:
        return SessionSummary(path=path, problem=str(exc))


def list_sessions(directory: str | os.PathLike[str]) -> list[SessionSummary]:
    """Every recording in `directory`, newest first; unreadable files last, with their problem."""
    d = Path(directory)
    if not d.is_dir():
        return []
    summaries = [summarize(p) for p in d.glob(f"*{SUFFIX}") if p.is_file()]
    readable = [s for s in summaries if s.problem is None]
    readable.sort(key=lambda s: (s.start_wall_time is not None, s.start_wall_time), reverse=True)
    unreadable = sorted((s for s in summaries if s.problem is not None), key=lambda s: s.path)
    return readable + unreadable


def resolve_session(id_or_path: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """A recording's path from a path, a session id or an unambiguous id prefix (>= 4 chars)."""
    as_path = Path(id_or_path).expanduser()
    if as_path.is_file():
        return as_path
    if os.sep in id_or_path or id_or_path.endswith(SUFFIX):
        raise StoreError(f"no recording file {id_or_path}")
    d = Path(directory) if directory is not None else data_dir()
    if len(id_or_path) < 4:
        raise StoreError(f"session id {id_or_path!r} is too short: give at least 4 characters")
    sessions = [s for s in list_sessions(d) if s.problem is None]
    key = id_or_path.lower()
    matches = [s for s in sessions
               if s.session_id.startswith(key) or s.path.name.lower().startswith(key)]
    if len(matches) == 1:
        return matches[0].path
    if matches:
        ids = ", ".join(s.session_id[:12] for s in matches[:5])
        raise StoreError(f"session id {id_or_path!r} is ambiguous: it matches {ids}; give more "
                         "characters")
    known = ", ".join(s.session_id[:8] for s in sessions[:5]) or "none"
    raise StoreError(f"no session {id_or_path!r} in {d} (newest sessions: {known})")
