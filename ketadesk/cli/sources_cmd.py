"""`ketadesk sources`: list the registered data sources and their options."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("sources", help="list the registered data sources",
                       description="List the data sources registered in the entry-point group "
                                   "ketadesk.sources, with their options.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ketadesk.sources.registry import discover

    for name, reg in discover().items():
        print(f"{name:12s} {reg.summary}   [{reg.target}]")
        for opt in getattr(reg.factory, "options", ()):
            default = f" (default {opt.default})" if opt.default else ""
            print(f"    --source-opt {opt.key}=...  {opt.help}{default}")
    return 0
