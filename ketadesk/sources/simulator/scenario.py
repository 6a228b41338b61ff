"""Simulator scenarios: a patient, timed or conditional perturbations, optional scripted actions.

Scenarios are TOML files in resources/scenarios/ (format: docs/scenario-format.md). Loading
validates everything up front and every error names the file, the key and what is allowed,
so a broken file is refused before a session starts rather than half-way through one.
Conditions ("sbp >= 160 and dbp >= 100") are parsed here into comparisons; nothing is eval'd.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ketadesk.core.config import resource_path
from ketadesk.sources.simulator.patient import PatientProfile, named_profile, with_overrides

SCENARIO_DIR = resource_path("scenarios")

# State fields a condition may read (names of PhysiologyState fields, see model.py).
CONDITION_FIELDS: tuple[str, ...] = (
    "hr", "spo2", "rr", "sbp", "dbp", "map", "etco2", "temp",
    "plasma_ng_per_ml", "effect_ng_per_ml", "predicted_cadss",
)
# Channels a "change" event may move, with the physical envelope a target must lie in.
CHANGE_CHANNELS: dict[str, tuple[float, float]] = {
    "hr": (20, 250), "spo2": (50, 100), "rr": (0, 60), "sbp": (50, 260), "dbp": (20, 160),
    "etco2": (0, 100), "temp": (30, 43), "predicted_cadss": (0, 92),
}
PROBE_CHANNELS: tuple[str, ...] = ("spo2", "etco2", "temp")
SYMPTOMS: tuple[str, ...] = ("headache", "nausea", "vomiting", "agitation")
CADSS_ITEMS = 23  # DOMAIN.md 4: 23 items scored 0-4, total 0-92


class ScenarioError(ValueError):
    """A scenario file is wrong; the message names the file, the key and what is allowed."""


class EventKind(Enum):
    CHANGE = "change"
    PROBE_OFF = "probe_off"
    LEADS_OFF = "leads_off"
    SOURCE_STALL = "source_stall"
    SYMPTOM = "symptom"


class ActionKind(Enum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    CADSS = "cadss"
    NOTE = "note"


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}
_COMPARISON = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: float

    def holds(self, state: object) -> bool:
        return _OPS[self.op](float(getattr(state, self.field)), self.value)


@dataclass(frozen=True)
class Condition:
    """Comparisons joined by "and"; true when all hold on a state."""

    text: str
    parts: tuple[Comparison, ...]

    def holds(self, state: object) -> bool:
        return all(c.holds(state) for c in self.parts)


def parse_condition(text: str) -> Condition:
    """Parse "channel op number [and ...]"; ValueError says what is allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a condition must be text like 'sbp >= 160'")
    parts = []
    for piece in re.split(r"\s+and\s+", text.strip()):
        m = _COMPARISON.match(piece)
        if m is None:
            raise ValueError(
                f"cannot read condition {piece!r}: write 'channel op number' joined by 'and', "
                f"op one of >=, <=, >, <"
            )
        name, op, number = m.groups()
        if name not in CONDITION_FIELDS:
            raise ValueError(f"condition {piece!r}: unknown channel {name!r}; allowed: "
                             f"{', '.join(CONDITION_FIELDS)}")
        parts.append(Comparison(name, op, float(number)))
    return Condition(text.strip(), tuple(parts))


@dataclass(frozen=True)
class Trigger:
    """When something happens: exactly one of the three is set."""

    at_min: float | None = None  # minutes after the session started
    at_infusion_min: float | None = None  # minutes after the infusion first ran
    when: Condition | None = None  # the first whole second the condition holds

    def start_s(self, infusion_start_s: float | None) -> float | None:
        """Start time for timed triggers (None: conditional, or the infusion never ran)."""
        if self.at_min is not None:
            return self.at_min * 60.0
        if self.at_infusion_min is not None and infusion_start_s is not None:
            return infusion_start_s + self.at_infusion_min * 60.0
        return None


@dataclass(frozen=True)
class ScenarioEvent:
    """A perturbation. CHANGE ramps `channel` by `add` or to `to` over ramp_min, holds it for
    duration_s (None: for the rest of the session) and ramps back over ramp_min. Symptoms are
    present from the start for ramp_min + duration_s. The other kinds last duration_s."""

    trigger: Trigger
    kind: EventKind
    channel: str | None = None
    add: float | None = None
    to: float | None = None
    ramp_min: float = 0.0
    duration_s: float | None = None
    symptoms: tuple[str, ...] = ()
    note: str = ""

    def weight(self, dt_s: float) -> float:
        """How much of the change applies dt_s after the start (0..1)."""
        if dt_s < 0:
            return 0.0
        ramp_s = self.ramp_min * 60.0
        if dt_s < ramp_s:
            return dt_s / ramp_s
        if self.duration_s is None:
            return 1.0
        out_s = dt_s - ramp_s - self.duration_s
        if out_s <= 0:
            return 1.0
        return max(0.0, 1.0 - out_s / ramp_s) if ramp_s > 0 else 0.0

    def active(self, dt_s: float) -> bool:
        """Whether a non-ramped effect (probe off, symptoms, ...) is on dt_s after the start."""
        if dt_s < 0:
            return False
        if self.duration_s is None:
            return True
        ramp_s = self.ramp_min * 60.0 if self.kind is EventKind.CHANGE else 0.0
        return dt_s < ramp_s + self.duration_s


@dataclass(frozen=True)
class ScriptedAction:
    """A clinician action for demo/training playback; the player applies it, not the model."""

    at_min: float | None
    at_infusion_min: float | None
    kind: ActionKind
    reason: str = ""
    cadss_total: int | None = None
    cadss_answers: tuple[int, ...] | None = None
    text: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    learning_objectives: tuple[str, ...]
    patient: PatientProfile
    seed: int
    events: tuple[ScenarioEvent, ...]
    actions: tuple[ScriptedAction, ...]
    expect_sometime: tuple[Condition, ...]
    expect_never: tuple[Condition, ...]
    path: Path | None = None


# ---------------------------------------------------------------- parsing helpers


class _Where:
    """Builds error messages that name the file and the key path."""

    def __init__(self, file: str, key: str = "") -> None:
        self.file, self.key = file, key

    def at(self, key: str) -> _Where:
        return _Where(self.file, f"{self.key}.{key}" if self.key else key)

    def error(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.file}: {self.key or '(top level)'}: {message}")


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: _Where) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise where.error(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")


def _table(value: Any, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(f"must be a table, got {type(value).__name__}")
    return value


def _text(table: Mapping[str, Any], key: str, where: _Where, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise where.at(key).error("is required (text)")
    if not isinstance(value, str):
        raise where.at(key).error(f"must be text, got {value!r}")
    return value


def _number(
    table: Mapping[str, Any], key: str, where: _Where, lo: float = -math.inf,
    hi: float = math.inf,
) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        math.isfinite(value) and lo <= value <= hi
    ):
        raise where.at(key).error(f"must be a number from {lo} to {hi}, got {value!r}")
    return float(value)


def _trigger(table: Mapping[str, Any], where: _Where, allow_when: bool) -> Trigger:
    keys = ("at_min", "at_infusion_min", "when") if allow_when else ("at_min", "at_infusion_min")
    given = [k for k in keys if k in table]
    if len(given) != 1:
        raise where.error(f"give exactly one of {', '.join(keys)} (got "
                          f"{', '.join(given) or 'none'})")
    if given[0] == "when":
        text = table["when"]
        try:
            return Trigger(when=parse_condition(text))
        except ValueError as e:
            raise where.at("when").error(str(e)) from None
    # An infusion-relative time before the start would only be known once it had passed.
    minutes = _number(table, given[0], where, lo=0.0, hi=24 * 60)
    if given[0] == "at_min":
        return Trigger(at_min=minutes)
    return Trigger(at_infusion_min=minutes)


def _duration_s(table: Mapping[str, Any], where: _Where) -> float | None:
    if "duration_s" in table and "duration_min" in table:
        raise where.error("give duration_s or duration_min, not both")
    if "duration_s" in table:
        return _number(table, "duration_s", where, lo=0, hi=24 * 3600)
    minutes = _number(table, "duration_min", where, lo=0, hi=24 * 60)
    return None if minutes is None else minutes * 60.0


_EVENT_KEYS = ("at_min", "at_infusion_min", "when", "do", "channel", "add", "to", "ramp_min",
               "duration_s", "duration_min", "symptoms", "note")


def _event(raw: Any, where: _Where) -> ScenarioEvent:
    table = _table(raw, where)
    _check_keys(table, _EVENT_KEYS, where)
    trigger = _trigger(table, where, allow_when=True)
    do = _text(table, "do", where, default="change")
    kinds = [k.value for k in EventKind]
    if do not in kinds:
        raise where.at("do").error(f"unknown {do!r}; allowed: {', '.join(kinds)}")
    kind = EventKind(do)
    symptoms = table.get("symptoms", [])
    if not isinstance(symptoms, list) or any(s not in SYMPTOMS for s in symptoms):
        raise where.at("symptoms").error(f"must be a list of {', '.join(SYMPTOMS)}; "
                                         f"got {symptoms!r}")
    duration_s = _duration_s(table, where)
    ramp_min = _number(table, "ramp_min", where, lo=0, hi=600) or 0.0
    channel: str | None = table.get("channel")
    add = to = None
    if kind is EventKind.CHANGE:
        if channel not in CHANGE_CHANNELS:
            raise where.at("channel").error(f"do = 'change' needs a channel, one of "
                                            f"{', '.join(CHANGE_CHANNELS)}; got {channel!r}")
        lo, hi = CHANGE_CHANNELS[channel]
        add = _number(table, "add", where, lo=-(hi - lo), hi=hi - lo)
        to = _number(table, "to", where, lo=lo, hi=hi)
        if (add is None) == (to is None):
            raise where.error("do = 'change' needs exactly one of add (a change) or to "
                              "(a target value)")
    else:
        for key in ("add", "to", "ramp_min"):
            if key in table:
                raise where.at(key).error(f"only allowed with do = 'change', not {do!r}")
        if kind is EventKind.PROBE_OFF:
            if channel not in PROBE_CHANNELS:
                raise where.at("channel").error(f"do = 'probe_off' needs a channel, one of "
                                                f"{', '.join(PROBE_CHANNELS)}; got {channel!r}")
        elif channel is not None:
            raise where.at("channel").error(f"not used with do = {do!r}")
        if kind in (EventKind.PROBE_OFF, EventKind.LEADS_OFF, EventKind.SOURCE_STALL) and (
            duration_s is None
        ):
            raise where.error(f"do = {do!r} needs duration_s (or duration_min)")
        if kind is EventKind.SYMPTOM and not symptoms:
            raise where.at("symptoms").error(f"do = 'symptom' needs a list of "
                                             f"{', '.join(SYMPTOMS)}")
    return ScenarioEvent(trigger, kind, channel, add, to, ramp_min, duration_s,
                         tuple(symptoms), _text(table, "note", where, default=""))


_ACTION_KEYS = ("at_min", "at_infusion_min", "do", "reason", "total", "answers", "text")


def _action(raw: Any, where: _Where) -> ScriptedAction:
    table = _table(raw, where)
    _check_keys(table, _ACTION_KEYS, where)
    trigger = _trigger(table, where, allow_when=False)
    do = _text(table, "do", where)
    kinds = [k.value for k in ActionKind]
    if do not in kinds:
        raise where.at("do").error(f"unknown {do!r}; allowed: {', '.join(kinds)}")
    kind = ActionKind(do)
    total = answers = None
    if kind is ActionKind.CADSS:
        if ("total" in table) == ("answers" in table):
            raise where.error("do = 'cadss' needs exactly one of total (0-92) or answers "
                              f"({CADSS_ITEMS} numbers 0-4)")
        if "total" in table:
            t = table["total"]
            if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= 4 * CADSS_ITEMS:
                raise where.at("total").error(f"must be a whole number 0-{4 * CADSS_ITEMS}, "
                                              f"got {t!r}")
            total = t
        else:
            a = table["answers"]
            if not (isinstance(a, list) and len(a) == CADSS_ITEMS and all(
                isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 4 for x in a
            )):
                raise where.at("answers").error(f"must be a list of {CADSS_ITEMS} whole numbers "
                                                f"0-4, got {a!r}")
            answers = tuple(a)
    else:
        for key in ("total", "answers"):
            if key in table:
                raise where.at(key).error("only allowed with do = 'cadss'")
    if kind is ActionKind.NOTE and not table.get("text"):
        raise where.at("text").error("do = 'note' needs the text to show")
    return ScriptedAction(trigger.at_min, trigger.at_infusion_min, kind,
                          _text(table, "reason", where, ""), total, answers,
                          _text(table, "text", where, ""))


def _conditions(table: Mapping[str, Any], key: str, where: _Where) -> tuple[Condition, ...]:
    raw = table.get(key, [])
    if not isinstance(raw, list):
        raise where.at(key).error("must be a list of conditions like 'spo2 < 90'")
    out = []
    for i, text in enumerate(raw):
        try:
            out.append(parse_condition(text))
        except ValueError as e:
            raise where.at(f"{key}[{i}]").error(str(e)) from None
    return tuple(out)


def _array(data: Mapping[str, Any], key: str, where: _Where) -> list[tuple[Any, _Where]]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise where.at(key).error(f"must be an array of tables ([[{key}]])")
    return [(item, where.at(f"{key}[{i}]")) for i, item in enumerate(raw)]


_TOP_KEYS = ("name", "title", "description", "learning_objectives", "seed", "patient",
             "events", "actions", "expect")


def parse_scenario(data: Mapping[str, Any], file: str = "<scenario>") -> Scenario:
    """Validate a parsed TOML document; ScenarioError names `file`, the key and what is allowed."""
    where = _Where(file)
    _check_keys(data, _TOP_KEYS, where)
    name = _text(data, "name", where)
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise where.at("name").error(f"must be lower-case letters, digits and _, got {name!r}")
    objectives = data.get("learning_objectives", [])
    if not isinstance(objectives, list) or not all(isinstance(o, str) for o in objectives):
        raise where.at("learning_objectives").error("must be a list of text")
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise where.at("seed").error(f"must be a whole number >= 0, got {seed!r}")
    pw = where.at("patient")
    patient_table = dict(_table(data.get("patient", {}), pw))
    try:
        profile = named_profile(patient_table.pop("profile", "typical"))
    except ValueError as e:
        raise pw.at("profile").error(str(e)) from None
    try:
        patient = with_overrides(profile, patient_table)
    except (ValueError, TypeError) as e:
        raise pw.error(str(e)) from None
    events = tuple(_event(item, w) for item, w in _array(data, "events", where))
    actions = tuple(_action(item, w) for item, w in _array(data, "actions", where))
    expect = _table(data.get("expect", {}), where.at("expect"))
    _check_keys(expect, ("sometime", "never"), where.at("expect"))
    return Scenario(
        name=name,
        title=_text(data, "title", where),
        description=_text(data, "description", where, default=""),
        learning_objectives=tuple(objectives),
        patient=patient,
        seed=seed,
        events=events,
        actions=actions,
        expect_sometime=_conditions(expect, "sometime", where.at("expect")),
        expect_never=_conditions(expect, "never", where.at("expect")),
    )


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    scenario = parse_scenario(data, str(path))
    if scenario.name != path.stem:
        raise ScenarioError(f"{path}: name: must match the file name {path.stem!r}, "
                            f"got {scenario.name!r}")
    return dataclasses.replace(scenario, path=path)


def scenario_names(directory: Path = SCENARIO_DIR) -> tuple[str, ...]:
    """Names of the scenarios shipped in `directory` (file stems, sorted)."""
    return tuple(sorted(p.stem for p in directory.glob("*.toml")))


def load_named_scenario(name: str, directory: Path = SCENARIO_DIR) -> Scenario:
    """A shipped scenario by name, with the available names in the error."""
    path = directory / f"{name}.toml"
    if not path.is_file():
        raise ScenarioError(f"no scenario {name!r}; available: "
                            f"{', '.join(scenario_names(directory)) or 'none'}")
    return load_scenario(path)
