"""Alarms (issue 4): one import point for the rule data and the engine.

The rules (limits, priorities, delays, hysteresis, latching, validation, latency disclosure) live
in alarm_rules.py; the engine that applies them to a session's data lives in alarm_engine.py.
"""

from ketadesk.core.alarm_engine import (
    LOG_CSV_COLUMNS,
    AlarmCommandError,
    AlarmEngine,
    AlarmLogEntry,
    AlarmSnapshot,
    AlarmState,
    AlarmView,
    LimitChangeError,
    LogState,
)
from ketadesk.core.alarm_rules import (
    AlarmConfig,
    AlarmConfigError,
    Comparison,
    LimitRule,
    Priority,
    RuleLatency,
    TechnicalSettings,
    default_config,
    parse_config,
    rule_latencies,
    validate_rules,
)

__all__ = [
    "LOG_CSV_COLUMNS", "AlarmCommandError", "AlarmConfig", "AlarmConfigError", "AlarmEngine",
    "AlarmLogEntry", "AlarmSnapshot", "AlarmState", "AlarmView", "Comparison",
    "LimitChangeError", "LimitRule", "LogState", "Priority", "RuleLatency", "TechnicalSettings",
    "default_config", "parse_config", "rule_latencies", "validate_rules",
]
