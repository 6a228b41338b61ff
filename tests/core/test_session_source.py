"""The session's view of its source: connection status for the header, and source changes."""

from __future__ import annotations

import numpy as np
import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import DosePlan, PlanInputs, confirm_plan
from ketadesk.core.session import Session, SourceChangeRefused
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceInfo,
    StatusEvent,
    WaveformChunk,
)

INFO = SourceInfo("test", "test source", ("hr", "pleth"), Provenance.LIVE)


def test_snapshot_has_no_connection_until_the_source_is_polled() -> None:
    s = Session(FakeClock(), INFO)
    snap = s.snapshot(0.0)
    assert snap.connection is None and snap.connection_status is None


def test_connection_state_since_detail_and_last_data() -> None:
    s = Session(FakeClock(), INFO)
    s.update_connection(ConnectionState.CONNECTING, 0.0)
    s.ingest(SampleBatch(status=(StatusEvent(0.0, "connection", None,
                                             "connecting: listening on 127.0.0.1:2575"),)))
    st = s.snapshot(1.0).connection_status
    assert st is not None and st.state is ConnectionState.CONNECTING
    assert st.detail == "listening on 127.0.0.1:2575"  # the state prefix is dropped
    assert not st.reconnecting and st.last_data_s is None

    s.update_connection(ConnectionState.CONNECTED, 2.0)
    s.ingest(SampleBatch(numerics=(NumericSample("hr", 2.0, 70.0),),
                         waveforms=(WaveformChunk("pleth", 2.0, 100.0,
                                                  np.zeros(51, np.float32)),)))
    snap = s.snapshot(3.0)
    assert snap.connection is ConnectionState.CONNECTED
    st = snap.connection_status
    assert st is not None and st.since_s == 2.0 and st.was_connected
    assert st.detail == ""  # a new state forgets the old state's reason
    assert st.last_data_s == pytest.approx(2.5)  # the last waveform sample

    s.update_connection(ConnectionState.STALLED, 40.0)
    s.update_connection(ConnectionState.STALLED, 41.0)  # unchanged: since stays
    st = s.snapshot(45.0).connection_status
    assert st is not None and st.state is ConnectionState.STALLED and st.since_s == 40.0

    s.update_connection(ConnectionState.CONNECTING, 50.0)
    st = s.snapshot(50.0).connection_status
    assert st is not None and st.reconnecting  # connecting again after a connection


def test_end_of_recording_is_disconnected_with_its_reason() -> None:
    s = Session(FakeClock(), INFO)
    s.update_connection(ConnectionState.CONNECTED, 0.0)
    s.update_connection(ConnectionState.DISCONNECTED, 600.0)
    s.ingest(SampleBatch(status=(StatusEvent(600.0, "connection", None, "end of recording"),)))
    st = s.snapshot(601.0).connection_status
    assert st is not None and st.state is ConnectionState.DISCONNECTED
    assert st.detail == "end of recording"
    assert s.snapshot(601.0).alarms.top is not None  # the technical alarm still sounds


def _plan() -> DosePlan:
    plan = confirm_plan(PlanInputs(70, 0.5, concentration_mg_per_ml=1.0), who="AB").plan
    assert plan is not None
    return plan


def test_source_change_allowed_until_the_infusion_starts() -> None:
    clock = FakeClock()
    s = Session(clock, INFO)
    s.check_source_change()  # no plan: fine
    inf = s.set_plan(_plan())
    s.check_source_change()  # confirmed, not started: fine
    clock.advance(125.0)
    inf.start(who="AB")
    with pytest.raises(SourceChangeRefused, match=r"infusion started at session time 0:02:05 "
                       r"and is now INFUSING.*\(test, live\).*start a new one"):
        s.check_source_change()
    inf.pause("patient request", who="AB")
    with pytest.raises(SourceChangeRefused, match="PAUSED"):
        s.check_source_change()
