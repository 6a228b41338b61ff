from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ketadesk.cli import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ketadesk", *args], capture_output=True,
                          text=True, timeout=120)


def test_sources_lists_the_simulator_and_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    sim = next(i for i, line in enumerate(lines) if line.startswith("simulator "))
    assert "seed" in lines[sim + 1]


@pytest.mark.parametrize("argv, says", [
    (["record", "--minutes", "0", "--out", "x.db"], "allowed: more than 0"),
    (["record", "--minutes", "1", "--speed", "500", "--out", "x.db"], "allowed: a number from 1 to 60"),
    (["record", "--minutes", "1", "--source", "nope", "--out", "x.db"], "registered sources"),
    (["record", "--minutes", "1", "--source-opt", "seed", "--out", "x.db"], "KEY=VALUE"),
    (["record", "--minutes", "1", "--out", "/no/such/dir/x.db"], "does not exist"),
    (["screenshot", "--out", "x.png", "--size", "10x10"], "must be WxH"),
    (["screenshot", "--out", "x.jpg"], "must end in .png"),
    (["gui", "--speed", "fast"], "is not a number"),
])
def test_bad_arguments_exit_2_saying_what_is_allowed(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["record", "--minutes", "abc", "--out", "x.db"])
    assert exc.value.code == 2
    assert "invalid float value" in capsys.readouterr().err


def test_every_command_has_help() -> None:
    for cmd in ("gui", "sources", "record", "screenshot"):
        out = _run(cmd, "--help")
        assert out.returncode == 0 and "usage: ketadesk" in out.stdout, cmd


def test_record_at_max_speed_writes_the_samples(tmp_path: Path) -> None:
    out = tmp_path / "r.db"
    assert main(["record", "--minutes", "2", "--speed", "max", "--out", str(out)]) == 0
    db = sqlite3.connect(out)
    hr = db.execute("SELECT COUNT(*) FROM numerics WHERE channel = 'hr'").fetchone()[0]
    ecg = db.execute("SELECT SUM(n) FROM waveforms WHERE channel = 'ecg_ii'").fetchone()[0]
    assert hr == 121  # t = 0..120 s
    assert ecg == 120 * 250 + 1
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert main(["record", "--minutes", "1", "--speed", "max", "--out", str(out)]) == 2  # no overwrite


def test_screenshot_writes_a_png_of_the_window(tmp_path: Path) -> None:
    out = tmp_path / "kd.png"
    res = _run("screenshot", "--out", str(out), "--sim-minutes", "3", "--size", "1280x800")
    assert res.returncode == 0, res.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (1280, 800)


def test_record_writes_a_verifiable_recording_labelled_with_its_provenance(tmp_path: Path) -> None:
    from ketadesk.store.reader import open_recording

    out = tmp_path / "r.kdrec"
    assert main(["record", "--minutes", "1", "--speed", "max", "--out", str(out)]) == 0
    rec = open_recording(out)
    assert rec.meta.provenance.value == "simulated"
    assert rec.status.value == "closed"
    assert rec.verify_audit()[0]
    t, v = rec.numeric("hr")
    assert len(t) == 61
    rec.close()
