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

from ketadesk.core.buffer import BufferSet
from ketadesk.core.channels import CHANNELS, NUMERIC_IDS, WAVEFORM_IDS, Kind
from ketadesk.core.clock import Clock
from ketadesk.core.events import SessionEvent
from ketadesk.sources.base import SampleBatch, SourceInfo, StatusEvent


@dataclass(frozen=True)
class Reading:
    """The latest value of a numeric channel."""

    channel: str
    t_s: float
    value: float
    valid: bool


@dataclass(frozen=True)
class SessionSnapshot:
    now_s: float
    source: SourceInfo
    readings: dict[str, Reading]
    sensor_off: frozenset[str]  # channels whose probe or leads the source reports off


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
        self, clock: Clock, source: SourceInfo, buffers: BufferConfig | None = None
    ) -> None:
        self.clock = clock
        self.source = source
        self.started_wall: datetime = clock.wall_time()
        self.buffers = BufferSet((buffers or BufferConfig()).capacities())
        self.readings: dict[str, Reading] = {}
        self.sensor_off: set[str] = set()
        self.events: list[SessionEvent] = []
        self._pending: list[SessionEvent] = []

    # -- input -----------------------------------------------------------------------------
    def ingest(self, batch: SampleBatch) -> None:
        for s in batch.numerics:
            ch = CHANNELS.get(s.channel)
            if ch is None or ch.kind is not Kind.NUMERIC:
                continue
            valid = ch.is_valid(s.value)
            self.readings[s.channel] = Reading(s.channel, s.t_s, s.value, valid)
            self.buffers.buffer(s.channel).append(s.t_s, s.value if valid else np.nan)
        for w in batch.waveforms:
            if w.channel in self.buffers:
                self.buffers.buffer(w.channel).extend(w.times(), w.values.astype(np.float64))
        for st in batch.status:
            self._on_status(st)

    def _on_status(self, st: StatusEvent) -> None:
        if st.channel is not None and st.kind in ("probe_off", "leads_off"):
            self.sensor_off.add(st.channel)
        elif st.channel is not None and st.kind in ("probe_on", "leads_on"):
            self.sensor_off.discard(st.channel)
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
        out, self._pending = self._pending, []
        return out

    # -- output ----------------------------------------------------------------------------
    def snapshot(self, now_s: float) -> SessionSnapshot:
        return SessionSnapshot(now_s, self.source, dict(self.readings),
                               frozenset(self.sensor_off))
