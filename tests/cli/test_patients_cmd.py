"""`ketadesk patients / patient / course / outcome` (issue 9)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

import ketadesk.cli as cli
from ketadesk.core.course import CourseSession, SessionStatus
from ketadesk.store.patients import PatientStore

REGISTERED = cli.COMMAND_MODULES


@pytest.fixture(autouse=True)
def only_patients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("ketadesk.cli.patients_cmd",))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        rc = cli.main(list(args))
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def test_registered() -> None:
    assert "ketadesk.cli.patients_cmd" in REGISTERED


def test_add_list_search(capsys: pytest.CaptureFixture[str]) -> None:
    for pid in ("KD-0001", "KD-0002", "ZZ-9"):
        rc, out, _ = run(capsys, "patient", "add", pid, "--year-of-birth", "1979", "--sex", "m",
                         "--weight", "81.5")
        assert rc == 0 and f"added {pid}" in out
    rc, out, _ = run(capsys, "patients", "--search", "kd")
    assert rc == 0 and "KD-0001" in out and "KD-0002" in out and "ZZ-9" not in out
    rc, out, _ = run(capsys, "patients", "--json")
    rows: list[dict[str, Any]] = json.loads(out)
    assert [r["patient_id"] for r in rows] == ["KD-0001", "KD-0002", "ZZ-9"]
    assert rows[0]["sex"] == "M" and rows[0]["weight_kg"] == 81.5
    rc, out, _ = run(capsys, "patient", "weight", "KD-0001", "80")
    assert rc == 0 and run(capsys, "patients", "--json")[1].count("80.0") == 1


@pytest.mark.parametrize(("args", "msg"), [
    (("patient", "add", "Jane Doe", "--year-of-birth", "1980", "--sex", "F", "--weight", "60"),
     "no names"),
    (("patient", "add", "KD-1", "--year-of-birth", "1980", "--sex", "Q", "--weight", "60"),
     "F, M, X"),
    (("patient", "add", "KD-1", "--year-of-birth", "1980", "--sex", "F", "--weight", "600"),
     "30-250 kg"),
    (("patient", "add", "KD-1", "--year-of-birth", "old", "--sex", "F", "--weight", "60"),
     "not a whole number"),
    (("outcome", "KD-404", "--scale", "madrs", "--total", "20"), "no patient"),
    (("course", "KD-404"), "no patient"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                           msg: str) -> None:
    rc, _, err = run(capsys, *args)
    assert rc == 2 and msg in err


def test_outcome_validation_and_course(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "patient", "add", "KD-7", "--year-of-birth", "1990", "--sex", "X",
        "--weight", "64")
    today = date.today()
    d0 = today - timedelta(days=10)
    rc, out, _ = run(capsys, "outcome", "KD-7", "--scale", "madrs", "--total", "28",
                     "--date", d0.isoformat(), "--who", "AB")
    assert rc == 0 and "pre-course baseline" in out
    with PatientStore() as store:
        for k in (0, 2, 3, 3):  # two sessions on day 3: a spacing warning
            store.save_session("KD-7", CourseSession(d0 + timedelta(days=k), SessionStatus.DONE,
                                                     0.5, 140, 88, 5.0))
    rc, out, _ = run(capsys, "outcome", "KD-7", "--scale", "MADRS", "--total", "9")
    assert rc == 0 and "-68 % from 28, response; remission" in out
    rc, _, err = run(capsys, "outcome", "KD-7", "--scale", "phq9", "--total", "28")
    assert rc == 2 and "allowed 0-27" in err
    tomorrow = (today + timedelta(days=1)).isoformat()
    rc, _, err = run(capsys, "outcome", "KD-7", "--scale", "phq9", "--total", "3",
                     "--date", tomorrow)
    assert rc == 2 and "in the future" in err
    rc, _, err = run(capsys, "outcome", "KD-7", "--scale", "phq9", "--total", "3",
                     "--date", "yesterday")
    assert rc == 2 and "YYYY-MM-DD" in err
    rc, out, _ = run(capsys, "course", "KD-7")
    assert rc == 0 and "4 of 6 sessions done" in out and "WARNING: two sessions on" in out
    assert "peak BP  140/88" in out
    rc, out, _ = run(capsys, "course", "KD-7", "--json")
    data = json.loads(out)
    assert data["progress"]["done"] == 4 and data["warnings"][0]["kind"] == "same_day"
    madrs = data["outcomes"]["madrs"]
    assert madrs[-1]["response"] is True and madrs[-1]["remission"] is True
    assert madrs[0]["is_baseline"] is True
