"""The data-source contract every vitals source fulfils, built-in or third-party.

A source is opened with the session's clock and stamps every sample in that clock's seconds,
so simulated, replayed and live data share one time base. `read()` never blocks: a source
whose device blocks (a socket, a serial port) owns a thread and hands data over under a lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ketadesk.core.clock import Clock


class SourceError(Exception):
    """A source cannot do what was asked; the message says what is wrong and what is allowed."""


class Provenance(Enum):
    """Where the data comes from: shown on screen, in the recording and on every report."""

    LIVE = "live"
    SIMULATED = "simulated"
    REPLAY = "replay"


class ConnectionState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STALLED = "stalled"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class SourceInfo:
    name: str
    description: str
    channels: tuple[str, ...]
    provenance: Provenance

    @property
    def simulated(self) -> bool:
        return self.provenance is Provenance.SIMULATED


@dataclass(frozen=True)
class NumericSample:
    channel: str
    t_s: float
    value: float


@dataclass(frozen=True)
class WaveformChunk:
    """Evenly spaced samples: sample i was taken at t0_s + i / rate_hz."""

    channel: str
    t0_s: float
    rate_hz: float
    values: npt.NDArray[np.float32]

    def times(self) -> npt.NDArray[np.float64]:
        return self.t0_s + np.arange(len(self.values), dtype=np.float64) / self.rate_hz


@dataclass(frozen=True)
class StatusEvent:
    """Something the source says about itself or a sensor: probe off, lead off, reconnecting.

    `kind` is one of: "probe_off", "probe_on", "leads_off", "leads_on", "connection", "message".
    """

    t_s: float
    kind: str
    channel: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class SampleBatch:
    numerics: tuple[NumericSample, ...] = ()
    waveforms: tuple[WaveformChunk, ...] = ()
    status: tuple[StatusEvent, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.numerics or self.waveforms or self.status)


EMPTY_BATCH = SampleBatch()


@dataclass(frozen=True)
class SourceOption:
    """An option a source accepts (`--source-opt key=value`), declared so forms can be built."""

    key: str
    help: str
    default: str = ""
    choices: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class VitalsSource(Protocol):
    """What the session needs from a source.

    Construct with `Source(**options)` where options are strings from the command line or the
    source picker; raise SourceError for a bad option. Then `open(clock)`, `read()` from the
    UI tick (never blocks), `close()` (idempotent).

    Optional class attributes, read without constructing the source: `provenance` (a
    Provenance: the listing and the source picker show it) and `contract_test_options` (a dict
    of safe options for the contract test). The first docstring line is the one-line summary
    `ketadesk sources` and the picker show. See docs/sources.md.
    """

    options: tuple[SourceOption, ...]

    @property
    def info(self) -> SourceInfo: ...

    @property
    def connection(self) -> ConnectionState: ...

    def open(self, clock: Clock) -> None: ...

    def read(self) -> SampleBatch: ...

    def close(self) -> None: ...


def parse_options(
    declared: tuple[SourceOption, ...], given: Mapping[str, str]
) -> dict[str, str]:
    """Merge given options over defaults, refusing unknown keys with the allowed list."""
    known = {o.key: o for o in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise SourceError(f"unknown source option(s) {', '.join(unknown)}; allowed: {allowed}")
    merged = {o.key: o.default for o in declared}
    for key, value in given.items():
        opt = known[key]
        if opt.choices and value not in opt.choices:
            raise SourceError(
                f"option {key}={value!r} is not allowed; choose one of {', '.join(opt.choices)}"
            )
        merged[key] = value
    return merged
