"""The alarm latency benchmark measures what it says (one quick trial, and the baseline)."""

from __future__ import annotations

import pytest

from ketadesk.bench.alarm_latency import CASES, NaivePoller, _trial
from ketadesk.core.alarm_rules import default_config


def test_naive_poller_counts_the_delay_in_whole_polls() -> None:
    rule = next(r for r in default_config().rules if r.id == "hr.high.medium")
    p = NaivePoller(rule)
    for t, hr in [(0, 75.0), (1, 150.0), (5, 75.0), (6, 150.0)] + [(t, 150.0) for t in
                                                                  range(7, 20)]:
        p.poll(float(t), hr)
    assert p.raised_s == 16.0  # the run starting at 1 s was broken at 5 s


def test_nibp_alarm_shows_in_the_bar_within_one_tick_and_the_baseline_lags(qtbot: object) -> None:
    nibp = next(c for c in CASES if c.rule_id == "nibp_sys.high.high")
    run = _trial(nibp, 0.5, 25.0)
    assert 0.0 <= run["latency_s"] < 0.04
    assert run["naive_latency_s"] == pytest.approx(0.5)  # next whole-second poll
    assert run["frame_ms"] > 0
