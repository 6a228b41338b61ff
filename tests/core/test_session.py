from __future__ import annotations

import math

from ketadesk.core.clock import FakeClock
from ketadesk.core.session import Session
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo, StatusEvent

INFO = SourceInfo("test", "test source", ("hr", "spo2"), Provenance.LIVE)


def test_invalid_values_are_kept_flagged_and_leave_a_gap_in_the_trend() -> None:
    s = Session(FakeClock(), INFO)
    s.ingest(SampleBatch(numerics=(NumericSample("spo2", 1.0, 97.0),
                                   NumericSample("spo2", 2.0, 0.0),  # probe with no signal
                                   NumericSample("hr", 2.0, float("nan")),
                                   NumericSample("hr", 3.0, 700.0))))
    assert s.readings["spo2"].value == 0.0 and not s.readings["spo2"].valid
    assert not s.readings["hr"].valid
    _, v = s.buffers.series("spo2", 0, 10)
    assert v[0] == 97.0 and math.isnan(v[1])


def test_status_events_mark_sensors_off_and_become_session_events() -> None:
    s = Session(FakeClock(), INFO)
    s.ingest(SampleBatch(status=(StatusEvent(5.0, "probe_off", "spo2"),)))
    assert "spo2" in s.snapshot(5.0).sensor_off
    events = s.tick(5.0)
    assert [e.kind for e in events] == ["source", "alarm"]
    assert "probe_off" in events[0].detail and "raised" in events[1].detail
    assert s.tick(6.0) == []  # delivered once
    assert s.snapshot(6.0).alarms.top is not None
    s.ingest(SampleBatch(status=(StatusEvent(9.0, "probe_on", "spo2"),)))
    assert "spo2" not in s.snapshot(9.0).sensor_off


def test_unknown_channels_are_ignored() -> None:
    s = Session(FakeClock(), INFO)
    s.ingest(SampleBatch(numerics=(NumericSample("abp", 1.0, 120.0),)))
    assert "abp" not in s.readings


def test_infusion_and_scale_events_flow_through_tick_once() -> None:
    from ketadesk.core.assessments import EntryStatus
    from ketadesk.core.dose import PlanInputs, confirm_plan

    clock = FakeClock()
    s = Session(clock, INFO)
    decision = confirm_plan(PlanInputs(70, 0.5, concentration_mg_per_ml=1.0), who="AB")
    assert decision.plan is not None
    inf = s.set_plan(decision.plan)
    kinds = [e.kind for e in s.tick(0.0)]
    assert "plan" in kinds
    s.assessments.record("cadss", [0] * 23, EntryStatus.COMPLETE, who="AB",
                         timepoint_id="cadss@baseline")
    clock.advance(60)
    inf.start(who="AB")
    clock.advance(40 * 60)
    kinds = [e.kind for e in s.tick(clock.now())]
    assert kinds.count("scale") == 1 and "phase" in kinds
    snap = s.snapshot(clock.now())
    assert snap.infusion is not None and snap.infusion.phase.name == "COMPLETE"
    assert snap.infusion.delivered_mg == 35.0
    assert s.tick(clock.now()) == []
    assert len(s.events) == len({id(e) for e in s.events})
    done = {t.id for t in snap.assessments.done}
    assert "cadss@baseline" in done


def test_baseline_means_feed_relative_alarm_limits() -> None:
    from ketadesk.core.dose import PlanInputs, confirm_plan

    clock = FakeClock()
    s = Session(clock, SourceInfo("t", "t", ("nibp_sys",), Provenance.LIVE))
    for t, v in ((60.0, 118.0), (360.0, 122.0)):
        s.ingest(SampleBatch(numerics=(NumericSample("nibp_sys", t, v),)))
    plan = confirm_plan(PlanInputs(70, 0.5, concentration_mg_per_ml=1.0)).plan
    assert plan is not None
    clock.set(400.0)
    s.set_plan(plan).start(who="AB")
    events = s.tick(400.0)
    assert s.alarms.baseline("nibp_sys") == 120.0
    assert any(e.kind == "baseline" and "120" in e.detail for e in events)
    # baseline 120 + 40 = 160: below the absolute 165 limit, so only the relative rule fires
    s.ingest(SampleBatch(numerics=(NumericSample("nibp_sys", 900.0, 161.0),)))
    alarms = s.snapshot(900.0).alarms
    assert alarms.top is not None and alarms.top.channel == "nibp_sys"
