"""MLLP (HL7 Minimal Lower Layer Protocol) framing and a small hardened TCP listener.

A frame is `\\x0b <payload> \\x1c \\r`. The listener owns its threads (one accepting, one per
connection) and knows nothing about HL7: it hands each payload to a handler and sends back the
handler's answer, framed. It defends itself: bounded frame size (AR, then close), idle timeout
per connection, a connection limit and an optional sender allow-list. Network timeouts run on
time.monotonic(): they guard sockets, not clinical time.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\r"
_POLL_S = 0.1  # how often blocked threads look at the stop flag and the idle timer


def frame(payload: bytes) -> bytes:
    return START_BLOCK + payload + END_BLOCK + CARRIAGE_RETURN


class FrameTooLarge(Exception):
    """A frame grew past the limit; `head` is its first bytes (enough to read MSH-10)."""

    def __init__(self, size: int, limit: int, head: bytes) -> None:
        super().__init__(f"MLLP frame of more than {size} bytes exceeds the {limit}-byte limit")
        self.size = size
        self.limit = limit
        self.head = head


class MllpDeframer:
    """Cuts a byte stream into MLLP payloads.

    Bytes outside a frame (stray line ends, noise) are dropped and counted; the `\\r` after
    the end block is optional on input, since it carries no information.
    """

    def __init__(self, max_frame_bytes: int) -> None:
        self._max = max_frame_bytes
        self._buf = bytearray()
        self._in_frame = False
        self.discarded_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        payloads: list[bytes] = []
        while self._buf:
            if not self._in_frame:
                start = self._buf.find(START_BLOCK)
                junk = len(self._buf) if start == -1 else start
                self.discarded_bytes += len(bytes(self._buf[:junk]).strip())
                del self._buf[: junk + (0 if start == -1 else 1)]
                if start == -1:
                    break
                self._in_frame = True
            end = self._buf.find(END_BLOCK)
            if end == -1:
                if len(self._buf) > self._max:
                    raise FrameTooLarge(len(self._buf), self._max, bytes(self._buf[:2048]))
                break
            if end > self._max:
                raise FrameTooLarge(end, self._max, bytes(self._buf[:2048]))
            payloads.append(bytes(self._buf[:end]))
            del self._buf[: end + 1]
            if self._buf[:1] == CARRIAGE_RETURN:
                del self._buf[:1]
            self._in_frame = False
        return payloads


class MllpHandler(Protocol):
    """What the listener calls, from its own threads; none of these may block for long."""

    def on_message(self, payload: bytes, peer: str) -> bytes:
        """Answer one payload; the return value is sent back framed (the ACK)."""
        ...

    def on_frame_too_large(self, head: bytes, size: int, limit: int, peer: str) -> bytes:
        """The answer (an AR) for a frame that will not be read; the connection then closes."""
        ...

    def on_connection(self, event: str, peer: str, detail: str) -> None:
        """event: "opened", "closed" or "refused"."""
        ...

    def on_listener_failed(self, detail: str) -> None: ...


@dataclass(frozen=True)
class MllpLimits:
    max_frame_bytes: int = 1024 * 1024
    idle_timeout_s: float = 300.0
    max_connections: int = 4
    allow: frozenset[str] = frozenset()  # empty = any sender


class MllpServer:
    """Listens on host:port; `start()` binds (OSError if it cannot), `stop()` joins threads."""

    def __init__(self, host: str, port: int, handler: MllpHandler,
                 limits: MllpLimits | None = None) -> None:
        self._host = host
        self._port = port
        self._handler = handler
        self._limits = limits or MllpLimits()
        self._allow = frozenset(_normalise_ip(a) for a in self._limits.allow)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._accept_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when asked for port 0)."""
        if self._sock is None:
            return self._port
        return int(self._sock.getsockname()[1])

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    @property
    def running(self) -> bool:
        return self._accept_thread is not None and self._accept_thread.is_alive()

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host, self._port), family=family, backlog=16)
        sock.settimeout(_POLL_S)
        self._sock = sock
        self._stop.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"mllp-accept-{self.port}", daemon=True)
        self._accept_thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2.0)
            self._accept_thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            connections = list(self._connections.items())
        for _, conn in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)
        for thread, _ in connections:
            thread.join(timeout=2.0)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stop.is_set():
                    log.error("MLLP listener failed: %s", exc)
                    self._handler.on_listener_failed(f"listener failed: {exc}")
                return
            peer = _normalise_ip(str(addr[0]))
            refusal = self._refusal(peer)
            if refusal:
                log.warning("MLLP connection from %s refused: %s", peer, refusal)
                conn.close()
                self._handler.on_connection("refused", peer, refusal)
                continue
            thread = threading.Thread(target=self._serve, args=(conn, peer),
                                      name=f"mllp-conn-{peer}", daemon=True)
            with self._lock:
                self._connections[thread] = conn
            thread.start()

    def _refusal(self, peer: str) -> str:
        if self._allow and peer not in self._allow:
            return f"{peer} is not in the allow-list ({', '.join(sorted(self._allow))})"
        with self._lock:
            count = len(self._connections)
        if count >= self._limits.max_connections:
            return f"connection limit of {self._limits.max_connections} reached"
        return ""

    def _serve(self, conn: socket.socket, peer: str) -> None:
        self._handler.on_connection("opened", peer, "")
        deframer = MllpDeframer(self._limits.max_frame_bytes)
        reason = "closed by the sender"
        conn.settimeout(min(_POLL_S, self._limits.idle_timeout_s))
        last_activity = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    if time.monotonic() - last_activity > self._limits.idle_timeout_s:
                        reason = f"idle for more than {self._limits.idle_timeout_s:g} s"
                        break
                    continue
                if not data:
                    break
                last_activity = time.monotonic()
                try:
                    payloads = deframer.feed(data)
                except FrameTooLarge as exc:
                    answer = self._handler.on_frame_too_large(exc.head, exc.size, exc.limit, peer)
                    self._send(conn, answer)
                    reason = str(exc)
                    break
                for payload in payloads:
                    self._send(conn, self._handler.on_message(payload, peer))
            else:
                reason = "listener stopped"
        except OSError as exc:
            reason = f"socket error: {exc}"
        finally:
            if deframer.discarded_bytes:
                reason += f"; {deframer.discarded_bytes} bytes outside MLLP frames ignored"
            conn.close()
            with self._lock:
                self._connections.pop(threading.current_thread(), None)
            self._handler.on_connection("closed", peer, reason)

    def _send(self, conn: socket.socket, payload: bytes) -> None:
        # A peer that does not read its ACKs gets a few seconds, then the connection goes.
        conn.settimeout(5.0)
        try:
            conn.sendall(frame(payload))
        finally:
            conn.settimeout(min(_POLL_S, self._limits.idle_timeout_s))


def _normalise_ip(text: str) -> str:
    """One spelling per address, so '::ffff:127.0.0.1' matches '127.0.0.1' in the allow-list."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return text.strip()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)
