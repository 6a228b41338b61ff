"""Replay source: plays a recording back as if it were a live monitor.

On `open(clock)` the source notes clock.now() as the start; each `read()` hands over every sample
whose recording time has come due since the last read, stamped in the session clock's seconds:
start + (t_orig - start_s) / speed. Bookkeeping is by sample index, so no sample is delivered
twice or skipped however the reads fall. Waveforms keep their recorded rate (their chunks carry
rate * speed, the rate in session seconds). At the end the source reports "end of recording"
and disconnects, or starts again from the beginning with loop=yes.

To replay at 60x with recording-time stamps instead, run the session on a ScaledClock at 60x
and this source at speed 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ketadesk.core.channels import CHANNELS
from ketadesk.core.clock import Clock
from ketadesk.core.config import resource_path
from ketadesk.sources.base import (
    EMPTY_BATCH,
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceError,
    SourceInfo,
    SourceOption,
    StatusEvent,
    WaveformChunk,
    parse_options,
)
from ketadesk.sources.recordings import Recording, load_recording

MIN_SPEED = 1.0
MAX_SPEED = 60.0


@dataclass
class _Cursor:
    """Where playback is: which pass (loop) and the next sample index per channel."""

    pass_index: int
    numeric_next: dict[str, int]
    waveform_next: dict[str, int]


class ReplaySource:
    """Recorded vitals played back as if live (a CSV file or a WFDB record).

    File formats: see ketadesk.sources.recordings and docs/csv-format.md.
    """

    provenance: ClassVar[Provenance] = Provenance.REPLAY

    options: tuple[SourceOption, ...] = (
        SourceOption("path", "recording to play: a .csv file, a WFDB .hea file or record path"),
        SourceOption("speed", "playback speed, 1 to 60 times real time", "1"),
        SourceOption("loop", "start again from the beginning at the end", "no", ("yes", "no")),
        SourceOption("start_s", "seconds into the recording to start from", "0"),
    )
    # A shipped demo recording, so the contract test runs on a machine without peers.
    contract_test_options: ClassVar[dict[str, str]] = {
        "path": str(resource_path("recordings", "demo_simulated_10min.csv"))
    }

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)
        if not opts["path"]:
            raise SourceError("option path is required: a .csv file or a WFDB record (.hea)")
        speed = _parse_speed(opts["speed"])  # checked before the (slower) file load
        self._setup(load_recording(opts["path"]), speed, opts["loop"] == "yes", opts["start_s"])

    @classmethod
    def from_recording(
        cls, recording: Recording, speed: str = "1", loop: bool = False, start_s: str = "0"
    ) -> ReplaySource:
        """A source over an already loaded recording (tests, a future session loader)."""
        source = cls.__new__(cls)
        source._setup(recording, _parse_speed(speed), loop, start_s)
        return source

    def _setup(self, recording: Recording, speed: float, loop: bool, start_s: str) -> None:
        self._recording = recording
        self._speed = speed
        self._loop = loop
        self._start_s = _parse_start(start_s, recording)
        self._state = ConnectionState.DISCONNECTED
        self._clock: Clock | None = None
        self._open_t = 0.0
        self._cursor = _Cursor(0, {}, {})
        self._pending: list[StatusEvent] = []
        looping = ", looping" if loop else ""
        self._info = SourceInfo(
            name="replay",
            description=f"replay of {recording.label} at {speed:g}x{looping}",
            channels=recording.channels,
            provenance=Provenance.REPLAY,
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def connection(self) -> ConnectionState:
        return self._state

    @property
    def recording(self) -> Recording:
        return self._recording

    def open(self, clock: Clock) -> None:
        """Start playing at start_s now; opening again starts over."""
        rec = self._recording
        self._clock = clock
        self._open_t = clock.now()
        self._cursor = _Cursor(
            0,
            {c: int(np.searchsorted(s.t_s, self._start_s)) for c, s in rec.numerics.items()},
            {
                c: max(0, math.ceil((self._start_s - w.t0_s) * w.rate_hz))
                for c, w in rec.waveforms.items()
            },
        )
        self._state = ConnectionState.CONNECTED
        self._pending = [
            StatusEvent(self._open_t, "connection", detail=self._info.description),
            *(StatusEvent(self._open_t, "message", detail=m) for m in rec.skipped),
        ]

    def close(self) -> None:
        self._clock = None
        self._state = ConnectionState.DISCONNECTED

    def read(self) -> SampleBatch:
        """Every sample due since the last read (never blocks)."""
        if self._clock is None:
            return EMPTY_BATCH
        status, self._pending = self._pending, []
        if self._state is not ConnectionState.CONNECTED:
            return SampleBatch(status=tuple(status))
        rec = self._recording
        cur = self._cursor
        # Recording position, counted from the start of the first pass.
        position_s = self._start_s + (self._clock.now() - self._open_t) * self._speed
        numerics: list[NumericSample] = []
        waveforms: list[WaveformChunk] = []
        while True:
            horizon_s = position_s - cur.pass_index * rec.duration_s
            self._due_numerics(horizon_s, numerics)
            self._due_waveforms(horizon_s, waveforms)
            if horizon_s < rec.duration_s:
                break
            end_t = self._stamp(rec.duration_s)
            if not self._loop:
                status.append(StatusEvent(end_t, "connection", detail="end of recording"))
                self._state = ConnectionState.DISCONNECTED
                break
            cur.pass_index += 1
            cur.numeric_next = dict.fromkeys(rec.numerics, 0)
            cur.waveform_next = dict.fromkeys(rec.waveforms, 0)
            status.append(StatusEvent(
                end_t, "message", detail=f"recording restarted (pass {cur.pass_index + 1})"
            ))
        return SampleBatch(tuple(numerics), tuple(waveforms), tuple(status))

    def _stamp(self, t_orig_s: float) -> float:
        """Session-clock time of a recording time in the current pass."""
        offset_s = self._cursor.pass_index * self._recording.duration_s - self._start_s
        return self._open_t + (offset_s + t_orig_s) / self._speed

    def _due_numerics(self, horizon_s: float, out: list[NumericSample]) -> None:
        nexts = self._cursor.numeric_next
        for cid, series in self._recording.numerics.items():
            end = int(np.searchsorted(series.t_s, horizon_s, side="right"))
            # An intermittent measurement (NIBP) that did not happen sends nothing; a
            # continuous one with no value sends NaN, as a monitor shows dashes.
            keep_nan = CHANNELS[cid].continuous
            for t, value in zip(series.t_s[nexts[cid]:end], series.values[nexts[cid]:end],
                                strict=True):
                if keep_nan or not math.isnan(value):
                    out.append(NumericSample(cid, self._stamp(float(t)), float(value)))
            nexts[cid] = max(nexts[cid], end)

    def _due_waveforms(self, horizon_s: float, out: list[WaveformChunk]) -> None:
        nexts = self._cursor.waveform_next
        for cid, wave in self._recording.waveforms.items():
            if horizon_s < wave.t0_s:
                continue
            end = min(len(wave.values), math.floor((horizon_s - wave.t0_s) * wave.rate_hz) + 1)
            start = nexts[cid]
            if end > start:
                out.append(WaveformChunk(
                    cid,
                    self._stamp(wave.t0_s + start / wave.rate_hz),
                    wave.rate_hz * self._speed,
                    wave.values[start:end],
                ))
                nexts[cid] = end


def _parse_speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not MIN_SPEED <= speed <= MAX_SPEED:  # also refuses NaN
        raise SourceError(
            f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} (got {text!r})"
        )
    return speed


def _parse_start(text: str, recording: Recording) -> float:
    try:
        start_s = float(text)
    except ValueError:
        start_s = math.nan
    if not 0 <= start_s < recording.duration_s:
        raise SourceError(
            f"start_s must be from 0 to under {recording.duration_s:g} s, the length of "
            f"{recording.label} (got {text!r})"
        )
    return start_s
