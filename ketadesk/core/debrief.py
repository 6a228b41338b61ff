"""The debrief log of a training session: what the trainee did and when, for the instructor.

Built from the session's events (infusion phases with pause reasons, rate changes, alarm
acknowledgements, audio pauses and resets, scale entries, limit changes, notes), with the
alarms raised alongside so response times can be read off, and any extra entries the
instructor panel adds (triggered events). Exported as CSV or plain text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ketadesk.core.events import SessionEvent

# Session event kinds that are a person's action (or the infusion's own transitions).
ACTION_KINDS: dict[str, str] = {
    "plan": "plan",
    "override": "plan",
    "acknowledgement": "plan",
    "phase": "infusion",
    "rate_change": "infusion",
    "scale": "scale",
    "limit_change": "limit",
    "note": "note",
}
# Alarm log states a person causes; "raised" is kept as context, "cleared" is left out.
ALARM_ACTIONS = ("acknowledged", "audio_paused", "audio_resumed", "reset")
CSV_COLUMNS = ("session_time", "t_s", "who", "action", "detail")


@dataclass(frozen=True)
class DebriefEntry:
    t_s: float  # clock seconds, like every session time
    who: str  # initials; "" for the system (automatic completion, an alarm raised)
    action: str  # infusion, plan, alarm, alarm raised, scale, limit, note, instructor
    detail: str


def session_time(t_s: float) -> str:
    s = int(max(0.0, t_s))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def debrief_entries(events: Iterable[SessionEvent],
                    extra: Iterable[DebriefEntry] = ()) -> list[DebriefEntry]:
    """The entries, in time order (ties keep the order they happened in)."""
    out: list[DebriefEntry] = []
    for e in events:
        if e.kind == "alarm":
            state = str(e.data.get("state", ""))
            if state in ALARM_ACTIONS:
                out.append(DebriefEntry(e.t_s, e.who, "alarm", e.detail))
            elif state == "raised" and not e.data.get("technical"):
                out.append(DebriefEntry(e.t_s, "", "alarm raised", str(e.data.get("message"))))
            elif state == "raised":
                out.append(DebriefEntry(e.t_s, "", "technical alarm",
                                        str(e.data.get("message"))))
        elif e.kind in ACTION_KINDS:
            out.append(DebriefEntry(e.t_s, e.who, ACTION_KINDS[e.kind], e.detail))
    out.extend(extra)
    return sorted(out, key=lambda d: d.t_s)


def to_csv(entries: Sequence[DebriefEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for d in entries:
        w.writerow((session_time(d.t_s), f"{d.t_s:.1f}", d.who or "system", d.action, d.detail))
    return buf.getvalue()


def to_text(entries: Sequence[DebriefEntry], title: str = "") -> str:
    lines = [title] if title else []
    for d in entries:
        lines.append(f"{session_time(d.t_s)}  {(d.who or 'system'):<7} {d.action:<15} {d.detail}")
    return "\n".join(lines) + "\n"
