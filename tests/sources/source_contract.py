"""The contract checks every data source must pass, as plain functions.

Used by test_contract.py for every registered source, and by test_example_plugin.py in a
subprocess that loads a separately installed plugin. A plugin author can run the same checks:
`PYTHONPATH=tests/sources python -c "import source_contract as c; c.check_source('NAME')"`.
"""

from __future__ import annotations

import time

import numpy as np

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


def check_source(name: str, reads: int = 5) -> set[str]:
    """Build the source with its contract_test_options, open, read, close; return the channels
    seen. Raises AssertionError saying what is wrong."""
    reg = discover()[name]
    assert reg.factory is not None, reg.error
    assert reg.summary, f"{name}: the class needs a docstring whose first line is a summary"
    opts = dict(getattr(reg.factory, "contract_test_options", {}))
    source = create(name, opts)
    assert isinstance(source, VitalsSource), f"{name} does not have the VitalsSource members"
    info = source.info
    assert info.name and info.description
    assert isinstance(info.provenance, Provenance)
    if reg.provenance is not None:
        assert reg.provenance is info.provenance, (
            f"{name}: class says {reg.provenance}, info says {info.provenance}")
    assert set(info.channels) <= set(CHANNELS), set(info.channels) - set(CHANNELS)
    assert isinstance(source.connection, ConnectionState)

    clock = FakeClock()
    source.open(clock)
    seen: set[str] = set()
    try:
        for _ in range(reads):
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
    return seen


def check_refuses_unknown_option(name: str) -> str:
    """Return the message of the SourceError an unknown option gets."""
    try:
        create(name, {"no_such_option": "1"})
    except SourceError as exc:
        assert "unknown source option" in str(exc), str(exc)
        return str(exc)
    raise AssertionError(f"{name} accepted an unknown option")
