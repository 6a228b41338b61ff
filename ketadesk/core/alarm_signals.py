"""How alarms are signalled to a person: flash phases, what may sound, when a burst starts.

Qt-free and clock-free, so the GUI only draws and plays what these functions decide and the rules
are tested without a screen. Times here are seconds of a monotonic clock the caller chooses (the
GUI uses real time, not session time, so a sped-up or fake session clock cannot change how fast
an alarm flashes or how often a burst repeats).

Flash rates follow IEC 60601-1-8 as described in DOMAIN.md section 6: high 1.4-2.8 Hz, medium
0.4-0.8 Hz, both 20-60 % duty; low is steady. "Quiet room" mode keeps medium and low alarms visual
only; a high-priority alarm always sounds.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketadesk.core.alarm_engine import AlarmSnapshot, AlarmState, AlarmView
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.tones import PATTERNS, BurstPattern

# Chosen inside the IEC ranges: 2 Hz and 0.5 Hz at 50 % duty; 0 Hz means steady.
FLASH_HZ: dict[Priority, float] = {Priority.HIGH: 2.0, Priority.MEDIUM: 0.5, Priority.LOW: 0.0}
FLASH_DUTY = 0.5


def flash_lit(priority: Priority, t_s: float) -> bool:
    """Whether a flashing indicator of this priority is lit at monotonic time t_s."""
    hz = FLASH_HZ[priority]
    if hz <= 0:
        return True
    return (t_s * hz) % 1.0 < FLASH_DUTY


def flashes(view: AlarmView) -> bool:
    """An alarm flashes while its condition is present and nobody has acknowledged it.

    Acknowledged and latched alarms stay shown in their colour, steady: the flashing says
    "needs attention now", the marker and the words keep the priority readable.
    """
    return view.state is AlarmState.ACTIVE and not view.acknowledged and FLASH_HZ[
        view.priority] > 0


def audible(priority: Priority, quiet_room: bool) -> bool:
    """Quiet room: medium and low alarms are visual only; high always sounds."""
    return priority is Priority.HIGH or not quiet_room


def sound_now(snapshot: AlarmSnapshot, quiet_room: bool) -> Priority | None:
    """The priority that should be heard now, after the quiet-room rule (None: silence)."""
    heard = [v.priority for v in snapshot.alarms if v.sounding and audible(v.priority,
                                                                            quiet_room)]
    return min(heard, key=lambda p: p.rank) if heard else None


class BurstScheduler:
    """Decides when the next alarm burst starts; the caller plays it.

    A burst starts at once when something new must be heard (a newly sounding alarm, including
    one raised during an audio pause, or a change of the priority to sound) and then again every
    repeat_s of that priority while it keeps sounding. Silence resets the schedule.
    """

    def __init__(self, patterns: Mapping[Priority, BurstPattern] = PATTERNS) -> None:
        self._patterns = patterns
        self._heard: frozenset[str] = frozenset()
        self._priority: Priority | None = None
        self._last_start_s: float | None = None

    @property
    def priority(self) -> Priority | None:
        """The priority being sounded now (None: silence)."""
        return self._priority

    def update(self, snapshot: AlarmSnapshot, quiet_room: bool, now_s: float) -> Priority | None:
        """The burst to start now, or None; call once per UI frame with monotonic now_s."""
        heard = frozenset(v.alarm_id for v in snapshot.alarms
                          if v.sounding and audible(v.priority, quiet_room))
        priority = sound_now(snapshot, quiet_room)
        new_alarm = bool(heard - self._heard)
        changed = priority is not self._priority
        self._heard, self._priority = heard, priority
        if priority is None:
            self._last_start_s = None
            return None
        due = (self._last_start_s is None
               or now_s - self._last_start_s >= self._patterns[priority].repeat_s)
        if new_alarm or changed or due:
            self._last_start_s = now_s
            return priority
        return None
