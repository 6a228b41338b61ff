"""Each peer recording (and the shipped demo) replayed through the real pipeline into a session.

test_replay.py checks the source's timing and bookkeeping sample by sample; this checks what a
person would see: the channels the session receives, the values in its trend buffers, and the
link shown as disconnected with "end of recording" when the file is over.
"""

from __future__ import annotations

import numpy as np
import pytest
from replay_peers import MIMIC_CSV, MIMIC_RECORD, MIXED_RECORD, peer

from ketadesk.core.channels import CHANNELS
from ketadesk.core.clock import FakeClock
from ketadesk.core.config import resource_path
from ketadesk.core.pipeline import Pipeline
from ketadesk.core.session import Session
from ketadesk.sources.base import ConnectionState
from ketadesk.sources.recordings import load_recording
from ketadesk.sources.replay import ReplaySource

MIMIC_CHANNELS = {"hr", "pr", "rr", "spo2", "nibp_sys", "nibp_dia", "nibp_mean"}
DEMO_CHANNELS = {"hr", "pr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_mean", "etco2", "temp"}


def _path(which: str) -> str:
    if which == "demo":
        return str(resource_path("recordings", "demo_simulated_10min.csv"))
    return str(peer({"mimic_record": MIMIC_RECORD, "mimic_csv": MIMIC_CSV,
                     "mixed": MIXED_RECORD}[which]))


@pytest.mark.parametrize("which, channels", [
    ("mimic_record", MIMIC_CHANNELS),
    ("mimic_csv", MIMIC_CHANNELS),
    ("mixed", {"ecg_ii", "pleth"}),
    ("demo", DEMO_CHANNELS),
])
def test_replay_through_the_pipeline_fills_the_session(which: str, channels: set[str]) -> None:
    path = _path(which)
    rec = load_recording(path)
    source = ReplaySource(path=path, speed="60")
    assert set(source.info.channels) == channels
    clock = FakeClock()
    source.open(clock)
    session = Session(clock, source.info)
    pipeline = Pipeline(source, session)
    end_s = rec.duration_s / 60 + 1.0
    while clock.now() < end_s:
        clock.advance(0.5)
        pipeline.step(clock.now())
    source.close()

    for cid, series in rec.numerics.items():
        ch = CHANNELS[cid]
        # Continuous channels send every row; NIBP only the cycles that happened.
        sent = np.ones(len(series.values), bool) if ch.continuous else ~np.isnan(series.values)
        # Implausible values (NaN, MIMIC's "no probe" 0, a diastolic of 10) become gaps.
        expected = np.array([x if ch.is_valid(x) else np.nan for x in series.values[sent]])
        t, v = session.buffers.series(cid, -1.0, end_s)
        np.testing.assert_allclose(t, series.t_s[sent] / 60)
        np.testing.assert_array_equal(v, expected)
        last = session.readings[cid]
        assert last.t_s == pytest.approx(series.t_s[sent][-1] / 60)
        assert last.valid == ch.is_valid(series.values[sent][-1])
    for cid, wave in rec.waveforms.items():
        _, v = session.buffers.series(cid, -1.0, end_s)
        np.testing.assert_array_equal(v, wave.values.astype(np.float64))

    status = session.connection_status()
    assert status is not None and status.state is ConnectionState.DISCONNECTED
    assert status.detail == "end of recording"
