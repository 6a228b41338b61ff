"""The values a recording holds, shared by the writer, the reader and the catalog.

Session metadata, the lifecycle status, the stored alarm and scale records, the canonical
JSON used for the audit hash chain, and the file naming rule. No I/O here.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ketadesk import __version__
from ketadesk.sources.base import Provenance

FORMAT = "ketadesk-recording"  # meta 'format': tells our files from other SQLite files
SUFFIX = ".kdrec"


class StoreError(Exception):
    """A recording cannot be created, written, read or found; the message says which and why."""


class SessionStatus(Enum):
    OPEN = "open"  # being recorded (or its writer died: see recording.find_unfinished)
    CLOSED = "closed"  # ended normally
    INTERRUPTED = "interrupted"  # closed after the writer died or gave up


class ScaleStatus(Enum):
    COMPLETE = "complete"
    PARTIAL = "partial"


def to_jsonable(obj: Any) -> Any:
    """A JSON-ready copy: enums by value, datetimes as ISO text, non-finite floats as null.

    Events and configuration come from our own code and may carry a NaN reading or an enum;
    refusing them would lose a record, so they are normalised instead of rejected.
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return to_jsonable(obj.item())
    return str(obj)


def canonical_json(obj: Any) -> str:
    """The one text form of a value that the audit chain hashes (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@dataclass(frozen=True)
class SessionMeta:
    """Who, what and how, fixed when the recording starts (hashed into the audit chain).

    `plan` is the dose plan as the infusion module describes it; the catalog reads
    `plan["dose_mg_per_kg"]` when present. `config` is the effective configuration,
    alarm limits included.
    """

    patient_id: str
    clinician: str
    source_name: str
    provenance: Provenance
    start_wall_time: datetime  # UTC, aware: clock.wall_time() at session start
    plan: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    app_version: str = __version__
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.start_wall_time.tzinfo is None:
            raise ValueError("start_wall_time must be timezone-aware (UTC), got a naive datetime")
        if not isinstance(self.provenance, Provenance):
            allowed = ", ".join(p.value for p in Provenance)
            raise ValueError(
                f"provenance must be a Provenance ({allowed}), got {self.provenance!r}")
        if not self.session_id:
            raise ValueError("session_id must not be empty")

    def identity(self) -> dict[str, Any]:
        """The JSON-ready fields, as stored in the meta table and hashed at session start."""
        return {
            "format": FORMAT,
            "session_id": self.session_id,
            "patient_id": self.patient_id,
            "clinician": self.clinician,
            "source_name": self.source_name,
            "provenance": self.provenance.value,
            "start_wall_time": self.start_wall_time.isoformat(),
            "app_version": self.app_version,
            "plan": to_jsonable(self.plan),
            "config": to_jsonable(self.config),
        }

    @classmethod
    def from_identity(cls, values: Mapping[str, Any]) -> SessionMeta:
        """Rebuild from stored meta values; raises KeyError/ValueError/TypeError if malformed."""
        return cls(
            patient_id=str(values["patient_id"]),
            clinician=str(values["clinician"]),
            source_name=str(values["source_name"]),
            provenance=Provenance(values["provenance"]),
            start_wall_time=datetime.fromisoformat(values["start_wall_time"]),
            plan=dict(values["plan"]),
            config=dict(values["config"]),
            app_version=str(values["app_version"]),
            session_id=str(values["session_id"]),
        )


IDENTITY_KEYS: tuple[str, ...] = (
    "format", "session_id", "patient_id", "clinician", "source_name", "provenance",
    "start_wall_time", "app_version", "plan", "config",
)
# Set up after monitoring has begun (the set-up dialog comes after the first samples), so they
# may be filled in later through RecordingWriter.update_details, each change audited.
DETAIL_KEYS: tuple[str, ...] = ("patient_id", "clinician", "plan")


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm state change as recorded (priority and state are the alarm engine's values)."""

    id: int
    t_s: float
    channel: str  # "" for an alarm not tied to a channel
    priority: str
    state: str
    value: float  # NaN when the alarm has no value (technical alarms)
    message: str
    who: str


@dataclass(frozen=True)
class ScaleRecord:
    """One scale entry; an edit is a new entry naming the one it corrects (`edit_of`)."""

    id: int
    t_s: float
    scale: str
    status: ScaleStatus
    total: float | None
    subscales: dict[str, Any]
    answers: dict[str, Any]
    who: str
    edit_of: int | None
    reason: str


def session_file_name(meta: SessionMeta) -> str:
    """`20260101T090000Z-1a2b3c4d.kdrec`: sortable by start, no patient ID in the name."""
    start = meta.start_wall_time.astimezone(UTC)
    return f"{start.strftime('%Y%m%dT%H%M%SZ')}-{meta.session_id[:8]}{SUFFIX}"
