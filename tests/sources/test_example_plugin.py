"""The example third-party source (examples/ketadesk-example-source) installs and works.

It is installed with pip into a temporary directory, exactly as a user would install a
plugin, and loaded in a fresh interpreter: the only link to KetaDesk is the entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ketadesk-example-source"

SCRIPT = """
import json
from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import SourceError
from ketadesk.sources.registry import create, discover
import source_contract

reg = discover()["metronome"]
seen = source_contract.check_source("metronome")
unknown = source_contract.check_refuses_unknown_option("metronome")
source = create("metronome", {"bpm": "75"})
clock = FakeClock()
source.open(clock)
clock.advance(2.5)
batch = source.read()
source.close()
try:
    create("metronome", {"bpm": "fast"})
    bad = ""
except SourceError as exc:
    bad = str(exc)
print(json.dumps({
    "target": reg.target, "summary": reg.summary, "provenance": reg.provenance.value,
    "seen": sorted(seen), "unknown": unknown, "bad": bad,
    "samples": [[s.channel, s.t_s, s.value] for s in batch.numerics],
    "builtin": sorted(n for n in discover() if n != "metronome"),
}))
"""


def test_example_plugin_installs_registers_and_passes_the_contract(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info beside the sources.
    src = shutil.copytree(EXAMPLE, tmp_path / "src")
    site = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(src)],
        capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (site / "ketadesk_metronome.py").exists()

    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(site), str(REPO), str(REPO / "tests" / "sources")])}
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=60, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["target"] == "ketadesk_metronome:MetronomeSource"
    assert out["summary"] == "Metronome: a simulated, perfectly steady heart rate (example plugin)"
    assert out["provenance"] == "simulated"
    assert out["seen"] == ["hr"]
    assert "allowed: bpm" in out["unknown"]
    assert out["bad"] == "option bpm='fast' must be a number from 30 to 200"
    assert out["samples"] == [["hr", 0.0, 75.0], ["hr", 1.0, 75.0], ["hr", 2.0, 75.0]]
    assert {"simulator", "replay", "hl7"} <= set(out["builtin"])  # beside, not instead

    listing = subprocess.run([sys.executable, "-m", "ketadesk", "sources"], capture_output=True,
                             text=True, timeout=60, env=env, cwd=tmp_path)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("metronome"))
    assert "[simulated]" in row and "--source-opt bpm=" in listing.stdout
