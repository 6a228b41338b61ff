"""`ketadesk record` runs the alarm engine: a crossed limit ends up in the recording."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ketadesk.cli import main


def _csv(path: Path, hr_by_second: list[float]) -> Path:
    lines = ["t_s,hr,spo2"] + [f"{t},{hr:g},97" for t, hr in enumerate(hr_by_second)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _alarm_events(db: Path) -> list[tuple[float, str, dict[str, object]]]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT t_s, detail, data FROM events WHERE kind = 'alarm' ORDER BY t_s")
    out = [(t, detail, json.loads(data)) for t, detail, data in rows]
    con.close()
    return out


def test_record_of_a_replay_with_hr_150_for_30_s_holds_the_hr_alarm(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _csv(tmp_path / "hr.csv", [75.0] * 20 + [150.0] * 30 + [75.0] * 20)
    db = tmp_path / "r.db"
    assert main(["record", "--source", "replay", "--source-opt", f"path={csv}",
                 "--speed", "max", "--minutes", "1.1", "--out", str(db)]) == 0
    hr = [(t, d, data) for t, d, data in _alarm_events(db) if data.get("channel") == "hr"]
    raised = [e for e in hr if e[2]["state"] == "raised"]
    cleared = [e for e in hr if e[2]["state"] == "cleared"]
    assert len(raised) == 1 and raised[0][2]["alarm_id"] == "hr.high.medium"
    assert raised[0][0] == pytest.approx(30.0)  # first 150 at 20 s + the 10 s condition delay
    assert "HR high 150 > 120 bpm" in raised[0][1] and raised[0][2]["priority"] == "medium"
    assert len(cleared) == 1 and cleared[0][0] == pytest.approx(50.0)


def test_record_of_normal_values_holds_no_physiological_alarm(tmp_path: Path) -> None:
    csv = _csv(tmp_path / "ok.csv", [75.0] * 40)
    db = tmp_path / "r.db"
    assert main(["record", "--source", "replay", "--source-opt", f"path={csv}",
                 "--speed", "max", "--minutes", "0.5", "--out", str(db)]) == 0
    assert [e for e in _alarm_events(db) if not e[2]["technical"]] == []
