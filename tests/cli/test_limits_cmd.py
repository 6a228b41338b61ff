"""`ketadesk limits [--json]` prints the effective alarm limits and technical settings."""

from __future__ import annotations

import argparse
import json

import pytest

from ketadesk.cli import COMMAND_MODULES, limits_cmd
from ketadesk.core.alarm_rules import default_config


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    # Only this command is registered: the other command modules belong to other branches.
    parser = argparse.ArgumentParser(prog="ketadesk")
    limits_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    status = args.func(args)
    return status, capsys.readouterr().out


def test_registered_with_the_dispatcher() -> None:
    assert "ketadesk.cli.limits_cmd" in COMMAND_MODULES


def test_json_lists_every_effective_rule_and_the_technical_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out = _run(["limits", "--json"], capsys)
    assert status == 0
    table = json.loads(out)
    rules = {r["id"]: r for r in table["rules"]}
    assert set(rules) == {r.id for r in default_config().rules}
    sbp = rules["nibp_sys.high.high"]
    assert (sbp["channel"], sbp["kind"], sbp["threshold"], sbp["reference"], sbp["priority"],
            sbp["latching"]) == ("nibp_sys", "high", 180.0, "absolute", "high", True)
    rel = rules["nibp_sys.high_rel.medium"]
    assert rel["reference"] == "relative" and rel["limit"] == ">= baseline + 40 mmHg"
    hr = rules["hr.low.medium"]
    assert hr["kind"] == "low" and hr["delay_s"] == 10.0 and hr["hysteresis"] == 5.0
    assert hr["latency_s"] == pytest.approx(10.0 + 1.0 + table["ui_tick_s"])
    assert table["technical"]["no_data_s"] == 10.0
    assert table["technical"]["probe_off_priority"] == "low"
    assert table["audio_pause_s"] == 120.0


def test_text_table_has_a_row_per_rule_and_says_limits_are_configurable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out = _run(["limits"], capsys)
    assert status == 0
    assert "configurable" in out and "not an authority" in out
    for rule in default_config().rules:
        row = next(line for line in out.splitlines() if line.strip().startswith(rule.id + " "))
        assert rule.describe_limit() in row and rule.priority.value in row
    assert "nibp_interval_s = 600.0" in out
