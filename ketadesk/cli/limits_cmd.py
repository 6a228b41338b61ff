"""`ketadesk limits [--json]`: print the effective alarm limits and technical alarm settings.

The limits are configurable choices with their sources, not an authority's rules; the latency
column discloses the worst-case delay from a condition to its alarm (DOMAIN.md section 6).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from ketadesk.cli import CliError
from ketadesk.core.alarm_rules import (
    AlarmConfig,
    AlarmConfigError,
    Priority,
    default_config,
    rule_latencies,
)
from ketadesk.core.channels import CHANNELS
from ketadesk.core.config import defaults


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("limits", help="print the effective alarm limits and settings",
                              description=__doc__)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _ui_tick_s() -> float:
    return 1.0 / float(defaults().get("display", {}).get("frame_hz", 25))


def limits_table(config: AlarmConfig, ui_tick_s: float) -> dict[str, Any]:
    """The effective settings as plain data (what --json prints)."""
    latency = {r.rule_id: r.total_s for r in rule_latencies(config.rules, ui_tick_s)}
    rules = [
        {
            "id": r.id,
            "channel": r.channel,
            "unit": CHANNELS[r.channel].unit,
            "kind": r.side,
            "when": r.when.value,
            "threshold": r.threshold,
            "reference": "relative" if r.relative else "absolute",
            "limit": r.describe_limit(),
            "priority": r.priority.value,
            "delay_s": r.delay_s,
            "hysteresis": r.hysteresis,
            "latching": r.latching,
            "latency_s": round(latency[r.id], 3),
            "source": r.source,
        }
        for r in config.rules
    ]
    technical = {k: (v.value if isinstance(v, Priority) else v)
                 for k, v in asdict(config.technical).items()}
    return {"rules": rules, "technical": technical, "audio_pause_s": config.audio_pause_s,
            "log_capacity": config.log_capacity, "ui_tick_s": ui_tick_s}


def _text(table: dict[str, Any]) -> str:
    head = ("rule", "channel", "kind", "limit", "reference", "priority", "delay_s",
            "hysteresis", "latching", "latency_s")
    rows = [head] + [
        (r["id"], r["channel"], r["kind"], r["limit"], r["reference"], r["priority"],
         f"{r['delay_s']:g}", f"{r['hysteresis']:g} {r['unit']}".strip(),
         "yes" if r["latching"] else "no", f"{r['latency_s']:g}")
        for r in table["rules"]
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ["Alarm limits (configurable choices, not an authority's rules):"]
    lines += ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    lines.append("latency_s = delay + one sample (continuous channels) + one UI tick "
                 f"({table['ui_tick_s']:g} s); sound start and repaint come on top.")
    lines.append("Sources:")
    lines += [f"  {r['id']}: {r['source']}" for r in table["rules"] if r["source"]]
    lines.append("Technical alarms (non-latching):")
    lines += [f"  {k} = {v}" for k, v in table["technical"].items()]
    lines.append(f"Audio pause: {table['audio_pause_s']:g} s; "
                 f"alarm log keeps {table['log_capacity']} entries in memory.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        config = default_config()
    except AlarmConfigError as exc:
        raise CliError(f"the alarm configuration is not usable: {exc}") from None
    table = limits_table(config, _ui_tick_s())
    print(json.dumps(table, indent=2) if args.json else _text(table))
    return 0
