"""`ketadesk sources`: list the registered data sources and their options."""

from __future__ import annotations

import argparse
from typing import Any

from ketadesk.sources.registry import RegisteredSource


def register(sub: Any) -> None:
    p = sub.add_parser("sources", help="list the registered data sources",
                       description="List the data sources registered in the entry-point group "
                                   "ketadesk.sources, with their options.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ketadesk.sources.registry import discover

    print("Registered data sources (use with --source NAME --source-opt KEY=VALUE):")
    for name, reg in discover().items():
        print(f"{name:12s} {kind_label(reg):12s} {reg.summary}   [{reg.target}]")
        for opt in reg.options:
            choices = f" ({'/'.join(opt.choices)})" if opt.choices else ""
            default = f" (default {opt.default})" if opt.default else ""
            print(f"    --source-opt {opt.key}=...  {opt.help}{choices}{default}")
    return 0


def kind_label(reg: RegisteredSource) -> str:
    """[live], [simulated], [replay]; [unavailable] if it cannot load, [?] if it does not say."""
    if reg.factory is None:
        return "[unavailable]"
    return f"[{reg.provenance.value}]" if reg.provenance is not None else "[?]"
