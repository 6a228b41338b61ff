"""`ketadesk scales` and `ketadesk score` (issue 5, point 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ketadesk.cli as cli


@pytest.fixture(autouse=True)
def only_scales_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other command modules belong to other branches; exercise the real dispatcher with ours.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("ketadesk.cli.scales_cmd",))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_scales_lists_every_scale(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scales")
    assert code == 0
    lines = out.splitlines()
    ids = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert ids == ["bprs_positive", "cadss", "cadss6", "moaas"]
    cadss = next(line for line in lines if line.startswith("cadss "))
    assert "23 items, total 0-92" in cadss
    assert "subscale amnesia 0-12: items 14, 15, 22" in out
    assert "rated by clinician: item(s) 20, 21, 22, 23" in out


def test_scales_items_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scales", "--items")
    assert code == 0
    assert "20. Patient seems strange or makes the rater uneasy (0-4)  [rated by clinician]" in out
    assert "1. Suspiciousness (1-7)" in out


def test_score_text(capsys: pytest.CaptureFixture[str]) -> None:
    answers = "2,3,1,0,2,4,1,0,1,0,2,3,0,1,2,0,1,0,0,1,0,3,2"  # totals worked out by hand
    code, out, _ = run(capsys, "score", "cadss", answers)
    assert code == 0
    assert out.splitlines() == [
        "CADSS total 29 (0-92)",
        "  Depersonalization 11 (0-32)",
        "  Derealization 12 (0-48)",
        "  Amnesia 6 (0-12)",
    ]


def test_score_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "score", "cadss", ",".join(["4"] * 23), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["total"] == 92
    assert payload["subscales"] == {"depersonalization": 32, "derealization": 48, "amnesia": 12}
    code, out, _ = run(capsys, "score", "bprs_positive", "1, 7, 4, 2", "--json")
    assert (code, json.loads(out)["total"], json.loads(out)["subscales"]) == (0, 14, {})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("score", "cadss", "0,0,0"), "CADSS has 23 items, got 3 answers"),
        (
            ("score", "cadss6", "0,0,5,0,0,0"),
            "item 6 (Feeling disconnected from one's body): 5 is out of range; allowed 0-4",
        ),
        (("score", "moaas", "6"), "item 1 (Responsiveness): 6 is out of range; allowed 0-5"),
        (
            ("score", "bprs_positive", "1,1,0,1"),
            "item 3 (Unusual thought content): 0 is out of range; allowed 1-7",
        ),
        (("score", "moaas", "a"), "'a' is not a whole number; allowed 0-5"),
        (("score", "madrs", "1"), "unknown scale 'madrs'; known: bprs_positive, cadss"),
    ],
)
def test_score_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("ketadesk score: error: ")
    assert message in err


def test_broken_scale_dir_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "x"\n', encoding="utf-8")
    code, _, err = run(capsys, "scales", "--scales-dir", str(tmp_path))
    assert code == 2
    assert "bad.toml: needs at least one [[items]] table" in err


def test_new_scale_file_scored_without_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "phq2.toml").write_text(
        'name = "Two questions"\nmin = 0\nmax = 3\n'
        '[[items]]\nnumber = 1\ntext = "Interest"\n[[items]]\nnumber = 2\ntext = "Mood"\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "score", "phq2", "2,3", "--scales-dir", str(tmp_path), "--json")
    assert code == 0 and json.loads(out) == {"scale": "phq2", "total": 5, "subscales": {}}
