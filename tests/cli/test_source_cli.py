"""--source/--source-opt on the command line: the listing, a live source headless, replay on screen."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ketadesk.cli import main
from ketadesk.core.config import resource_path
from ketadesk.sources.registry import discover

DEMO_CSV = str(resource_path("recordings", "demo_simulated_10min.csv"))


def test_sources_listing_marks_the_kind_with_a_plain_summary(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines if line and not line.startswith(" ")}
    assert "[live]" in rows["hl7"] and "HL7 v2 monitor feed" in rows["hl7"]
    assert "[simulated]" in rows["simulator"]
    assert "[replay]" in rows["replay"]
    for name, reg in discover().items():
        assert reg.summary in rows[name]
        # A summary for people: no class names or entry-point jargon.
        assert "VitalsSource" not in reg.summary and "entry point" not in reg.summary
    replay_opts = [line for line in lines if "--source-opt loop=" in line]
    assert replay_opts and "(yes/no)" in replay_opts[0]


def test_record_hl7_with_no_sender_runs_and_records_the_connection_state(tmp_path: Path) -> None:
    out = tmp_path / "x.db"
    argv = ["record", "--source", "hl7", "--source-opt", "port=0", "--minutes", "0.05",
            "--out", str(out)]
    assert main(argv) == 0  # 3 s of real time: a live source runs at 1x
    db = sqlite3.connect(out)
    assert db.execute("SELECT COUNT(*) FROM numerics").fetchone()[0] == 0
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["provenance"]) == "live"
    events = [json.loads(d) for (d,) in db.execute(
        "SELECT data FROM events WHERE kind = 'source'").fetchall()]
    connection = [e["detail"] for e in events if e["kind"] == "connection"]
    assert len(connection) == 1 and connection[0].startswith("connecting: listening on 127.0.0.1:")


def test_screenshot_of_a_replay_shows_the_replay_banner(tmp_path: Path) -> None:
    from PySide6.QtGui import QColor, QImage

    from ketadesk.ui import theme

    out = tmp_path / "replay.png"
    res = subprocess.run(
        [sys.executable, "-m", "ketadesk", "screenshot", "--source", "replay", "--source-opt",
         f"path={DEMO_CSV}", "--sim-minutes", "0.2", "--size", "1000x700", "--out", str(out)],
        capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    img = QImage(str(out))
    banner = QColor(theme.REPLAY_BANNER)
    # The banner is the first full-width band under the menu bar, in the replay colour.
    rows = [y for y in range(0, 120) if img.pixelColor(5 + 3, y) == banner
            and img.pixelColor(img.width() - 10, y) == banner]
    assert len(rows) >= 20, "no replay-coloured banner across the top of the window"
    sim = QColor(theme.SIM_BANNER)
    assert not any(img.pixelColor(8, y) == sim for y in range(0, 120))
