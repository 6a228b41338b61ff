"""Typed option values for sources: an integer or a number of seconds within a range.

Options arrive as strings (command line, source picker); a bad one raises SourceError naming
the option, the value given and the range allowed.
"""

from __future__ import annotations

import math

from ketadesk.sources.base import SourceError


def int_option(opts: dict[str, str], key: str, lo: int, hi: int, hint: str = "") -> int:
    """opts[key] as an integer lo-hi; `hint` is appended to the error (e.g. " (0 = any)")."""
    text = opts[key].strip()
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise SourceError(f"option {key}={opts[key]!r} must be an integer {lo}-{hi}{hint}")
    return value


def seconds_option(opts: dict[str, str], key: str, lo: float, hi: float) -> float:
    """opts[key] as a number of seconds lo-hi."""
    try:
        value = float(opts[key])
    except ValueError:
        value = math.nan
    if not lo <= value <= hi:  # NaN fails here too
        raise SourceError(f"option {key}={opts[key]!r} must be a number of seconds {lo:g}-{hi:g}")
    return value
