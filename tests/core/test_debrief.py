"""Debrief log: trainee actions with session times, exported as CSV and text."""

from __future__ import annotations

import csv
import io

from ketadesk.core.alarm_engine import AlarmEngine
from ketadesk.core.clock import FakeClock
from ketadesk.core.debrief import DebriefEntry, debrief_entries, session_time, to_csv, to_text
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.session import Session
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo


def test_a_session_gives_actions_in_time_order_with_who_and_reason() -> None:
    clock = FakeClock()
    s = Session(clock, SourceInfo("simulator", "t", ("nibp_sys",), Provenance.SIMULATED))
    plan = confirm_plan(PlanInputs(weight=70, dose_mg_per_kg=0.5, duration_min=40,
                                   concentration_mg_per_ml=1.0), who="TR").plan
    assert plan is not None
    inf = s.set_plan(plan)
    clock.advance(600)
    inf.start(who="TR")
    clock.advance(31 * 60)
    s.ingest(SampleBatch((NumericSample("nibp_sys", clock.now(), 190.0),), (), ()))
    s.tick(clock.now())
    clock.advance(20)
    s.alarms.acknowledge(clock.now(), "TR")
    inf.pause("hypertension", who="TR")
    s.tick(clock.now())
    entries = debrief_entries(s.events, [DebriefEntry(2000.0, "INSTR", "instructor", "x")])
    actions = [(d.action, d.who) for d in entries]
    assert actions[0] == ("plan", "TR")
    assert ("infusion", "TR") in actions and ("alarm raised", "") in actions
    assert [d.t_s for d in entries] == sorted(d.t_s for d in entries)
    pause = next(d for d in entries if "paused" in d.detail)
    assert "hypertension" in pause.detail and session_time(pause.t_s) == "0:41:20"
    ack = next(d for d in entries if d.action == "alarm")
    assert ack.who == "TR" and "acknowledged" in ack.detail
    rows = list(csv.DictReader(io.StringIO(to_csv(entries))))
    assert rows[0]["who"] == "TR" and {r["action"] for r in rows} >= {"infusion", "alarm"}
    assert any(r["session_time"] == "0:41:20" and "hypertension" in r["detail"] for r in rows)
    text = to_text(entries, "Debrief")
    assert text.startswith("Debrief\n") and "0:41:20  TR" in text
    assert "instructor" in text


def test_alarm_cleared_is_not_an_action() -> None:
    eng = AlarmEngine()
    eng.on_numeric("nibp_sys", 1.0, 190.0)
    eng.on_numeric("nibp_sys", 2.0, 120.0)
    events = [e.to_event() for e in eng.tick(3.0)]
    assert {e.data["state"] for e in events} >= {"raised"}
    assert all(d.action != "alarm" for d in debrief_entries(events))
