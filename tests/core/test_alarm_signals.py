"""Flash phases, quiet-room rule and burst scheduling (ketadesk.core.alarm_signals)."""

from __future__ import annotations

import pytest
from alarm_helpers import feed, shown

from ketadesk.core.alarm_engine import AlarmEngine
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.alarm_signals import (
    FLASH_HZ,
    BurstScheduler,
    audible,
    flash_lit,
    flashes,
    sound_now,
)
from ketadesk.core.clock import FakeClock
from ketadesk.core.session import Session
from ketadesk.core.tones import PATTERNS
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo


def _lit_fraction_and_edges(priority: Priority, seconds: float) -> tuple[float, int]:
    steps = int(seconds * 1000)
    phases = [flash_lit(priority, 100.0 + i / 1000) for i in range(steps)]
    rises = sum(1 for a, b in zip(phases, phases[1:], strict=False) if b and not a)
    return sum(phases) / steps, rises


@pytest.mark.parametrize(("priority", "lo_hz", "hi_hz"),
                         [(Priority.HIGH, 1.4, 2.8), (Priority.MEDIUM, 0.4, 0.8)])
def test_flash_rate_and_duty_inside_iec_ranges(priority: Priority, lo_hz: float,
                                               hi_hz: float) -> None:
    duty, rises = _lit_fraction_and_edges(priority, 10.0)
    assert lo_hz * 10 - 1 <= rises <= hi_hz * 10 + 1
    assert 0.2 <= duty <= 0.6


def test_high_flashes_at_2_hz_half_on_half_off() -> None:
    assert FLASH_HZ[Priority.HIGH] == 2.0
    assert [flash_lit(Priority.HIGH, t) for t in (0.0, 0.1, 0.24, 0.26, 0.49, 0.5, 0.76)] == [
        True, True, True, False, False, True, False]


def test_low_priority_is_steady() -> None:
    assert all(flash_lit(Priority.LOW, t / 7) for t in range(100))


def test_quiet_room_keeps_medium_and_low_visual_only() -> None:
    assert audible(Priority.HIGH, True) and audible(Priority.HIGH, False)
    assert not audible(Priority.MEDIUM, True) and not audible(Priority.LOW, True)
    assert audible(Priority.MEDIUM, False) and audible(Priority.LOW, False)


def _engine_with_hr_alarm() -> AlarmEngine:
    e = AlarmEngine()
    feed(e, "hr", [130.0] * 12)  # medium HR > 120 after 10 s
    return e


def test_sound_now_applies_quiet_room_to_the_engine_snapshot() -> None:
    e = _engine_with_hr_alarm()
    snap = e.snapshot(12.0)
    assert snap.sound is Priority.MEDIUM
    assert sound_now(snap, quiet_room=False) is Priority.MEDIUM
    assert sound_now(snap, quiet_room=True) is None
    e.on_numeric("nibp_sys", 12.0, 190.0)  # high, latching, no delay
    assert sound_now(e.snapshot(12.0), quiet_room=True) is Priority.HIGH


def test_acknowledged_and_latched_alarms_stop_flashing() -> None:
    e = _engine_with_hr_alarm()
    e.on_numeric("nibp_sys", 12.0, 190.0)
    views = shown(e, 12.0)
    assert flashes(views["hr.high.medium"]) and flashes(views["nibp_sys.high.high"])
    e.acknowledge(13.0, "AB", "hr.high.medium")
    e.on_numeric("nibp_sys", 14.0, 130.0)  # clears, stays latched
    views = shown(e, 14.0)
    assert not flashes(views["hr.high.medium"])
    assert not flashes(views["nibp_sys.high.high"])


def test_bursts_repeat_at_the_priority_interval_and_stop_on_silence() -> None:
    e = _engine_with_hr_alarm()
    sched = BurstScheduler()
    repeat = PATTERNS[Priority.MEDIUM].repeat_s
    snap = e.snapshot(12.0)
    starts = [t for t in range(0, 61) if sched.update(snap, False, float(t)) is not None]
    assert starts == [0, int(repeat), int(2 * repeat), int(3 * repeat)][: len(starts)]
    assert len(starts) == 60 // int(repeat) + 1
    e.acknowledge(12.0, "AB")
    assert sched.update(e.snapshot(12.0), False, 61.0) is None
    assert sched.priority is None


def test_a_new_alarm_during_audio_pause_starts_a_burst_at_once() -> None:
    e = _engine_with_hr_alarm()
    sched = BurstScheduler()
    assert sched.update(e.snapshot(12.0), False, 0.0) is Priority.MEDIUM
    e.pause_audio(12.0, "AB")
    assert sched.update(e.snapshot(13.0), False, 1.0) is None  # paused: silence
    feed(e, "spo2", [88.0] * 11, t0_s=13.0)  # medium SpO2 < 90 after 10 s, during the pause
    snap = e.snapshot(24.0)
    assert snap.audio_pause_remaining_s is not None
    assert sched.update(snap, False, 2.0) is Priority.MEDIUM


def test_escalation_to_high_sounds_at_once_even_between_repeats() -> None:
    e = _engine_with_hr_alarm()
    sched = BurstScheduler()
    assert sched.update(e.snapshot(12.0), False, 0.0) is Priority.MEDIUM
    assert sched.update(e.snapshot(12.0), False, 1.0) is None
    e.on_numeric("nibp_sys", 13.0, 185.0)
    assert sched.update(e.snapshot(13.0), False, 2.0) is Priority.HIGH


def test_quiet_room_silences_medium_but_a_high_alarm_still_sounds() -> None:
    e = _engine_with_hr_alarm()
    sched = BurstScheduler()
    assert sched.update(e.snapshot(12.0), True, 0.0) is None
    e.on_numeric("nibp_sys", 13.0, 185.0)
    assert sched.update(e.snapshot(13.0), True, 1.0) is Priority.HIGH


INFO = SourceInfo("t", "t", ("hr",), Provenance.LIVE)


def test_session_limit_change_is_recorded_once_with_who() -> None:
    clock = FakeClock(50.0)
    s = Session(clock, INFO)
    ev = s.change_alarm_limit("hr.high.medium", 130.0, "ab")
    assert ev.kind == "limit_change" and ev.who == "AB" and ev.t_s == 50.0
    assert "120 -> 130" in ev.detail
    assert [e for e in s.tick(50.0) if e.kind == "limit_change"] == [ev]
    assert s.tick(51.0) == []
    assert s.events.count(ev) == 1
    rule = {r.id: r for r in s.alarms.rules}["hr.high.medium"]
    assert rule.threshold == 130.0


def test_session_limit_change_refused_records_nothing() -> None:
    from ketadesk.core.alarms import LimitChangeError

    s = Session(FakeClock(), INFO)
    with pytest.raises(LimitChangeError, match="must be below"):
        s.change_alarm_limit("hr.low.medium", 125.0, "AB")  # above the 120 high limit
    with pytest.raises(LimitChangeError, match="plausible range"):
        s.change_alarm_limit("hr.high.medium", 999.0, "AB")
    assert s.tick(0.0) == [] and s.events == []


def test_session_limit_change_takes_effect_on_the_current_value() -> None:
    clock = FakeClock()
    s = Session(clock, INFO)
    for t in range(5):
        s.ingest(SampleBatch(numerics=(NumericSample("hr", float(t), 110.0),)))
    clock.set(5.0)
    s.change_alarm_limit("hr.high.medium", 100.0, "AB")
    for t in range(5, 17):
        s.ingest(SampleBatch(numerics=(NumericSample("hr", float(t), 110.0),)))
    assert s.snapshot(16.0).alarms.top is not None
    assert s.snapshot(16.0).alarms.top.alarm_id == "hr.high.medium"


def test_a_new_alarm_of_the_priority_already_sounding_starts_a_burst_at_once() -> None:
    e = _engine_with_hr_alarm()
    sched = BurstScheduler()
    assert sched.update(e.snapshot(12.0), False, 0.0) is Priority.MEDIUM
    assert sched.update(e.snapshot(12.0), False, 1.0) is None  # not due before repeat_s
    feed(e, "spo2", [88.0] * 11, t0_s=12.0)  # a second medium alarm
    assert sched.update(e.snapshot(23.0), False, 2.0) is Priority.MEDIUM
    assert sched.update(e.snapshot(23.0), False, 3.0) is None
