"""PatientModel.inject: an event started at run time (the instructor's "trigger now")."""

from __future__ import annotations

import pytest

from ketadesk.sources.simulator.model import PatientModel
from ketadesk.sources.simulator.patient import named_profile
from ketadesk.sources.simulator.pk import constant_infusion
from ketadesk.sources.simulator.scenario import EventKind, ScenarioEvent, Trigger, parse_condition


def _model(**kwargs: object) -> PatientModel:
    m = PatientModel(named_profile("typical"), 4, **kwargs)  # type: ignore[arg-type]
    m.set_rate_history(constant_infusion(35.0, 40.0, 600.0))
    return m


def test_injected_change_applies_from_its_start_only() -> None:
    plain, hit = _model(), _model()
    before = [hit.state_at(float(t)) for t in range(0, 301)]
    desat = ScenarioEvent(Trigger(at_min=999), EventKind.CHANGE, channel="spo2", to=84.0,
                          ramp_min=1.0, duration_s=120.0)
    hit.inject(desat, 300.0)
    assert before == [plain.state_at(float(t)) for t in range(0, 301)]
    # Ramped in over a minute, held two, ramped out over one; the trigger's 999 min is ignored.
    assert hit.state_at(330.0).spo2 < plain.state_at(330.0).spo2 - 4
    assert hit.state_at(420.0).spo2 < 87
    assert abs(hit.state_at(600.0).spo2 - plain.state_at(600.0).spo2) < 1e-9
    assert hit.injected == ((300.0, desat),)


def test_injected_flags_and_symptoms() -> None:
    m = _model()
    m.inject(ScenarioEvent(Trigger(at_min=0), EventKind.SOURCE_STALL, duration_s=30.0), 100.0)
    m.inject(ScenarioEvent(Trigger(at_min=0), EventKind.PROBE_OFF, channel="spo2",
                           duration_s=20.0), 100.0)
    m.inject(ScenarioEvent(Trigger(at_min=0), EventKind.SYMPTOM, symptoms=("nausea",),
                           duration_s=60.0), 100.0)
    s = m.state_at(110.0)
    assert s.source_stalled and s.probe_off == {"spo2"} and s.symptoms == {"nausea"}
    assert not m.state_at(99.0).source_stalled
    assert not m.state_at(131.0).source_stalled and not m.state_at(131.0).probe_off


def test_injection_can_fire_a_conditional_event_sooner() -> None:
    headache = ScenarioEvent(Trigger(when=parse_condition("sbp >= 170")), EventKind.SYMPTOM,
                             symptoms=("headache",))
    m = _model(events=(headache,))
    for t in range(0, 200):
        assert not m.state_at(float(t)).symptoms  # asked ahead: no surge yet, no headache
    m.inject(ScenarioEvent(Trigger(at_min=0), EventKind.CHANGE, channel="sbp", add=80.0), 150.0)
    assert "headache" in m.state_at(200.0).symptoms


@pytest.mark.parametrize("at_s", [-1.0, float("nan"), 1e9])
def test_bad_injection_times_are_refused(at_s: float) -> None:
    with pytest.raises(ValueError, match="at_s must be"):
        _model().inject(ScenarioEvent(Trigger(at_min=0), EventKind.LEADS_OFF, duration_s=1.0),
                        at_s)
