"""Alarm engine behaviour: delays, hysteresis, latching, actions, technical alarms, the log."""

from __future__ import annotations

import math

import pytest
from alarm_helpers import feed, shown

from ketadesk.core.alarm_engine import (
    LOG_CSV_COLUMNS,
    AlarmCommandError,
    AlarmEngine,
    AlarmState,
    LimitChangeError,
    LogState,
)
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import ConnectionState, NumericSample, SampleBatch, StatusEvent

HR_HIGH = "hr.high.medium"
SPO2_HIGH = "spo2.low.high"
SBP_HIGH = "nibp_sys.high.high"


def test_delay_counts_from_the_first_sample_beyond_the_limit() -> None:
    e = AlarmEngine()
    feed(e, "hr", [130.0] * 10)  # t = 0..9: 9 s beyond, delay is 10 s
    assert HR_HIGH not in shown(e, 9.0)
    e.on_numeric("hr", 10.0, 130.0)
    [entry] = e.tick(10.0)
    assert (entry.state, entry.alarm_id, entry.t_s, entry.value) == (
        LogState.RAISED, HR_HIGH, 10.0, 130.0)


def test_a_dip_back_inside_restarts_the_delay() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 8 + [100.0] + [130.0] * 8)
    assert HR_HIGH not in shown(e, t)


def test_nibp_is_judged_on_each_measurement_and_holds_until_the_next() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 182.0)
    assert SBP_HIGH in shown(e, 0.0)  # no delay for an intermittent channel
    e.tick(599.0)
    assert shown(e, 599.0)[SBP_HIGH].state is AlarmState.ACTIVE  # no sample, still present
    e.on_numeric("nibp_sys", 600.0, 140.0)
    assert shown(e, 600.0)[SBP_HIGH].state is AlarmState.LATCHED


def test_hysteresis_holds_until_past_the_margin() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 11)
    assert HR_HIGH in shown(e, t)
    t = feed(e, "hr", [120.0, 116.0, 115.1], t0_s=t)  # limit > 120, hysteresis 5
    assert HR_HIGH in shown(e, t)
    t = feed(e, "hr", [115.0], t0_s=t)
    assert HR_HIGH not in shown(e, t)  # non-latching: gone
    assert e.log[-1].state is LogState.CLEARED


def test_latched_alarm_stays_sounding_until_acknowledged_and_shown_until_reset() -> None:
    e = AlarmEngine()
    t = feed(e, "spo2", [83.0] * 6 + [97.0])
    view = shown(e, t)[SPO2_HIGH]
    assert view.state is AlarmState.LATCHED and view.sounding
    e.acknowledge(t, "ab", SPO2_HIGH)
    view = shown(e, t)[SPO2_HIGH]
    assert view.acknowledged and not view.sounding and view.state is AlarmState.LATCHED
    [entry] = e.reset(t + 1, "AB")
    assert (entry.state, entry.who, entry.alarm_id) == (LogState.RESET, "AB", SPO2_HIGH)
    assert SPO2_HIGH not in shown(e, t + 1)


def test_reset_refuses_an_alarm_whose_condition_persists() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 185.0)
    with pytest.raises(AlarmCommandError, match="still active"):
        e.reset(1.0, "AB", SBP_HIGH)
    assert e.reset(1.0, "AB") == []  # nothing latched and cleared
    assert SBP_HIGH in shown(e, 1.0)


def test_a_latched_alarm_raised_again_is_a_new_unacknowledged_condition() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 185.0)
    e.acknowledge(1.0, "AB")
    e.on_numeric("nibp_sys", 600.0, 150.0)
    e.on_numeric("nibp_sys", 1200.0, 190.0)
    view = shown(e, 1200.0)[SBP_HIGH]
    assert view.state is AlarmState.ACTIVE and not view.acknowledged and view.sounding


def test_acknowledge_silences_until_a_new_condition() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 11)
    e.acknowledge(t, "CD")
    snap = e.snapshot(t)
    assert snap.sound is None and snap.top is not None and snap.top.acknowledged
    t = feed(e, "hr", [100.0] + [130.0] * 11, t0_s=t)  # clears, then a new condition
    assert e.snapshot(t).sound is Priority.MEDIUM


def test_audio_pause_counts_down_and_ends() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 11)
    [entry] = e.pause_audio(t, "EF")
    assert entry.state is LogState.AUDIO_PAUSED and entry.who == "EF"
    snap = e.snapshot(t + 30)
    assert snap.sound is None and snap.audio_pause_remaining_s == pytest.approx(90.0)
    assert snap.top is not None and snap.top.audio_paused and not snap.top.acknowledged
    end = feed(e, "hr", [130.0] * 120, t0_s=t)  # the condition persists through the pause
    assert e.snapshot(end - 1).sound is None
    end = feed(e, "hr", [130.0], t0_s=end)
    assert [x.state for x in e.log if x.channel == ""] == [LogState.AUDIO_PAUSED,
                                                           LogState.AUDIO_RESUMED]
    assert e.log[-1].t_s == t + 120
    snap = e.snapshot(end)
    assert snap.audio_pause_remaining_s is None and snap.sound is Priority.MEDIUM


def test_a_new_condition_during_an_audio_pause_sounds() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 11)
    e.pause_audio(t, "EF")
    e.on_numeric("nibp_sys", t + 5, 186.0)
    snap = e.snapshot(t + 5)
    assert snap.sound is Priority.HIGH
    assert snap.top is not None and snap.top.alarm_id == SBP_HIGH and snap.top.sounding
    assert snap.others_count >= 1
    e.resume_audio(t + 6, "EF")
    with pytest.raises(AlarmCommandError, match="not paused"):
        e.resume_audio(t + 7, "EF")


def test_invalid_values_hold_the_condition_and_freeze_the_delay() -> None:
    e = AlarmEngine()
    t = feed(e, "spo2", [88.0] * 6)  # 5 s of a 10 s delay
    t = feed(e, "spo2", [0.0, math.nan, 120.0] * 10, t0_s=t)  # 30 s of invalid data
    assert "spo2.low.medium" not in shown(e, t)
    assert "spo2" in e.snapshot(t).invalid_channels
    t = feed(e, "spo2", [88.0] * 4, t0_s=t)  # 5 s old + 1 gap + 3 s < 10 s
    assert "spo2.low.medium" not in shown(e, t)
    assert e.snapshot(t).channel_valid("spo2")
    t = feed(e, "spo2", [88.0] * 2, t0_s=t)
    assert "spo2.low.medium" in shown(e, t)
    t = feed(e, "spo2", [0.0] * 5, t0_s=t)  # a probe's 0 does not clear it
    assert "spo2.low.medium" in shown(e, t)


def test_stalled_source_raises_no_data_after_the_timeout_under_a_fake_clock() -> None:
    clock = FakeClock()
    e = AlarmEngine()
    e.set_source_channels(["hr", "spo2", "nibp_sys"], clock.now())
    while clock.now() < 20:
        e.on_numeric("hr", clock.now(), 72.0)
        e.on_numeric("spo2", clock.now(), 97.0)
        e.tick(clock.now())
        clock.advance(1.0)
    last = clock.now() - 1.0
    raised: list[str] = []
    while clock.now() < last + 9.5:  # the source stops sending
        raised += [x.alarm_id for x in e.tick(clock.now()) if x.state is LogState.RAISED]
        clock.advance(0.5)
    assert raised == []
    while clock.now() <= last + 10.0:
        raised += [x.alarm_id for x in e.tick(clock.now()) if x.state is LogState.RAISED]
        clock.advance(0.5)
    assert sorted(raised) == ["tech.no_data.hr", "tech.no_data.spo2"]
    view = shown(e, clock.now())["tech.no_data.hr"]
    assert view.technical and view.priority is Priority.MEDIUM
    assert "hr" not in e.snapshot(clock.now()).alarming_channels  # technical, not physiological
    e.on_numeric("hr", clock.now(), 70.0)  # data back: non-latching, gone
    assert "tech.no_data.hr" not in shown(e, clock.now())


def test_no_data_start_grace_and_only_for_provided_continuous_channels() -> None:
    e = AlarmEngine()
    e.set_source_channels(["hr", "nibp_sys"], 100.0)
    e.tick(129.0)
    assert not shown(e, 129.0)
    e.tick(130.0)
    assert set(shown(e, 130.0)) == {"tech.no_data.hr"}  # not spo2, not intermittent NIBP


def test_nibp_overdue_after_interval_plus_margin() -> None:
    clock = FakeClock()
    e = AlarmEngine()
    e.set_source_channels(["nibp_sys", "nibp_dia"], 0.0)
    e.on_numeric("nibp_sys", 5.0, 125.0)
    clock.set(665.0)
    e.tick(clock.now())
    assert "tech.nibp_overdue" not in shown(e, clock.now())
    clock.advance(0.5)
    e.tick(clock.now())
    assert "NIBP overdue" in shown(e, clock.now())["tech.nibp_overdue"].message
    e.on_numeric("nibp_sys", clock.now(), 128.0)
    assert "tech.nibp_overdue" not in shown(e, clock.now())
    e.set_nibp_interval(900.0)  # after the infusion: every 15 min
    e.tick(clock.now() + 900.0)
    assert "tech.nibp_overdue" not in shown(e, clock.now() + 900.0)
    with pytest.raises(AlarmCommandError, match="60-3600"):
        e.set_nibp_interval(5.0)


def test_probe_off_is_a_technical_alarm_and_marks_the_channel_invalid() -> None:
    e = AlarmEngine()
    e.on_status(StatusEvent(3.0, "probe_off", "spo2", "finger out"))
    view = shown(e, 3.0)["tech.probe_off.spo2"]
    assert view.technical and view.priority is Priority.LOW
    assert view.message == "SpO\u2082 probe off (finger out)"
    assert "spo2" in e.snapshot(3.0).invalid_channels
    e.on_status(StatusEvent(8.0, "probe_on", "spo2"))
    assert "tech.probe_off.spo2" not in shown(e, 8.0)
    e.on_batch(SampleBatch(status=(StatusEvent(9.0, "leads_off"),)))
    assert "tech.leads_off.hr" in shown(e, 9.0)
    e.on_batch(SampleBatch(numerics=(NumericSample("hr", 10.0, 71.0),)))
    assert "tech.leads_off.hr" not in shown(e, 10.0)


def test_connection_audio_and_recording_technical_alarms() -> None:
    e = AlarmEngine()
    e.set_source_channels(["hr"], 0.0)
    e.on_connection(ConnectionState.CONNECTING, 0.0)
    assert not shown(e, 0.0)  # first connection attempt is no fault
    e.on_connection(ConnectionState.CONNECTED, 1.0)
    e.on_connection(ConnectionState.DISCONNECTED, 5.0)
    e.tick(60.0)
    assert set(shown(e, 60.0)) == {"tech.connection"}  # no_data is implied, not repeated
    e.on_connection(ConnectionState.CONNECTED, 61.0)
    e.set_audio_available(False, 62.0, "no device")
    e.set_recording_failed(True, 62.0, "disk full")
    views = shown(e, 62.0)
    assert "tech.connection" not in views
    assert "no device" in views["tech.audio"].message
    assert "disk full" in views["tech.recording"].message
    e.set_audio_available(True, 63.0)
    e.set_recording_failed(False, 63.0)
    assert {"tech.audio", "tech.recording"}.isdisjoint(shown(e, 63.0))


def test_snapshot_orders_by_priority_and_counts_the_others() -> None:
    e = AlarmEngine()
    e.on_status(StatusEvent(0.0, "probe_off", "spo2"))
    t = feed(e, "hr", [130.0] * 11)
    e.on_numeric("nibp_sys", t, 190.0)
    snap = e.snapshot(t)
    assert snap.top is not None and snap.top.priority is Priority.HIGH
    assert snap.top.text.startswith("*** NIBP sys high 190 >= 180 mmHg")
    assert [v.priority.rank for v in snap.alarms] == sorted(v.priority.rank for v in snap.alarms)
    assert snap.others_count == len(snap.alarms) - 1 == 3
    assert snap.alarming_channels == {"hr", "nibp_sys"}


def test_change_limit_validated_logged_and_applied_to_the_latest_value() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 172.0)
    assert SBP_HIGH not in shown(e, 0.0)
    ev = e.change_limit(SBP_HIGH, 170.0, 30.0, "gh", wall_time="2026-01-01T09:00:30Z")
    assert (ev.kind, ev.who, ev.t_s) == ("limit_change", "GH", 30.0)
    assert ev.data["old"] == 180.0 and ev.data["new"] == 170.0
    assert SBP_HIGH in shown(e, 30.0)  # the current reading is now beyond the new limit
    for bad, why in [(60.0, "below high limit"), (10.0, "plausible range"),
                     (160.0, "at least as extreme"), ("abc", "not a number")]:
        with pytest.raises(LimitChangeError, match=why):
            e.change_limit(SBP_HIGH, bad, 31.0, "GH")  # type: ignore[arg-type]
    with pytest.raises(LimitChangeError, match="unknown alarm rule 'sbp'"):
        e.change_limit("sbp", 170.0, 31.0, "GH")
    assert next(r for r in e.rules if r.id == SBP_HIGH).threshold == 170.0


@pytest.mark.parametrize("who", ["", "  ", "A1", "ABCDEF", "Dr. X"])
def test_actions_need_initials(who: str) -> None:
    e = AlarmEngine()
    for action in (e.acknowledge, e.pause_audio, e.reset):
        with pytest.raises(AlarmCommandError, match="initials must be 1-5 letters"):
            action(0.0, who)


def test_unknown_alarm_id_names_the_shown_ones() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 185.0)
    with pytest.raises(AlarmCommandError, match=f"shown: .*{SBP_HIGH}"):
        e.acknowledge(1.0, "AB", "hr.high.medium")


def test_log_entries_map_to_csv_and_session_events() -> None:
    e = AlarmEngine()
    t = feed(e, "hr", [130.0] * 11)
    e.acknowledge(t, "AB")
    e.pause_audio(t, "AB")
    t = feed(e, "hr", [100.0], t0_s=t)
    states = [x.state for x in e.log]
    assert states == [LogState.RAISED, LogState.ACKNOWLEDGED, LogState.AUDIO_PAUSED,
                      LogState.CLEARED]
    row = e.log[0].csv_row()
    assert tuple(row) == LOG_CSV_COLUMNS
    assert row["channel"] == "hr" and row["priority"] == "medium" and row["value"] == "130"
    assert e.log[2].csv_row()["priority"] == ""
    ev = e.log[1].to_event("2026-01-01T09:00:10Z")
    assert (ev.kind, ev.who, ev.data["state"], ev.data["alarm_id"]) == (
        "alarm", "AB", "acknowledged", HR_HIGH)


def test_tick_hands_over_each_entry_once() -> None:
    e = AlarmEngine()
    e.on_numeric("nibp_sys", 0.0, 172.0)
    e.acknowledge(0.5, "AB")
    first = e.tick(1.0)
    assert [x.state for x in first] == [LogState.RAISED, LogState.ACKNOWLEDGED]
    assert e.tick(2.0) == []


def test_baseline_is_validated() -> None:
    e = AlarmEngine()
    with pytest.raises(AlarmCommandError, match="not a plausible value"):
        e.set_baseline("nibp_sys", 0.0)
    with pytest.raises(AlarmCommandError, match="not a numeric channel"):
        e.set_baseline("ecg_ii", 1.0)
    e.set_baseline("nibp_sys", 120.0)
    e.set_baseline("nibp_sys", None)
    assert e.baseline("nibp_sys") is None


def test_unknown_channels_and_bad_values_never_raise_exceptions() -> None:
    e = AlarmEngine()
    e.on_numeric("bogus", 0.0, 1.0)
    e.on_numeric("hr", 0.0, "n/a")  # type: ignore[arg-type]
    e.on_status(StatusEvent(0.0, "message", None, "hello"))
    assert e.tick(1.0) == [] and "hr" in e.snapshot(1.0).invalid_channels
