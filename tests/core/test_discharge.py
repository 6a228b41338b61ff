from __future__ import annotations

import math
from datetime import date

import pytest
from course_sim import BASELINE_S, INFUSION_S, SimSpec, run_session

from ketadesk.core.buffer import BufferSet
from ketadesk.core.discharge import (
    DischargeError,
    DischargeInputs,
    DischargeSettings,
    Item,
    bp_landmarks,
    load_discharge_settings,
    record_discharge,
    session_checklist,
    session_course_row,
)

YES = DischargeInputs(mental_status_at_baseline=True, escort_present=True)


def test_full_session_meets_criteria_and_finds_the_bp_landmarks() -> None:
    session = run_session(SimSpec())
    now = session.clock.now()
    c = session_checklist(session, YES, now)
    assert c.all_met, [i.detail for i in c.items]
    assert c.bp.before_dose is not None and c.bp.before_dose.t_s == BASELINE_S
    assert c.bp.before_dose.text() == "125/78"
    assert c.bp.at_40_min is not None and c.bp.at_40_min.t_s == BASELINE_S + INFUSION_S
    assert c.bp.at_40_min.text() == "141/89"  # baseline + 16/11 at the peak
    assert c.bp.at_discharge is not None and c.bp.at_discharge.t_s <= now
    assert c.minutes_monitored == pytest.approx((now - 10.0) / 60)  # first sample at 10 s
    rec = record_discharge(c, "AB", "2026-01-01T11:00:00+00:00")
    ev = rec.to_event()
    assert ev.kind == "discharge" and "141/89" in ev.detail and "criteria met" in ev.detail
    assert ev.data["bp_before_dose"]["sys_mmhg"] == 125.0
    assert ev.data["minutes_monitored"] == round(c.minutes_monitored, 1)


def test_before_the_recovery_minimum_observation_is_unmet() -> None:
    session = run_session(SimSpec(recovery_min=30))
    c = session_checklist(session, YES, session.clock.now())
    (item,) = c.unmet()
    assert item.item is Item.OBSERVATION and "min to go" in item.detail
    with pytest.raises(DischargeError, match="give a reason"):
        record_discharge(c, "AB", "t")
    rec = record_discharge(c, "AB", "t", reason="left against advice with escort")
    assert "NOT met" in rec.to_event().detail and rec.to_dict()["all_met"] is False


def test_unassessed_and_no_escort_are_unmet() -> None:
    session = run_session(SimSpec())
    c = session_checklist(session, DischargeInputs(None, False), session.clock.now())
    unmet = {i.item: i.detail for i in c.unmet()}
    assert set(unmet) == {Item.MENTAL_STATUS, Item.ESCORT}
    assert "not assessed" in unmet[Item.MENTAL_STATUS]
    with pytest.raises(DischargeError, match="initials"):
        record_discharge(c, "", "t", reason="x")


def test_high_bp_at_discharge_makes_vitals_unacceptable() -> None:
    session = run_session(SimSpec(baseline_sys=150, rise_sys=40, recovery_min=61))
    tight = DischargeSettings(sys_max_mmhg=150)
    c = session_checklist(session, YES, session.clock.now(), tight)
    (item,) = c.unmet()
    assert item.item is Item.VITALS and "systolic" in item.detail and "90-150" in item.detail


def test_no_recent_bp_is_unmet() -> None:
    session = run_session(SimSpec())
    later = session.clock.now() + 25 * 60  # no reading for 25 min
    c = session_checklist(session, YES, later)
    vit = next(i for i in c.items if i.item is Item.VITALS)
    assert not vit.met and "no BP in the last 20 min" in vit.detail


def test_landmarks_from_a_buffer_with_gaps() -> None:
    bufs = BufferSet({"nibp_sys": 20, "nibp_dia": 20})
    for t, s, d in ((100, 130, 80), (590, 128, math.nan), (2500, 150, 95), (3300, 139, 85)):
        bufs.buffer("nibp_sys").append(t, s)
        bufs.buffer("nibp_dia").append(t, d)
    lm = bp_landmarks(bufs, 600.0, 4000.0)
    assert lm.before_dose is not None and lm.before_dose.t_s == 590
    assert lm.before_dose.dia_mmhg is None and lm.before_dose.text() == "128/?"
    assert lm.at_40_min is not None and lm.at_40_min.t_s == 3300  # 600 + 2400 = 3000: 300 s off
    assert lm.at_discharge is not None and lm.at_discharge.t_s == 3300
    # nothing within 10 min of +40: none rather than a misleading value
    far = bp_landmarks(bufs, 1800.0, 5000.0)  # +40 = 4200; nearest 3300 is 15 min off
    assert far.at_40_min is None and far.before_dose is not None and far.before_dose.t_s == 590
    exact = bp_landmarks(bufs, 100.0, 4000.0)
    assert exact.at_40_min is not None and exact.at_40_min.t_s == 2500


def test_course_row_from_a_session() -> None:
    session = run_session(SimSpec(dose_mg_per_kg=0.75, rise_sys=45, cadss_peak=14,
                                  hypertension_pause=True))
    row = session_course_row(session, date(2026, 1, 8), session.clock.now(),
                             adverse_events=["nausea/vomiting", " "], session_ref="s-1")
    assert row.dose_mg_per_kg == 0.75 and row.peak_cadss == 14.0
    assert row.peak_sys_mmhg == 170.0 and row.peak_dia_mmhg == 89.0
    assert row.pause_reasons == ("hypertension",) and not row.stopped_early
    assert row.alarms >= 1  # SBP >= 165 raised the medium alarm
    assert row.adverse_events == ("nausea/vomiting",) and row.session_ref == "s-1"


def test_settings_mirror_defaults() -> None:
    assert load_discharge_settings() == DischargeSettings()
    with pytest.raises(DischargeError, match="unknown key"):
        DischargeSettings.from_config({"bp": 1})
