"""Plays the alarm bursts through the shared AudioOutput, as the core's BurstScheduler decides.

The bursts are ketadesk.core.tones.alarm_burst(priority), made once. Timing follows an injected
monotonic time source (real time by default, not the session clock), checked on each refresh of
the one live timer: no timer of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ketadesk.core.alarm_engine import AlarmSnapshot
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.alarm_signals import BurstScheduler
from ketadesk.core.tones import alarm_burst
from ketadesk.ui.audio import AudioOutput


def burst_name(priority: Priority) -> str:
    """The name AudioOutput.played records for a burst, e.g. `alarm_high`."""
    return f"alarm_{priority.value}"


class AlarmSoundPlayer:
    def __init__(self, audio: AudioOutput, now: Callable[[], float] = time.monotonic) -> None:
        self.audio = audio
        self._now = now
        self._scheduler = BurstScheduler()
        # Made at start-up, not in the frame that first needs one (that frame shows the alarm).
        self._pcm: dict[Priority, npt.NDArray[np.int16]] = {
            p: alarm_burst(p, audio.sample_rate_hz) for p in Priority}
        self.quiet_room = False

    def update(self, alarms: AlarmSnapshot) -> Priority | None:
        """Start a burst if one is due; returns the priority started (None: nothing started)."""
        was = self._scheduler.priority
        start = self._scheduler.update(alarms, self.quiet_room, self._now())
        if start is not None:
            self.audio.play(burst_name(start), self._pcm[start])
        elif was is not None and self._scheduler.priority is None:
            # Acknowledged, paused or gone: cut the burst short rather than finish it.
            self.audio.stop()
        return start
