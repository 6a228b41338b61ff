"""The alarm engine: turns vitals, source status and clinician actions into alarms and a log.

Clock-free and deterministic: every method takes the session time in seconds and nothing reads
a clock, so the whole behaviour runs under a fake clock in tests. The session feeds it samples
(`on_numeric`, `on_status`, `on_connection`), calls `tick(now_s)` once per UI frame to collect new
log entries for the recorder, and the GUI draws `snapshot(now_s)`.

Physiological alarms are judged on valid samples only: an invalid value (NaN, a probe's 0, a value
outside the channel's plausible range) neither raises nor clears an alarm; it holds the condition
and freezes its delay timer until valid data returns. Technical alarms (no data, NIBP overdue,
source disconnected, probe/leads off, audio unavailable, recording failure) are non-latching.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from enum import Enum

from ketadesk.core.alarm_rules import (
    AlarmConfig,
    AlarmConfigError,
    LimitRule,
    Priority,
    default_config,
    fmt,
    validate_rules,
)
from ketadesk.core.channels import CHANNELS, Kind
from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import ConnectionState, SampleBatch, StatusEvent

# Float sums of sample times (0.1 + 10.0) must not make a 10 s delay last one sample longer.
_EPS_S = 1e-9


class AlarmCommandError(ValueError):
    """A clinician's command cannot be carried out; the message says why and what is allowed."""


class LimitChangeError(AlarmCommandError):
    """A live limit change was refused; nothing was changed."""


class AlarmState(Enum):
    ACTIVE = "active"  # the condition is present
    LATCHED = "latched"  # the condition has cleared; shown until a person resets it


class LogState(Enum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    AUDIO_PAUSED = "audio_paused"
    AUDIO_RESUMED = "audio_resumed"
    RESET = "reset"
    CLEARED = "cleared"


LOG_CSV_COLUMNS: tuple[str, ...] = ("t_s", "channel", "priority", "state", "value", "message",
                                    "who")


@dataclass(frozen=True)
class AlarmLogEntry:
    """One line of the alarm log; `csv_row()` gives the LOG_CSV_COLUMNS."""

    t_s: float
    channel: str  # a channel id, or "source", "audio", "recording", "" for all alarms
    priority: Priority | None  # None for actions on all alarms (audio pause)
    state: LogState
    value: float | None
    message: str
    who: str = ""  # clinician initials; "" for the system
    alarm_id: str = ""
    technical: bool = False

    def csv_row(self) -> dict[str, str]:
        return {
            "t_s": f"{self.t_s:.3f}",
            "channel": self.channel,
            "priority": self.priority.value if self.priority else "",
            "state": self.state.value,
            "value": "" if self.value is None else f"{self.value:g}",
            "message": self.message,
            "who": self.who,
        }

    def to_event(self, wall_time: str = "") -> SessionEvent:
        """The SessionEvent (kind "alarm") the recorder stores for this entry."""
        data = {k: v for k, v in asdict(self).items() if k not in ("priority", "state")}
        data["priority"] = self.priority.value if self.priority else None
        data["state"] = self.state.value
        return SessionEvent(self.t_s, wall_time, "alarm", f"{self.state.value}: {self.message}",
                            self.who, data)


@dataclass(frozen=True)
class AlarmView:
    """One alarm as the GUI shows it."""

    alarm_id: str
    channel: str
    priority: Priority
    technical: bool
    state: AlarmState
    acknowledged: bool
    audio_paused: bool  # silenced by the current audio pause
    sounding: bool  # should be heard now
    message: str
    value: float | None
    raised_t_s: float

    @property
    def marker(self) -> str:
        return self.priority.marker

    @property
    def text(self) -> str:
        return f"{self.priority.marker} {self.message}"


@dataclass(frozen=True)
class AlarmSnapshot:
    t_s: float
    alarms: tuple[AlarmView, ...]  # most urgent first (priority, unacknowledged, newest)
    sound: Priority | None  # the priority to sound now, None for silence
    audio_pause_remaining_s: float | None  # None when audio is not paused
    alarming_channels: frozenset[str]  # channels with a physiological alarm shown
    invalid_channels: frozenset[str]  # latest value invalid: show dashes

    @property
    def top(self) -> AlarmView | None:
        return self.alarms[0] if self.alarms else None

    @property
    def others_count(self) -> int:
        return max(0, len(self.alarms) - 1)

    def channel_valid(self, channel: str) -> bool:
        return channel not in self.invalid_channels


@dataclass
class _Alarm:
    """Mutable engine-internal record of one shown alarm."""

    alarm_id: str
    channel: str
    priority: Priority
    technical: bool
    latching: bool
    message: str
    value: float | None
    raised_t_s: float
    seq: int  # raise order: an audio pause silences alarms raised up to its seq
    present: bool = True
    acked: bool = False


_INITIALS = re.compile(r"[A-Za-z]{1,5}")


def _check_who(who: str) -> str:
    initials = (who or "").strip()
    if not _INITIALS.fullmatch(initials):
        raise AlarmCommandError(f"initials must be 1-5 letters (e.g. 'AB'), got {who!r}")
    return initials.upper()


class AlarmEngine:
    """Alarm rules applied to a session's data; see the module docstring."""

    def __init__(self, config: AlarmConfig | None = None) -> None:
        self._config = config if config is not None else default_config()
        self._rules: dict[str, LimitRule] = {r.id: r for r in self._config.rules}
        self._tech = self._config.technical
        self._nibp_interval_s = self._tech.nibp_interval_s
        self._alarms: dict[str, _Alarm] = {}
        self._seq = 0
        self._pending: dict[str, float] = {}  # rule id -> start of a condition not yet raised
        self._baselines: dict[str, float] = {}
        self._valid: dict[str, bool] = {}
        self._invalid_since: dict[str, float] = {}
        self._last_valid: dict[str, tuple[float, float]] = {}
        self._seen: set[str] = set()
        self._source_channels: frozenset[str] | None = None
        self._start_s: float | None = None
        self._last_nibp_s: float | None = None
        self._was_connected = False
        self._pause_until_s: float | None = None
        self._pause_seq = 0
        self._new: list[AlarmLogEntry] = []
        self._log: deque[AlarmLogEntry] = deque(maxlen=self._config.log_capacity)

    # ---- configuration -------------------------------------------------------------------

    @property
    def config(self) -> AlarmConfig:
        return self._config

    @property
    def rules(self) -> tuple[LimitRule, ...]:
        return tuple(self._rules.values())

    @property
    def log(self) -> tuple[AlarmLogEntry, ...]:
        """The last `log_capacity` entries (the recorder keeps the durable copy)."""
        return tuple(self._log)

    def baseline(self, channel: str) -> float | None:
        return self._baselines.get(channel)

    def set_baseline(self, channel: str, mean: float | None) -> None:
        """The patient's baseline for relative limits (None withdraws it)."""
        ch = CHANNELS.get(channel)
        if ch is None or ch.kind is not Kind.NUMERIC:
            raise AlarmCommandError(f"no baseline for {channel!r}: not a numeric channel")
        if mean is None:
            self._baselines.pop(channel, None)
            return
        if not ch.is_valid(mean):
            raise AlarmCommandError(
                f"baseline {mean} for {ch.label} is not a plausible value "
                f"({fmt(ch.plausible_min)}-{fmt(ch.plausible_max)} {ch.unit})"
            )
        self._baselines[channel] = float(mean)

    def set_source_channels(self, channels: Iterable[str], now_s: float) -> None:
        """The channels the source provides; the no-data start grace runs from now."""
        self._source_channels = frozenset(channels)
        self._start_s = now_s

    def set_nibp_interval(self, interval_s: float) -> None:
        """The NIBP cycle now in use (10 min during the infusion, 15 min after)."""
        if not (math.isfinite(interval_s) and 60 <= interval_s <= 3600):
            raise AlarmCommandError(f"NIBP interval must be 60-3600 s, got {interval_s}")
        self._nibp_interval_s = float(interval_s)

    # ---- data in ---------------------------------------------------------------------------

    def on_batch(self, batch: SampleBatch) -> None:
        for s in batch.numerics:
            self.on_numeric(s.channel, s.t_s, s.value)
        for ev in batch.status:
            self.on_status(ev)

    def on_numeric(self, channel: str, t_s: float, value: float) -> None:
        ch = CHANNELS.get(channel)
        if ch is None or ch.kind is not Kind.NUMERIC:
            return  # unknown channels carry no rules; the source logs them
        self._seen.add(channel)
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not ch.is_valid(v):
            self._valid[channel] = False
            self._invalid_since.setdefault(channel, t_s)
            return
        self._valid[channel] = True
        held_from = self._invalid_since.pop(channel, None)
        if held_from is not None:
            # The delay timer was frozen while the data was invalid: resume where it stopped.
            for rule_id, since in self._pending.items():
                if self._rules[rule_id].channel == channel:
                    self._pending[rule_id] = since + (t_s - held_from)
        self._last_valid[channel] = (t_s, v)
        self._set_tech(f"tech.no_data.{channel}", False, t_s)
        self._set_tech(f"tech.probe_off.{channel}", False, t_s)
        self._set_tech(f"tech.leads_off.{channel}", False, t_s)
        if channel.startswith("nibp_"):
            self._last_nibp_s = t_s
            self._set_tech("tech.nibp_overdue", False, t_s)
        for rule in self._rules.values():
            if rule.channel == channel:
                self._evaluate(rule, t_s, v)

    def on_status(self, event: StatusEvent) -> None:
        """Probe/leads off and on from the source; other kinds carry no alarm."""
        kind = event.kind
        if kind not in ("probe_off", "probe_on", "leads_off", "leads_on"):
            return
        # Sources that do not say which sensor mean the usual one: oximeter probe, ECG leads.
        channel = event.channel or ("spo2" if kind.startswith("probe") else "hr")
        what = "probe" if kind.startswith("probe") else "leads"
        off = kind.endswith("_off")
        label = CHANNELS[channel].label if channel in CHANNELS else channel
        msg = f"{label} {what} off" + (f" ({event.detail})" if event.detail else "")
        if off and channel in CHANNELS:
            self._valid[channel] = False
            self._invalid_since.setdefault(channel, event.t_s)
        self._set_tech(f"tech.{what}_off.{channel}", off, event.t_s, channel,
                       self._tech.probe_off_priority, msg)

    def on_connection(self, state: ConnectionState, t_s: float) -> None:
        if state is ConnectionState.CONNECTED:
            self._was_connected = True
            self._set_tech("tech.connection", False, t_s)
            return
        if state is ConnectionState.CONNECTING and not self._was_connected:
            return  # the first connection attempt is not a fault
        text = {ConnectionState.CONNECTING: "source reconnecting",
                ConnectionState.STALLED: "source stalled",
                ConnectionState.DISCONNECTED: "source disconnected"}[state]
        self._set_tech("tech.connection", True, t_s, "source",
                       self._tech.disconnected_priority, text)

    def set_audio_available(self, available: bool, now_s: float, detail: str = "") -> None:
        """Called by the GUI when sound output works or fails (DOMAIN.md section 6)."""
        msg = "audio output unavailable: alarms are not heard" + (f" ({detail})" if detail else "")
        self._set_tech("tech.audio", not available, now_s, "audio",
                       self._tech.audio_unavailable_priority, msg)

    def set_recording_failed(self, failed: bool, now_s: float, detail: str = "") -> None:
        """Called by the recorder when writing fails or works again."""
        msg = "recording failed: session data is not being saved" + (
            f" ({detail})" if detail else "")
        self._set_tech("tech.recording", failed, now_s, "recording",
                       self._tech.recording_failed_priority, msg)

    # ---- clinician actions -------------------------------------------------------------------

    def acknowledge(self, now_s: float, who: str,
                    alarm_id: str | None = None) -> list[AlarmLogEntry]:
        """Silence one alarm (or all) until a new condition; a latched one stays until reset."""
        who = _check_who(who)
        targets = [self._get(alarm_id)] if alarm_id else list(self._alarms.values())
        out = []
        for a in targets:
            if not a.acked:
                a.acked = True
                out.append(self._entry(now_s, a, LogState.ACKNOWLEDGED, a.value,
                                       f"acknowledged: {a.message}", who))
        return out

    def pause_audio(self, now_s: float, who: str) -> list[AlarmLogEntry]:
        """Pause the sound of every alarm present for audio_pause_s; new alarms still sound."""
        who = _check_who(who)
        self._pause_until_s = now_s + self._config.audio_pause_s
        self._pause_seq = self._seq
        msg = (f"audio paused {fmt(self._config.audio_pause_s)} s "
               f"({len(self._alarms)} alarm(s) shown)")
        return [self._log_entry(AlarmLogEntry(now_s, "", None, LogState.AUDIO_PAUSED, None,
                                              msg, who))]

    def resume_audio(self, now_s: float, who: str) -> list[AlarmLogEntry]:
        """End an audio pause early."""
        who = _check_who(who)
        if self._pause_until_s is None or now_s >= self._pause_until_s:
            raise AlarmCommandError("audio is not paused; nothing to resume")
        self._pause_until_s = None
        return [self._log_entry(AlarmLogEntry(now_s, "", None, LogState.AUDIO_RESUMED, None,
                                              "audio pause ended early", who))]

    def reset(self, now_s: float, who: str, alarm_id: str | None = None) -> list[AlarmLogEntry]:
        """Remove latched alarms whose condition has cleared (one, or all of them)."""
        who = _check_who(who)
        if alarm_id:
            a = self._get(alarm_id)
            if a.present:
                raise AlarmCommandError(f"alarm {alarm_id} is still active; only alarms whose "
                                        "condition has cleared can be reset")
            targets = [a]
        else:
            targets = [a for a in self._alarms.values() if not a.present]
        out = []
        for a in targets:
            del self._alarms[a.alarm_id]
            out.append(self._entry(now_s, a, LogState.RESET, a.value, f"reset: {a.message}", who))
        return out

    def change_limit(self, rule_id: str, new_threshold: float, now_s: float, who: str,
                     wall_time: str = "") -> SessionEvent:
        """Change one rule's limit live, validated; returns the "limit_change" event to record.

        The rule is then judged again on the channel's latest valid value, so a limit moved past
        the current reading takes effect now (its delay starts now) rather than at the next one.
        """
        who = _check_who(who)
        rule = self._rules.get(rule_id)
        if rule is None:
            raise LimitChangeError(f"unknown alarm rule {rule_id!r}; rules: "
                                   + ", ".join(self._rules))
        try:
            new = float(new_threshold)
        except (TypeError, ValueError):
            raise LimitChangeError(f"limit {rule_id} not changed: {new_threshold!r} is not a "
                                   "number") from None
        changed = replace(rule, threshold=new)
        try:
            validate_rules(changed if r.id == rule_id else r for r in self._rules.values())
        except AlarmConfigError as exc:
            raise LimitChangeError(f"limit {rule_id} not changed: {exc}") from None
        self._rules[rule_id] = changed
        self._pending.pop(rule_id, None)
        latest = self._last_valid.get(rule.channel)
        if latest is not None and self._valid.get(rule.channel, False):
            self._evaluate(changed, now_s, latest[1])
        unit = CHANNELS[rule.channel].unit
        return SessionEvent(
            now_s, wall_time, "limit_change",
            f"{rule_id}: limit {fmt(rule.threshold)} -> {fmt(new)} {unit}".rstrip(), who,
            {"rule_id": rule_id, "channel": rule.channel, "old": rule.threshold, "new": new,
             "relative": rule.relative, "priority": rule.priority.value},
        )

    # ---- time ------------------------------------------------------------------------------

    def tick(self, now_s: float) -> list[AlarmLogEntry]:
        """Judge the time-based technical alarms; return every log entry made since last tick."""
        if self._start_s is None:
            self._start_s = now_s
        self._check_timeouts(now_s)
        if self._pause_until_s is not None and now_s >= self._pause_until_s:
            self._pause_until_s = None
            self._log_entry(AlarmLogEntry(now_s, "", None, LogState.AUDIO_RESUMED, None,
                                          "audio pause ended"))
        out, self._new = self._new, []
        return out

    def snapshot(self, now_s: float) -> AlarmSnapshot:
        paused = self._pause_until_s is not None and now_s < self._pause_until_s
        views = []
        for a in self._alarms.values():
            silenced_by_pause = paused and a.seq <= self._pause_seq
            views.append(AlarmView(
                a.alarm_id, a.channel, a.priority, a.technical,
                AlarmState.ACTIVE if a.present else AlarmState.LATCHED, a.acked,
                silenced_by_pause, not a.acked and not silenced_by_pause, a.message, a.value,
                a.raised_t_s,
            ))
        views.sort(key=lambda v: (v.priority.rank, v.acknowledged, -v.raised_t_s))
        sounding = [v.priority for v in views if v.sounding]
        return AlarmSnapshot(
            t_s=now_s,
            alarms=tuple(views),
            sound=min(sounding, key=lambda p: p.rank) if sounding else None,
            audio_pause_remaining_s=(self._pause_until_s - now_s
                                     if paused and self._pause_until_s is not None else None),
            alarming_channels=frozenset(v.channel for v in views if not v.technical),
            invalid_channels=frozenset(c for c, ok in self._valid.items() if not ok),
        )

    # ---- internals ---------------------------------------------------------------------------

    def _get(self, alarm_id: str) -> _Alarm:
        try:
            return self._alarms[alarm_id]
        except KeyError:
            shown = ", ".join(self._alarms) or "none"
            raise AlarmCommandError(f"no alarm {alarm_id!r} is shown; shown: {shown}") from None

    def _evaluate(self, rule: LimitRule, t_s: float, value: float) -> None:
        baseline = self._baselines.get(rule.channel) if rule.relative else None
        alarm = self._alarms.get(rule.id)
        if alarm is not None and alarm.present:
            if rule.still_beyond(value, baseline):
                alarm.value, alarm.message = value, self._message(rule, value, baseline)
            else:
                self._condition_gone(alarm, t_s, value)
            return
        if not rule.beyond(value, baseline):
            self._pending.pop(rule.id, None)
            return
        since = self._pending.setdefault(rule.id, t_s)
        if t_s - since + _EPS_S >= rule.delay_s:
            del self._pending[rule.id]
            self._raise(_Alarm(rule.id, rule.channel, rule.priority, False, rule.latching,
                               self._message(rule, value, baseline), value, t_s, 0))

    @staticmethod
    def _message(rule: LimitRule, value: float, baseline: float | None) -> str:
        label = CHANNELS[rule.channel].label
        return f"{label} {rule.side} {fmt(value)} {rule.describe_limit(baseline)}"

    def _raise(self, alarm: _Alarm) -> None:
        self._seq += 1
        alarm.seq = self._seq
        self._alarms[alarm.alarm_id] = alarm  # replaces a latched record: a new condition
        self._entry(alarm.raised_t_s, alarm, LogState.RAISED, alarm.value, alarm.message)

    def _condition_gone(self, alarm: _Alarm, t_s: float, value: float | None) -> None:
        back = "" if value is None else f" (now {fmt(value)})"
        if alarm.latching:
            alarm.present = False
            self._entry(t_s, alarm, LogState.CLEARED, value,
                        f"cleared, latched until reset: {alarm.message}{back}")
        else:
            del self._alarms[alarm.alarm_id]
            self._entry(t_s, alarm, LogState.CLEARED, value, f"cleared: {alarm.message}{back}")

    def _set_tech(self, alarm_id: str, present: bool, t_s: float, channel: str = "",
                  priority: Priority = Priority.LOW, message: str = "") -> None:
        alarm = self._alarms.get(alarm_id)
        if present and alarm is None:
            self._raise(_Alarm(alarm_id, channel, priority, True, False, message, None, t_s, 0))
        elif present and alarm is not None:
            alarm.message = message  # e.g. stalled -> disconnected: same alarm, new words
        elif alarm is not None:
            self._condition_gone(alarm, t_s, None)

    def _check_timeouts(self, now_s: float) -> None:
        # While the source is disconnected that one alarm says it all.
        disconnected = "tech.connection" in self._alarms
        start = self._start_s if self._start_s is not None else now_s
        watched = self._source_channels if self._source_channels is not None else self._seen
        for ch_id in watched:
            ch = CHANNELS.get(ch_id)
            if ch is None or ch.kind is not Kind.NUMERIC or not ch.continuous:
                continue
            last = self._last_valid.get(ch_id)
            if last is not None:
                gap_s, limit_s = now_s - last[0], self._tech.no_data_s
            else:
                gap_s, limit_s = now_s - start, self._tech.start_grace_s
            self._set_tech(f"tech.no_data.{ch_id}", not disconnected and gap_s >= limit_s, now_s,
                           ch_id, self._tech.no_data_priority,
                           f"{ch.label}: no valid data for {gap_s:.0f} s")
        if any(c.startswith("nibp_") for c in watched):
            since = self._last_nibp_s if self._last_nibp_s is not None else start
            due_s = self._nibp_interval_s + self._tech.nibp_overdue_margin_s
            self._set_tech("tech.nibp_overdue", not disconnected and now_s - since > due_s, now_s,
                           "nibp_sys", self._tech.nibp_overdue_priority,
                           f"NIBP overdue: no measurement for {(now_s - since) / 60:.0f} min "
                           f"(cycle {self._nibp_interval_s / 60:.0f} min)")

    def _entry(self, t_s: float, a: _Alarm, state: LogState, value: float | None, message: str,
               who: str = "") -> AlarmLogEntry:
        return self._log_entry(AlarmLogEntry(t_s, a.channel, a.priority, state, value, message,
                                             who, a.alarm_id, a.technical))

    def _log_entry(self, entry: AlarmLogEntry) -> AlarmLogEntry:
        self._log.append(entry)
        self._new.append(entry)
        return entry
