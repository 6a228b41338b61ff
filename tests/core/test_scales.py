"""Scale definitions, answer checks and scoring (issue 5, points 1, 4, 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketadesk.core.scales import (
    AnswerError,
    Rater,
    ScaleDefinition,
    ScaleFileError,
    load_scale_file,
    load_scales,
    parse_answer_list,
    score,
    validate_answers,
)

# A mixed CADSS answer set, items 1-23; the expected totals below were worked out by hand:
# depersonalization (3-7, 20, 21, 23) = 1+0+2+4+1+1+0+2 = 11
# derealization (1, 2, 8-13, 16-19)    = 2+3+0+1+0+2+3+0+0+1+0+0 = 12
# amnesia (14, 15, 22)                 = 1+2+3 = 6; total 29
CADSS_MIXED = [2, 3, 1, 0, 2, 4, 1, 0, 1, 0, 2, 3, 0, 1, 2, 0, 1, 0, 0, 1, 0, 3, 2]


@pytest.fixture(scope="module")
def scales() -> dict[str, ScaleDefinition]:
    return load_scales()


def test_shipped_scales_load(scales: dict[str, ScaleDefinition]) -> None:
    assert set(scales) == {"cadss", "cadss6", "moaas", "bprs_positive"}
    assert [len(scales[k].items) for k in ("cadss", "cadss6", "moaas", "bprs_positive")] == [
        23,
        6,
        1,
        4,
    ]


def test_cadss_subscales_cover_each_item_exactly_once(scales: dict[str, ScaleDefinition]) -> None:
    cadss = scales["cadss"]
    listed = [n for sub in cadss.subscales for n in sub.item_numbers]
    assert sorted(listed) == list(range(1, 24))
    ranges = {s.id: (s.min_total, s.max_total) for s in cadss.subscales}
    assert ranges == {
        "depersonalization": (0, 32),
        "derealization": (0, 48),
        "amnesia": (0, 12),
    }


def test_observer_items_and_anchors(scales: dict[str, ScaleDefinition]) -> None:
    cadss = scales["cadss"]
    observers = [i.number for i in cadss.items if i.is_observer]
    assert observers == [20, 21, 22, 23]
    assert cadss.item(1).rater is Rater.PATIENT
    assert cadss.item(5).anchor(0) == "not at all"
    assert cadss.item(5).anchor(4) == "extremely"
    assert [i.number for i in scales["cadss6"].items] == [1, 2, 6, 7, 15, 22]
    assert scales["cadss6"].item(22).is_observer
    moaas = scales["moaas"].items[0]
    assert (moaas.min_score, moaas.max_score, moaas.is_observer) == (0, 5, True)
    assert moaas.anchor(0) == "no response"


@pytest.mark.parametrize(
    ("scale_id", "lo", "hi"),
    [("cadss", 0, 92), ("cadss6", 0, 24), ("moaas", 0, 5), ("bprs_positive", 4, 28)],
)
def test_all_minimum_and_all_maximum(
    scales: dict[str, ScaleDefinition], scale_id: str, lo: int, hi: int
) -> None:
    d = scales[scale_id]
    low = score(d, [i.min_score for i in d.items])
    high = score(d, [i.max_score for i in d.items])
    assert (low.total, high.total) == (lo, hi)
    assert (d.min_total, d.max_total) == (lo, hi)
    assert low.complete and high.complete
    for sub in d.subscales:
        assert low.subscales[sub.id] == sub.min_total
        assert high.subscales[sub.id] == sub.max_total


def test_cadss_all_zero_subscales(scales: dict[str, ScaleDefinition]) -> None:
    result = score(scales["cadss"], [0] * 23)
    assert result.subscales == {"depersonalization": 0, "derealization": 0, "amnesia": 0}


def test_cadss_mixed_set(scales: dict[str, ScaleDefinition]) -> None:
    result = score(scales["cadss"], CADSS_MIXED)
    assert result.total == 29
    assert result.subscales == {"depersonalization": 11, "derealization": 12, "amnesia": 6}
    assert result.missing == ()


def test_cadss6_mixed_set(scales: dict[str, ScaleDefinition]) -> None:
    # the same patient's answers to items 1, 2, 6, 7, 15, 22: 2+3+4+1+2+3
    assert score(scales["cadss6"], [2, 3, 4, 1, 2, 3]).total == 15


def test_moaas_and_bprs_mixed(scales: dict[str, ScaleDefinition]) -> None:
    assert score(scales["moaas"], [3]).total == 3
    assert score(scales["bprs_positive"], [1, 7, 4, 2]).total == 14


def test_partial_answers_give_running_totals_and_missing(
    scales: dict[str, ScaleDefinition],
) -> None:
    answers: list[int | None] = list(CADSS_MIXED)
    answers[5] = None  # item 6 (depersonalization, 4)
    answers[21] = None  # item 22 (amnesia, 3)
    result = score(scales["cadss"], answers)
    assert not result.complete
    assert result.missing == (6, 22)
    assert result.total == 29 - 4 - 3
    assert result.subscales == {"depersonalization": 7, "derealization": 12, "amnesia": 3}


def test_out_of_range_names_item_and_range(scales: dict[str, ScaleDefinition]) -> None:
    answers = list(CADSS_MIXED)
    answers[6] = 5
    with pytest.raises(AnswerError, match=r"item 7 .*5 is out of range; allowed 0-4") as info:
        score(scales["cadss"], answers)
    assert info.value.item_number == 7
    with pytest.raises(AnswerError, match=r"item 1 .*0 is out of range; allowed 1-7"):
        score(scales["bprs_positive"], [0, 1, 1, 1])
    with pytest.raises(AnswerError, match="allowed 0-5"):
        score(scales["moaas"], [-1])


def test_wrong_count_and_wrong_type(scales: dict[str, ScaleDefinition]) -> None:
    with pytest.raises(AnswerError, match="CADSS has 23 items, got 22 answers"):
        validate_answers(scales["cadss"], [0] * 22)
    with pytest.raises(AnswerError, match="not a whole number"):
        validate_answers(scales["moaas"], [2.5])
    with pytest.raises(AnswerError, match="not a whole number"):
        validate_answers(scales["moaas"], [True])
    with pytest.raises(AnswerError, match="not text"):
        validate_answers(scales["moaas"], "3")


def test_parse_answer_list(scales: dict[str, ScaleDefinition]) -> None:
    text = ", ".join(str(v) for v in CADSS_MIXED)
    assert parse_answer_list(scales["cadss"], text) == tuple(CADSS_MIXED)
    with pytest.raises(AnswerError, match="has 6 items, got 5 answers"):
        parse_answer_list(scales["cadss6"], "0,0,0,0,0")
    with pytest.raises(AnswerError, match=r"item 15 .*'x' is not a whole number; allowed 0-4"):
        parse_answer_list(scales["cadss6"], "0,0,0,0,x,0")
    with pytest.raises(AnswerError, match="got 0 answers"):
        parse_answer_list(scales["moaas"], "")


# ---------------------------------------------------------------- definition files

GOOD = """
name = "Test scale"
short_name = "TS"
min = 0
max = 2
[anchors]
0 = "no"
2 = "yes"
[[items]]
number = 1
text = "First"
[[items]]
number = 2
text = "Second"
rater = "clinician"
max = 3
[[subscales]]
id = "all"
items = [1, 2]
"""


def _write(tmp_path: Path, text: str, name: str = "ts.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_new_scale_file_needs_no_code(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    d = load_scales(tmp_path)["ts"]
    assert d.item(2).max_score == 3 and d.item(2).is_observer
    assert d.item(2).anchor(3) is None and d.item(1).anchor(2) == "yes"
    assert score(d, [2, 3]).subscales == {"all": 5}
    assert d.max_total == 5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('name = "Test scale"', "name = "), "not valid TOML"),
        (("short_name", "shortname"), "unknown key.*shortname"),
        (("number = 2", "number = 1"), "item number 1 appears twice"),
        (("items = [1, 2]", "items = [1, 9]"), "subscale 'all' lists item 9"),
        (('2 = "yes"', '5 = "yes"'), "anchor for 5 is outside the item's range 0-2"),
        (("max = 3", "min = 4"), "item 2: min 4 is above max 2"),
        (('rater = "clinician"', 'rater = "nurse"'), "rater = 'nurse' is not known"),
        (("min = 0\nmax = 2\n", ""), "item 1 has no score range"),
        (('text = "First"', "text = 3"), "text must be non-empty text"),
        (('name = "Test scale"', 'name = "T"\nscoring = "mean"'), "scoring = 'mean'"),
    ],
)
def test_broken_file_is_refused_with_clear_message(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    old, new = edit
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScaleFileError, match=message) as info:
        load_scale_file(path)
    assert "ts.toml" in str(info.value)


def test_partition_flag_catches_overlap_and_gaps(tmp_path: Path) -> None:
    base = GOOD.replace('short_name = "TS"', 'short_name = "TS"\nsubscales_partition = true')
    _write(tmp_path, base.replace("items = [1, 2]", "items = [1]"))
    with pytest.raises(ScaleFileError, match="items 2 are in no subscale"):
        load_scales(tmp_path)
    _write(tmp_path, base + '[[subscales]]\nid = "again"\nitems = [2]\n')
    with pytest.raises(ScaleFileError, match="item 2 is in both subscale 'all' and 'again'"):
        load_scales(tmp_path)


def test_cadss_variant_with_item_21_in_two_subscales_is_refused(tmp_path: Path) -> None:
    shipped = (Path(load_scales()["cadss"].source)).read_text(encoding="utf-8")
    variant = shipped.replace("items = [1, 2, 8,", "items = [1, 2, 21, 8,")
    assert variant != shipped
    _write(tmp_path, variant, "cadss_alt.toml")
    with pytest.raises(ScaleFileError, match="item 21 is in both"):
        load_scales(tmp_path)


def test_errors_list_collects_broken_files_and_keeps_good_ones(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    _write(tmp_path, "name = [", "broken.toml")
    _write(tmp_path, GOOD, "Bad-Name.toml")
    errors: list[ScaleFileError] = []
    loaded = load_scales(tmp_path, errors=errors)
    assert list(loaded) == ["ts"]
    assert sorted(Path(e.path).name for e in errors) == ["Bad-Name.toml", "broken.toml"]


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ScaleFileError, match="scale directory not found"):
        load_scales(tmp_path / "nope")
