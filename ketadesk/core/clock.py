"""Clocks the core runs on.

Everything clinical is timed in monotonic seconds since the session started, never in wall time:
a wall-clock change (NTP step, daylight saving, a curious hand) must not move the infusion clock.
Wall time is read once, at start, for the record.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of monotonic seconds and, for the record only, wall time."""

    def now(self) -> float:
        """Monotonic seconds since this clock was created (never goes backwards)."""
        ...

    def wall_time(self) -> datetime:
        """Wall-clock time now (UTC, aware). For labels only, never for durations."""
        ...


class MonotonicClock:
    """The real clock: time.monotonic(), which wall-clock changes cannot move."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def wall_time(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to: deterministic tests and headless max-speed runs."""

    def __init__(self, start_s: float = 0.0, wall_start: datetime | None = None) -> None:
        self._now = float(start_s)
        self._wall_start = wall_start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        self.wall_offset_s = 0.0  # tests move this to simulate a wall-clock jump

    def now(self) -> float:
        return self._now

    def advance(self, dt_s: float) -> None:
        if dt_s < 0:
            raise ValueError(f"a monotonic clock cannot go back (asked to advance by {dt_s} s)")
        self._now += dt_s

    def set(self, t_s: float) -> None:
        if t_s < self._now:
            raise ValueError(f"a monotonic clock cannot go back (from {self._now} s to {t_s} s)")
        self._now = t_s

    def wall_time(self) -> datetime:
        from datetime import timedelta

        return self._wall_start + timedelta(seconds=self._now + self.wall_offset_s)


class ScaledClock:
    """Runs a base clock faster (simulation at 2x-60x) and can be paused (instructor pause).

    The speed can change at any moment without a jump: time so far is banked first.
    """

    def __init__(self, base: Clock, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._base = base
        self._speed = float(speed)
        self._anchor_base = base.now()
        self._anchor_scaled = 0.0
        self._paused = False

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def now(self) -> float:
        if self._paused:
            return self._anchor_scaled
        return self._anchor_scaled + (self._base.now() - self._anchor_base) * self._speed

    def _rebase(self) -> None:
        self._anchor_scaled = self.now()
        self._anchor_base = self._base.now()

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._rebase()
        self._speed = float(speed)

    def pause(self) -> None:
        self._rebase()
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._anchor_base = self._base.now()
            self._paused = False

    def wall_time(self) -> datetime:
        return self._base.wall_time()
