"""Scenario files: every shipped one loads and produces what it is about; broken ones are
refused with a message naming the file, the key and what is allowed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from ketadesk.sources.simulator.model import PatientModel, PhysiologyState
from ketadesk.sources.simulator.pk import constant_infusion
from ketadesk.sources.simulator.scenario import (
    CONDITION_FIELDS,
    ActionKind,
    Scenario,
    ScenarioError,
    load_named_scenario,
    load_scenario,
    parse_condition,
    scenario_names,
)

START_S = 600.0  # standard session: 10 min baseline, 40 min infusion, 60 min recovery
END_S = START_S + 2400.0
SESSION_S = 110 * 60


def infusion_min(s: PhysiologyState) -> float:
    return (s.t_s - START_S) / 60.0


@cache
def run(name: str) -> tuple[Scenario, tuple[PhysiologyState, ...]]:
    """A shipped scenario through the model, every second, standard rate history."""
    scenario = load_named_scenario(name)
    model = PatientModel.from_scenario(scenario)
    model.set_rate_history(constant_infusion(0.5 * scenario.patient.weight_kg, 40.0, START_S))
    return scenario, tuple(model.state_at(float(t)) for t in range(SESSION_S + 1))


def seconds(states: tuple[PhysiologyState, ...], test: Callable[[PhysiologyState], bool]) -> int:
    return sum(1 for s in states if test(s))


def first(states: tuple[PhysiologyState, ...],
          test: Callable[[PhysiologyState], bool]) -> PhysiologyState:
    return next(s for s in states if test(s))


def check_normal(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    assert not any(s.symptoms or s.probe_off or s.leads_off or s.source_stalled for s in states)


def check_hypertensive_surge(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    crossing = first(states, lambda s: s.sbp >= 165 and s.dbp >= 100)
    assert 25.0 <= infusion_min(crossing) <= 35.0
    pause = next(a for a in sc.actions if a.kind is ActionKind.PAUSE)
    assert (pause.at_infusion_min, pause.reason) == (31.0, "hypertension")


def check_severe_hypertension_symptoms(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    over = first(states, lambda s: s.sbp >= 180)
    assert "headache" in over.symptoms
    assert not any("headache" in s.symptoms for s in states if s.t_s < over.t_s)


def check_desaturation_hypoventilation(sc: Scenario,
                                       states: tuple[PhysiologyState, ...]) -> None:
    low = first(states, lambda s: s.spo2 < 90)
    assert 20.0 <= infusion_min(low) <= 35.0
    assert min(s.rr for s in states) < sc.patient.baseline_rr_per_min - 6
    assert states[-1].spo2 > 94  # recovers


def check_tachycardia(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    assert 18.0 <= infusion_min(first(states, lambda s: s.hr > 130)) <= 22.0
    assert states[-1].hr < 110


def check_emergence_reaction(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    agitated = [s for s in states if "agitation" in s.symptoms]
    assert agitated and min(s.predicted_cadss for s in agitated[:60]) >= 25
    assert max(s.predicted_cadss for s in states) >= 30


def check_nausea_vomiting(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    nausea = first(states, lambda s: "nausea" in s.symptoms)
    vomiting = first(states, lambda s: "vomiting" in s.symptoms)
    assert nausea.t_s < vomiting.t_s
    assert seconds(states, lambda s: "vomiting" in s.symptoms) == 120


def check_spo2_probe_off(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    assert seconds(states, lambda s: s.probe_off == frozenset({"spo2"})) == 90 + 20
    assert seconds(states, lambda s: bool(s.probe_off)) == 110
    assert infusion_min(first(states, lambda s: bool(s.probe_off))) == 15.0


def check_ecg_leads_off(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    assert seconds(states, lambda s: s.leads_off) == 60 + 30


def check_source_stall(sc: Scenario, states: tuple[PhysiologyState, ...]) -> None:
    assert seconds(states, lambda s: s.source_stalled) == 45
    assert infusion_min(first(states, lambda s: s.source_stalled)) == 25.0


CHECKS: dict[str, Callable[[Scenario, tuple[PhysiologyState, ...]], None]] = {
    "normal": check_normal,
    "hypertensive_surge": check_hypertensive_surge,
    "severe_hypertension_symptoms": check_severe_hypertension_symptoms,
    "desaturation_hypoventilation": check_desaturation_hypoventilation,
    "tachycardia": check_tachycardia,
    "emergence_reaction": check_emergence_reaction,
    "nausea_vomiting": check_nausea_vomiting,
    "spo2_probe_off": check_spo2_probe_off,
    "ecg_leads_off": check_ecg_leads_off,
    "source_stall": check_source_stall,
}


def test_every_shipped_scenario_has_a_check() -> None:
    assert set(scenario_names()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_shipped_scenario_produces_what_it_is_about(name: str) -> None:
    scenario, states = run(name)
    assert scenario.title and scenario.learning_objectives
    for condition in scenario.expect_sometime:
        assert any(condition.holds(s) for s in states), f"{name}: never {condition.text}"
    for condition in scenario.expect_never:
        assert not any(condition.holds(s) for s in states), f"{name}: {condition.text}"
    CHECKS[name](scenario, states)


def test_condition_fields_are_state_fields() -> None:
    names = {f.name for f in dataclasses.fields(PhysiologyState)}
    assert set(CONDITION_FIELDS) <= names


def test_conditions_compare_and_combine() -> None:
    c = parse_condition("sbp >= 165 and dbp >= 100")
    state = run("normal")[1][0]
    assert not c.holds(state)
    assert c.holds(dataclasses.replace(state, sbp=165.0, dbp=100.0))
    assert not c.holds(dataclasses.replace(state, sbp=170.0, dbp=99.9))
    assert parse_condition("spo2<90").holds(dataclasses.replace(state, spo2=89.5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "write 'channel op number'"),
        ("sbp == 160", "op one of >=, <=, >, <"),
        ("bp >= 160", "unknown channel 'bp'; allowed: hr, spo2"),
        ("sbp >= 160 or dbp >= 100", "cannot read condition"),
        ("", "a condition must be text"),
    ],
)
def test_bad_conditions_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_condition(text)
    assert message in str(info.value)


GOOD = """
name = "x"
title = "X"
[patient]
profile = "typical"
[[events]]
at_infusion_min = 10
channel = "spo2"
to = 85
ramp_min = 2
duration_min = 3
"""


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ("colour = 'red'\n" + GOOD, "(top level)", "allowed: name, title"),
        (GOOD + "colour = 'red'\n", "events[0]", "allowed: at_min, at_infusion_min, when"),
        (GOOD.replace('channel = "spo2"', 'channel = "bp"'), "events[0].channel",
         "one of hr, spo2"),
        (GOOD.replace("to = 85", "to = 85\nadd = 3"), "events[0]", "exactly one of add"),
        (GOOD.replace("at_infusion_min = 10", "at_infusion_min = 10\nwhen = 'sbp > 1'"),
         "events[0]", "exactly one of at_min, at_infusion_min, when"),
        (GOOD.replace("at_infusion_min = 10", "when = 'sbp = 1'"), "events[0].when",
         "op one of"),
        (GOOD.replace("to = 85", "to = 185"), "events[0].to", "from 50 to 100"),
        (GOOD + "[[events]]\nat_min = 5\ndo = 'explode'\n", "events[1].do",
         "allowed: change, probe_off"),
        (GOOD + "[[events]]\nat_min = 5\ndo = 'probe_off'\nchannel = 'spo2'\n", "events[1]",
         "needs duration_s"),
        (GOOD + "[[events]]\nat_min = 5\ndo = 'symptom'\nsymptoms = ['hiccups']\n",
         "events[1].symptoms", "headache, nausea, vomiting, agitation"),
        (GOOD + "[[actions]]\nat_min = 40\ndo = 'cadss'\nanswers = [1, 2]\n",
         "actions[0].answers", "23 whole numbers 0-4"),
        (GOOD + "[[actions]]\nwhen = 'sbp > 1'\ndo = 'pause'\n", "actions[0]",
         "allowed: at_min, at_infusion_min, do"),
        (GOOD.replace('profile = "typical"', 'profile = "grumpy"'), "patient.profile",
         "allowed: 'typical'"),
        (GOOD.replace('profile = "typical"', 'profile = "typical"\nweight_kg = -3'),
         "patient", "weight_kg must be a number from 30 to 250"),
        (GOOD.replace('name = "x"', 'name = "y"'), "name", "must match the file name"),
        (GOOD.replace("[patient]", "[patient"), "not valid TOML", ""),
    ],
)
def test_broken_file_names_file_key_and_what_is_allowed(
    tmp_path: Path, text: str, key: str, allowed: str
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert key in message and allowed in message, message


def test_good_file_loads_and_unknown_names_list_the_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.events[0].to == 85.0 and scenario.events[0].duration_s == 180.0
    with pytest.raises(ScenarioError, match="available: .*hypertensive_surge"):
        load_named_scenario("nope")
