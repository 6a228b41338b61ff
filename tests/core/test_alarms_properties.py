"""Properties of the alarm engine that must hold for any data (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ketadesk.core.alarm_engine import AlarmEngine, AlarmState, LogState
from ketadesk.core.alarm_rules import AlarmConfig, Comparison, LimitRule, Priority, default_config
from ketadesk.core.channels import CHANNELS, NUMERIC_IDS

CONTINUOUS = [c for c in NUMERIC_IDS if CHANNELS[c].continuous]
DEFAULT_RULES = default_config().rules
FAST = settings(max_examples=80, deadline=None)


@st.composite
def single_rule_case(draw: st.DrawFn) -> tuple[LimitRule, list[float], float]:
    ch = CHANNELS[draw(st.sampled_from(NUMERIC_IDS))]
    when = draw(st.sampled_from(list(Comparison)))
    lo, hi = ch.plausible_min + 1, ch.plausible_max - 1
    threshold = draw(st.floats(lo, hi))
    rule = LimitRule(ch.id, when, threshold, draw(st.sampled_from(list(Priority))),
                     delay_s=draw(st.floats(0, 30)), hysteresis=draw(st.floats(0, 5)),
                     latching=draw(st.booleans()))
    # Values meeting the condition, inside the plausible range (so they are valid).
    beyond = (st.floats(threshold, ch.plausible_max) if when.is_high
              else st.floats(ch.plausible_min, threshold))
    beyond = beyond.filter(lambda v: rule.beyond(v, None) and ch.is_valid(v))
    interval_s = draw(st.floats(0.1, 5.0))
    n = int(math.ceil(rule.delay_s / interval_s)) + 1
    values = draw(st.lists(beyond, min_size=n, max_size=n))
    return rule, values, interval_s


@FAST
@given(single_rule_case(), st.floats(0, 1e5))
def test_a_condition_persisting_past_its_delay_always_raises(
    case: tuple[LimitRule, list[float], float], t0_s: float
) -> None:
    rule, values, interval_s = case
    e = AlarmEngine(AlarmConfig((rule,)))
    raised = []
    for i, v in enumerate(values):
        t = t0_s + i * interval_s
        e.on_numeric(rule.channel, t, v)
        raised += [x for x in e.tick(t) if x.state is LogState.RAISED and x.alarm_id == rule.id]
    assert len(raised) == 1
    # raised by the first sample at or after the delay, not later
    assert raised[0].t_s <= t0_s + rule.delay_s + interval_s + 1e-6
    assert raised[0].t_s >= t0_s + rule.delay_s - 1e-6


def _invalid(channel: str) -> st.SearchStrategy[float]:
    ch = CHANNELS[channel]
    return st.one_of(
        st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.just(0.0),
        st.floats(ch.plausible_max, 1e6, exclude_min=True),
        st.floats(-1e6, ch.plausible_min, exclude_max=True),
    )


@st.composite
def mixed_stream(draw: st.DrawFn) -> tuple[str, list[tuple[float, bool]]]:
    channel = draw(st.sampled_from(["hr", "spo2", "rr", "nibp_sys", "nibp_dia"]))
    ch = CHANNELS[channel]
    # Values at and around the default limits make alarms likely, so there is something to hold.
    near = [x for r in DEFAULT_RULES if r.channel == channel
            for lim in [r.limit(120.0)] if lim is not None for x in (lim - 3, lim, lim + 3)]
    valid = st.one_of(st.sampled_from(near), st.floats(ch.plausible_min, ch.plausible_max)
                      ).filter(ch.is_valid)
    item = st.one_of(valid.map(lambda v: (v, True)), _invalid(channel).map(lambda v: (v, False)))
    return channel, draw(st.lists(item, min_size=1, max_size=60))


@FAST
@given(mixed_stream(), st.floats(0.2, 3.0))
def test_invalid_values_never_raise_or_clear(
    stream: tuple[str, list[tuple[float, bool]]], interval_s: float
) -> None:
    channel, items = stream
    e = AlarmEngine()
    e.set_baseline("nibp_sys", 120.0)
    for i, (value, is_valid) in enumerate(items):
        t = i * interval_s
        before = {(v.alarm_id, v.state) for v in e.snapshot(t).alarms if not v.technical}
        n_log = len(e.log)
        e.on_numeric(channel, t, value)
        if not is_valid:
            after = {(v.alarm_id, v.state) for v in e.snapshot(t).alarms if not v.technical}
            assert after == before
            assert len(e.log) == n_log
            assert channel in e.snapshot(t).invalid_channels
        e.tick(t)


def _beyond_value(rule: LimitRule) -> float:
    """A valid value well past the rule's limit (baseline 120 for relative rules)."""
    ch = CHANNELS[rule.channel]
    limit = rule.limit(120.0)
    assert limit is not None
    return min(limit + 3, ch.plausible_max) if rule.when.is_high else max(limit - 3,
                                                                        ch.plausible_min)


@FAST
@given(
    st.lists(st.sampled_from(DEFAULT_RULES), max_size=4),
    st.sampled_from(DEFAULT_RULES),
    st.floats(0, 100),
    st.booleans(),
)
def test_an_audio_pause_never_hides_a_new_condition(
    before: list[LimitRule], new: LimitRule, pause_after_s: float, ack_first: bool
) -> None:
    e = AlarmEngine()
    e.set_baseline("nibp_sys", 120.0)
    t = 0.0
    for rule in before:  # some alarms present (maybe acknowledged) when the pause starts
        for _ in range(int(rule.delay_s) + 2):
            e.on_numeric(rule.channel, t, _beyond_value(rule))
            t += 1.0
    if ack_first:
        e.acknowledge(t, "AB")
    t += pause_after_s
    e.pause_audio(t, "AB")
    # a latched alarm whose condition returns is a new condition too
    was_active = {v.alarm_id for v in e.snapshot(t).alarms if v.state is AlarmState.ACTIVE}
    for _ in range(int(new.delay_s) + 2):
        t += 1.0
        e.on_numeric(new.channel, t, _beyond_value(new))
    snap = e.snapshot(t)
    assert snap.audio_pause_remaining_s is not None  # still within the pause
    views = {v.alarm_id: v for v in snap.alarms}
    if new.id not in was_active:
        assert views[new.id].sounding
        assert snap.sound is not None and snap.sound.rank <= new.priority.rank
    else:
        # not a new condition: an alarm present at the pause stays silent until it ends
        assert not views[new.id].sounding
