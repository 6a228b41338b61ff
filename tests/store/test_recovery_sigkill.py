"""App level SIGKILL: the headless pipeline with its SessionRecorder is killed mid-infusion;
the next start finds the session, loses at most 1 s of it and rebuilds the infusion."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.core.infusion import Phase
from ketadesk.core.session import Session
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import find_unfinished
from ketadesk.store.records import SessionStatus
from ketadesk.store.recovery import describe_unfinished, resume_into

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEADLINE_S = 60.0
RATE_MG_PER_H = 52.5  # 35 mg over 40 min
START_S = 2.0


def test_killed_pipeline_loses_at_most_a_second_and_resumes_infusing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "recovery_child.py"), str(tmp_path)],
                            stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    printed_t, committed = 0.0, []
    deadline = time.monotonic() + DEADLINE_S
    try:
        # Let it run until the infusion has run a while and several commits were reported.
        while printed_t < 20.0 or len(committed) < 10:
            assert time.monotonic() < deadline, f"child too slow: t={printed_t}"
            if not sel.select(timeout=deadline - time.monotonic()):
                continue
            line = proc.stdout.readline().decode()
            assert line, f"child exited early with status {proc.poll()}"
            if line.startswith("t "):
                printed_t = float(line.split()[1])
            elif line.startswith("committed "):
                committed.append(float(line.split()[1]))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=DEADLINE_S)
    # What the child printed before it died is still in the pipe: its last finished step.
    for line in proc.stdout.read().decode().splitlines():
        if line.startswith("t "):
            printed_t = float(line.split()[1])
        elif line.startswith("committed "):
            committed.append(float(line.split()[1]))
    proc.stdout.close()
    sel.close()
    assert proc.returncode == -signal.SIGKILL

    (path,) = find_unfinished(tmp_path)
    with open_recording(path) as rec:
        assert rec.status is SessionStatus.OPEN
        # at most one second of data lost: the heartbeat of the last commit, and the data
        assert printed_t - rec.last_t_s <= 1.0 + 1e-9
        assert rec.last_t_s >= committed[-1]
        ecg = rec.waveform("ecg_ii")
        assert printed_t - ecg.t_s[-1] <= 1.0 + 0.2 + 1e-6  # + the step in flight
        assert np.all(np.diff(ecg.t_s) < 1.5 / 250.0)  # nothing missing before that
        hr_t = rec.numeric("hr").t_s
        assert printed_t - hr_t[-1] <= 2.0  # 1 Hz numerics: one more second at most
        last_t_s = rec.last_t_s
        (start_s,) = [e.t_s for e in rec.events() if e.kind == "phase"]
        assert start_s == pytest.approx(START_S, abs=0.25)

    u = describe_unfinished(path)
    assert u.patient_id == "P-KILL" and u.phase == "INFUSING"
    assert u.delivered_mg == pytest.approx(RATE_MG_PER_H * (last_t_s - start_s) / 3600.0,
                                           rel=1e-6)
    # The restart, 3 minutes later: the pump ran on, so the delivered dose includes the gap.
    restart_s = last_t_s + 180.0
    clock = FakeClock(restart_s, wall_start=u.start_wall_time)
    source = SimulatorSource(seed="5")
    source.open(clock)
    session = Session(clock, source.info)
    recorder = resume_into(path, session)
    assert session.infusion is not None
    snap = session.infusion.snapshot()
    assert snap.phase is Phase.INFUSING
    assert snap.delivered_mg == pytest.approx(RATE_MG_PER_H * (restart_s - start_s) / 3600.0,
                                              rel=1e-9)
    recorder.close(restart_s + 1.0)
    assert find_unfinished(tmp_path) == []
    with open_recording(path) as rec:
        assert rec.status is SessionStatus.CLOSED and rec.verify_audit().ok
