"""`ketadesk plan`: the dose plan on the command line (issue 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ketadesk.cli as cli

REGISTERED = cli.COMMAND_MODULES  # read before the fixture narrows it


@pytest.fixture(autouse=True)
def only_plan_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other command modules belong to other issues; the plan command must not depend on them.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("ketadesk.cli.plan_cmd",))


def plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        rc = cli.main(["plan", *args])
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    rc, out, err = plan(capsys, *args, "--json")
    return rc, json.loads(out), err


def test_plan_is_a_registered_command() -> None:
    assert "ketadesk.cli.plan_cmd" in REGISTERED


def test_worked_example_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = plan(capsys, "--weight", "70", "--dose", "0.5", "--concentration", "1")
    assert (rc, err) == (0, "")
    assert "0.5 mg/kg = 35 mg" in out
    assert "40 min" in out  # the default duration
    assert "52.5 mg/h" in out and "52.5 mL/h" in out and "35 mL" in out


def test_worked_example_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, data, _ = plan_json(
        capsys, "--weight", "70", "--dose", "0.5", "--minutes", "40", "--concentration", "1"
    )
    assert rc == 0 and data["confirmed"] is True
    assert (
        data["weight_kg"],
        data["dose_mg"],
        data["dose_mg_per_h"],
        data["rate_ml_per_h"],
        data["volume_ml"],
    ) == (70.0, 35.0, 52.5, 52.5, 35.0)
    assert data["warnings"] == [] and data["findings"] == []


def test_bag_and_pounds(capsys: pytest.CaptureFixture[str]) -> None:
    rc, data, _ = plan_json(
        capsys, "--weight", "70", "--dose", "0.5", "--bag-mg", "35", "--bag-ml", "100"
    )
    assert rc == 0 and data["rate_ml_per_h"] == 150.0 and data["volume_ml"] == 100.0
    rc, data, _ = plan_json(
        capsys, "--weight", "154", "--weight-unit", "lb", "--dose", "0.5", "--concentration", "1"
    )
    assert rc == 0
    assert data["weight_kg"] == pytest.approx(154 * 0.45359237, rel=1e-12)
    assert data["dose_mg"] == pytest.approx(154 * 0.45359237 * 0.5, rel=1e-12)
    rc, out, _ = plan(
        capsys, "--weight", "154", "--weight-unit", "lb", "--dose", "0.5", "--concentration", "1"
    )
    assert "69.9 kg  (entered 154 lb)" in out


def test_refused_input_exits_2_with_the_message_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, err = plan(capsys, "--weight", "300", "--dose", "0.5", "--concentration", "1")
    assert rc == 2 and out == ""
    assert "plan refused" in err and "300 kg is outside the allowed 30-250 kg" in err
    rc, data, err = plan_json(capsys, "--weight", "70", "--dose", "0.5", "--concentration", "0")
    assert rc == 2 and data["confirmed"] is False
    assert [(f["code"], f["severity"], f["status"]) for f in data["findings"]] == [
        ("concentration_not_positive", "REFUSED", "blocking")
    ]
    assert "must be above 0" in err
    rc, _, err = plan(
        capsys,
        "--weight",
        "70",
        "--dose",
        "0.5",
        "--concentration",
        "1",
        "--override-reason",
        "x",
        "--accept-questions",
        "--minutes",
        "-40",
    )
    assert rc == 2 and "duration -40 min must be above 0" in err


def test_override_needs_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--weight", "80", "--dose", "1.2", "--concentration", "1")
    rc, out, err = plan(capsys, *args)
    assert rc == 2 and out == ""
    assert "NEEDS_OVERRIDE" in err and "--override-reason" in err and "1.2 mg/kg" in err
    rc, _, err = plan(capsys, *args, "--override-reason", "   ")
    assert rc == 2 and "--override-reason" in err
    rc, data, _ = plan_json(capsys, *args, "--override-reason", "titration after 6 sessions")
    assert rc == 0 and data["confirmed"] is True
    assert data["overrides"] == [{"code": "dose_above_max", "reason": "titration after 6 sessions"}]
    assert data["findings"][0]["status"] == "overridden"
    assert data["warnings"] == [data["findings"][0]["message"]]
    rc, out, _ = plan(capsys, *args, "--override-reason", "titration")
    assert rc == 0 and "OVERRIDDEN:" in out and "reason: titration" in out


def test_question_needs_accept_questions(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--weight", "154", "--dose", "0.5", "--concentration", "1")
    rc, _, err = plan(capsys, *args)
    assert rc == 2 and "QUESTION" in err and "--accept-questions" in err and "69.9 kg" in err
    rc, data, _ = plan_json(capsys, *args, "--accept-questions")
    assert rc == 0 and data["dose_mg"] == 77.0
    assert [(f["code"], f["status"]) for f in data["findings"]] == [
        ("weight_maybe_lb", "acknowledged")
    ]


def test_warnings_do_not_block(capsys: pytest.CaptureFixture[str]) -> None:
    rc, data, _ = plan_json(capsys, "--weight", "70", "--dose", "0.5", "--concentration", "100")
    assert rc == 0
    assert len(data["warnings"]) == 1 and "must be diluted" in data["warnings"][0]
    assert data["findings"][0]["severity"] == "WARNING"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--concentration", "1", "--bag-mg", "35", "--bag-ml", "100"), "not both"),
        (
            (
                "--bag-mg",
                "35",
            ),
            "needs both --bag-mg",
        ),
        (
            (
                "--bag-ml",
                "100",
            ),
            "needs both --bag-mg",
        ),
        ((), "give --concentration"),
    ],
)
def test_concentration_source_errors(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    rc, out, err = plan(capsys, "--weight", "70", "--dose", "0.5", *args)
    assert rc == 2 and out == "" and message in err


def test_bad_numbers_and_units_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = plan(capsys, "--weight", "seventy", "--dose", "0.5", "--concentration", "1")
    assert rc == 2 and "invalid float value: 'seventy'" in err
    rc, _, err = plan(
        capsys, "--weight", "70", "--weight-unit", "st", "--dose", "0.5", "--concentration", "1"
    )
    assert rc == 2 and "choose from 'kg', 'lb'" in err
    rc, _, err = plan(capsys, "--weight", "70", "--concentration", "1")
    assert rc == 2 and "--dose" in err
