"""Arguments shared by the commands that run a source: --source, --source-opt, --speed."""

from __future__ import annotations

import argparse

from ketadesk.cli import CliError
from ketadesk.sources.base import SourceError, VitalsSource
from ketadesk.sources.registry import create, parse_option_args

MAX_SPEED = 60.0


def add_source_args(p: argparse.ArgumentParser, *, allow_max: bool = False) -> None:
    p.add_argument("--source", default="simulator",
                   help="registered data source (see `ketadesk sources`; default: simulator)")
    p.add_argument("--source-opt", action="append", metavar="KEY=VALUE", default=[],
                   help="an option for the source; repeat for several")
    speeds = "1-60" + (" or max" if allow_max else "")
    p.add_argument("--speed", default="1",
                   help=f"simulated or replayed time per real second ({speeds}; default 1)")


def parse_speed(text: str, *, allow_max: bool) -> float | None:
    """Speed factor, or None for 'max' (as fast as the machine can compute)."""
    if allow_max and text == "max":
        return None
    allowed = f"a number from 1 to {MAX_SPEED:g}" + (" or 'max'" if allow_max else "")
    try:
        speed = float(text)
    except ValueError:
        raise CliError(f"--speed {text!r} is not {allowed}") from None
    if not 1.0 <= speed <= MAX_SPEED:
        raise CliError(f"--speed {text} is out of range; allowed: {allowed}")
    return speed


def build_source(args: argparse.Namespace) -> VitalsSource:
    try:
        return create(args.source, parse_option_args(args.source_opt))
    except SourceError as exc:
        raise CliError(str(exc)) from None


def check_speed_for(source: VitalsSource, speed: float | None) -> None:
    """A live monitor runs in real time: only simulated or replayed data can go faster."""
    from ketadesk.sources.base import Provenance

    if source.info.provenance is Provenance.LIVE and speed != 1.0:
        raise CliError(f"source {source.info.name!r} is a live device: --speed must be 1")
