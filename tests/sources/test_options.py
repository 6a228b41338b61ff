"""Typed source options: integers and seconds in a range, with errors naming the range."""

from __future__ import annotations

import pytest

from ketadesk.sources.base import SourceError
from ketadesk.sources.options import int_option, seconds_option


def test_int_option_accepts_the_range_and_surrounding_spaces() -> None:
    assert int_option({"n": " 10 "}, "n", 10, 20) == 10
    assert int_option({"n": "20"}, "n", 10, 20) == 20


@pytest.mark.parametrize("text", ["9", "21", "", "ten", "12.5", "1e1"])
def test_int_option_refuses_with_the_range(text: str) -> None:
    with pytest.raises(SourceError) as err:
        int_option({"n": text}, "n", 10, 20, " (hint)")
    assert str(err.value) == f"option n={text!r} must be an integer 10-20 (hint)"


def test_seconds_option_accepts_the_range() -> None:
    assert seconds_option({"s": "0.5"}, "s", 0.5, 2.0) == 0.5
    assert seconds_option({"s": " 2 "}, "s", 0.5, 2.0) == 2.0


@pytest.mark.parametrize("text", ["0.4", "2.01", "nan", "inf", "", "soon"])
def test_seconds_option_refuses_with_the_range(text: str) -> None:
    with pytest.raises(SourceError, match=r"must be a number of seconds 0\.5-2$"):
        seconds_option({"s": text}, "s", 0.5, 2.0)
