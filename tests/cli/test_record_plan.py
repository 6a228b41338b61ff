"""`ketadesk record` with the plan options: the infusion runs through its phases headless."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ketadesk.cli import main

PLAN = ("--weight", "70", "--dose", "0.5", "--concentration", "1")


def _events(path: Path) -> list[tuple[float, str, str, str, dict[str, object]]]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT t_s, kind, who, detail, data FROM events ORDER BY rowid").fetchall()
    return [(t, kind, who, detail, json.loads(data)) for t, kind, who, detail, data in rows]


def test_record_with_a_plan_runs_the_phases_headless_in_seconds(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    args = ["record", *PLAN, "--infusion-minutes", "20", "--baseline-minutes", "1",
            "--recovery-minutes", "2", "--clinician", "jk", "--patient-id", "KD-1",
            "--speed", "max", "--out", str(out)]
    # In a fresh interpreter: the plan path must stay Qt-free like the rest of record.
    code = ("import sys\nfrom ketadesk.cli import main\n"
            f"rc = main({args!r})\n"
            "print(rc, [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'shiboken6')])\n")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert res.stdout.strip().endswith("0 []"), res.stdout + res.stderr
    assert "recorded 23.0 min" in res.stdout and "infusion ENDED" in res.stdout
    assert elapsed < 30  # 23 simulated minutes; about 1-2 s on an idle machine

    events = _events(out)
    kinds = {kind for _, kind, *_ in events}
    # No "recovery" event: its 60 min minimum was not reached.
    assert {"plan", "phase", "baseline"} <= kinds
    plan = next(e for e in events if e[1] == "plan")
    assert plan[0] == 0.0 and plan[4]["dose_mg"] == 35.0 and plan[4]["rate_ml_per_h"] == 105.0
    phases = [(t, data["to"], who) for t, kind, who, _, data in events if kind == "phase"]
    assert phases == [
        (60.0, "INFUSING", "JK"),
        (1260.0, "COMPLETE", ""),  # the timer completes it, exactly at 1 + 20 min
        (1260.0, "RECOVERY", "JK"),
        (1380.0, "ENDED", "JK"),
    ]
    ended = next(e for e in events if e[1] == "phase" and e[4]["to"] == "ENDED")
    assert ended[4]["before_recovery_minimum"] is True  # 2 of the 60 min: the reason is recorded
    assert "scripted end after 2 min" in ended[3]
    meta = dict(sqlite3.connect(out).execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["clinician"]) == "JK" and json.loads(meta["patient_id"]) == "KD-1"


def test_a_shorter_recording_stops_mid_infusion_and_sim_is_the_default_clinician(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.db"
    rc = main(["record", *PLAN, "--baseline-minutes", "0", "--minutes", "5", "--speed", "max",
               "--out", str(out)])
    assert rc == 0 and "infusion INFUSING" in capsys.readouterr().out
    phases = [(t, data["to"], who) for t, kind, who, _, data in _events(out) if kind == "phase"]
    assert phases == [(0.0, "INFUSING", "SIM")]


def test_without_a_plan_record_is_monitoring_only(tmp_path: Path) -> None:
    out = tmp_path / "n.db"
    assert main(["record", "--minutes", "1", "--speed", "max", "--out", str(out)]) == 0
    assert not {"plan", "phase"} & {kind for _, kind, *_ in _events(out)}


@pytest.mark.parametrize(("args", "message"), [
    ((), "--minutes is required without a plan"),
    (("--weight", "700", "--dose", "0.5", "--concentration", "1"), "plan refused"),
    (("--weight", "80", "--dose", "1.2", "--concentration", "1"), "--override-reason"),
    (("--dose", "0.5", "--concentration", "1"), "a plan needs --weight"),
    (("--weight", "70", "--dose", "0.5"), "give --concentration"),
    ((*PLAN, "--clinician", "A1"), "1-5 letters"),
    ((*PLAN, "--patient-id", "John Smith"), "not a name"),
    ((*PLAN, "--baseline-minutes", "-1"), "--baseline-minutes -1 is out of range"),
    ((*PLAN, "--recovery-minutes", "9999"), "--recovery-minutes 9999 is out of range"),
])
def test_bad_plan_options_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "bad.db"
    assert main(["record", *args, "--speed", "max", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
