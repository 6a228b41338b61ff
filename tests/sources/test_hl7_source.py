"""The HL7 listener source over real sockets: peer client, limits, states, queue."""

from __future__ import annotations

import math
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import ConnectionState, SampleBatch, SourceError, VitalsSource
from ketadesk.sources.hl7 import Hl7Source
from ketadesk.sources.mllp import frame

MLLP_SEND = Path("/work/venv/bin/mllp_send")
MSH = "MSH|^~\\&|MON|WARD|KD|KD|20250101120000||ORU^R01^ORU_R01|{cid}|P|2.6"


def peers_dir() -> Path:
    env = os.environ.get("KETADESK_PEERS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "peers"


def sample_file() -> Path:
    path = peers_dir() / "hl7" / "oru_r01_pcd01_sample.hl7"
    if not path.exists():
        pytest.skip(f"peer file {path} not found; set KETADESK_PEERS=/path/to/shared/peers")
    return path


def oru(cid: str, *obx: str) -> bytes:
    rows = [MSH.format(cid=cid), "PID|||P1", "OBR|1|X"]
    rows += [f"OBX|{i}|{row}" for i, row in enumerate(obx, start=1)]
    return "\r".join(rows).encode()


HR = "NM|147842^MDC_ECG_HEART_RATE^MDC|1.0.1.1|{v}|264864^/min^MDC|||||R"


def wait_until(predicate: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def recv_ack(sock: socket.socket, timeout_s: float = 3.0) -> bytes:
    sock.settimeout(timeout_s)
    data = b""
    while not data.endswith(b"\x1c\r"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def recv_acks(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\x1c\r") < count:
        data += recv_ack(sock)
    return [a + b"\x1c\r" for a in data.split(b"\x1c\r")[:-1]]


def ack_code(ack: bytes) -> str:
    msa = next(s for s in ack.strip(b"\x0b\x1c\r").split(b"\r") if s.startswith(b"MSA|"))
    return msa.split(b"|")[1].decode()


def closed_by_server(sock: socket.socket, timeout_s: float = 3.0) -> bool:
    sock.settimeout(timeout_s)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


class Collector:
    """Keeps everything read() returned, so tests can poll for what they expect."""

    def __init__(self, source: Hl7Source) -> None:
        self.source = source
        self.batches: list[SampleBatch] = []

    def poll(self) -> None:
        batch = self.source.read()
        if batch:
            self.batches.append(batch)

    def values(self, channel: str) -> list[float]:
        self.poll()
        return [s.value for b in self.batches for s in b.numerics if s.channel == channel]

    def status(self, kind: str | None = None) -> list[str]:
        self.poll()
        return [e.detail for b in self.batches for e in b.status if kind in (None, e.kind)]


@pytest.fixture
def make_source() -> Iterator[Callable[..., tuple[Hl7Source, FakeClock, Collector]]]:
    opened: list[Hl7Source] = []

    def make(**options: str) -> tuple[Hl7Source, FakeClock, Collector]:
        source = Hl7Source(**{"port": "0", **options})
        clock = FakeClock(start_s=100.0)
        source.open(clock)
        opened.append(source)
        return source, clock, Collector(source)

    yield make
    for source in opened:
        source.close()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mllp-")]


def test_is_a_vitals_source() -> None:
    source = Hl7Source()
    assert isinstance(source, VitalsSource)
    assert source.connection is ConnectionState.DISCONNECTED
    assert "hr" in source.info.channels and source.info.provenance.value == "live"
    assert source.read() == SampleBatch()


def test_peer_mllp_send_gets_aa_and_values_arrive(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    path = sample_file()
    if not MLLP_SEND.exists():
        pytest.skip(f"{MLLP_SEND} (console script of the hl7 package) not installed")
    source, clock, seen = make_source()
    assert source.port > 0
    assert source.connection is ConnectionState.CONNECTING
    clock.set(123.5)
    out = subprocess.run(
        [str(MLLP_SEND), "--loose", "--file", str(path), "--port", str(source.port),
         "localhost"], capture_output=True, timeout=20, check=True)
    assert b"MSA|AA|MSG00001" in out.stdout
    assert wait_until(lambda: bool(seen.values("rr")))
    got = {ch: seen.values(ch) for ch in ("hr", "spo2", "nibp_sys", "nibp_dia", "rr")}
    assert got == {"hr": [72], "spo2": [97], "nibp_sys": [128], "nibp_dia": [78], "rr": [14]}
    # Stamped with the session clock at receipt, not with the device's OBX-14 time.
    assert {s.t_s for b in seen.batches for s in b.numerics} == {123.5}
    assert source.connection is ConnectionState.CONNECTED
    assert any(d.startswith("connected") for d in seen.status("connection"))


def test_listener_binds_only_on_open_and_on_loopback() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    source = Hl7Source(port=str(port))
    again = socket.create_server(("127.0.0.1", port))  # still free: nothing bound yet
    again.close()
    source.open(FakeClock())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert "127.0.0.1" in source.info.description
    finally:
        source.close()
        source.close()  # idempotent
    assert source.connection is ConnectionState.DISCONNECTED


def test_port_in_use_is_a_source_error() -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        source = Hl7Source(port=str(holder.getsockname()[1]))
        with pytest.raises(SourceError, match="cannot listen"):
            source.open(FakeClock())
        assert source.connection is ConnectionState.DISCONNECTED
        assert any("cannot listen" in e.detail for e in source.read().status)
    finally:
        holder.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": "abc"}, "integer 0-65535"),
        ({"port": "70000"}, "integer 0-65535"),
        ({"port": "-1"}, "integer 0-65535"),
        ({"host": "my computer"}, "not an IP address"),
        ({"allow": "127.0.0.1,10.0.0"}, "not an IP address"),
        ({"stall_s": "soon"}, "seconds"),
        ({"stall_s": "nan"}, "seconds"),
        ({"max_connections": "0"}, "integer 1-64"),
        ({"colour": "red"}, "unknown source option"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        Hl7Source(**options)


def test_frames_in_one_write_and_split_writes(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, _, seen = make_source()
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
        sock.sendall(frame(oru("A1", HR.format(v=61))) + frame(oru("A2", HR.format(v=62))))
        assert [ack_code(a) for a in recv_acks(sock, 2)] == ["AA", "AA"]
        data = frame(oru("A3", HR.format(v=63)))
        sock.sendall(data[:10])
        time.sleep(0.05)  # let the first part arrive alone (not a timing assertion)
        sock.sendall(data[10:])
        assert b"MSA|AA|A3" in recv_ack(sock)
    assert wait_until(lambda: seen.values("hr") == [61, 62, 63])


def test_frame_too_large_gets_ar_and_close(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, _, seen = make_source(max_frame_bytes="1024")
    big = oru("BIG1", *[HR.format(v=70)] * 40)
    assert len(big) > 1024
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
        sock.sendall(frame(big))
        ack = recv_ack(sock)
        assert ack_code(ack) == "AR" and b"BIG1" in ack and b"1024-byte limit" in ack
        assert closed_by_server(sock)
    assert seen.values("hr") == []
    assert wait_until(lambda: any("limit" in d for d in seen.status("message")))


def test_connection_limit(make_source: Callable[..., tuple[Hl7Source, FakeClock,
                                                           Collector]]) -> None:
    source, _, seen = make_source(max_connections="1")
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as first:
        first.sendall(frame(oru("L1", HR.format(v=70))))
        assert ack_code(recv_ack(first)) == "AA"  # first is being served
        with socket.create_connection(("127.0.0.1", source.port), timeout=3) as second:
            assert closed_by_server(second)
        assert wait_until(lambda: any("connection limit of 1" in d
                                      for d in seen.status("message")))
        first.sendall(frame(oru("L2", HR.format(v=71))))
        assert ack_code(recv_ack(first)) == "AA"  # still served


def test_allow_list_refuses_other_senders(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, _, seen = make_source(allow="10.9.8.7, 192.0.2.1")
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
        assert closed_by_server(sock)
    assert wait_until(lambda: any("not in the allow-list" in d for d in seen.status()))
    allowed, _, _ = make_source(allow="127.0.0.1")
    with socket.create_connection(("127.0.0.1", allowed.port), timeout=3) as sock:
        sock.sendall(frame(oru("OK1", HR.format(v=70))))
        assert ack_code(recv_ack(sock)) == "AA"


def test_idle_connection_is_closed(make_source: Callable[..., tuple[Hl7Source, FakeClock,
                                                                   Collector]]) -> None:
    source, _, _ = make_source(idle_timeout_s="0.2")
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
        started = time.monotonic()
        assert closed_by_server(sock, timeout_s=5.0)
        assert time.monotonic() - started >= 0.15


def test_stall_and_recovery(make_source: Callable[..., tuple[Hl7Source, FakeClock,
                                                            Collector]]) -> None:
    source, clock, seen = make_source(stall_s="5")
    source.on_message(oru("S1", HR.format(v=70)), "127.0.0.1")
    assert source.connection is ConnectionState.CONNECTED
    clock.advance(4.9)
    seen.poll()
    assert source.connection is ConnectionState.CONNECTED
    clock.advance(0.2)
    seen.poll()
    assert source.connection is ConnectionState.STALLED
    # A rejected message does not count as data flowing.
    source.on_message(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5", "127.0.0.1")
    assert source.connection is ConnectionState.STALLED
    source.on_message(oru("S2", HR.format(v=71)), "127.0.0.1")
    assert source.connection is ConnectionState.CONNECTED
    states = [d.split(":")[0] for d in seen.status("connection")]
    assert states == ["connecting", "connected", "stalled", "connected"]


def test_no_value_is_nan_and_unit_mismatch_is_reported(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, _, seen = make_source()
    ack = source.on_message(oru(
        "N1",
        "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.1.2|-100|262688^%^MDC|||||R",
        "NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.0.1.3|17|kPa^kPa^UCUM|||||R|||20250101",
        "NM|188888^MDC_SOMETHING^MDC|1.0.1.9|3|262688^%^MDC|||||R",
    ), "127.0.0.1")
    assert ack_code(ack) == "AA"
    spo2 = seen.values("spo2")
    assert len(spo2) == 1 and math.isnan(spo2[0])
    assert seen.values("nibp_sys") == []
    notes = seen.status("message")
    assert any("rejected" in n and "kPa" in n and "device time 20250101" in n for n in notes)
    assert any("188888" in n for n in notes)


def test_repeated_nibp_reading_is_not_a_new_measurement(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, clock, seen = make_source()
    raw = sample_file().read_bytes()
    source.on_message(raw, "127.0.0.1")
    clock.advance(60)
    source.on_message(raw.replace(b"|72|", b"|75|"), "127.0.0.1")
    assert seen.values("hr") == [72, 75]
    assert seen.values("nibp_sys") == [128]


def test_queue_overflow_drops_oldest_and_says_so(make_source: Callable[..., tuple[
        Hl7Source, FakeClock, Collector]]) -> None:
    source, _, _ = make_source(queue_size="10")
    for i in range(15):
        source.on_message(oru(f"Q{i}", HR.format(v=50 + i)), "127.0.0.1")
    batch = source.read()
    assert [s.value for s in batch.numerics] == [55 + i for i in range(10)]
    assert any("dropped 5 oldest samples" in e.detail for e in batch.status)
    assert source.read() == SampleBatch()


def test_a_new_sender_connection_works_after_the_old_one_dropped(make_source: Callable[
        ..., tuple[Hl7Source, FakeClock, Collector]]) -> None:
    """The listener keeps listening: a monitor that reconnects is heard again (issue 8)."""
    source, clock, seen = make_source(stall_s="5", max_connections="1")
    with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
        sock.sendall(frame(oru("R1", HR.format(v=70))))
        assert ack_code(recv_ack(sock)) == "AA"
    assert wait_until(lambda: seen.values("hr") == [70])
    # The next sender dies mid-frame: a reset, not an orderly close.
    sock = socket.create_connection(("127.0.0.1", source.port), timeout=3)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(frame(oru("R2", HR.format(v=99)))[:20])
    sock.close()
    clock.advance(6.0)
    seen.poll()
    assert source.connection is ConnectionState.STALLED
    # A new connection gets through (only one is allowed: the dropped ones were released).
    # Like a real sender it retries while the listener is still noticing the reset.
    deadline = time.monotonic() + 3.0
    while True:
        try:
            with socket.create_connection(("127.0.0.1", source.port), timeout=3) as sock:
                sock.sendall(frame(oru("R3", HR.format(v=72))))
                assert ack_code(recv_ack(sock)) == "AA"
                break
        except (ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, "the listener never took a new sender"
            time.sleep(0.02)
    assert wait_until(lambda: seen.values("hr") == [70, 72])  # nothing of the broken frame
    assert source.connection is ConnectionState.CONNECTED
    states = [d.split(":")[0] for d in seen.status("connection")]
    assert states == ["connecting", "connected", "stalled", "connected"]
