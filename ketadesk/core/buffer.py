"""Per-channel ring buffers and the SeriesProvider the plots read.

Appending must cost the same at 4 h of history as at 0 (np.append copies everything and
falls seconds behind at 4 h: DESIGN.md). Each sample is written twice, at i and i + capacity,
so the newest `capacity` samples are always one contiguous slice: windows are views found
by binary search, with no copying or wrap-around logic on the read path.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class SeriesProvider(Protocol):
    """What a plot needs: the samples of one channel between two session times."""

    def series(self, channel: str, t0_s: float, t1_s: float) -> tuple[FloatArray, FloatArray]: ...

    def time_span(self) -> tuple[float, float]: ...


class RingBuffer:
    """Fixed-capacity (time, value) buffer; times must be non-decreasing."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._t = np.full(2 * capacity, np.nan)
        self._v = np.full(2 * capacity, np.nan)
        self._count = 0  # samples ever written

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    def _write(self, t: FloatArray, v: FloatArray) -> None:
        n = len(t)
        start = self._count % self.capacity
        first = min(n, self.capacity - start)
        for offset in (0, self.capacity):
            self._t[offset + start : offset + start + first] = t[:first]
            self._v[offset + start : offset + start + first] = v[:first]
        if first < n:
            rest = n - first
            for offset in (0, self.capacity):
                self._t[offset : offset + rest] = t[first:]
                self._v[offset : offset + rest] = v[first:]
        self._count += n

    def append(self, t_s: float, value: float) -> None:
        i = self._count % self.capacity
        self._t[i] = self._t[i + self.capacity] = t_s
        self._v[i] = self._v[i + self.capacity] = value
        self._count += 1

    def extend(self, t: FloatArray, v: FloatArray) -> None:
        if len(t) != len(v):
            raise ValueError(f"times and values differ in length ({len(t)} vs {len(v)})")
        if len(t) > self.capacity:  # only the newest capacity samples can be kept
            t, v = t[-self.capacity :], v[-self.capacity :]
        if len(t):
            self._write(np.asarray(t, dtype=np.float64), np.asarray(v, dtype=np.float64))

    def _live(self) -> tuple[FloatArray, FloatArray]:
        n = len(self)
        # Once full, the newest n samples end at the second copy of the write position.
        end = self._count if self._count < self.capacity else self._count % self.capacity + n
        return self._t[end - n : end], self._v[end - n : end]

    def window(self, t0_s: float, t1_s: float) -> tuple[FloatArray, FloatArray]:
        """Samples with t0_s <= t <= t1_s, as read-only views."""
        t, v = self._live()
        i0 = int(np.searchsorted(t, t0_s, side="left"))
        i1 = int(np.searchsorted(t, t1_s, side="right"))
        return t[i0:i1], v[i0:i1]

    def last(self) -> tuple[float, float] | None:
        if self._count == 0:
            return None
        i = (self._count - 1) % self.capacity
        return float(self._t[i]), float(self._v[i])

    def span(self) -> tuple[float, float] | None:
        if self._count == 0:
            return None
        t, _ = self._live()
        return float(t[0]), float(t[-1])


class BufferSet:
    """One ring buffer per channel; the live SeriesProvider."""

    def __init__(self, capacities: dict[str, int]) -> None:
        self._buffers = {ch: RingBuffer(cap) for ch, cap in capacities.items()}

    def __contains__(self, channel: str) -> bool:
        return channel in self._buffers

    def buffer(self, channel: str) -> RingBuffer:
        return self._buffers[channel]

    def series(self, channel: str, t0_s: float, t1_s: float) -> tuple[FloatArray, FloatArray]:
        buf = self._buffers.get(channel)
        if buf is None:
            empty = np.empty(0)
            return empty, empty
        return buf.window(t0_s, t1_s)

    def time_span(self) -> tuple[float, float]:
        spans = [s for b in self._buffers.values() if (s := b.span()) is not None]
        if not spans:
            return 0.0, 0.0
        return min(s[0] for s in spans), max(s[1] for s in spans)
