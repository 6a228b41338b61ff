"""`ketadesk scales` lists the rating scales; `ketadesk score SCALE ANSWERS` scores one set.

Both read the scale definition files (resources/scales, or --scales-dir to try a new file).
A broken file, an unknown scale, a wrong number of answers or an answer out of range exits 2
with a message naming the file or the item and its allowed range.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError
from ketadesk.core.scales import (
    AnswerError,
    ScaleDefinition,
    ScaleFileError,
    load_scales,
    parse_answer_list,
    score,
)


def register(subparsers: Any) -> None:
    dir_help = "folder of scale definition files (default: the shipped resources/scales)"
    p = subparsers.add_parser("scales", help="list the rating scales and their items")
    p.add_argument("--scales-dir", type=Path, default=None, help=dir_help)
    p.add_argument("--items", action="store_true", help="also list every item and its range")
    p.set_defaults(func=run_scales)

    p = subparsers.add_parser(
        "score",
        help="score one set of answers to a rating scale",
        description="Score answers, e.g. `ketadesk score moaas 4` or "
        "`ketadesk score cadss6 0,1,2,0,1,0`. Answers are in item order, comma-separated.",
    )
    p.add_argument("scale", help="scale id, as listed by `ketadesk scales`")
    p.add_argument("answers", help="comma-separated answers in item order, e.g. 0,1,2,...")
    p.add_argument("--json", action="store_true", help="print {total, subscales} as JSON")
    p.add_argument("--scales-dir", type=Path, default=None, help=dir_help)
    p.set_defaults(func=run_score)


def _load(directory: Path | None) -> dict[str, ScaleDefinition]:
    try:
        return load_scales(directory)
    except ScaleFileError as exc:
        raise CliError(f"bad scale definition: {exc}") from None


def run_scales(args: argparse.Namespace) -> int:
    scales = _load(args.scales_dir)
    if not scales:
        print("no scale definition files found")
        return 0
    for d in scales.values():
        observers = [i.number for i in d.items if i.is_observer]
        plural = "" if len(d.items) == 1 else "s"
        print(
            f"{d.id:<15} {d.short_name:<8} {len(d.items):>2} item{plural}, "
            f"total {d.min_total}-{d.max_total}  {d.name}"
        )
        for sub in d.subscales:
            numbers = ", ".join(str(n) for n in sub.item_numbers)
            print(f"{'':<16}subscale {sub.id} {sub.min_total}-{sub.max_total}: items {numbers}")
        if observers:
            listed = ", ".join(str(n) for n in observers)
            print(f"{'':<16}rated by clinician: item(s) {listed}")
        if args.items:
            for item in d.items:
                mark = "  [rated by clinician]" if item.is_observer else ""
                print(f"{'':<16}{item.number:>3}. {item.text} ({item.allowed}){mark}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    scales = _load(args.scales_dir)
    definition = scales.get(args.scale)
    if definition is None:
        raise CliError(f"unknown scale {args.scale!r}; known: {', '.join(scales) or 'none'}")
    try:
        answers = parse_answer_list(definition, args.answers)
    except AnswerError as exc:
        raise CliError(str(exc)) from None
    result = score(definition, answers)
    if args.json:
        payload = {"scale": definition.id, "total": result.total, "subscales": result.subscales}
        print(json.dumps(payload))
        return 0
    print(
        f"{definition.short_name} total {result.total} ({definition.min_total}-"
        f"{definition.max_total})"
    )
    for sub in definition.subscales:
        print(f"  {sub.name} {result.subscales[sub.id]} ({sub.min_total}-{sub.max_total})")
    return 0
