"""The pipeline's sink for a live session: every batch and event into its recording file.

Alarm and scale events are also written to their own tables (the export and review read
those); patient, clinician and plan, set up after monitoring began, are filled into the
recording's meta as they become known, each change audited. A storage fault raises the
technical alarm "recording failure" and the writer keeps the data in memory meanwhile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ketadesk.core.events import SessionEvent
from ketadesk.core.session import Session
from ketadesk.sources.base import SampleBatch
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import SessionMeta, SessionStatus


def session_meta(session: Session, config: dict[str, Any] | None = None) -> SessionMeta:
    """The recording's meta for a session, with the effective alarm limits in its config."""
    limits = [
        {"rule": r.id, "channel": r.channel, "when": str(r.when.value), "threshold": r.threshold,
         "priority": r.priority.value, "relative": r.relative, "delay_s": r.delay_s,
         "hysteresis": r.hysteresis, "latching": r.latching}
        for r in session.alarms.rules
    ]
    return SessionMeta(
        patient_id=session.patient_id, clinician=session.clinician,
        source_name=session.source.name, provenance=session.source.provenance,
        start_wall_time=session.started_wall, config={"alarm_limits": limits, **(config or {})},
    )


class SessionRecorder:
    def __init__(self, writer: RecordingWriter, session: Session) -> None:
        self.writer = writer
        self.session = session
        self._details = (session.patient_id, session.clinician)
        self._scale_ids: dict[str, int] = {}  # assessment entry id -> its first stored row

    @classmethod
    def start(cls, session: Session, *, path: str | os.PathLike[str] | None = None,
              directory: str | os.PathLike[str] | None = None,
              config: dict[str, Any] | None = None) -> SessionRecorder:
        """Open a new recording for the session, at `path` or named by start time in `directory`."""
        meta = session_meta(session, config)
        hook = cls._fault_hook(session)
        if path is not None:
            writer = RecordingWriter(Path(path), meta, on_fault=hook)
        elif directory is not None:
            writer = RecordingWriter.create_in(directory, meta, on_fault=hook)
        else:
            raise ValueError("give the recording a path or a directory")
        return cls(writer, session)

    @staticmethod
    def _fault_hook(session: Session) -> Any:
        def on_fault(fault: str | None) -> None:
            session.alarms.set_recording_failed(fault is not None, session.clock.now(), fault or "")
        return on_fault

    @property
    def path(self) -> Path:
        return self.writer.path

    def add_batch(self, batch: SampleBatch) -> None:
        self.writer.add_batch(batch)

    def add_events(self, events: list[SessionEvent]) -> None:
        for e in events:
            self.writer.add_event(e)
            if e.kind == "alarm":
                self._alarm(e)
            elif e.kind == "scale":
                self._scale(e)
            elif e.kind == "plan":
                self.writer.update_details(e.t_s, plan=e.data)

    def _alarm(self, e: SessionEvent) -> None:
        d = e.data
        self.writer.add_alarm(e.t_s, d.get("channel") or "", d.get("priority") or "",
                              d.get("state") or "", d.get("value"), d.get("message", ""), e.who)

    def _scale(self, e: SessionEvent) -> None:
        d = e.data
        entry_id = str(d.get("entry_id", ""))
        first = self._scale_ids.get(entry_id)
        answers = {str(i + 1): a for i, a in enumerate(d.get("answers") or [])}
        row = self.writer.add_scale_entry(
            float(d.get("performed_s", e.t_s)), str(d.get("scale", "")),
            str(d.get("status", "partial")), d.get("total"), d.get("subscales") or {}, answers,
            e.who, edit_of=first, reason=str(d.get("reason", "")) if first else "")
        self._scale_ids.setdefault(entry_id, row)

    def flush(self, now_s: float) -> None:
        details = (self.session.patient_id, self.session.clinician)
        if details != self._details:
            self._details = details
            self.writer.update_details(now_s, patient_id=details[0], clinician=details[1])
        self.writer.flush(now_s)

    def close(self, now_s: float, status: SessionStatus = SessionStatus.CLOSED) -> None:
        self.flush(now_s)
        self.writer.close(now_s, status)
