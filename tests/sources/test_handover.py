"""Handover: the locked queue and connection state between a source's threads and read()."""

from __future__ import annotations

import logging
import threading

import pytest

from ketadesk.sources.base import ConnectionState, NumericSample, StatusEvent
from ketadesk.sources.handover import Handover

log = logging.getLogger("test_handover")


def _samples(n: int, start: int = 0) -> list[NumericSample]:
    return [NumericSample("hr", float(i), float(i)) for i in range(start, start + n)]


def _messages(batch_status: tuple[StatusEvent, ...]) -> list[str]:
    return [e.detail for e in batch_status if e.kind == "message"]


def test_full_queue_drops_the_oldest_and_says_how_many_once() -> None:
    inbox = Handover("HL7", 10, log)
    inbox.put_samples(_samples(14))
    batch = inbox.drain(50.0)
    assert [s.value for s in batch.numerics] == [float(i) for i in range(4, 14)]
    assert _messages(batch.status) == [
        "HL7 queue full: dropped 4 oldest samples and 0 status events (read() too slow?)"]
    assert batch.status[0].t_s == 50.0
    # The count starts again after it was reported.
    inbox.put_samples(_samples(11))
    assert _messages(inbox.drain(51.0).status) == [
        "HL7 queue full: dropped 1 oldest samples and 0 status events (read() too slow?)"]
    inbox.put_samples(_samples(10))
    assert _messages(inbox.drain(52.0).status) == []


def test_status_overflow_is_counted_or_silent_as_configured() -> None:
    counted = Handover("HL7", 10, log, status_size=3)
    silent = Handover("SDC", 10, log, status_size=3, count_status_drops=False)
    for inbox in (counted, silent):
        for i in range(5):
            inbox.put_status(StatusEvent(float(i), "probe_off", "spo2", f"e{i}"))
    batch = counted.drain(9.0)
    assert [e.detail for e in batch.status][:3] == ["e2", "e3", "e4"]
    assert _messages(batch.status) == [
        "HL7 queue full: dropped 0 oldest samples and 2 status events (read() too slow?)"]
    batch = silent.drain(9.0)
    assert [e.detail for e in batch.status] == ["e2", "e3", "e4"]
    silent.put_samples(_samples(12))
    assert _messages(silent.drain(10.0).status) == ["SDC queue full: dropped 2 oldest samples"]


def test_drain_empties_and_an_empty_drain_is_falsy() -> None:
    inbox = Handover("X", 100, log)
    assert not inbox.drain(0.0)
    inbox.put_samples(_samples(3))
    inbox.put_status(StatusEvent(1.0, "leads_off", "ecg_ii"))
    batch = inbox.drain(2.0)
    assert len(batch.numerics) == 3 and [e.kind for e in batch.status] == ["leads_off"]
    assert not inbox.drain(3.0)


def test_state_changes_queue_one_event_each() -> None:
    inbox = Handover("SDC", 100, log)
    initial = inbox.state  # a local: mypy would keep inbox.state narrowed to this value
    assert initial is ConnectionState.DISCONNECTED
    assert inbox.set_state(ConnectionState.CONNECTING, "searching", 1.0)
    assert not inbox.set_state(ConnectionState.CONNECTING, "still searching", 2.0)
    assert inbox.set_state(ConnectionState.CONNECTING, "why", 3.0, force=True)
    # only_from: checked and changed in one step.
    assert not inbox.set_state(ConnectionState.CONNECTED, "resumed", 4.0,
                               only_from=ConnectionState.STALLED)
    assert inbox.state is ConnectionState.CONNECTING
    status = inbox.drain(5.0).status
    assert [(e.t_s, e.kind, e.detail) for e in status] == [
        (1.0, "connection", "connecting: searching"), (3.0, "connection", "connecting: why")]


def test_stall_once_after_the_limit_and_recovery() -> None:
    inbox = Handover("HL7", 100, log)
    inbox.set_state(ConnectionState.CONNECTED, "arriving", 10.0)
    assert not inbox.check_stall(100.0, 5.0, "no data")  # never had data: no watchdog yet
    inbox.put_samples(_samples(1), data_t=10.0)
    assert inbox.last_data_t == 10.0
    assert not inbox.check_stall(15.0, 5.0, "no data")  # exactly at the limit: not yet
    assert inbox.check_stall(22.4, 5.0, "no data")
    assert not inbox.check_stall(30.0, 5.0, "no data")  # said once, not on every read
    assert inbox.state is ConnectionState.STALLED
    inbox.put_samples([], data_t=31.0)  # data_t counts even without samples
    assert inbox.set_state(ConnectionState.CONNECTED, "resumed", 31.0,
                           only_from=ConnectionState.STALLED)
    assert not inbox.check_stall(32.0, 5.0, "no data")
    details = [e.detail for e in inbox.drain(33.0).status]
    assert details == ["connected: arriving", "stalled: no data for 12 s (limit 5 s)",
                       "connected: resumed"]


def test_stall_only_from_connected() -> None:
    inbox = Handover("SDC", 100, log)
    inbox.put_samples(_samples(1), data_t=0.0)
    inbox.set_state(ConnectionState.CONNECTING, "searching", 0.0)
    assert not inbox.check_stall(1000.0, 1.0, "no data")
    assert inbox.state is ConnectionState.CONNECTING


def test_report_once_per_key_up_to_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    inbox = Handover("HL7", 100, log, max_reported=2)
    caplog.set_level(logging.DEBUG, logger=log.name)
    assert inbox.report_once("a", "problem a", 1.0, "spo2")
    assert not inbox.report_once("a", "problem a", 2.0)
    assert inbox.report_once("b", "problem b", 3.0)
    assert not inbox.report_once("c", "problem c", 4.0)  # beyond the limit: only logged
    status = inbox.drain(5.0).status
    assert [(e.t_s, e.channel, e.detail) for e in status] == [
        (1.0, "spo2", "problem a"), (3.0, None, "problem b")]
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert levels == [("WARNING", "problem a"), ("DEBUG", "problem a"),
                      ("WARNING", "problem b"), ("DEBUG", "problem c")]
    unlimited = Handover("SDC", 100, log)
    assert all(unlimited.report_once(str(i), "p", 0.0) for i in range(1000))


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Handover("X", 0, log)


def test_a_writer_thread_and_a_reader_lose_nothing_and_keep_order() -> None:
    """Every sample put is drained exactly once, in order, while both run at once."""
    total, chunk = 60_000, 7
    inbox = Handover("X", total, log, status_size=total)  # big enough: nothing is dropped
    halfway = threading.Event()
    drained_mid = threading.Event()
    done = threading.Event()

    def writer() -> None:
        for start in range(0, total, chunk):
            if start >= total // 2 and not halfway.is_set():
                # Make sure at least one drain falls between two writes, whatever the scheduler.
                halfway.set()
                drained_mid.wait(10.0)
            inbox.put_samples(_samples(min(chunk, total - start), start), data_t=float(start))
            inbox.put_status(StatusEvent(float(start), "message", None, str(start)))
        done.set()

    thread = threading.Thread(target=writer, name="test-handover-writer")
    thread.start()
    seen: list[float] = []
    statuses: list[str] = []
    while True:
        finished = done.is_set()  # read before draining: then this drain gets the rest
        mid = halfway.is_set()
        batch = inbox.drain(0.0)
        seen.extend(s.value for s in batch.numerics)
        statuses.extend(e.detail for e in batch.status)
        if mid:
            drained_mid.set()
        if finished:
            break
    thread.join(10.0)
    assert not thread.is_alive()
    assert seen == [float(i) for i in range(total)]
    assert statuses == [str(s) for s in range(0, total, chunk)]
    assert not inbox.drain(0.0)
