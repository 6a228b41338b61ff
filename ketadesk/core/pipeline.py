"""One step of the data flow, shared by the GUI timer and the headless commands.

source.read() -> session.ingest() -> session.tick() -> recorder. The GUI calls step() from
its single QTimer; `ketadesk record` calls it in a loop: the same code path either way.
"""

from __future__ import annotations

from typing import Protocol

from ketadesk.core.events import SessionEvent
from ketadesk.core.session import Session
from ketadesk.sources.base import SampleBatch, VitalsSource


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

    def step(self, now_s: float) -> list[SessionEvent]:
        batch = self.source.read()
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
