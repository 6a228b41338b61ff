"""Recovering a session whose KetaDesk died: describe it, and resume it into a new Session.

The GUI's recovery dialog lists `describe_unfinished()` of every `find_unfinished()` file and
asks: resume (`resume_into`: the same file appended to, the infusion rebuilt from the
recorded events, see ketadesk/core/rebuild.py for the rule about the time KetaDesk was down)
or close it as interrupted (`recording.close_as_interrupted`). Qt-free.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from ketadesk.core.channels import CHANNELS
from ketadesk.core.clock import FakeClock
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import Infusion, InfusionSettings
from ketadesk.core.rebuild import (
    EVENT_RESUMED,
    MAX_RESUME_GAP_S,
    RebuildError,
    last_plan,
    rebuild_infusion,
    restore_assessments,
    resume_note,
)
from ketadesk.core.session import Session
from ketadesk.sources.base import Provenance
from ketadesk.store.reader import Recording, open_recording
from ketadesk.store.recording import RecordingWriter
from ketadesk.store.records import StoreError
from ketadesk.store.session_recorder import SessionRecorder


@dataclass(frozen=True)
class UnfinishedSession:
    """One session whose writer died, as the recovery dialog shows it."""

    path: Path
    session_id: str = ""
    patient_id: str = ""
    clinician: str = ""
    source_name: str = ""
    provenance: Provenance | None = None
    start_wall_time: datetime | None = None
    last_t_s: float = 0.0  # the last committed session time
    phase: str = ""  # the infusion phase at the crash ("no plan" when none was confirmed)
    delivered_mg: float | None = None  # at the crash
    problem: str | None = None  # why it cannot be resumed (unreadable, events do not replay)

    @property
    def last_wall_time(self) -> datetime | None:
        if self.start_wall_time is None:
            return None
        return self.start_wall_time + timedelta(seconds=self.last_t_s)


def _rebuild(events: list[SessionEvent], at_s: float,
             settings: InfusionSettings | None) -> Infusion | None:
    found = last_plan(events)
    if found is None:
        return None
    return rebuild_infusion(found[0], events, FakeClock(at_s), settings)


def describe_unfinished(path: str | os.PathLike[str],
                        settings: InfusionSettings | None = None) -> UnfinishedSession:
    """What the dialog shows of an unfinished recording; never raises for a bad file."""
    p = Path(path)
    try:
        with open_recording(p) as rec:
            m = rec.meta
            base = UnfinishedSession(
                path=p, session_id=m.session_id, patient_id=m.patient_id,
                clinician=m.clinician, source_name=m.source_name, provenance=m.provenance,
                start_wall_time=m.start_wall_time, last_t_s=rec.last_t_s)
            events = list(rec.events())
    except StoreError as exc:
        return UnfinishedSession(path=p, phase="unknown", problem=str(exc))
    try:
        inf = _rebuild(events, base.last_t_s, settings)
    except RebuildError as exc:
        return replace(base, phase="unknown", problem=str(exc))
    if inf is None:
        return replace(base, phase="no plan")
    snap = inf.snapshot()
    return replace(base, phase=snap.phase.value, delivered_mg=snap.delivered_mg)


def resume_refusal(u: UnfinishedSession, source_name: str, now_wall: datetime) -> str | None:
    """Why this session cannot be resumed by this KetaDesk now, or None if it can."""
    if u.problem is not None:
        return f"it cannot be resumed: {u.problem}"
    if u.source_name != source_name:
        return (f"it was recorded from the source {u.source_name!r} and this KetaDesk was "
                f"started with {source_name!r}: start KetaDesk with --source {u.source_name} "
                "to resume it")
    last = u.last_wall_time
    if last is not None and (now_wall - last).total_seconds() > MAX_RESUME_GAP_S:
        gap_min = (now_wall - last).total_seconds() / 60.0
        return (f"its last data are {gap_min:.0f} min old (more than "
                f"{MAX_RESUME_GAP_S / 60:.0f} min): close it and start a new session")
    return None


def _prefill(session: Session, rec: Recording) -> None:
    """Put the recorded numerics in the live trend buffers, invalid values as gaps (as ingest)."""
    for ch in rec.numeric_channels():
        info = CHANNELS.get(ch)
        if info is None or ch not in session.buffers:
            continue
        t, v = rec.numeric(ch)
        valid = np.fromiter((info.is_valid(float(x)) for x in v), bool, len(v))
        buf = session.buffers.buffer(ch)
        buf.extend(t, np.where(valid, v, np.nan))
        if len(t):
            # A NaN just after the last recorded value: the trend breaks over the time
            # KetaDesk was down instead of drawing a line across it.
            buf.append(max(float(t[-1]), rec.last_t_s) + 1e-3, float("nan"))


def resume_into(path: str | os.PathLike[str], session: Session,
                settings: InfusionSettings | None = None) -> SessionRecorder:
    """Continue the recording at `path` with `session` (new, on a clock already at or after
    the recording's last time: see core.rebuild.resume_time_s) and return its recorder.

    The session gets the recording's patient, clinician, start time, baselines, numerics
    history and the infusion rebuilt from the events; a "resumed" event records the gap and
    what was assumed. Raises StoreError (file) or RebuildError (events) and then changes
    nothing in the file.
    """
    p = Path(path)
    with open_recording(p) as rec:
        last_t_s = rec.last_t_s
        now_s = session.clock.now()
        if not (math.isfinite(now_s) and now_s >= last_t_s):
            raise StoreError(f"cannot resume {p.name} at t={now_s:.0f} s: the recording already "
                             f"runs to t={last_t_s:.0f} s")
        events = list(rec.events())
        found = last_plan(events)
        infusion = (rebuild_infusion(found[0], events, session.clock, settings)
                    if found is not None else None)
        meta = rec.meta
        baselines = {str(e.data["channel"]): float(e.data["mean"]) for e in events
                     if e.kind == "baseline" and "channel" in e.data and "mean" in e.data}
        _prefill(session, rec)
    writer = RecordingWriter.resume(p, on_fault=SessionRecorder._fault_hook(session))
    session.patient_id, session.clinician = meta.patient_id, meta.clinician
    session.started_wall = meta.start_wall_time
    session.infusion = infusion
    session.restore_baselines(baselines)
    problems = restore_assessments(session.assessments, events)
    note = resume_note(last_t_s, now_s, infusion)
    detail = note.detail + (f" Not restored: {'; '.join(problems)}." if problems else "")
    session.record(now_s, EVENT_RESUMED, detail, data={
        "gap_from_s": note.gap_from_s, "gap_to_s": note.gap_to_s,
        "phase": None if note.phase is None else note.phase.value,
        "delivered_mg": note.delivered_mg, "assumption": "pump kept running",
        "not_restored": problems})
    return SessionRecorder(writer, session)
