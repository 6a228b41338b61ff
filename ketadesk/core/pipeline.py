"""One step of the data flow, shared by the GUI timer and the headless commands.

source.read() -> session.ingest() -> session.tick() -> recorder. The GUI calls step() from
its single QTimer; `ketadesk record` calls it in a loop: the same code path either way.

Two optional source hooks, found by name so any source may offer them: a source with
`follow_infusion(rate_history, weight_kg, ended_at_s)` (the simulator) is told about the
session's infusion once a plan is attached, and a source with `nibp_interval_s` (its cuff
cycle) sets the interval after which the alarm engine calls NIBP overdue.
"""

from __future__ import annotations

from typing import Protocol

from ketadesk.core.events import SessionEvent
from ketadesk.core.infusion import Infusion
from ketadesk.core.session import Session
from ketadesk.sources.base import SampleBatch, SourceError, VitalsSource


class Sink(Protocol):
    """Where the pipeline's output goes (the recorder)."""

    def add_batch(self, batch: SampleBatch) -> None: ...

    def add_events(self, events: list[SessionEvent]) -> None: ...

    def flush(self, now_s: float) -> None: ...


class Pipeline:
    def __init__(self, source: VitalsSource, session: Session, sink: Sink | None = None) -> None:
        self.source = source
        self.session = session
        self.sink = sink
        self._followed: Infusion | None = None
        self._nibp_interval_s: float | None = None

    def step(self, now_s: float) -> list[SessionEvent]:
        self._follow_infusion(now_s)
        batch = self.source.read()
        self._sync_nibp_interval()
        self.session.update_connection(self.source.connection, now_s)
        if batch:
            self.session.ingest(batch)
        events = self.session.tick(now_s)
        if self.sink is not None:
            if batch:
                self.sink.add_batch(batch)
            if events:
                self.sink.add_events(events)
            self.sink.flush(now_s)
        return events

    def _follow_infusion(self, now_s: float) -> None:
        inf = self.session.infusion
        follow = getattr(self.source, "follow_infusion", None)
        if inf is None or inf is self._followed or not callable(follow):
            return
        self._followed = inf
        try:
            follow(inf.rate_history, inf.plan.weight_kg,
                   lambda: inf.snapshot().ended_at_s)
        except SourceError as exc:
            self.session.record(now_s, "source", f"the source cannot follow the infusion: {exc}")

    def _sync_nibp_interval(self) -> None:
        interval = getattr(self.source, "nibp_interval_s", None)
        if isinstance(interval, float) and interval != self._nibp_interval_s:
            self._nibp_interval_s = interval
            self.session.alarms.set_nibp_interval(interval)
