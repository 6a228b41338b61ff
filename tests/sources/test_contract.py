"""One contract test over every registered source, built-in or third-party.

A source that needs options to be safe in a test (a listener on an ephemeral port, a file to
replay) declares them as the class attribute `contract_test_options` (see docs/sources.md).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from ketadesk.core.channels import CHANNELS
from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import (
    ConnectionState,
    Provenance,
    SampleBatch,
    SourceError,
    VitalsSource,
)
from ketadesk.sources.registry import create, discover

REGISTERED = sorted(discover())


def test_the_builtin_simulator_is_registered_through_entry_points() -> None:
    assert "simulator" in REGISTERED


@pytest.mark.parametrize("name", REGISTERED)
def test_source_contract(name: str) -> None:
    reg = discover()[name]
    assert reg.factory is not None, reg.error
    opts = dict(getattr(reg.factory, "contract_test_options", {}))
    source = create(name, opts)
    assert isinstance(source, VitalsSource)
    info = source.info
    assert info.name and info.description
    assert isinstance(info.provenance, Provenance)
    assert set(info.channels) <= set(CHANNELS), set(info.channels) - set(CHANNELS)
    assert isinstance(source.connection, ConnectionState)

    clock = FakeClock()
    source.open(clock)
    try:
        seen: set[str] = set()
        for _ in range(5):
            clock.advance(1.0)
            t0 = time.perf_counter()
            batch = source.read()
            assert time.perf_counter() - t0 < 0.5, "read() must not block"
            assert isinstance(batch, SampleBatch)
            for s in batch.numerics:
                assert s.channel in info.channels
                assert 0.0 <= s.t_s <= clock.now()
                seen.add(s.channel)
            for w in batch.waveforms:
                assert w.channel in info.channels
                assert w.values.dtype == np.float32 and w.rate_hz > 0
                assert w.t0_s <= clock.now()
                seen.add(w.channel)
        if info.provenance is not Provenance.LIVE:
            assert seen, "a simulated or replayed source produces data without a device"
    finally:
        source.close()
        source.close()  # idempotent


@pytest.mark.parametrize("name", REGISTERED)
def test_source_refuses_unknown_option_with_the_allowed_list(name: str) -> None:
    with pytest.raises(SourceError, match="unknown source option"):
        create(name, {"no_such_option": "1"})


def test_unknown_source_names_the_registered_ones() -> None:
    with pytest.raises(SourceError, match="registered sources: .*simulator"):
        create("nope")
