"""An example KetaDesk data source: a heart rate that never changes, once a second.

Small on purpose; it shows every part of the contract (docs/sources.md in KetaDesk):
options declared as SourceOption and checked in the constructor, provenance declared on the
class and in `info`, samples stamped in the seconds of the clock given to open(), a read()
that never blocks, an idempotent close().
"""

from __future__ import annotations

import math
from typing import ClassVar

from ketadesk.core.clock import Clock
from ketadesk.sources.base import (
    EMPTY_BATCH,
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceError,
    SourceInfo,
    SourceOption,
    parse_options,
)


class MetronomeSource:
    """Metronome: a simulated, perfectly steady heart rate (example plugin).

    The first docstring line above is what `ketadesk sources` and the source picker show.
    """

    provenance: ClassVar[Provenance] = Provenance.SIMULATED
    options: tuple[SourceOption, ...] = (
        SourceOption("bpm", "heart rate to report, 30-200 beats per minute", "60"),
    )
    # Options that make the contract test safe and quick; the defaults already are.
    contract_test_options: ClassVar[dict[str, str]] = {}

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)  # refuses unknown keys, fills defaults
        try:
            bpm = float(opts["bpm"])
        except ValueError:
            bpm = math.nan
        if not 30 <= bpm <= 200:  # NaN fails this too
            raise SourceError(f"option bpm={opts['bpm']!r} must be a number from 30 to 200")
        self.bpm = bpm
        self._clock: Clock | None = None
        self._next_s = 0.0

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(name="metronome", description=f"Metronome at {self.bpm:g} bpm",
                          channels=("hr",), provenance=Provenance.SIMULATED)

    @property
    def connection(self) -> ConnectionState:
        return ConnectionState.CONNECTED if self._clock is not None else ConnectionState.DISCONNECTED

    def open(self, clock: Clock) -> None:
        self._clock = clock
        self._next_s = clock.now()  # the first value right away, in the session's seconds

    def read(self) -> SampleBatch:
        if self._clock is None:
            return EMPTY_BATCH
        now = self._clock.now()
        samples = []
        while self._next_s <= now:  # everything due since the last read, nothing ahead
            samples.append(NumericSample("hr", self._next_s, self.bpm))
            self._next_s += 1.0
        return SampleBatch(numerics=tuple(samples))

    def close(self) -> None:
        self._clock = None
