"""Alarm rules as data: limits, priorities, delays, hysteresis, latching, technical settings.

The rules are loaded from the `[alarms]` section of resources/defaults.toml (or a site copy) and
validated here, once, with messages naming what is wrong and what is allowed. The same validation
guards a limit changed live. The defaults are configurable choices, not an authority's rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ketadesk.core.channels import CHANNELS, NUMERIC_IDS, Kind


class AlarmConfigError(ValueError):
    """The alarm configuration is not usable; the message says what and what is allowed."""


class Priority(Enum):
    """IEC 60601-1-8 alarm priorities (DOMAIN.md section 6)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def marker(self) -> str:
        """The text marker shown next to the message: `***`, `**` or `*`."""
        return {"high": "***", "medium": "**", "low": "*"}[self.value]

    @property
    def rank(self) -> int:
        """0 for the most urgent; sort by this."""
        return {"high": 0, "medium": 1, "low": 2}[self.value]

    @classmethod
    def parse(cls, text: str, where: str) -> Priority:
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            raise AlarmConfigError(
                f"{where}: priority {text!r} is not allowed; use high, medium or low"
            ) from None


class Comparison(Enum):
    """How a value is compared with the limit. `>=`/`>` make a high limit, `<=`/`<` a low one."""

    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"

    @property
    def is_high(self) -> bool:
        return self in (Comparison.GE, Comparison.GT)

    def holds(self, value: float, limit: float) -> bool:
        if self is Comparison.GE:
            return value >= limit
        if self is Comparison.GT:
            return value > limit
        if self is Comparison.LE:
            return value <= limit
        return value < limit


@dataclass(frozen=True)
class LimitRule:
    """One physiological limit on one channel.

    `threshold` is an absolute value in the channel's unit, or for a relative rule an offset from
    the patient's baseline (baseline + threshold for a high limit, baseline - threshold for a low
    one). Once raised, the condition holds until the value is back past the limit by more than
    `hysteresis` (same unit), so a value hovering at the limit does not flap.
    """

    channel: str
    when: Comparison
    threshold: float
    priority: Priority
    relative: bool = False
    delay_s: float = 0.0
    hysteresis: float = 0.0
    latching: bool = False
    source: str = ""  # where the number comes from, shown by `ketadesk limits`

    @property
    def id(self) -> str:
        """Stable identifier, e.g. `nibp_sys.high.medium` or `nibp_sys.high_rel.medium`."""
        return f"{self.channel}.{self.side}{'_rel' if self.relative else ''}.{self.priority.value}"

    @property
    def side(self) -> str:
        """"high" for an upper limit, "low" for a lower one."""
        return "high" if self.when.is_high else "low"

    def limit(self, baseline: float | None) -> float | None:
        """The absolute limit now; None for a relative rule while no baseline is known."""
        if not self.relative:
            return self.threshold
        if baseline is None:
            return None
        return baseline + self.threshold if self.when.is_high else baseline - self.threshold

    def beyond(self, value: float, baseline: float | None) -> bool:
        """Whether a (valid) value meets the alarm condition."""
        lim = self.limit(baseline)
        return lim is not None and self.when.holds(value, lim)

    def still_beyond(self, value: float, baseline: float | None) -> bool:
        """Whether a raised condition persists: the limit moved back by the hysteresis margin."""
        lim = self.limit(baseline)
        if lim is None:
            return True  # baseline withdrawn: hold rather than clear on no information
        shifted = lim - self.hysteresis if self.when.is_high else lim + self.hysteresis
        return self.when.holds(value, shifted)

    def describe_limit(self, baseline: float | None = None) -> str:
        """E.g. `>= 165 mmHg` or `>= baseline + 40 mmHg`."""
        unit = CHANNELS[self.channel].unit
        if not self.relative:
            return f"{self.when.value} {fmt(self.threshold)} {unit}".rstrip()
        sign = "+" if self.when.is_high else "-"
        base = "baseline" if baseline is None else f"baseline {fmt(baseline)}"
        return f"{self.when.value} {base} {sign} {fmt(self.threshold)} {unit}".rstrip()


@dataclass(frozen=True)
class TechnicalSettings:
    """Settings of the technical (equipment) alarms; all are non-latching."""

    no_data_s: float = 10.0
    start_grace_s: float = 30.0
    nibp_interval_s: float = 600.0
    nibp_overdue_margin_s: float = 60.0
    no_data_priority: Priority = Priority.MEDIUM
    nibp_overdue_priority: Priority = Priority.MEDIUM
    disconnected_priority: Priority = Priority.MEDIUM
    probe_off_priority: Priority = Priority.LOW
    audio_unavailable_priority: Priority = Priority.MEDIUM
    recording_failed_priority: Priority = Priority.MEDIUM


@dataclass(frozen=True)
class AlarmConfig:
    rules: tuple[LimitRule, ...]
    technical: TechnicalSettings = TechnicalSettings()
    audio_pause_s: float = 120.0
    log_capacity: int = 10_000


def fmt(x: float) -> str:
    """A value as shown in alarm texts: at most one decimal, no trailing zeros."""
    return f"{round(x, 1):g}"


def validate_rules(rules: Iterable[LimitRule]) -> None:
    """Refuse a rule set that cannot work, naming every problem found.

    Each limit lies inside the channel's plausible range; on a channel every absolute low limit is
    below every absolute high limit; a more urgent limit on the same side is not less extreme than
    a less urgent one (which catches typing 160 for 190); rule ids are unique.
    """
    rules = tuple(rules)
    problems: list[str] = []
    seen: set[str] = set()
    for r in rules:
        ch = CHANNELS.get(r.channel)
        if ch is None or ch.kind is not Kind.NUMERIC:
            problems.append(
                f"rule {r.id}: unknown numeric channel {r.channel!r}; allowed: "
                + ", ".join(NUMERIC_IDS)
            )
            continue
        if r.id in seen:
            problems.append(f"rule {r.id} appears twice; one rule per channel, side, "
                            "absolute/relative and priority")
        seen.add(r.id)
        span = ch.plausible_max - ch.plausible_min
        if not math.isfinite(r.threshold):
            problems.append(f"rule {r.id}: limit must be a number, got {r.threshold}")
        elif r.relative and not 0 < r.threshold <= span:
            problems.append(f"rule {r.id}: relative offset {fmt(r.threshold)} {ch.unit} must be "
                            f"above 0 and at most {fmt(span)}")
        elif not r.relative and not ch.plausible_min <= r.threshold <= ch.plausible_max:
            problems.append(f"rule {r.id}: limit {fmt(r.threshold)} {ch.unit} is outside the "
                            f"plausible range of {ch.label} ({fmt(ch.plausible_min)}-"
                            f"{fmt(ch.plausible_max)} {ch.unit})")
        if not (math.isfinite(r.delay_s) and 0 <= r.delay_s <= 120):
            problems.append(f"rule {r.id}: delay_s {r.delay_s} must be between 0 and 120 s")
        if not (math.isfinite(r.hysteresis) and 0 <= r.hysteresis < span):
            problems.append(f"rule {r.id}: hysteresis {r.hysteresis} must be >= 0 and below "
                            f"{fmt(span)} {ch.unit}")
    for ch_id in {r.channel for r in rules}:
        absolute = [r for r in rules if r.channel == ch_id and not r.relative]
        lows = [r for r in absolute if r.side == "low"]
        highs = [r for r in absolute if r.side == "high"]
        if lows and highs:
            lo = max(lows, key=lambda r: r.threshold)
            hi = min(highs, key=lambda r: r.threshold)
            if not lo.threshold < hi.threshold:
                problems.append(f"{ch_id}: low limit {fmt(lo.threshold)} ({lo.id}) must be below "
                                f"high limit {fmt(hi.threshold)} ({hi.id})")
        for same_side in (lows, highs):
            for a in same_side:
                for b in same_side:
                    if a.priority.rank < b.priority.rank and (
                        a.threshold < b.threshold if a.when.is_high else a.threshold > b.threshold
                    ):
                        problems.append(
                            f"{ch_id}: the {a.priority.value}-priority limit {fmt(a.threshold)} "
                            f"({a.id}) must be at least as extreme as the {b.priority.value}-"
                            f"priority limit {fmt(b.threshold)} ({b.id})"
                        )
    if problems:
        raise AlarmConfigError("; ".join(problems))


_RULE_KEYS = {"channel", "when", "threshold", "priority", "relative", "delay_s", "hysteresis",
              "latching", "source"}
_TECH_KEYS = {f for f in TechnicalSettings.__dataclass_fields__}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AlarmConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise AlarmConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _parse_rule(raw: Mapping[str, Any], index: int) -> LimitRule:
    where = f"alarms.rules[{index}]"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise AlarmConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                               + ", ".join(sorted(_RULE_KEYS)))
    for key in ("channel", "when", "threshold", "priority"):
        if key not in raw:
            raise AlarmConfigError(f"{where}: missing {key!r}")
    try:
        when = Comparison(str(raw["when"]).strip())
    except ValueError:
        raise AlarmConfigError(f"{where}: when={raw['when']!r} is not allowed; use one of "
                               + ", ".join(c.value for c in Comparison)) from None
    return LimitRule(
        channel=str(raw["channel"]),
        when=when,
        threshold=_number(raw["threshold"], f"{where}.threshold"),
        priority=Priority.parse(raw["priority"], where),
        relative=_flag(raw.get("relative", False), f"{where}.relative"),
        delay_s=_number(raw.get("delay_s", 0.0), f"{where}.delay_s"),
        hysteresis=_number(raw.get("hysteresis", 0.0), f"{where}.hysteresis"),
        latching=_flag(raw.get("latching", False), f"{where}.latching"),
        source=str(raw.get("source", "")),
    )


def _parse_technical(raw: Mapping[str, Any]) -> TechnicalSettings:
    unknown = sorted(set(raw) - _TECH_KEYS)
    if unknown:
        raise AlarmConfigError(f"alarms.technical: unknown key(s) {', '.join(unknown)}; allowed: "
                               + ", ".join(sorted(_TECH_KEYS)))
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"alarms.technical.{key}"
        if key.endswith("_priority"):
            values[key] = Priority.parse(value, where)
        else:
            number = _number(value, where)
            if not (math.isfinite(number) and number >= 0):
                raise AlarmConfigError(f"{where} must be >= 0 seconds, got {value!r}")
            values[key] = number
    return TechnicalSettings(**values)


def parse_config(section: Mapping[str, Any]) -> AlarmConfig:
    """Build and validate an AlarmConfig from the `[alarms]` table of a TOML file."""
    rules = tuple(_parse_rule(r, i) for i, r in enumerate(section.get("rules", [])))
    validate_rules(rules)
    pause = _number(section.get("audio_pause_s", 120.0), "alarms.audio_pause_s")
    if not 0 < pause <= 300:
        raise AlarmConfigError(f"alarms.audio_pause_s must be between 0 and 300 s, got {pause}")
    capacity = section.get("log_capacity", 10_000)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 100:
        raise AlarmConfigError(f"alarms.log_capacity must be a whole number >= 100, "
                               f"got {capacity!r}")
    return AlarmConfig(rules, _parse_technical(section.get("technical", {})), pause, capacity)


def default_config() -> AlarmConfig:
    """The shipped defaults (resources/defaults.toml, section `[alarms]`)."""
    from ketadesk.core.config import defaults

    return parse_config(defaults().get("alarms", {}))


@dataclass(frozen=True)
class RuleLatency:
    """Worst-case time from a condition starting to the alarm being shown, split by cause."""

    rule_id: str
    condition_delay_s: float  # the rule's alarm-condition delay
    sampling_s: float  # waiting for the sample that confirms the delay has passed
    ui_tick_s: float  # the engine is asked for news once per UI tick
    total_s: float


def rule_latencies(
    rules: Iterable[LimitRule], ui_tick_s: float, sample_interval_s: float = 1.0
) -> tuple[RuleLatency, ...]:
    """Disclose the alarm delays (IEC 60601-1-8 asks for it; DOMAIN.md section 6).

    A continuous channel's condition is confirmed by the first sample at or after the delay, so
    one sample interval is added; an intermittent channel (NIBP) is judged on the measurement
    itself. Signal generation after the tick (sound start, repaint) is the GUI's to add.
    """
    out = []
    for r in rules:
        sampling = sample_interval_s if CHANNELS[r.channel].continuous else 0.0
        out.append(RuleLatency(r.id, r.delay_s, sampling, ui_tick_s,
                               r.delay_s + sampling + ui_tick_s))
    return tuple(out)
