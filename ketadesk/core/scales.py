"""Rating scales as data: loading resources/scales/*.toml, checking answers, scoring.

A scale is described entirely by its file (items, ranges, anchors, subscales, scoring rule;
format in docs/scales-format.md), so adding a scale needs no code. A broken file is refused
with a message naming the file and what is wrong; answers are refused with a message naming
the item and its allowed range. Unanswered items are None: a partial set still gets running
totals, but its score says which items are missing and is never `complete`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ketadesk.core.config import resource_path

SCALES_DIR_PARTS = ("scales",)
SCALE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SCORING_METHODS = ("sum",)


class ScaleFileError(Exception):
    """A scale definition file that cannot be used; the message names the file."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class AnswerError(ValueError):
    """Answers that do not fit a scale. item_number is None when the count is wrong."""

    def __init__(self, message: str, item_number: int | None = None) -> None:
        super().__init__(message)
        self.item_number = item_number


class Rater(Enum):
    """Whose account an item is scored from."""

    PATIENT = "patient"  # the patient's own answer
    CLINICIAN = "clinician"  # the clinician's observation (CADSS 20-23, MOAA/S)


@dataclass(frozen=True)
class ScaleItem:
    number: int  # as printed on the instrument (CADSS-6 keeps the full-scale numbers)
    text: str
    min_score: int
    max_score: int
    rater: Rater
    anchors: tuple[tuple[int, str], ...]  # (score, word), sorted by score; may be empty

    @property
    def is_observer(self) -> bool:
        return self.rater is Rater.CLINICIAN

    @property
    def allowed(self) -> str:
        return f"{self.min_score}-{self.max_score}"

    def anchor(self, score: int) -> str | None:
        return next((word for value, word in self.anchors if value == score), None)


@dataclass(frozen=True)
class Subscale:
    id: str
    name: str
    item_numbers: tuple[int, ...]
    min_total: int
    max_total: int


@dataclass(frozen=True)
class ScaleDefinition:
    id: str  # the file name without .toml, e.g. "cadss"
    name: str
    short_name: str
    description: str
    reference: str
    scoring: str
    items: tuple[ScaleItem, ...]
    subscales: tuple[Subscale, ...]
    source: str  # the file it came from

    @property
    def min_total(self) -> int:
        return sum(item.min_score for item in self.items)

    @property
    def max_total(self) -> int:
        return sum(item.max_score for item in self.items)

    def item(self, number: int) -> ScaleItem:
        for item in self.items:
            if item.number == number:
                return item
        raise KeyError(f"{self.short_name} has no item {number}")


@dataclass(frozen=True)
class ScaleScore:
    """Totals of one answer set. With items missing, totals cover the answered items only."""

    total: int
    subscales: dict[str, int]  # subscale id -> total, in file order
    missing: tuple[int, ...] = ()  # item numbers left unanswered

    @property
    def complete(self) -> bool:
        return not self.missing


# ---------------------------------------------------------------- loading


def default_scales_dir() -> Path:
    return resource_path(*SCALES_DIR_PARTS)


def load_scales(
    directory: Path | str | None = None, *, errors: list[ScaleFileError] | None = None
) -> dict[str, ScaleDefinition]:
    """Every *.toml scale in `directory` (default resources/scales), keyed by id, sorted.

    A broken file raises ScaleFileError, unless an `errors` list is given: then broken files
    are collected there and skipped, so one bad site file does not hide the others.
    """
    folder = Path(directory) if directory is not None else default_scales_dir()
    if not folder.is_dir():
        raise ScaleFileError(folder, "scale directory not found")
    scales: dict[str, ScaleDefinition] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            definition = load_scale_file(path)
        except ScaleFileError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        scales[definition.id] = definition
    return scales


def load_scale_file(path: Path | str) -> ScaleDefinition:
    """One scale definition file, checked; ScaleFileError names the file and the problem."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise ScaleFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScaleFileError(path, f"not valid TOML ({exc})") from exc
    try:
        return parse_scale(path.stem, raw, source=str(path))
    except _Problem as exc:
        raise ScaleFileError(path, str(exc)) from None


class _Problem(Exception):
    pass


_TOP_KEYS = {
    "name", "short_name", "description", "reference", "scoring", "min", "max", "anchors",
    "items", "subscales", "subscales_partition",
}  # fmt: skip
_ITEM_KEYS = {"number", "text", "rater", "min", "max", "anchors"}
_SUBSCALE_KEYS = {"id", "name", "items"}


def parse_scale(scale_id: str, raw: Mapping[str, Any], source: str = "") -> ScaleDefinition:
    """A definition from already-parsed TOML; raises _Problem (wrapped by load_scale_file)."""
    if not SCALE_ID_PATTERN.match(scale_id):
        raise _Problem(
            f"file name {scale_id!r} is not a usable scale id: use lower-case letters, digits "
            "and underscores, starting with a letter or digit"
        )
    _no_unknown_keys(raw, _TOP_KEYS, "the file")
    name = _text(raw, "name", "the file")
    short_name = _text(raw, "short_name", "the file", default=name)
    description = _text(raw, "description", "the file", default="")
    reference = _text(raw, "reference", "the file", default="")
    scoring = _text(raw, "scoring", "the file", default="sum")
    if scoring not in SCORING_METHODS:
        raise _Problem(f"scoring = {scoring!r} is not supported; allowed: {SCORING_METHODS}")
    default_min = _int_or_none(raw, "min", "the file")
    default_max = _int_or_none(raw, "max", "the file")
    default_anchors = raw.get("anchors", {})

    raw_items = raw.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise _Problem("needs at least one [[items]] table")
    items: list[ScaleItem] = []
    seen: set[int] = set()
    for position, raw_item in enumerate(raw_items, start=1):
        where = f"[[items]] number {position}"
        if not isinstance(raw_item, dict):
            raise _Problem(f"{where} is not a table")
        item = _parse_item(raw_item, where, default_min, default_max, default_anchors)
        if item.number in seen:
            raise _Problem(f"item number {item.number} appears twice; item numbers must differ")
        seen.add(item.number)
        items.append(item)

    subscales = _parse_subscales(raw.get("subscales", []), {i.number: i for i in items})
    partition = raw.get("subscales_partition", False)
    if not isinstance(partition, bool):
        raise _Problem(f"subscales_partition must be true or false, got {partition!r}")
    if partition:
        _check_partition(subscales, [i.number for i in items])

    return ScaleDefinition(
        id=scale_id,
        name=name,
        short_name=short_name,
        description=description,
        reference=reference,
        scoring=scoring,
        items=tuple(items),
        subscales=tuple(subscales),
        source=source,
    )


def _parse_item(
    raw: Mapping[str, Any],
    where: str,
    default_min: int | None,
    default_max: int | None,
    default_anchors: Any,
) -> ScaleItem:
    _no_unknown_keys(raw, _ITEM_KEYS, where)
    number = _int_or_none(raw, "number", where)
    if number is None:
        raise _Problem(f"{where} has no number")
    where = f"item {number}"
    text = _text(raw, "text", where)
    rater_name = _text(raw, "rater", where, default=Rater.PATIENT.value)
    try:
        rater = Rater(rater_name)
    except ValueError:
        allowed = ", ".join(r.value for r in Rater)
        raise _Problem(
            f"{where}: rater = {rater_name!r} is not known; allowed: {allowed}"
        ) from None
    lo = _int_or_none(raw, "min", where)
    hi = _int_or_none(raw, "max", where)
    lo = default_min if lo is None else lo
    hi = default_max if hi is None else hi
    if lo is None or hi is None:
        raise _Problem(f"{where} has no score range: set min and max for the scale or the item")
    if lo > hi:
        raise _Problem(f"{where}: min {lo} is above max {hi}")
    anchors = _parse_anchors(raw.get("anchors", default_anchors), lo, hi, where)
    return ScaleItem(number, text, lo, hi, rater, anchors)


def _parse_anchors(raw: Any, lo: int, hi: int, where: str) -> tuple[tuple[int, str], ...]:
    if not isinstance(raw, dict):
        raise _Problem(f'{where}: anchors must be a table of score = "word"')
    anchors: list[tuple[int, str]] = []
    for key, word in raw.items():
        try:
            score = int(key)
        except ValueError:
            raise _Problem(f"{where}: anchor key {key!r} is not a whole-number score") from None
        if not lo <= score <= hi:
            raise _Problem(f"{where}: anchor for {score} is outside the item's range {lo}-{hi}")
        if not isinstance(word, str) or not word.strip():
            raise _Problem(f"{where}: anchor for {score} must be non-empty text")
        anchors.append((score, word.strip()))
    return tuple(sorted(anchors))


def _parse_subscales(raw: Any, items: Mapping[int, ScaleItem]) -> list[Subscale]:
    if not isinstance(raw, list):
        raise _Problem("subscales must be written as [[subscales]] tables")
    subscales: list[Subscale] = []
    for position, entry in enumerate(raw, start=1):
        where = f"[[subscales]] number {position}"
        if not isinstance(entry, dict):
            raise _Problem(f"{where} is not a table")
        _no_unknown_keys(entry, _SUBSCALE_KEYS, where)
        sub_id = _text(entry, "id", where)
        if not SCALE_ID_PATTERN.match(sub_id):
            raise _Problem(f"{where}: id {sub_id!r} must be lower-case letters, digits, '_'")
        if any(s.id == sub_id for s in subscales):
            raise _Problem(f"subscale id {sub_id!r} appears twice")
        where = f"subscale {sub_id!r}"
        name = _text(entry, "name", where, default=sub_id)
        numbers = entry.get("items")
        if (
            not isinstance(numbers, list)
            or not numbers
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
        ):
            raise _Problem(f"{where}: items must be a non-empty list of item numbers")
        for n in numbers:
            if n not in items:
                raise _Problem(f"{where} lists item {n}, which the scale does not have")
        if len(set(numbers)) != len(numbers):
            raise _Problem(f"{where} lists an item more than once")
        subscales.append(
            Subscale(
                id=sub_id,
                name=name,
                item_numbers=tuple(numbers),
                min_total=sum(items[n].min_score for n in numbers),
                max_total=sum(items[n].max_score for n in numbers),
            )
        )
    return subscales


def _check_partition(subscales: Sequence[Subscale], numbers: Sequence[int]) -> None:
    owner: dict[int, str] = {}
    for sub in subscales:
        for n in sub.item_numbers:
            if n in owner:
                raise _Problem(
                    f"item {n} is in both subscale {owner[n]!r} and {sub.id!r}, "
                    "but subscales_partition = true asks for each item in exactly one"
                )
            owner[n] = sub.id
    left_out = [n for n in numbers if n not in owner]
    if left_out:
        raise _Problem(
            f"items {_join(left_out)} are in no subscale, "
            "but subscales_partition = true asks for each item in exactly one"
        )


def _no_unknown_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _Problem(
            f"{where} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _text(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise _Problem(f"{where} has no {key}")
    if not isinstance(value, str) or (not value.strip() and default is None):
        raise _Problem(f"{where}: {key} must be non-empty text, got {value!r}")
    return value.strip()


def _int_or_none(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Problem(f"{where}: {key} must be a whole number, got {value!r}")
    return value


def _join(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers)


# ---------------------------------------------------------------- answers and scoring


def check_answer(item: ScaleItem, value: object) -> int | None:
    """One answer checked against its item; None (unanswered) passes. AnswerError otherwise."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise AnswerError(
            f"item {item.number} ({item.text}): {value!r} is not a whole number; "
            f"allowed {item.allowed}",
            item.number,
        )
    if not item.min_score <= value <= item.max_score:
        raise AnswerError(
            f"item {item.number} ({item.text}): {value} is out of range; allowed {item.allowed}",
            item.number,
        )
    return value


def validate_answers(
    definition: ScaleDefinition, answers: Sequence[object]
) -> tuple[int | None, ...]:
    """Answers in item order (None = unanswered), checked; AnswerError names what is wrong."""
    if isinstance(answers, str | bytes):
        raise AnswerError("answers must be a list of numbers, not text")
    if len(answers) != len(definition.items):
        raise AnswerError(
            f"{definition.short_name} has {len(definition.items)} items, got {len(answers)} answers"
        )
    return tuple(
        check_answer(item, value) for item, value in zip(definition.items, answers, strict=True)
    )


def score(definition: ScaleDefinition, answers: Sequence[object]) -> ScaleScore:
    """Total and subscale totals (sum of the answered items); AnswerError for bad answers."""
    checked = validate_answers(definition, answers)
    by_number = {item.number: value for item, value in zip(definition.items, checked, strict=True)}
    return ScaleScore(
        total=sum(v for v in checked if v is not None),
        subscales={
            sub.id: sum(v for n in sub.item_numbers if (v := by_number[n]) is not None)
            for sub in definition.subscales
        },
        missing=tuple(
            item.number for item, v in zip(definition.items, checked, strict=True) if v is None
        ),
    )


def parse_answer_list(definition: ScaleDefinition, text: str) -> tuple[int, ...]:
    """A comma-separated answer list as typed on a command line ("0,1,2,..."), all answered."""
    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        parts = []
    if len(parts) != len(definition.items):
        raise AnswerError(
            f"{definition.short_name} has {len(definition.items)} items, got {len(parts)} answers"
        )
    values: list[int] = []
    for item, part in zip(definition.items, parts, strict=True):
        try:
            value = int(part)
        except ValueError:
            raise AnswerError(
                f"item {item.number} ({item.text}): {part!r} is not a whole number; "
                f"allowed {item.allowed}",
                item.number,
            ) from None
        check_answer(item, value)
        values.append(value)
    return tuple(values)
