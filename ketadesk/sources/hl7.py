"""Live vitals from a monitor or gateway sending HL7 v2 ORU^R01 (IHE PCD-01) over MLLP.

The source listens (it is the PCD-01 "Device Observation Consumer"); nothing is bound until
the session opens this source. The listener's threads interpret each message, answer it with
an ACK and put the samples on a bounded, locked queue; `read()` only drains that queue.

Connection states: CONNECTING = listening, no usable message yet; CONNECTED = accepted (AA)
messages arriving; STALLED = no accepted message for `stall_s`; DISCONNECTED = the listener
could not start or failed, or the source is closed. The state follows accepted messages, not
sockets, because many senders open one connection per message.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import math
import threading
from typing import ClassVar

from ketadesk.core.channels import CHANNELS
from ketadesk.core.clock import Clock
from ketadesk.sources.base import (
    EMPTY_BATCH,
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceError,
    SourceInfo,
    SourceOption,
    parse_options,
)
from ketadesk.sources.handover import Handover
from ketadesk.sources.hl7_oru import (
    CODE_TO_CHANNEL,
    ERR_SEGMENT_SEQUENCE,
    ObxOutcome,
    OruResult,
    build_ack,
    build_reject,
    interpret,
)
from ketadesk.sources.mllp import MllpLimits, MllpServer
from ketadesk.sources.options import int_option, seconds_option

log = logging.getLogger(__name__)

_MAX_REPORTED_KEYS = 500  # distinct problems reported as status events; later ones only logged


def _ip_option(text: str, key: str) -> str:
    text = text.strip()
    if key == "host" and text == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise SourceError(
            f"option {key}={text!r} is not an IP address; use e.g. 127.0.0.1 (this computer "
            "only, the default) or 0.0.0.0 (every network interface)"
        ) from None


class Hl7Source:
    """HL7 v2 monitor feed (ORU^R01 over MLLP, IHE PCD-01).

    Listens for a monitor or gateway that sends observations (entry point name: `hl7`).
    """

    provenance: ClassVar[Provenance] = Provenance.LIVE
    # Any free port: the contract test must not collide with a real listener on 2575.
    contract_test_options: ClassVar[dict[str, str]] = {"port": "0"}

    options: tuple[SourceOption, ...] = (
        SourceOption("host", "address to listen on: 127.0.0.1 = this computer only, "
                     "0.0.0.0 = every network interface", "127.0.0.1"),
        SourceOption("port", "TCP port (1-65535; 0 = any free port)", "2575"),
        SourceOption("allow", "comma-separated sender IP addresses allowed to connect "
                     "(empty = any)", ""),
        SourceOption("stall_s", "seconds without an accepted message before the link is "
                     "shown as stalled", "30"),
        SourceOption("idle_timeout_s", "close a connection that sends nothing for this many "
                     "seconds", "300"),
        SourceOption("max_connections", "simultaneous sender connections (1-64)", "4"),
        SourceOption("max_frame_bytes", "largest MLLP frame accepted, in bytes", "1048576"),
        SourceOption("queue_size", "samples held between two read() calls before the oldest "
                     "are dropped", "10000"),
    )

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)
        self._host = _ip_option(opts["host"], "host")
        self._port = int_option(opts, "port", 0, 65535, " (0 = any free port)")
        allow = [a for a in opts["allow"].split(",") if a.strip()]
        self._limits = MllpLimits(
            max_frame_bytes=int_option(opts, "max_frame_bytes", 1024, 64 * 1024 * 1024),
            idle_timeout_s=seconds_option(opts, "idle_timeout_s", 0.05, 86400.0),
            max_connections=int_option(opts, "max_connections", 1, 64),
            allow=frozenset(_ip_option(a, "allow") for a in allow),
        )
        self._stall_s = seconds_option(opts, "stall_s", 0.1, 86400.0)
        self._inbox = Handover("HL7", int_option(opts, "queue_size", 10, 10_000_000), log,
                               max_reported=_MAX_REPORTED_KEYS)
        self._lock = threading.Lock()  # guards the counters and _last_nibp_time
        self._last_nibp_time: dict[str, str] = {}
        self._clock: Clock | None = None
        self._server: MllpServer | None = None
        self._ack_ids = itertools.count(1)
        self.messages_received = 0  # counters for tests and the status line
        self.messages_accepted = 0

    # --- VitalsSource -------------------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        channels = tuple(dict.fromkeys(CODE_TO_CHANNEL.values()))
        return SourceInfo(
            name="hl7",
            description=f"HL7 v2 ORU^R01 (IHE PCD-01) over MLLP on {self._host}:{self.port}",
            channels=channels,
            provenance=Provenance.LIVE,
        )

    @property
    def connection(self) -> ConnectionState:
        return self._inbox.state

    @property
    def port(self) -> int:
        """The listening port; after open() with port=0, the one the system chose."""
        return self._server.port if self._server is not None else self._port

    def open(self, clock: Clock) -> None:
        if self._server is not None:
            return
        self._clock = clock
        server = MllpServer(self._host, self._port, self, self._limits)
        try:
            server.start()
        except OSError as exc:
            detail = f"cannot listen on {self._host}:{self._port}: {exc.strerror or exc}"
            self._set_state(ConnectionState.DISCONNECTED, detail, force=True)
            raise SourceError(
                f"{detail}; choose a free port with port=<1-65535> or stop the program "
                "using it") from exc
        self._server = server
        self._set_state(ConnectionState.CONNECTING,
                        f"listening on {self._host}:{server.port}, no sender yet")
        log.info("HL7 listener on %s:%d", self._host, server.port)

    def read(self) -> SampleBatch:
        if self._clock is None:
            return EMPTY_BATCH
        now = self._clock.now()
        self._inbox.check_stall(now, self._stall_s, "no accepted HL7 message")
        return self._inbox.drain(now)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            self._set_state(ConnectionState.DISCONNECTED, "listener closed")

    # --- MllpHandler (called from listener threads) ---------------------------------------

    def on_message(self, payload: bytes, peer: str) -> bytes:
        # Samples are stamped with the session clock on arrival, not with OBX-14: device
        # clocks drift and are set by hand, and a wrong device clock must not move a vital
        # in session time (nor into the future). OBX-14 stays in event details for the record.
        clock = self._clock
        assert clock is not None
        t_s = clock.now()
        try:
            result = interpret(payload)
            self._ingest(result, t_s, peer)
        except Exception as exc:  # the sender must always get an answer
            log.exception("HL7 message from %s could not be handled", peer)
            result = OruResult("AE", f"internal error: {type(exc).__name__}", None, "")
        return build_ack(payload, result, clock.wall_time(), self._next_ack_id())

    def on_frame_too_large(self, head: bytes, size: int, limit: int, peer: str) -> bytes:
        assert self._clock is not None
        reason = f"MLLP frame larger than the {limit}-byte limit; connection closed"
        self._report(f"toolarge:{peer}", f"HL7 from {peer} rejected (AR): {reason}")
        return build_reject(head, reason, ERR_SEGMENT_SEQUENCE, self._clock.wall_time(),
                            self._next_ack_id())

    def on_connection(self, event: str, peer: str, detail: str) -> None:
        log.info("HL7 connection %s %s %s", event, peer, detail)
        if event == "refused":
            self._report(f"refused:{peer}:{detail}", f"HL7 connection from {peer} refused: "
                         f"{detail}")

    def on_listener_failed(self, detail: str) -> None:
        self._set_state(ConnectionState.DISCONNECTED, detail)

    # --- internals ----------------------------------------------------------------------

    def _next_ack_id(self) -> str:
        return f"KD{next(self._ack_ids)}"

    def _ingest(self, result: OruResult, t_s: float, peer: str) -> None:
        samples: list[NumericSample] = []
        notes: list[tuple[str, str, str | None]] = []  # (dedup key, detail, channel)
        for obx in result.observations:
            where = f"OBX {obx.set_id} ({obx.code_text[:60]})"
            stamp = f"; device time {obx.observed_at}" if obx.observed_at else ""
            if obx.outcome is ObxOutcome.ACCEPTED and obx.channel and obx.value is not None:
                if self._repeated_intermittent(obx.channel, obx.observed_at):
                    continue
                samples.append(NumericSample(obx.channel, t_s, obx.value))
            elif obx.outcome is ObxOutcome.NO_VALUE and obx.channel:
                # NaN = "no value now": shown as dashes, cannot raise or clear an alarm.
                samples.append(NumericSample(obx.channel, t_s, math.nan))
            elif obx.outcome is ObxOutcome.REJECTED:
                notes.append((f"rej:{obx.code}:{obx.reason}",
                              f"HL7 {where} rejected: {obx.reason}{stamp}", obx.channel))
            elif obx.outcome is ObxOutcome.UNKNOWN_CODE:
                notes.append((f"unknown:{obx.code_text}",
                              f"HL7 {where} ignored: {obx.reason}", None))
        if not result.accepted:
            notes.append((f"msg:{result.ack_code}:{result.reason[:80]}",
                          f"HL7 message {result.control_id[:40]!r} from {peer} answered "
                          f"{result.ack_code}: {result.reason}", None))
        self._inbox.put_samples(samples, t_s if result.accepted else None)
        if result.accepted:
            self._inbox.set_state(ConnectionState.CONNECTED, f"HL7 messages arriving from {peer}",
                                  t_s)
        with self._lock:  # counted last: a count seen means its samples are queued
            self.messages_received += 1
            if result.accepted:
                self.messages_accepted += 1
        for key, detail, channel in notes:
            self._report(key, detail, channel)

    def _repeated_intermittent(self, channel: str, observed_at: str) -> bool:
        """Whether this is the same NIBP reading sent again (same OBX-14) in a later message.

        Senders repeat the last cuff reading in every periodic message; stamped on arrival it
        would look like a new measurement each time. OBX-14 only identifies the reading here.
        """
        if CHANNELS[channel].continuous or not observed_at:
            return False
        with self._lock:
            repeated = self._last_nibp_time.get(channel) == observed_at
            self._last_nibp_time[channel] = observed_at
        return repeated

    def _report(self, key: str, detail: str, channel: str | None = None) -> None:
        self._inbox.report_once(key, detail, self._now(), channel)

    def _set_state(self, state: ConnectionState, detail: str, force: bool = False) -> None:
        self._inbox.set_state(state, detail, self._now(), force=force)

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else 0.0
