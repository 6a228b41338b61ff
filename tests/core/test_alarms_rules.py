"""Alarm rules: the shipped defaults, each limit at just inside / just outside, validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from alarm_helpers import feed, shown

from ketadesk.core.alarm_engine import AlarmEngine
from ketadesk.core.alarm_rules import (
    AlarmConfigError,
    Comparison,
    Priority,
    default_config,
    parse_config,
    rule_latencies,
)
from ketadesk.core.config import defaults

H, M = Priority.HIGH, Priority.MEDIUM
BASELINE_SBP = 120.0

# (rule id, a value just inside the limit, a value just outside it, expected priority), from
# the brief: SBP >= 165 M, >= 180 H, < 90 M, > baseline + 40 M; DBP >= 100 M, >= 110 H;
# HR outside 50-120 M; SpO2 < 90 M, < 85 H; RR outside 8-25 M.
DEFAULT_LIMITS = [
    ("nibp_sys.high.medium", 164, 165, M),
    ("nibp_sys.high.high", 179, 180, H),
    ("nibp_sys.low.medium", 90, 89, M),
    ("nibp_sys.high_rel.medium", BASELINE_SBP + 39, BASELINE_SBP + 40, M),
    ("nibp_dia.high.medium", 99, 100, M),
    ("nibp_dia.high.high", 109, 110, H),
    ("hr.high.medium", 120, 121, M),
    ("hr.low.medium", 50, 49, M),
    ("spo2.low.medium", 90, 89, M),
    ("spo2.low.high", 85, 84, H),
    ("rr.low.medium", 8, 7, M),
    ("rr.high.medium", 25, 26, M),
]


def _engine() -> AlarmEngine:
    e = AlarmEngine()
    e.set_baseline("nibp_sys", BASELINE_SBP)
    return e


def test_defaults_cover_exactly_the_brief_limits() -> None:
    assert sorted(r.id for r in default_config().rules) == sorted(x[0] for x in DEFAULT_LIMITS)


@pytest.mark.parametrize(("rule_id", "inside", "outside", "priority"), DEFAULT_LIMITS)
def test_default_limit_just_inside_and_just_outside(
    rule_id: str, inside: float, outside: float, priority: Priority
) -> None:
    channel = rule_id.split(".")[0]
    rule = next(r for r in default_config().rules if r.id == rule_id)
    n = int(rule.delay_s) + 2  # enough samples at 1 Hz to pass the delay

    e = _engine()
    t = feed(e, channel, [inside] * n)
    assert rule_id not in shown(e, t)

    e = _engine()
    t = feed(e, channel, [outside] * n)
    view = shown(e, t)[rule_id]
    assert view.priority is priority
    assert view.marker == {H: "***", M: "**"}[priority]
    assert channel in e.snapshot(t).alarming_channels


@pytest.mark.parametrize("rule", default_config().rules, ids=lambda r: r.id)
def test_every_rule_at_a_tenth_either_side_of_its_limit(rule: Any) -> None:
    limit = rule.limit(BASELINE_SBP)
    step = 0.1 if rule.when.is_high else -0.1
    inclusive = rule.when in (Comparison.GE, Comparison.LE)
    outside = limit if inclusive else limit + step
    inside = limit - step if inclusive else limit
    assert rule.beyond(outside, BASELINE_SBP)
    assert not rule.beyond(inside, BASELINE_SBP)


def test_relative_rule_waits_for_a_baseline() -> None:
    e = AlarmEngine()
    t = feed(e, "nibp_sys", [160.0])
    assert "nibp_sys.high_rel.medium" not in shown(e, t)
    e.set_baseline("nibp_sys", 110.0)
    t = feed(e, "nibp_sys", [150.0], t0_s=t)
    view = shown(e, t)["nibp_sys.high_rel.medium"]
    assert "baseline 110 + 40" in view.message


def _section() -> dict[str, Any]:
    return copy.deepcopy(defaults()["alarms"])


def test_shipped_section_parses_and_is_documented() -> None:
    cfg = parse_config(_section())
    assert all(r.source for r in cfg.rules), "every default names where it comes from"
    assert cfg.audio_pause_s == 120.0
    assert cfg.technical.no_data_s == 10.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["rules"][0].update(channel="bp"), "unknown numeric channel 'bp'"),
        (lambda s: s["rules"][0].update(when="=>"), "when='=>' is not allowed"),
        (lambda s: s["rules"][0].update(priority="urgent"), "use high, medium or low"),
        (lambda s: s["rules"][0].update(threshold=400.0), "outside the plausible range"),
        (lambda s: s["rules"][0].update(threshold="165"), "must be a number"),
        (lambda s: s["rules"][0].update(colour="red"), "unknown key(s) colour"),
        (lambda s: s["rules"][0].update(latching="no"), "latching must be true or false"),
        (lambda s: s["rules"][0].update(delay_s=-1.0), "delay_s -1.0 must be between"),
        (lambda s: s["rules"].append(dict(s["rules"][0])), "appears twice"),
        (lambda s: s["rules"][2].update(threshold=170.0), "must be below high limit"),
        (lambda s: s["rules"][1].update(threshold=160.0), "at least as extreme"),
        (lambda s: s["technical"].update(no_data_s=-5), "must be >= 0 seconds"),
        (lambda s: s["technical"].update(probe_off_priority="loud"), "use high, medium or low"),
        (lambda s: s.update(audio_pause_s=900.0), "audio_pause_s must be between"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(mutate: Any, message: str) -> None:
    section = _section()
    mutate(section)
    with pytest.raises(AlarmConfigError) as info:
        parse_config(section)
    assert message in str(info.value)


def test_latency_disclosure_adds_sampling_only_for_continuous_channels() -> None:
    rules = {r.id: r for r in default_config().rules}
    lat = {x.rule_id: x for x in rule_latencies(rules.values(), ui_tick_s=0.04,
                                                 sample_interval_s=1.0)}
    assert lat["hr.high.medium"].total_s == pytest.approx(rules["hr.high.medium"].delay_s + 1.04)
    assert lat["nibp_sys.high.high"].sampling_s == 0.0
    assert lat["nibp_sys.high.high"].total_s == pytest.approx(0.04)
