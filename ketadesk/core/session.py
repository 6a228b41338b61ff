"""The session: what the dashboard knows about one patient's sitting, independent of Qt.

It takes sample batches from the source (`ingest`), advances its time-driven logic (`tick`),
and gives the screen one consistent picture (`snapshot`). Invalid values (NaN, a probe's 0,
outside the plausible range) are kept as raw readings flagged invalid and appear as gaps in
the trend buffers, so they are shown as dashes and never drive anything clinical.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ketadesk.core.alarms import AlarmConfig, AlarmEngine, AlarmLogEntry, AlarmSnapshot
from ketadesk.core.assessments import AssessmentLog, AssessmentSchedule, ScheduleStatus
from ketadesk.core.buffer import BufferSet
from ketadesk.core.channels import CHANNELS, NUMERIC_IDS, WAVEFORM_IDS, Kind
from ketadesk.core.clock import Clock
from ketadesk.core.dose import DosePlan
from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import (
    Infusion,
    InfusionError,
    InfusionSettings,
    InfusionSnapshot,
    Phase,
)
from ketadesk.core.scales import ScaleDefinition, load_scales
from ketadesk.sources.base import ConnectionState, SampleBatch, SourceInfo, StatusEvent


@dataclass(frozen=True)
class Reading:
    """The latest value of a numeric channel."""

    channel: str
    t_s: float
    value: float
    valid: bool


class SourceChangeRefused(Exception):
    """The session's data source cannot be changed now; the message says why and what to do."""


@dataclass(frozen=True)
class ConnectionStatus:
    """The source's link as the header shows it: a silent feed must never look like a calm one."""

    state: ConnectionState
    since_s: float  # when the source entered this state
    detail: str = ""  # the source's own words on its link, e.g. "end of recording"
    was_connected: bool = False  # CONNECTING after a connection means reconnecting
    last_data_s: float | None = None  # newest sample time ingested, None before any

    @property
    def reconnecting(self) -> bool:
        return self.state is ConnectionState.CONNECTING and self.was_connected


@dataclass(frozen=True)
class SessionSnapshot:
    now_s: float
    source: SourceInfo
    readings: dict[str, Reading]
    sensor_off: frozenset[str]  # channels whose probe or leads the source reports off
    infusion: InfusionSnapshot | None  # None until a plan is confirmed
    assessments: ScheduleStatus
    alarms: AlarmSnapshot
    # None until the pipeline first polls the source.
    connection_status: ConnectionStatus | None = None

    @property
    def connection(self) -> ConnectionState | None:
        return self.connection_status.state if self.connection_status is not None else None


@dataclass
class BufferConfig:
    numeric_hours: float = 12.0
    waveform_hours: float = 4.0

    def capacities(self) -> dict[str, int]:
        caps: dict[str, int] = {}
        for ch in NUMERIC_IDS:
            # Numerics arrive at most about once a second.
            caps[ch] = max(1, int(self.numeric_hours * 3600 * 2))
        for ch in WAVEFORM_IDS:
            rate = CHANNELS[ch].nominal_rate_hz or 250.0
            caps[ch] = max(1, int(self.waveform_hours * 3600 * rate))
        return caps


class Session:
    def __init__(
        self, clock: Clock, source: SourceInfo, buffers: BufferConfig | None = None,
        *, scales: dict[str, ScaleDefinition] | None = None,
        infusion_settings: InfusionSettings | None = None,
        alarm_config: AlarmConfig | None = None,
    ) -> None:
        self.clock = clock
        self.source = source
        self.started_wall: datetime = clock.wall_time()
        self.buffers = BufferSet((buffers or BufferConfig()).capacities())
        self.readings: dict[str, Reading] = {}
        self.sensor_off: set[str] = set()
        self.events: list[SessionEvent] = []
        self._pending: list[SessionEvent] = []
        self.infusion: Infusion | None = None
        self._infusion_settings = infusion_settings
        self.scales = scales if scales is not None else load_scales()
        self.assessments = AssessmentLog(self.scales, clock)
        self.schedule = AssessmentSchedule.from_defaults(self.scales)
        self.nibp_cycles_s: list[float] = []
        self.alarms = AlarmEngine(alarm_config)
        self.alarms.set_source_channels(source.channels, clock.now())
        self._connection: ConnectionState | None = None
        self._connection_since_s = 0.0
        self._connection_detail = ""
        self._was_connected = False
        self._last_data_s: float | None = None
        self._baseline_set = False
        # Who is at the chair: set by the session set-up, stamped on every action.
        self.clinician = ""
        self.patient_id = ""

    # -- the plan --------------------------------------------------------------------------
    def set_plan(self, plan: DosePlan) -> Infusion:
        """Attach the confirmed plan; the infusion can then be started. Only once a session."""
        if self.infusion is not None and self.infusion.phase.name != "BASELINE":
            raise InfusionError(
                f"the infusion is already {self.infusion.phase.name}; a new plan needs a new session")
        self.infusion = Infusion(plan, self.clock, self._infusion_settings)
        return self.infusion

    # -- input -----------------------------------------------------------------------------
    def ingest(self, batch: SampleBatch) -> None:
        for s in batch.numerics:
            ch = CHANNELS.get(s.channel)
            if ch is None or ch.kind is not Kind.NUMERIC:
                continue
            valid = ch.is_valid(s.value)
            self.readings[s.channel] = Reading(s.channel, s.t_s, s.value, valid)
            if s.channel == "nibp_sys" and valid:
                self.nibp_cycles_s.append(s.t_s)
            self.buffers.buffer(s.channel).append(s.t_s, s.value if valid else np.nan)
            self._saw_data(s.t_s)
        for w in batch.waveforms:
            if w.channel in self.buffers:
                self.buffers.buffer(w.channel).extend(w.times(), w.values.astype(np.float64))
                if len(w.values):
                    self._saw_data(w.t0_s + (len(w.values) - 1) / w.rate_hz)
        for st in batch.status:
            self._on_status(st)
        self.alarms.on_batch(batch)

    def update_connection(self, state: ConnectionState, now_s: float) -> None:
        """The source's connection state, polled each step; the alarm engine hears changes."""
        if state is not self._connection:
            self._connection = state
            self._connection_since_s = now_s
            # The source's connection status event, if any, follows in this step's batch.
            self._connection_detail = ""
            self._was_connected = self._was_connected or state is ConnectionState.CONNECTED
            self.alarms.on_connection(state, now_s)

    def _saw_data(self, t_s: float) -> None:
        if self._last_data_s is None or t_s > self._last_data_s:
            self._last_data_s = t_s

    def connection_status(self) -> ConnectionStatus | None:
        if self._connection is None:
            return None
        return ConnectionStatus(self._connection, self._connection_since_s,
                                self._connection_detail, self._was_connected, self._last_data_s)

    def _on_status(self, st: StatusEvent) -> None:
        if st.channel is not None and st.kind in ("probe_off", "leads_off"):
            self.sensor_off.add(st.channel)
        elif st.channel is not None and st.kind in ("probe_on", "leads_on"):
            self.sensor_off.discard(st.channel)
        elif st.kind == "connection":
            # Sources prefix the state ("stalled: no message for 31 s"); the header shows the
            # state itself, so only the reason is kept.
            state, sep, rest = st.detail.partition(": ")
            known = {c.value for c in ConnectionState}
            self._connection_detail = rest if sep and state in known else st.detail
        self.record(st.t_s, "source", f"{st.kind}: {st.channel or ''} {st.detail}".strip(),
                    data={"kind": st.kind, "channel": st.channel, "detail": st.detail})

    def record(
        self, t_s: float, kind: str, detail: str, who: str = "",
        data: dict[str, object] | None = None,
    ) -> SessionEvent:
        """Add an event to the session (and to the next tick's output, for the recorder)."""
        ev = SessionEvent(t_s, self.clock.wall_time().isoformat(), kind, detail, who,
                          dict(data or {}))
        self.events.append(ev)
        self._pending.append(ev)
        return ev

    # -- time ------------------------------------------------------------------------------
    def tick(self, now_s: float) -> list[SessionEvent]:
        """Advance time-driven logic; return the events produced since the last tick."""
        new: list[SessionEvent] = []
        if self.infusion is not None:
            new.extend(self.infusion.tick(now_s))
            self._maybe_set_baselines()
        out, self._pending = self._pending, []  # already in self.events
        new.extend(self.assessments.drain_events())
        wall = self.clock.wall_time().isoformat()
        new.extend(entry.to_event(wall) for entry in self.alarms.tick(now_s))
        self.events.extend(new)
        return out + new

    # Channels whose mean over the baseline phase anchors the relative alarm limits.
    BASELINE_CHANNELS = ("nibp_sys", "nibp_dia", "nibp_mean", "hr", "spo2", "rr")

    def _maybe_set_baselines(self) -> None:
        """When the dose starts, the baseline phase is over: its means become the baselines."""
        if self._baseline_set or self.infusion is None:
            return
        started = self.infusion.snapshot().started_at_s
        if started is None:
            return
        self._baseline_set = True
        for ch in self.BASELINE_CHANNELS:
            _, v = self.buffers.series(ch, float("-inf"), started)
            v = v[np.isfinite(v)]
            if len(v):
                mean = float(np.mean(v))
                self.alarms.set_baseline(ch, mean)
                self.record(started, "baseline", f"{CHANNELS[ch].label} baseline {mean:.0f} "
                            f"{CHANNELS[ch].unit} (mean of {len(v)} values)",
                            data={"channel": ch, "mean": mean, "n": len(v)})

    def restore_baselines(self, means: dict[str, float]) -> None:
        """Baselines already recorded (a resumed session): used as they are, not recomputed."""
        for ch, mean in means.items():
            self.alarms.set_baseline(ch, mean)
        self._baseline_set = self._baseline_set or bool(means)

    def check_source_change(self) -> None:
        """Refuse to swap the data source once the infusion has started.

        A monitoring session is tied to its source and its provenance label: vitals from two
        sources in one infusion record could not be told apart afterwards.
        """
        if self.infusion is None or self.infusion.phase is Phase.BASELINE:
            return
        snap = self.infusion.snapshot()
        started = snap.started_at_s or 0.0
        raise SourceChangeRefused(
            f"the data source cannot be changed: the infusion started at session time "
            f"{_hms(started)} and is now {snap.phase.value}; a session keeps the source it was "
            f"started on ({self.source.name}, {self.source.provenance.value}). Finish this "
            "session and start a new one to use another source.")

    def change_alarm_limit(self, rule_id: str, value: float, who: str) -> SessionEvent:
        """Change one alarm limit now (validated by the engine) and record who did it.

        Raises LimitChangeError (nothing changed, nothing recorded) when the engine refuses.
        """
        ev = self.alarms.change_limit(rule_id, value, self.clock.now(), who,
                                      self.clock.wall_time().isoformat())
        self.events.append(ev)
        self._pending.append(ev)
        return ev

    def alarm_log(self) -> tuple[AlarmLogEntry, ...]:
        return self.alarms.log

    # -- output ----------------------------------------------------------------------------
    def snapshot(self, now_s: float) -> SessionSnapshot:
        inf = self.infusion.snapshot(now_s) if self.infusion is not None else None
        return SessionSnapshot(now_s, self.source, dict(self.readings),
                               frozenset(self.sensor_off), inf, self.assessment_status(now_s),
                               self.alarms.snapshot(now_s), self.connection_status())

    def assessment_status(self, now_s: float) -> ScheduleStatus:
        inf = self.infusion.snapshot(now_s) if self.infusion is not None else None
        return self.schedule.status(
            inf.started_at_s if inf else None, self.nibp_cycles_s, now_s,
            infusion_end_s=inf.ended_at_s if inf else None,
            done=self.assessments.completed_timepoints())


def _hms(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"
