"""The SeriesProvider of review mode: a stored session fed to the plots window by window.

Numerics (a few thousand points an hour) are loaded once at open. Waveforms are never all
in memory: a short visible window is read from the file (only the rows it covers) and, when
it holds more samples than the plot can show, reduced to a min/max envelope; a long window
is cut from a one-row-per-second min/max envelope built in one pass over the file at first
use (about 40 ms for 4 h of ECG). Either way a curve gets at most `max_points` points, so a
4 h ECG is drawn with ~4,000 points and panning costs the same at 12 h as at 10 min.
Gaps (a crash, a resumed session, a disconnected lead) come out as NaN, so curves drawn
with connect="finite" break there instead of drawing a line across. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ketadesk.core.rebuild import EVENT_RESUMED
from ketadesk.store.reader import Recording, Series

FloatArray = npt.NDArray[np.float64]

RAW_SPAN_S = 600.0  # up to this visible span waveforms are read sample by sample
DEFAULT_MAX_POINTS = 4000


@dataclass(frozen=True)
class Envelope:
    """Per stored row (about one second): start time, end time, lowest and highest value."""

    t0_s: FloatArray
    t1_s: FloatArray
    lo: FloatArray
    hi: FloatArray


def minmax_decimate(t: FloatArray, v: FloatArray, buckets: int) -> tuple[FloatArray, FloatArray]:
    """Reduce to `buckets` (min, max) pairs in equal runs of samples, in time order.

    Each bucket becomes two points at its first time, the lower and the higher, so every peak
    survives (a QRS spike is never averaged away). NaN samples are ignored; a bucket of only
    NaN stays NaN, which keeps gaps visible.
    """
    n = len(t)
    if buckets <= 0 or n <= 2 * buckets:
        return t, v
    starts = (np.arange(buckets) * n) // buckets
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduceat(v, starts)
        hi = np.fmax.reduceat(v, starts)
    x = np.repeat(t[starts], 2)
    y = np.empty(2 * buckets, dtype=np.float64)
    y[0::2], y[1::2] = lo, hi
    return x, y


def break_gaps(t: FloatArray, v: FloatArray, max_step_s: float) -> tuple[FloatArray, FloatArray]:
    """Insert a NaN point wherever consecutive times are more than `max_step_s` apart."""
    if len(t) < 2:
        return t, v
    gaps = np.flatnonzero(np.diff(t) > max_step_s) + 1
    if not len(gaps):
        return t, v
    return (np.insert(t, gaps, t[gaps - 1] + max_step_s / 2),
            np.insert(v.astype(np.float64), gaps, np.nan))


def _break_at(s: Series, gaps: tuple[tuple[float, float], ...]) -> Series:
    """A NaN point at the start of each gap that has values on both sides."""
    t, v = s.t_s, s.values
    for a, b in gaps:
        i = int(np.searchsorted(t, a, side="right"))
        if 0 < i < len(t) and t[i] >= b - 1.0:
            t, v = np.insert(t, i, a), np.insert(v, i, np.nan)
    return Series(t, v)


class ReviewSeriesProvider:
    """SeriesProvider over an open Recording (the recording stays open while this is used)."""

    def __init__(self, recording: Recording, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 4:
            raise ValueError(f"max_points must be at least 4, got {max_points}")
        self.recording = recording
        self.max_points = max_points
        # Where KetaDesk was down (a resumed session): the trends break there too.
        self.gaps = tuple((float(e.data["gap_from_s"]), float(e.data["gap_to_s"]))
                          for e in recording.events()
                          if e.kind == EVENT_RESUMED and "gap_from_s" in e.data
                          and "gap_to_s" in e.data)
        self._numerics: dict[str, Series] = {
            ch: _break_at(s, self.gaps) for ch, s in recording.numerics().items()}
        self._waveforms = frozenset(recording.waveform_channels())
        self._envelopes: dict[str, Envelope] = {}
        self._rates: dict[str, float] = {}
        end = recording.duration_s
        for s in self._numerics.values():
            if len(s.t_s):
                end = max(end, float(s.t_s[-1]))
        self._end_s = end

    @property
    def numeric_channels(self) -> tuple[str, ...]:
        return tuple(sorted(self._numerics))

    @property
    def waveform_channels(self) -> tuple[str, ...]:
        return tuple(sorted(self._waveforms))

    def time_span(self) -> tuple[float, float]:
        return 0.0, self._end_s

    def series(self, channel: str, t0_s: float, t1_s: float) -> tuple[FloatArray, FloatArray]:
        """Samples in [t0_s, t1_s]: numerics as stored, waveforms at most max_points points."""
        num = self._numerics.get(channel)
        if num is not None:
            i0 = int(np.searchsorted(num.t_s, t0_s, side="left"))
            i1 = int(np.searchsorted(num.t_s, t1_s, side="right"))
            return num.t_s[i0:i1], num.values[i0:i1].astype(np.float64, copy=False)
        if channel not in self._waveforms or not t1_s > t0_s:
            empty = np.empty(0)
            return empty, empty
        if t1_s - t0_s <= RAW_SPAN_S:
            return self._raw(channel, t0_s, t1_s)
        return self._from_envelope(channel, t0_s, t1_s)

    def full(self, channel: str) -> tuple[FloatArray, FloatArray]:
        """Every sample of a channel, undecimated (exports and the benchmark's naive baseline)."""
        if channel in self._numerics:
            s = self._numerics[channel]
            return s.t_s, s.values.astype(np.float64, copy=False)
        s = self.recording.waveform(channel)
        return s.t_s, s.values.astype(np.float64)

    # ---- waveforms ---------------------------------------------------------------------------

    def _raw(self, channel: str, t0_s: float, t1_s: float) -> tuple[FloatArray, FloatArray]:
        s = self.recording.waveform(channel, t0_s, t1_s)
        t, v = s.t_s, s.values.astype(np.float64)
        if len(t) > 1:
            self._rates.setdefault(channel, 1.0 / float(np.median(np.diff(t[:64]))))
        rate = self._rates.get(channel)
        buckets = self.max_points // 2
        if rate is None or len(t) < 2:
            return minmax_decimate(t, v, buckets)
        # Decimate each unbroken stretch on its own, so a gap stays a gap (a min/max bucket
        # across it would ignore the NaN and draw the line over it).
        cuts = np.flatnonzero(np.diff(t) > 2.5 / rate) + 1
        if not len(cuts):
            return minmax_decimate(t, v, buckets)
        xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
            share = max(1, int(buckets * (b - a) / len(t)))
            x, y = minmax_decimate(t[a:b], v[a:b], share)
            if xs:
                xs.append(np.array([(xs[-1][-1] + x[0]) / 2.0]))
                ys.append(np.array([np.nan]))
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys)

    def envelope(self, channel: str) -> Envelope:
        """The per-row min/max envelope of a waveform channel, built once in one pass."""
        env = self._envelopes.get(channel)
        if env is None:
            env = self._build_envelope(channel)
            self._envelopes[channel] = env
        return env

    def _build_envelope(self, channel: str) -> Envelope:
        t0s, t1s, los, his = [], [], [], []
        for t0, rate, n, values in self.recording.waveform_blocks(channel):
            starts = np.cumsum(n) - n
            with np.errstate(invalid="ignore"):
                los.append(np.fmin.reduceat(values, starts).astype(np.float64))
                his.append(np.fmax.reduceat(values, starts).astype(np.float64))
            t0s.append(t0)
            t1s.append(t0 + n / rate)
        if not t0s:
            empty = np.empty(0)
            return Envelope(empty, empty, empty, empty)
        return Envelope(np.concatenate(t0s), np.concatenate(t1s), np.concatenate(los),
                        np.concatenate(his))

    def _from_envelope(self, channel: str, t0_s: float, t1_s: float
                       ) -> tuple[FloatArray, FloatArray]:
        env = self.envelope(channel)
        i0 = max(0, int(np.searchsorted(env.t1_s, t0_s, side="left")))
        i1 = int(np.searchsorted(env.t0_s, t1_s, side="right"))
        t0, t1, lo, hi = env.t0_s[i0:i1], env.t1_s[i0:i1], env.lo[i0:i1], env.hi[i0:i1]
        if not len(t0):
            empty = np.empty(0)
            return empty, empty
        buckets = self.max_points // 2
        # A row that starts well after the previous one ended is a gap: each unbroken stretch
        # is merged on its own and the stretches are joined by a NaN, which breaks the line.
        cuts = np.flatnonzero(t0[1:] - t1[:-1] > 1.5 * float(np.median(t1 - t0))) + 1
        xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t0)], strict=True):
            seg_lo, seg_hi, seg_t = lo[a:b], hi[a:b], t0[a:b]
            share = max(1, int(buckets * (b - a) / len(t0)))
            if b - a > share:  # merge neighbouring rows: every extreme still survives
                starts = (np.arange(share) * (b - a)) // share
                with np.errstate(invalid="ignore"):
                    seg_lo = np.fmin.reduceat(seg_lo, starts)
                    seg_hi = np.fmax.reduceat(seg_hi, starts)
                seg_t = seg_t[starts]
            if xs:
                xs.append(np.array([t1[a - 1]]))
                ys.append(np.array([np.nan]))
            y = np.empty(2 * len(seg_lo))
            y[0::2], y[1::2] = seg_lo, seg_hi
            xs.append(np.repeat(seg_t, 2))
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys)
