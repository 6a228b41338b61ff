"""Scenario for test_sdc_source.py, run in a private network namespace (multicast on lo).

Starts a real sdc11073 provider with the peer MDIB, opens our SdcSource against it, changes
the SpO2 and pulse-rate metrics, lets the provider go silent (watchdog), stops it and starts
a new one (reconnect), and prints one JSON object with what read() returned.
Usage: python sdc_scenario.py /path/to/spo2_pr_mdib.xml
"""

from __future__ import annotations

import json
import math
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sdc11073.location import SdcLocation
from sdc11073.mdib import ProviderMdib
from sdc11073.provider import SdcProvider
from sdc11073.wsdiscovery import WSDiscovery
from sdc11073.xml_types.dpws_types import ThisDeviceType, ThisModelType

from ketadesk.core.clock import MonotonicClock
from ketadesk.sources.base import ConnectionState
from ketadesk.sources.sdc import SdcSource

SPO2_HANDLE = "numeric.ch1.vmd0"  # 150456 MDC_PULS_OXIM_SAT_O2 in the peer MDIB
PR_HANDLE = "numeric.ch0.vmd0"  # 149530 MDC_PULS_OXIM_PULS_RATE


def start_provider(discovery: WSDiscovery, mdib_path: str) -> SdcProvider:
    mdib = ProviderMdib.from_mdib_file(mdib_path)
    model = ThisModelType(manufacturer="KetaDesk test", manufacturer_url="http://localhost",
                          model_name="PeerMdib", model_number="1",
                          model_url="http://localhost", presentation_url="http://localhost")
    device = ThisDeviceType(friendly_name="peer", firmware_version="1", serial_number="1")
    provider = SdcProvider(discovery, model, device, mdib, epr=uuid.uuid4().hex)
    provider.start_all(start_rtsample_loop=False)
    provider.set_location(SdcLocation(fac="KD", poc="TEST", bed="1"))
    return provider


def set_values(provider: SdcProvider, spo2: float, pr: float) -> None:
    with provider.mdib.metric_state_transaction() as tr:
        for handle, value in ((SPO2_HANDLE, spo2), (PR_HANDLE, pr)):
            state: Any = tr.get_state(handle)
            if state.MetricValue is None:
                state.mk_metric_value()
            state.MetricValue.Value = Decimal(str(value))


class Seen:
    def __init__(self, source: SdcSource) -> None:
        self.source = source
        self.values: dict[str, list[float | None]] = {"spo2": [], "pr": []}
        self.events: list[str] = []

    def poll(self) -> None:
        batch = self.source.read()
        for s in batch.numerics:
            value = None if math.isnan(s.value) else s.value  # JSON has no NaN
            self.values.setdefault(s.channel, []).append(value)
        self.events += [f"{e.kind}: {e.detail}" for e in batch.status]

    def wait(self, what: str, predicate: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if predicate():
                return
            time.sleep(0.05)
        raise SystemExit(json.dumps({"error": f"timed out waiting for {what}",
                                     "values": self.values, "events": self.events}))


def main(mdib_path: str) -> None:
    discovery = WSDiscovery("127.0.0.1")
    discovery.start()
    provider = start_provider(discovery, mdib_path)
    source = SdcSource(stall_s="1.5", search_s="0.5", retry_s="0.2")
    source.open(MonotonicClock())
    seen = Seen(source)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        seen.wait("connected", lambda: source.connection is ConnectionState.CONNECTED, 60)
        timings["connect_s"] = time.monotonic() - t0
        set_values(provider, 96, 72)
        seen.wait("first values", lambda: 96 in seen.values["spo2"]
                  and 72 in seen.values["pr"], 30)
        set_values(provider, 95, 74)
        seen.wait("second values", lambda: 95 in seen.values["spo2"], 30)
        # The provider stays up but goes silent: only our watchdog notices.
        seen.wait("stalled", lambda: source.connection is ConnectionState.STALLED, 30)
        set_values(provider, 97, 70)
        seen.wait("resumed", lambda: source.connection is ConnectionState.CONNECTED
                  and 97 in seen.values["spo2"], 30)
        # The provider goes away and a new one comes up: the source reconnects by itself.
        t_lost = time.monotonic()
        provider.stop_all()
        seen.wait("lost", lambda: source.connection is ConnectionState.CONNECTING, 45)
        timings["lost_s"] = time.monotonic() - t_lost
        t_back = time.monotonic()
        provider = start_provider(discovery, mdib_path)
        seen.wait("reconnected", lambda: source.connection is ConnectionState.CONNECTED, 60)
        timings["reconnect_s"] = time.monotonic() - t_back
        set_values(provider, 98, 66)
        seen.wait("values after reconnect", lambda: 98 in seen.values["spo2"]
                  and 66 in seen.values["pr"], 30)
    finally:
        t_close = time.monotonic()
        source.close()
        timings["close_s"] = time.monotonic() - t_close
        seen.poll()
        provider.stop_all()
        discovery.stop()
    print(json.dumps({"values": seen.values, "events": seen.events, "timings": timings,
                      "state_after_close": source.connection.value}))


if __name__ == "__main__":
    main(sys.argv[1])
