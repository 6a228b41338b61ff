"""Live vitals from an IEEE 11073 SDC (BICEPS) provider, consumed with the `sdc11073` package.

The source discovers a provider by WS-Discovery on one network address (127.0.0.1 by default),
connects, subscribes to metric reports and maps numeric metrics by the MDC code of their
descriptor Type (same table and unit check as the HL7 source). All of that runs in one worker
thread; callbacks from sdc11073 threads only put samples on a bounded, locked queue, and
`read()` drains it without blocking.

sdc11073 notices a provider that went away (`is_connected` turns false) but not one that stays
up and goes silent, so `read()` keeps its own watchdog: no metric update for `stall_s` = STALLED.
When the provider is lost the worker searches again and reconnects by itself.

sdc11073 is an optional dependency (`pip install ketadesk[sdc]`); without it the constructor
raises SourceError with that hint.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from typing import Any, ClassVar

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
from ketadesk.sources.hl7_oru import CODE_TO_CHANNEL, check_unit, parse_mdc_code
from ketadesk.sources.options import int_option, seconds_option

log = logging.getLogger(__name__)

INSTALL_HINT = "the SDC source needs the sdc11073 package: pip install 'ketadesk[sdc]'"
_VALID = frozenset({"Vld", "Vldated"})  # BICEPS MeasurementValidity values we trust
_ONGOING = "Ong"  # a measurement in progress (NIBP cuff inflating): not a value yet
_POLL_S = 0.2


class SdcSource:
    """IEEE 11073 SDC medical device (BICEPS numeric metrics, found by WS-Discovery).

    Consumes an SDC provider's numeric metrics (entry point name: `sdc`).
    """

    provenance: ClassVar[Provenance] = Provenance.LIVE

    options: tuple[SourceOption, ...] = (
        SourceOption("address", "IPv4 address of the network interface to discover on "
                     "(127.0.0.1 = this computer only)", "127.0.0.1"),
        SourceOption("epr", "endpoint reference of the provider to use (empty = the first "
                     "medical device found)", ""),
        SourceOption("stall_s", "seconds without a metric update before the link is shown "
                     "as stalled", "30"),
        SourceOption("search_s", "seconds one discovery search listens for answers", "3"),
        SourceOption("retry_s", "seconds between discovery attempts while no provider is "
                     "found", "2"),
        SourceOption("queue_size", "samples held between two read() calls before the oldest "
                     "are dropped", "10000"),
    )

    def __init__(self, **options: str) -> None:
        opts = parse_options(self.options, options)
        if importlib.util.find_spec("sdc11073") is None:
            raise SourceError(INSTALL_HINT)
        import ipaddress

        try:
            self._address = str(ipaddress.IPv4Address(opts["address"].strip()))
        except ValueError:
            raise SourceError(f"option address={opts['address']!r} is not an IPv4 address; "
                              "use e.g. 127.0.0.1") from None
        self._epr = opts["epr"].strip()
        self._stall_s = seconds_option(opts, "stall_s", 0.1, 86400.0)
        self._search_s = seconds_option(opts, "search_s", 0.2, 60.0)
        self._retry_s = seconds_option(opts, "retry_s", 0.0, 3600.0)
        queue_size = int_option(opts, "queue_size", 10, 10_000_000)
        self._inbox = Handover("SDC", queue_size, log, count_status_drops=False)
        self._lock = threading.Lock()  # guards _handles and _mdib
        self._handles: dict[str, str | None] = {}  # metric handle -> channel (None = unmapped)
        self._clock: Clock | None = None
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._mdib: Any = None  # the current ConsumerMdib, touched by the worker and callbacks
        self.provider_epr = ""  # the provider connected to, for the status line and tests

    # --- VitalsSource -------------------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(
            name="sdc",
            description=f"IEEE 11073 SDC provider discovered on {self._address}"
                        + (f" ({self._epr})" if self._epr else ""),
            channels=tuple(dict.fromkeys(CODE_TO_CHANNEL.values())),
            provenance=Provenance.LIVE,
        )

    @property
    def connection(self) -> ConnectionState:
        return self._inbox.state

    def open(self, clock: Clock) -> None:
        if self._worker is not None:
            return
        self._clock = clock
        self._stop.clear()
        self._set_state(ConnectionState.CONNECTING, f"searching for a provider on {self._address}")
        self._worker = threading.Thread(target=self._run, name="sdc-consumer", daemon=True)
        self._worker.start()

    def read(self) -> SampleBatch:
        if self._clock is None:
            return EMPTY_BATCH
        now = self._clock.now()
        self._inbox.check_stall(now, self._stall_s, "no metric update")
        return self._inbox.drain(now)

    def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        self._stop.set()
        worker.join(timeout=self._search_s + 15.0)
        if worker.is_alive():
            log.error("SDC worker did not stop in time")
        self._set_state(ConnectionState.DISCONNECTED, "source closed")

    # --- worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        from sdc11073.wsdiscovery import WSDiscovery

        discovery: Any = None
        try:
            while not self._stop.is_set():
                if discovery is None:
                    try:
                        discovery = WSDiscovery(self._address)
                        discovery.start()
                    except Exception as exc:  # no multicast, address not local, ...
                        discovery = None
                        self._set_state(ConnectionState.DISCONNECTED,
                                        f"WS-Discovery cannot run on {self._address}: {exc}")
                        self._stop.wait(max(self._retry_s, 1.0))
                        continue
                self._session(discovery)
        finally:
            if discovery is not None:
                discovery.stop()

    def _session(self, discovery: Any) -> None:
        """Find, connect, follow until the provider is lost (or we stop), then clean up."""
        from sdc11073.consumer.consumerimpl import SdcConsumer
        from sdc11073.definitions_sdc import SdcV1Definitions
        from sdc11073.mdib import ConsumerMdib
        from sdc11073.observableproperties import bind, unbind
        from sdc11073.xml_types.actions import periodic_actions

        discovery.clear_remote_services()  # forget providers that left without a Bye
        services = discovery.search_services(types=SdcV1Definitions.MedicalDeviceTypesFilter,
                                             timeout=self._search_s)
        wanted = [s for s in services if not self._epr or self._epr in (s.epr, f"urn:uuid:"
                                                                        f"{self._epr}")]
        if not wanted:
            self._set_state(ConnectionState.CONNECTING,
                            f"searching for a provider on {self._address}"
                            + (f" with epr {self._epr}" if self._epr else ""))
            self._stop.wait(self._retry_s)
            return
        service = wanted[0]
        consumer: Any = None
        mdib: Any = None
        lost = "source closed"
        try:
            consumer = SdcConsumer.from_wsd_service(service, ssl_context_container=None)
            consumer.start_all(not_subscribed_actions=periodic_actions)
            mdib = ConsumerMdib(consumer)
            mdib.init_mdib()
            with self._lock:
                self._handles.clear()
                self._mdib = mdib
            # bind() keeps a weak reference: a bound method of this long-lived source is safe,
            # a lambda would be collected and silently stop firing.
            bind(mdib, metrics_by_handle=self._on_metrics)  # type: ignore[no-untyped-call]
            self.provider_epr = str(service.epr)
            self._emit_initial(mdib)
            self._set_state(ConnectionState.CONNECTED, f"subscribed to {service.epr}")
            while not self._stop.wait(_POLL_S):
                if not consumer.is_connected:
                    lost = f"provider {service.epr} lost; searching again"
                    break
        except Exception as exc:  # a provider that vanishes mid-connect, a bad MDIB, ...
            lost = f"cannot follow provider {service.epr}: {type(exc).__name__}: {exc}"
            log.warning("%s", lost)
        finally:
            if mdib is not None:
                unbind(mdib, metrics_by_handle=self._on_metrics)  # type: ignore[no-untyped-call]
            with self._lock:
                self._mdib = None
            if consumer is not None:
                try:
                    # Unsubscribing from a dead provider only waits for timeouts.
                    consumer.stop_all(unsubscribe=self._stop.is_set() and consumer.is_connected)
                except Exception as exc:
                    log.debug("SDC consumer stop: %s", exc)
        if not self._stop.is_set():
            self._set_state(ConnectionState.CONNECTING, lost)
            self._stop.wait(self._retry_s)

    # --- sdc11073 callbacks and mapping -------------------------------------------------

    def _emit_initial(self, mdib: Any) -> None:
        from sdc11073.xml_types import pm_qnames

        states = {}
        for entity in mdib.entities.by_node_type(pm_qnames.NumericMetricDescriptor):
            states[entity.handle] = entity.state
        self._on_metrics(states)

    def _on_metrics(self, states_by_handle: dict[str, Any]) -> None:
        """Called on an sdc11073 thread for every metric report: stamp on arrival, queue."""
        clock = self._clock
        if clock is None:
            return
        # Stamped with the session clock on arrival, not with the provider's DeterminationTime:
        # device clocks drift, and a wrong one must not move vitals in session time.
        t_s = clock.now()
        samples = []
        for handle, state in states_by_handle.items():
            channel = self._channel_for(handle)
            if channel is None:
                continue
            value = _state_value(state)
            if value is not None:
                samples.append(NumericSample(channel, t_s, value))
        if samples:
            self._inbox.put_samples(samples, t_s)
            self._inbox.set_state(ConnectionState.CONNECTED, "metric updates resumed", t_s,
                                  only_from=ConnectionState.STALLED)

    def _channel_for(self, handle: str) -> str | None:
        with self._lock:
            if handle in self._handles:
                return self._handles[handle]
            mdib = self._mdib
        channel, problem = _map_descriptor(mdib, handle)
        with self._lock:
            self._handles[handle] = channel
        if problem:
            self._report(f"{handle}:{problem}", f"SDC metric {handle} ignored: {problem}")
        return channel

    def _report(self, key: str, detail: str) -> None:
        self._inbox.report_once(key, detail, self._now())

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        self._inbox.set_state(state, detail, self._now())

    def _now(self) -> float:
        return self._clock.now() if self._clock is not None else 0.0


def _map_descriptor(mdib: Any, handle: str) -> tuple[str | None, str]:
    """(channel, "") for a mappable numeric metric, else (None, why not; "" if not numeric)."""
    if mdib is None:
        return None, ""
    from sdc11073.xml_types import pm_qnames

    entity = mdib.entities.by_handle(handle)
    node_type = entity.descriptor.NODETYPE if entity is not None else None
    if node_type != pm_qnames.NumericMetricDescriptor:
        return None, ""  # string/enum metrics carry no vital
    descriptor = entity.descriptor
    code_text = str(descriptor.Type.Code) if descriptor.Type is not None else ""
    code = parse_mdc_code(code_text)
    channel = CODE_TO_CHANNEL.get(code) if code is not None else None
    if channel is None:
        return None, f"MDC code {code_text[:40]!r} is not mapped to a channel"
    unit_code = str(descriptor.Unit.Code) if descriptor.Unit is not None else ""
    problem = check_unit(channel, unit_code, "")
    if problem:
        return None, problem
    return channel, ""


def _state_value(state: Any) -> float | None:
    """The number in a NumericMetricState; NaN = "no value now"; None = nothing to report."""
    metric_value = getattr(state, "MetricValue", None)
    if metric_value is None or metric_value.Value is None:
        return math.nan
    validity = str(metric_value.MetricQuality.Validity)
    if validity == _ONGOING:
        return None
    if validity not in _VALID:
        return math.nan  # invalid, overflow, calibrating, questionable: not a measurement
    value = float(metric_value.Value)
    return value if math.isfinite(value) else math.nan
