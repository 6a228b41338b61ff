"""Events an instructor can start at any moment: the generic ones and the scenario's own.

Each is a named group of ScenarioEvents for PatientModel.inject (through
SimulatorSource.trigger_now); the triggers inside the events are ignored when injected.
Sizes are chosen to cross the default alarm limits clearly, so a trainee sees the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketadesk.sources.simulator.scenario import EventKind, Scenario, ScenarioEvent, Trigger

_NOW = Trigger(at_min=0.0)  # replaced by the injection time


@dataclass(frozen=True)
class InstructorEvent:
    name: str  # stable id, e.g. "desaturation" or "scenario:2"
    label: str  # what the instructor reads in the list
    events: tuple[ScenarioEvent, ...]


def _change(channel: str, *, add: float | None = None, to: float | None = None,
            ramp_min: float = 1.0, minutes: float = 5.0) -> ScenarioEvent:
    return ScenarioEvent(_NOW, EventKind.CHANGE, channel=channel, add=add, to=to,
                         ramp_min=ramp_min, duration_s=minutes * 60.0)


GENERIC_EVENTS: tuple[InstructorEvent, ...] = (
    InstructorEvent("hypertensive_surge", "Hypertensive surge (+50/+25 mmHg over 3 min, 10 min)",
                    (_change("sbp", add=50, ramp_min=3, minutes=10),
                     _change("dbp", add=25, ramp_min=3, minutes=10),
                     _change("hr", add=8, ramp_min=3, minutes=10))),
    InstructorEvent("desaturation", "Desaturation (SpO2 to 84 %, RR to 7 over 1 min, 5 min)",
                    (_change("spo2", to=84, minutes=5), _change("rr", to=7, minutes=6))),
    InstructorEvent("tachycardia", "Tachycardia (HR to 140 over 1 min, 5 min)",
                    (_change("hr", to=140, minutes=5),)),
    InstructorEvent("probe_off", "SpO2 probe off (60 s)",
                    (ScenarioEvent(_NOW, EventKind.PROBE_OFF, channel="spo2", duration_s=60.0),)),
    InstructorEvent("leads_off", "ECG leads off (60 s)",
                    (ScenarioEvent(_NOW, EventKind.LEADS_OFF, duration_s=60.0),)),
    InstructorEvent("source_stall", "Monitor link stalls (45 s)",
                    (ScenarioEvent(_NOW, EventKind.SOURCE_STALL, duration_s=45.0),)),
    InstructorEvent("nausea_vomiting", "Nausea, then vomiting (10 min)",
                    (ScenarioEvent(_NOW, EventKind.SYMPTOM, symptoms=("nausea",),
                                   duration_s=600.0),
                     ScenarioEvent(_NOW, EventKind.SYMPTOM, symptoms=("vomiting",),
                                   duration_s=120.0),
                     _change("hr", add=12, minutes=2))),
)


def describe(event: ScenarioEvent) -> str:
    """A short description of one event, for lists and logs."""
    if event.note:
        return event.note.rstrip(".")
    if event.kind is EventKind.CHANGE:
        amount = f"to {event.to:g}" if event.to is not None else f"{event.add:+g}"
        return f"{event.channel} {amount}"
    if event.kind is EventKind.PROBE_OFF:
        return f"{event.channel} probe off"
    if event.kind is EventKind.SYMPTOM:
        return ", ".join(event.symptoms)
    return str(event.kind.value).replace("_", " ")


def scenario_events(scenario: Scenario) -> tuple[InstructorEvent, ...]:
    """The scenario's own events, each startable now."""
    return tuple(InstructorEvent(f"scenario:{i}", f"{scenario.title}: {describe(e)}", (e,))
                 for i, e in enumerate(scenario.events))


def instructor_events(scenario: Scenario) -> tuple[InstructorEvent, ...]:
    return (*scenario_events(scenario), *GENERIC_EVENTS)
