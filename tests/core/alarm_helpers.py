"""Shared helpers for the alarm tests: feed a channel at a steady rate, find shown alarms."""

from __future__ import annotations

from collections.abc import Iterable

from ketadesk.core.alarm_engine import AlarmEngine, AlarmView


def feed(engine: AlarmEngine, channel: str, values: Iterable[float], t0_s: float = 0.0,
         dt_s: float = 1.0) -> float:
    """Send values one per dt_s starting at t0_s, ticking after each; return the next time."""
    t = t0_s
    for v in values:
        engine.on_numeric(channel, t, v)
        engine.tick(t)
        t += dt_s
    return t


def shown(engine: AlarmEngine, now_s: float) -> dict[str, AlarmView]:
    return {v.alarm_id: v for v in engine.snapshot(now_s).alarms}
