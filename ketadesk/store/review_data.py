"""What the review window shows besides the curves: event markers and a minimal summary.

Markers come from the recorded events, alarms and scale entries; each has a short label for
the plot and the full text. The summary here is deliberately small (the fuller pandas
summary is ketadesk.store.summary when it is there). Qt-free.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ketadesk.core.clock import FakeClock
from ketadesk.core.events import SessionEvent
from ketadesk.core.rebuild import EVENT_RESUMED, RebuildError, last_plan, rebuild_infusion
from ketadesk.core.scales import load_scales
from ketadesk.store.reader import Recording
from ketadesk.store.records import AlarmRecord, ScaleRecord

LABEL_CHARS = 28


class MarkerKind(Enum):
    PHASE = "phase"
    PAUSE = "pause"
    RATE = "rate"
    ALARM_HIGH = "alarm high"
    ALARM_MEDIUM = "alarm medium"
    ALARM_LOW = "alarm low"
    SCALE = "scale"
    NOTE = "note"
    GAP = "gap"  # KetaDesk was down; the session was resumed


@dataclass(frozen=True)
class Marker:
    t_s: float
    kind: MarkerKind
    label: str  # short, for the plot
    text: str  # the whole line


_PHASE_LABEL = {"PAUSED": "Pause", "COMPLETE": "Complete", "STOPPED_EARLY": "Stopped",
                "RECOVERY": "Recovery", "ENDED": "End"}
_ALARM_KIND = {"high": MarkerKind.ALARM_HIGH, "medium": MarkerKind.ALARM_MEDIUM,
               "low": MarkerKind.ALARM_LOW}
_PRIORITY_MARK = {"high": "***", "medium": "**", "low": "*"}


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "\u2026"


def clock_text(t_s: float) -> str:
    """+H:MM:SS since session start."""
    s = int(round(max(0.0, t_s)))
    return f"+{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def event_marker(e: SessionEvent) -> Marker | None:
    """The marker for one recorded event, None for kinds not marked on the plots."""
    d = e.data
    if e.kind == "phase":
        to, came_from = str(d.get("to", "")), str(d.get("from", ""))
        if to == "INFUSING":
            label = "Start" if came_from == "BASELINE" else "Resume"
        else:
            label = _PHASE_LABEL.get(to, to.title())
        if to == "PAUSED" and d.get("reason"):
            label += f": {d['reason']}"
        kind = MarkerKind.PAUSE if to == "PAUSED" else MarkerKind.PHASE
        return Marker(e.t_s, kind, _short(label), e.detail)
    if e.kind == "rate_change":
        return Marker(e.t_s, MarkerKind.RATE, f"Rate {d.get('rate_ml_per_h', '?'):g} mL/h"
                      if isinstance(d.get("rate_ml_per_h"), int | float) else "Rate", e.detail)
    if e.kind == "recovery":
        return Marker(e.t_s, MarkerKind.PHASE, "Discharge assessable", e.detail)
    if e.kind == "note":
        return Marker(e.t_s, MarkerKind.NOTE, _short(f"Note: {e.detail}"), e.detail)
    if e.kind == EVENT_RESUMED:
        return Marker(e.t_s, MarkerKind.GAP, "Resumed after a gap", e.detail)
    return None


def alarm_marker(a: AlarmRecord) -> Marker | None:
    if a.state != "raised":
        return None  # acknowledgements and clearing are in the alarm list, not on the plots
    kind = _ALARM_KIND.get(a.priority, MarkerKind.ALARM_LOW)
    mark = _PRIORITY_MARK.get(a.priority, "")
    return Marker(a.t_s, kind, _short(f"{mark} {a.message}".strip()), f"{mark} {a.message}")


@functools.cache
def _scale_names() -> dict[str, str]:
    try:
        return {sid: d.short_name for sid, d in load_scales().items()}
    except Exception:  # noqa: BLE001 - a broken scale file must not stop a review
        return {}


def scale_name(scale_id: str) -> str:
    """The scale's short name (CADSS, MOAA/S ...) from the shipped definitions, else the id."""
    return _scale_names().get(scale_id, scale_id.upper())


def scale_marker(s: ScaleRecord) -> Marker:
    total = "" if s.total is None else f" {s.total:g}"
    partial = " (partial)" if s.status.value == "partial" else ""
    name = scale_name(s.scale)
    return Marker(s.t_s, MarkerKind.SCALE, _short(f"{name}{total}{partial}"),
                  f"{name}{total}{partial} by {s.who or '?'}")


def markers(rec: Recording) -> list[Marker]:
    """Every marker of a recording, in time order."""
    out = [m for e in rec.events() if (m := event_marker(e)) is not None]
    out += [m for a in rec.alarms() if (m := alarm_marker(a)) is not None]
    out += [scale_marker(s) for s in rec.scale_entries(current_only=True)]
    return sorted(out, key=lambda m: m.t_s)


# ---- the minimal summary ---------------------------------------------------------------------

def _peak(t: np.ndarray, v: np.ndarray, highest: bool) -> tuple[float, float] | None:
    ok = np.isfinite(v)
    if not ok.any():
        return None
    i = int(np.nanargmax(np.where(ok, v, -np.inf)) if highest
            else np.nanargmin(np.where(ok, v, np.inf)))
    return float(v[i]), float(t[i])


def _infusion_rows(events: Sequence[SessionEvent], end_s: float) -> tuple[float | None,
                                                                           list[tuple[str, str]]]:
    found = last_plan(events)
    if found is None:
        return None, [("Infusion", "no plan recorded")]
    plan = found[0]
    try:
        snap = rebuild_infusion(plan, events, FakeClock(end_s)).snapshot()
    except RebuildError as exc:
        return None, [("Infusion", f"cannot be rebuilt: {exc}")]
    rows = [("Plan", f"{plan.numbers.dose_mg:g} mg ({plan.numbers.dose_mg_per_kg:g} mg/kg) over "
                     f"{plan.numbers.duration_min:g} min")]
    rows.append(("Delivered", f"{snap.delivered_mg:.1f} mg ({snap.delivered_mg_per_kg:.2f} mg/kg)"
                              f", {snap.phase.value}"))
    if snap.started_at_s is not None:
        rows.append(("Infusion", f"start {clock_text(snap.started_at_s)}" + (
            f", end {clock_text(snap.ended_at_s)}" if snap.ended_at_s is not None else "")))
    return snap.started_at_s, rows


def minimal_summary(rec: Recording, numerics: dict[str, tuple[np.ndarray, np.ndarray]]
                    ) -> list[tuple[str, str]]:
    """(label, value) rows: dose, baselines, peaks with their times, lowest SpO2, peak CADSS."""
    events = rec.events()
    start_s, rows = _infusion_rows(events, rec.duration_s)
    for ch, name, unit in (("nibp_sys", "SBP", "mmHg"), ("nibp_dia", "DBP", "mmHg"),
                           ("hr", "HR", "/min")):
        t, v = numerics.get(ch, (np.empty(0), np.empty(0)))
        if start_s is not None:
            before = v[(t < start_s) & np.isfinite(v)]
            if len(before):
                rows.append((f"Baseline {name}", f"{np.mean(before):.0f} {unit}"))
        peak = _peak(t, v, highest=True)
        if peak is not None:
            rows.append((f"Peak {name}", f"{peak[0]:.0f} {unit} at {clock_text(peak[1])}"))
    t, v = numerics.get("spo2", (np.empty(0), np.empty(0)))
    low = _peak(t, v, highest=False)
    if low is not None:
        rows.append(("Lowest SpO\u2082", f"{low[0]:.0f} % at {clock_text(low[1])}"))
    cadss = [s for s in rec.scale_entries(current_only=True)
             if s.scale.lower().startswith("cadss") and s.total is not None]
    if cadss:
        top = max(cadss, key=lambda s: s.total or 0.0)
        rows.append(("Peak CADSS", f"{top.total:g} ({scale_name(top.scale)}) at "
                                   f"{clock_text(top.t_s)}"))
    raised = [a for a in rec.alarms() if a.state == "raised"]
    if raised:
        counts = ", ".join(f"{sum(a.priority == p for a in raised)} {p}"
                           for p in ("high", "medium", "low") if any(a.priority == p
                                                                    for a in raised))
        rows.append(("Alarms", counts))
    return rows
