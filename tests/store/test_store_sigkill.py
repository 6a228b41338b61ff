"""SIGKILL mid-session: every row up to the last reported commit survives; recovery works."""

from __future__ import annotations

import math
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import (
    ECG_HZ,
    NUMERIC_CHANNELS,
    PLETH_HZ,
    ecg_values,
    make_meta,
    numeric_value,
    pleth_values,
    second_batches,
)

from ketadesk.store.catalog import list_sessions
from ketadesk.store.files import writer_alive
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import (
    RecordingWriter,
    close_as_interrupted,
    find_unfinished,
)
from ketadesk.store.records import SessionStatus, StoreError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LINE_TIMEOUT_S = 20.0


class Child:
    def __init__(self, directory: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "sigkill_child.py"),
                                      str(directory)], stdout=subprocess.PIPE, env=env)
        assert self.proc.stdout is not None
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def line(self) -> str:
        """The child's next stdout line, failing after a deadline instead of hanging."""
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.sel.select(timeout=deadline - time.monotonic()):
                assert self.proc.stdout is not None
                line = self.proc.stdout.readline().decode()
                assert line, f"child exited early with status {self.proc.poll()}"
                return line.strip()
        raise AssertionError(f"no line from the child within {LINE_TIMEOUT_S} s")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=LINE_TIMEOUT_S)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.sel.close()


def test_sigkill_loses_nothing_committed_and_the_session_can_be_recovered(
        tmp_path: Path) -> None:
    child = Child(tmp_path)
    try:
        path = Path(child.line().removeprefix("path "))
        committed = [float(child.line().removeprefix("committed ")) for _ in range(3)]
        assert writer_alive(path) and find_unfinished(tmp_path) == []  # alive: not touched
        committed += [float(child.line().removeprefix("committed ")) for _ in range(3)]
    finally:
        child.kill()
    assert child.proc.returncode == -signal.SIGKILL
    last = committed[-1]
    assert last == committed[0] + 5  # one commit per session second
    assert not writer_alive(path)
    assert find_unfinished(tmp_path) == [path]

    conn = sqlite3.connect(path)  # a normal connection replays the WAL left by the kill
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    with open_recording(path) as rec:
        assert rec.status is SessionStatus.OPEN and rec.last_t_s >= last
        for ch in NUMERIC_CHANNELS:
            s = rec.numeric(ch)
            upto = s.t_s <= last
            np.testing.assert_array_equal(s.t_s[upto], np.arange(math.floor(last) + 1))
            np.testing.assert_array_equal(s.values[upto], [numeric_value(ch, k) for k in
                                                          range(math.floor(last) + 1)])
        for ch, rate, values in (("ecg_ii", ECG_HZ, ecg_values), ("pleth", PLETH_HZ,
                                                                   pleth_values)):
            s = rec.waveform(ch, 0.0, last)
            expected = np.concatenate([values(k) for k in range(math.ceil(last))])
            n = round(last * rate)
            np.testing.assert_array_equal(s.values, expected[:n])
        assert rec.verify_audit().ok

    assert close_as_interrupted(path) is SessionStatus.INTERRUPTED
    assert find_unfinished(tmp_path) == []
    with open_recording(path) as rec:
        assert rec.status is SessionStatus.INTERRUPTED
        assert rec.end_t_s is not None and rec.end_t_s >= last

    # resume: append to the same file, continuing after the last recorded second
    w = RecordingWriter.resume(path)
    k0 = math.ceil(w.last_t_s) + 1
    for b in second_batches(k0):
        w.add_batch(b)
    w.close(k0 + 1.0)
    with open_recording(path) as rec:
        assert rec.status is SessionStatus.CLOSED and rec.end_t_s == k0 + 1.0
        assert rec.numeric("hr").t_s[-1] == k0
        assert rec.verify_audit().ok
        actions = [r[0] for r in rec._conn.execute("SELECT action FROM audit ORDER BY seq")]
        assert actions[0] == "opened" and actions[-3:] == ["interrupted", "resumed", "closed"]
    (summary,) = list_sessions(tmp_path)
    assert summary.status is SessionStatus.CLOSED and not summary.unfinished


def test_a_live_writer_cannot_be_resumed_or_closed_by_another(tmp_path: Path) -> None:
    w = RecordingWriter.create_in(tmp_path, make_meta())
    with pytest.raises(StoreError, match="being written by a running KetaDesk"):
        RecordingWriter.resume(w.path)
    with pytest.raises(StoreError, match="being written by a running KetaDesk"):
        close_as_interrupted(w.path)
    w.close(0.0)
    with pytest.raises(StoreError, match="closed normally; start a new recording"):
        RecordingWriter.resume(w.path)
    assert close_as_interrupted(w.path) is SessionStatus.CLOSED  # left as it is
