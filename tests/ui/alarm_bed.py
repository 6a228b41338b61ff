"""A dashboard on a FakeClock fed by a scripted source, with a fake monotonic time for flashing.

Shared by the alarm GUI tests. Audio is a no-device AudioOutput (as on a headless machine) so no
test makes a sound; AudioOutput.played still records every burst started.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketadesk.app import Dashboard
from ketadesk.core.clock import Clock, FakeClock
from ketadesk.core.session import SessionSnapshot
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceInfo,
)
from ketadesk.ui.audio import AudioOutput


class NoDeviceAudio(AudioOutput):
    """The real AudioOutput, forced into its no-device state whatever this machine has."""

    def __init__(self) -> None:
        super().__init__()
        self._sink = None
        self.problem = "no audio output device on this machine"


class ScriptSource:
    """A live-looking source that hands over whatever the test queued."""

    options = ()

    def __init__(self) -> None:
        self.info = SourceInfo("script", "scripted test source",
                               ("hr", "spo2", "nibp_sys", "nibp_dia", "nibp_mean"),
                               Provenance.LIVE)
        self.connection = ConnectionState.CONNECTED
        self.queue: list[NumericSample] = []

    def open(self, clock: Clock) -> None: ...

    def close(self) -> None: ...

    def read(self) -> SampleBatch:
        out, self.queue = tuple(self.queue), []
        return SampleBatch(numerics=out)


@dataclass
class Bed:
    dash: Dashboard
    source: ScriptSource
    mono: list[float] = field(default_factory=lambda: [0.0])
    hr: float = 75.0
    spo2: float = 97.0

    @property
    def clock(self) -> FakeClock:
        assert isinstance(self.dash.clock, FakeClock)
        return self.dash.clock

    def run(self, seconds: int, **values: float) -> SessionSnapshot:
        """Feed hr and spo2 once a second (new values given stay), one frame per second."""
        for key, v in values.items():
            setattr(self, key, v)
        snap = self.dash.controller.step()
        for _ in range(seconds):
            t = self.clock.now()
            self.source.queue += [NumericSample("hr", t, self.hr),
                                  NumericSample("spo2", t, self.spo2)]
            self.clock.advance(1.0)
            self.mono[0] += 1.0
            snap = self.dash.controller.step()
        return snap

    def nibp(self, sys_mmhg: float, dia_mmhg: float) -> SessionSnapshot:
        t = self.clock.now()
        self.source.queue += [NumericSample("nibp_sys", t, sys_mmhg),
                              NumericSample("nibp_dia", t, dia_mmhg),
                              NumericSample("nibp_mean", t, (sys_mmhg + 2 * dia_mmhg) / 3)]
        return self.step()

    def step(self) -> SessionSnapshot:
        return self.dash.controller.step()

    def at(self, mono_s: float) -> SessionSnapshot:
        """Redraw at a given fake monotonic time (the session clock does not move)."""
        self.mono[0] = mono_s
        return self.step()
