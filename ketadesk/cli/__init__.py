"""The `ketadesk` command line: one module per command group, each with register(subparsers).

Headless commands never import Qt; only `gui` and `screenshot` do, lazily.
Bad arguments exit 2 with a message saying what is wrong and what is allowed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines register(subparsers) adding parsers whose defaults set func=run(args)->int.
COMMAND_MODULES: tuple[str, ...] = (
    "ketadesk.cli.gui_cmd",
    "ketadesk.cli.sources_cmd",
    "ketadesk.cli.record_cmd",
    "ketadesk.cli.plan_cmd",
    "ketadesk.cli.scales_cmd",
    "ketadesk.cli.limits_cmd",
    "ketadesk.cli.simulate_cmd",
    "ketadesk.cli.patients_cmd",
    "ketadesk.cli.review_cmd",
)


class CliError(Exception):
    """Bad input from the command line: printed to stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ketadesk",
        description="KetaDesk: bedside dashboard for IV ketamine infusion sessions.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list or args_list[0].startswith("-") and args_list[0] not in ("-h", "--help"):
        args_list = ["gui", *args_list]  # plain `ketadesk` opens the dashboard
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"ketadesk {args.command}: error: {exc}", file=sys.stderr)
        return 2
