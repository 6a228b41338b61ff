"""Session events: everything a person or the system did, ready for the recorder.

Every transition, reason, rate change, override, limit change, acknowledgement and scale
entry becomes one SessionEvent with monotonic session time, wall time and who did it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SessionEvent:
    t_s: float  # monotonic seconds since session start
    wall_time: str  # ISO 8601 UTC, for the record only
    kind: str  # e.g. "phase", "pause", "rate_change", "override", "limit_change", "alarm", "scale"
    detail: str  # one human-readable line
    who: str = ""  # clinician initials; "" for the system
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable particulars
