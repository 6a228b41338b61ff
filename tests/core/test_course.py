from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketadesk.core.course import (
    CourseError,
    CourseSession,
    CourseSettings,
    OutcomeScale,
    OutcomeScore,
    SessionStatus,
    WarningKind,
    describe_outcome,
    induction_progress,
    is_remission,
    is_response,
    load_course_settings,
    parse_scale,
    phq9_severity,
    spacing_warnings,
    summarize,
    validate_score,
    validate_session_date,
)

D0 = date(2026, 1, 5)
DONE, PLANNED = SessionStatus.DONE, SessionStatus.PLANNED


def _rows(offsets: list[int], status: SessionStatus = DONE) -> list[CourseSession]:
    return [CourseSession(D0 + timedelta(days=d), status, 0.5) for d in offsets]


def test_twice_weekly_course_has_no_spacing_warnings() -> None:
    assert spacing_warnings(_rows([0, 3, 7, 10, 14, 17])) == ()


def test_gap_over_7_days_and_two_in_one_day_are_warned() -> None:
    rows = _rows([0, 3]) + _rows([11, 11], PLANNED)
    w = spacing_warnings(rows)
    assert [x.kind for x in w] == [WarningKind.GAP, WarningKind.SAME_DAY]
    assert "8 days" in w[0].message and "2026-01-08" in w[0].message
    assert "2026-01-16" in w[1].message
    assert spacing_warnings(_rows([0, 7])) == ()  # exactly 7 days is allowed


def test_planned_after_the_induction_window_is_warned() -> None:
    w = spacing_warnings(_rows([0, 3]) + _rows([22], PLANNED))
    # 22 - 3 = 19-day gap too, and 22 > 21 days from the first session
    assert {x.kind for x in w} == {WarningKind.GAP, WarningKind.AFTER_WINDOW}


def test_progress_not_started_then_on_and_behind_schedule() -> None:
    p = induction_progress([], D0)
    assert p.on_schedule is None and p.done == 0 and "not started" in p.message
    # 2 done by day 3: 4 to go, 17 days left -> on schedule
    p = induction_progress(_rows([0, 3]), D0 + timedelta(days=4))
    assert p.done == 2 and p.on_schedule is True and p.deadline == D0 + timedelta(days=21)
    assert "4 to go" in p.message
    # 2 done, day 16: 4 to go need (4-1)*2 = 6 days, only 5 left -> behind
    p = induction_progress(_rows([0, 3]), D0 + timedelta(days=16))
    assert p.on_schedule is False and "behind" in p.message
    # exactly fits: day 15 -> 6 days left
    assert induction_progress(_rows([0, 3]), D0 + timedelta(days=15)).on_schedule is True


def test_a_session_done_today_means_the_next_is_tomorrow() -> None:
    # 5 done, last today (day 21): the 6th cannot be before day 22 > deadline
    p = induction_progress(_rows([0, 3, 7, 10, 21]), D0 + timedelta(days=21))
    assert p.on_schedule is False


def test_complete_course_in_and_out_of_window() -> None:
    p = induction_progress(_rows([0, 3, 7, 10, 14, 17]), D0 + timedelta(days=30))
    assert p.complete and p.on_schedule and "6 sessions in 17 days" in p.message
    p = induction_progress(_rows([0, 3, 7, 10, 14, 25]), D0 + timedelta(days=30))
    assert p.complete and p.on_schedule is False and "longer than" in p.message


@pytest.mark.parametrize(("total", "band"), [(0, "none-minimal"), (4, "none-minimal"),
                                             (5, "mild"), (9, "mild"), (10, "moderate"),
                                             (15, "moderately severe"), (19, "moderately severe"),
                                             (20, "severe"), (27, "severe")])
def test_phq9_severity_cut_offs(total: int, band: str) -> None:
    assert phq9_severity(total) == band


def test_response_is_a_fall_of_at_least_half() -> None:
    assert is_response(30, 15) is True  # exactly 50 %
    assert is_response(30, 16) is False
    assert is_response(27, 13) is True
    assert is_response(0, 0) is None  # no room to fall
    assert is_response(20, 25) is False


def test_remission_thresholds_and_configurable_madrs() -> None:
    assert is_remission(OutcomeScale.MADRS, 10) and not is_remission(OutcomeScale.MADRS, 11)
    assert is_remission(OutcomeScale.MADRS, 12, CourseSettings(madrs_remission_at_or_below=12))
    assert is_remission(OutcomeScale.PHQ9, 4) and not is_remission(OutcomeScale.PHQ9, 5)
    with pytest.raises(CourseError, match="10-12"):
        CourseSettings.from_config({"madrs_remission_at_or_below": 14})


@given(base=st.integers(1, 60), total=st.integers(0, 60))
def test_response_matches_integer_arithmetic(base: int, total: int) -> None:
    # fall >= 50 % <=> 2 * (base - total) >= base, exactly in integers
    assert is_response(base, total) is (2 * (base - total) >= base)


def test_score_validation_messages() -> None:
    today = date(2026, 2, 1)
    assert validate_score(OutcomeScale.PHQ9, 27, today, today) == 27
    assert validate_score(OutcomeScale.MADRS, 12.0, today, today) == 12
    with pytest.raises(CourseError, match="out of range; allowed 0-27"):
        validate_score(OutcomeScale.PHQ9, 28, today, today)
    with pytest.raises(CourseError, match="allowed 0-60"):
        validate_score(OutcomeScale.MADRS, -1, today, today)
    with pytest.raises(CourseError, match="whole number"):
        validate_score(OutcomeScale.MADRS, 12.5, today, today)
    with pytest.raises(CourseError, match="in the future"):
        validate_score(OutcomeScale.PHQ9, 10, today + timedelta(days=1), today)
    with pytest.raises(CourseError, match="phq9, madrs"):
        parse_scale("hamd")
    assert parse_scale("PHQ-9") is OutcomeScale.PHQ9
    with pytest.raises(CourseError, match="mark it planned"):
        validate_session_date(CourseSession(today + timedelta(days=2), DONE), today)
    validate_session_date(CourseSession(today + timedelta(days=2), PLANNED), today)


def test_outcomes_against_the_pre_course_baseline() -> None:
    scores = [OutcomeScore(D0 - timedelta(days=3), OutcomeScale.MADRS, 34),
              OutcomeScore(D0, OutcomeScale.MADRS, 30),  # same day as session 1: baseline
              OutcomeScore(D0 + timedelta(days=7), OutcomeScale.MADRS, 20),
              OutcomeScore(D0 + timedelta(days=17), OutcomeScale.MADRS, 9),
              OutcomeScore(D0 + timedelta(days=10), OutcomeScale.PHQ9, 12)]
    s = summarize(_rows([0, 3, 7, 10, 14, 17]), scores, D0 + timedelta(days=18))
    madrs = s.outcomes[OutcomeScale.MADRS]
    assert [m.is_baseline for m in madrs] == [False, True, False, False]
    assert madrs[0].response is None and "before the pre-course baseline" in describe_outcome(
        madrs[0])
    assert madrs[2].change_fraction == pytest.approx(1 / 3) and madrs[2].response is False
    last = s.latest(OutcomeScale.MADRS)
    assert last is not None and last.response and last.remission
    assert describe_outcome(last) == "MADRS 9 on 2026-01-22: -70 % from 30, response; remission"
    phq = s.outcomes[OutcomeScale.PHQ9]
    assert phq[0].baseline is None and phq[0].response is None
    assert "no pre-course baseline" in describe_outcome(phq[0])
    assert s.progress.complete


def test_defaults_toml_mirrors_the_code() -> None:
    assert load_course_settings() == CourseSettings()
