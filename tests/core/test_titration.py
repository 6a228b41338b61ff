from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ketadesk.core.course import CourseSession, SessionStatus
from ketadesk.core.titration import (
    Suggestion,
    TitrationDecision,
    TitrationError,
    TitrationSettings,
    decide,
    load_titration_settings,
    suggest,
)

WHEN = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


def _prev(**kw: object) -> CourseSession:
    base: dict[str, object] = dict(on=date(2026, 1, 5), status=SessionStatus.DONE,
                                   dose_mg_per_kg=0.5, peak_sys_mmhg=142.0, peak_dia_mmhg=88.0,
                                   peak_cadss=6.0)
    base.update(kw)
    return CourseSession(**base)  # type: ignore[arg-type]


def test_first_session_starts_at_the_first_step() -> None:
    s = suggest(None)
    assert s.suggestion is Suggestion.START and s.dose_mg_per_kg == 0.5
    assert s.steps_mg_per_kg == (0.5, 0.75, 1.0)


def test_well_tolerated_low_dissociation_steps_up_one_step() -> None:
    s = suggest(_prev())
    assert s.suggestion is Suggestion.STEP_UP and s.dose_mg_per_kg == 0.75
    assert "peak CADSS 6" in s.text and "142/88" in s.text
    assert suggest(_prev(dose_mg_per_kg=0.75)).dose_mg_per_kg == 1.0


@pytest.mark.parametrize(("kw", "why"), [
    ({"pause_reasons": ("hypertension",)}, "paused for hypertension"),
    ({"peak_sys_mmhg": 184.0}, "peak BP 184/88"),
    ({"peak_dia_mmhg": 112.0}, "peak BP 142/112"),
    ({"adverse_events": ("Nausea/vomiting",)}, "adverse event"),
    ({"stopped_early": True}, "stopped early"),
    ({"peak_cadss": 18.0}, "peak CADSS 18 above 10"),
    ({"peak_cadss": None}, "no CADSS recorded"),
    ({"dose_mg_per_kg": 1.0}, "highest protocol step"),
])
def test_reasons_to_stay(kw: dict[str, object], why: str) -> None:
    prev = _prev(**kw)
    s = suggest(prev)
    assert s.suggestion is Suggestion.STAY and s.dose_mg_per_kg == prev.dose_mg_per_kg
    assert any(why in r for r in s.reasons), s.reasons


def test_a_line_problem_pause_does_not_stop_a_step_up() -> None:
    assert suggest(_prev(pause_reasons=("line problem",))).suggestion is Suggestion.STEP_UP


def test_rule_limits_are_configurable() -> None:
    lenient = TitrationSettings(step_up_if_peak_cadss_at_or_below=20.0)
    assert suggest(_prev(peak_cadss=18.0), lenient).suggestion is Suggestion.STEP_UP
    assert load_titration_settings() == TitrationSettings()
    with pytest.raises(TitrationError, match="increasing"):
        TitrationSettings.from_config({"steps_mg_per_kg": [0.75, 0.5]})


def test_decision_records_choice_reason_and_who() -> None:
    s = suggest(_prev())
    agree = decide(s, 0.75, "", "AB", WHEN)
    assert agree.follows_suggestion and agree.reason.startswith("as suggested: ")
    assert agree.previous_mg_per_kg == 0.5
    with pytest.raises(TitrationError, match="give a reason"):
        decide(s, 0.5, " ", "AB", WHEN)
    stay = decide(s, 0.5, "patient anxious about dissociation", "AB", WHEN)
    assert not stay.follows_suggestion and stay.chosen_mg_per_kg == 0.5
    assert stay.suggested_mg_per_kg == 0.75
    assert TitrationDecision.from_dict(stay.to_dict()) == stay
    ev = stay.to_event(5.0)
    assert ev.kind == "titration" and ev.who == "AB" and "anxious" in ev.detail
    with pytest.raises(TitrationError, match="initials"):
        decide(s, 0.75, "", " ", WHEN)
    with pytest.raises(TitrationError, match="positive number"):
        decide(s, float("nan"), "typo", "AB", WHEN)
