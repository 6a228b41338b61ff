"""One contract test over every registered source, built-in or third-party.

A source that needs options to be safe in a test (a listener on an ephemeral port, a file to
replay) declares them as the class attribute `contract_test_options` (see docs/sources.md).
The checks themselves are in source_contract.py, shared with the example-plugin test.
"""

from __future__ import annotations

import pytest
from source_contract import check_refuses_unknown_option, check_source

from ketadesk.sources.base import SourceError
from ketadesk.sources.registry import create, discover

REGISTERED = sorted(discover())


def test_the_builtin_simulator_is_registered_through_entry_points() -> None:
    assert "simulator" in REGISTERED


@pytest.mark.parametrize("name", REGISTERED)
def test_source_contract(name: str) -> None:
    check_source(name)


@pytest.mark.parametrize("name", REGISTERED)
def test_source_refuses_unknown_option_with_the_allowed_list(name: str) -> None:
    assert "allowed:" in check_refuses_unknown_option(name)


def test_unknown_source_names_the_registered_ones() -> None:
    with pytest.raises(SourceError, match="registered sources: .*simulator"):
        create("nope")
