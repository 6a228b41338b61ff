"""Timepoints under a fake clock, and the audited entry log (issue 5, points 3, 4, 7)."""

from __future__ import annotations

from typing import Any

import pytest

from ketadesk.core.assessments import (
    AssessmentError,
    AssessmentLog,
    AssessmentSchedule,
    EntryStatus,
    ReminderTracker,
    ScheduleConfigError,
    ScheduleSettings,
    TimepointKind,
    TimepointState,
)
from ketadesk.core.clock import FakeClock
from ketadesk.core.scales import ScaleDefinition, load_scales

MIN = 60.0
START_S = 300.0  # the infusion starts 5 min into the session


@pytest.fixture(scope="module")
def scales() -> dict[str, ScaleDefinition]:
    return load_scales()


@pytest.fixture
def schedule(scales: dict[str, ScaleDefinition]) -> AssessmentSchedule:
    return AssessmentSchedule.from_defaults(scales)


def _states(schedule: AssessmentSchedule, clock: FakeClock, **kw: Any) -> dict[str, str]:
    start = kw.pop("start", START_S)
    status = schedule.status(start, kw.pop("nibp", []), clock.now(), **kw)
    return {i.id: i.state.value for i in status.items}


def test_defaults_schedule(schedule: AssessmentSchedule) -> None:
    s = schedule.settings
    assert s.timepoints == (("cadss", None), ("cadss", 40.0), ("cadss", 80.0), ("cadss", 120.0))
    assert s.with_each_nibp == ("moaas",)


def test_before_start_baseline_due_others_without_time(schedule: AssessmentSchedule) -> None:
    status = schedule.status(None, [100.0], 120.0)
    assert [i.id for i in status.due] == ["cadss@baseline"]
    assert [i.id for i in status.upcoming] == ["cadss@+40min", "cadss@+80min", "cadss@+120min"]
    assert all(i.target_s is None for i in status.upcoming)
    assert status.overdue == ()  # NIBP before the start does not call for MOAA/S


def test_timed_point_upcoming_due_overdue_under_fake_clock(schedule: AssessmentSchedule) -> None:
    clock = FakeClock()
    clock.set(START_S + 34 * MIN)  # 6 min before +40; reminder is 5 min before
    assert _states(schedule, clock)["cadss@+40min"] == "upcoming"
    clock.advance(1 * MIN)
    assert _states(schedule, clock)["cadss@+40min"] == "due"
    clock.set(START_S + 50 * MIN - 1)  # grace is 10 min after the timepoint
    assert _states(schedule, clock)["cadss@+40min"] == "due"
    clock.advance(1)
    states = _states(schedule, clock)
    assert states["cadss@+40min"] == "overdue"
    assert states["cadss@+80min"] == "upcoming"
    status = schedule.status(START_S, [], clock.now())
    plus40 = next(i for i in status.items if i.id == "cadss@+40min")
    assert (plus40.target_s, plus40.due_from_s, plus40.overdue_from_s) == (
        START_S + 40 * MIN,
        START_S + 35 * MIN,
        START_S + 50 * MIN,
    )


def test_baseline_overdue_once_infusion_started(schedule: AssessmentSchedule) -> None:
    clock = FakeClock(START_S - 1)
    assert _states(schedule, clock, start=None)["cadss@baseline"] == "due"
    clock.advance(1)
    assert _states(schedule, clock)["cadss@baseline"] == "overdue"


def test_done_only_counts_given_timepoints(schedule: AssessmentSchedule) -> None:
    clock = FakeClock(START_S + 60 * MIN)
    status = schedule.status(
        START_S, [], clock.now(), done={"cadss@baseline": 200.0, "cadss@+40min": 2800.0}
    )
    done = {i.id: i.done_s for i in status.done}
    assert done == {"cadss@baseline": 200.0, "cadss@+40min": 2800.0}
    assert status.overdue == ()


def test_moaas_with_each_nibp_cycle_during_infusion(schedule: AssessmentSchedule) -> None:
    clock = FakeClock(START_S + 43 * MIN)
    cycles = [START_S - 60, START_S + 10 * MIN, START_S + 40 * MIN, START_S + 42 * MIN]
    status = schedule.status(START_S, cycles, clock.now(), infusion_end_s=START_S + 40 * MIN)
    moaas = [i for i in status.items if i.kind is TimepointKind.WITH_NIBP]
    # the cycle before the start and the one after the end do not call for MOAA/S
    assert [i.target_s for i in moaas] == [START_S + 10 * MIN, START_S + 40 * MIN]
    assert [i.state for i in moaas] == [TimepointState.OVERDUE, TimepointState.DUE]
    assert moaas[1].label == "MOAA/S with NIBP at +40 min"
    # the 5 min grace: overdue exactly 5 min after the cycle
    clock.set(START_S + 45 * MIN)
    later = schedule.status(START_S, cycles, clock.now(), infusion_end_s=START_S + 40 * MIN)
    assert [i.id for i in later.overdue if i.scale_id == "moaas"] == [m.id for m in moaas]


def test_running_infusion_ignores_cycles_in_the_future(schedule: AssessmentSchedule) -> None:
    status = schedule.status(START_S, [START_S + 10 * MIN, START_S + 20 * MIN], START_S + 600)
    assert [i.target_s for i in status.items if i.scale_id == "moaas"] == [START_S + 10 * MIN]


def test_start_after_now_is_refused(schedule: AssessmentSchedule) -> None:
    with pytest.raises(ValueError, match="after now"):
        schedule.status(500.0, [], 400.0)


def test_reminder_tracker_announces_each_state_once(schedule: AssessmentSchedule) -> None:
    clock = FakeClock(0.0)
    tracker = ReminderTracker()
    first = tracker.update(schedule.status(None, [], clock.now()))
    assert [i.id for i in first] == ["cadss@baseline"]
    assert tracker.update(schedule.status(None, [], clock.now())) == []
    clock.set(START_S + 35 * MIN)
    news = tracker.update(schedule.status(START_S, [], clock.now()))
    assert [(i.id, i.state.value) for i in news] == [
        ("cadss@baseline", "overdue"),
        ("cadss@+40min", "due"),
    ]


def test_custom_schedule_and_config_errors() -> None:
    settings = ScheduleSettings.from_config(
        {"timepoints": {"cadss": ["baseline", 40, 240]}, "overdue_after_min": 2},
        known_scales={"cadss"},
    )
    assert settings.timepoints[-1] == ("cadss", 240.0)
    assert settings.overdue_after_s == 120.0
    bad: list[tuple[dict[str, Any], str]] = [
        ({"timepoints": {"madrs": [40]}}, "unknown scale 'madrs'"),
        ({"timepoints": {"cadss": [-5]}}, "-5 is not a timepoint"),
        ({"timepoints": {"cadss": ["end"]}}, "'end' is not a timepoint"),
        ({"timepoints": {"cadss": [40, 40]}}, "twice"),
        ({"remind_before_min": "5"}, "remind_before_min must be a number"),
        ({"with_each_nibp": ["bp"]}, "unknown scale 'bp'"),
        ({"graces": 3}, "unknown key"),
    ]
    for section, message in bad:
        with pytest.raises(ScheduleConfigError, match=message):
            ScheduleSettings.from_config(section, known_scales={"cadss", "moaas"})


# ---------------------------------------------------------------- log

CADSS_ZERO = [0] * 23


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START_S + 45 * MIN)


@pytest.fixture
def log(scales: dict[str, ScaleDefinition], clock: FakeClock) -> AssessmentLog:
    return AssessmentLog(scales, clock)


def test_record_complete_makes_timepoint_done(
    log: AssessmentLog, clock: FakeClock, schedule: AssessmentSchedule
) -> None:
    answers = [1] * 23
    entry = log.record(
        "cadss",
        answers,
        EntryStatus.COMPLETE,
        who="AB",
        performed_s=clock.now() - 120,
        timepoint_id="cadss@+40min",
    )
    assert entry.score.total == 23 and entry.saved_s == clock.now()
    assert entry.performed_s == clock.now() - 120
    assert log.completed_timepoints() == {"cadss@+40min": clock.now() - 120}
    status = schedule.status(START_S, [], clock.now(), done=log.completed_timepoints())
    assert [i.id for i in status.done] == ["cadss@+40min"]
    (event,) = log.drain_events()
    assert event.kind == "scale" and event.who == "AB" and event.t_s == clock.now()
    assert event.data["total"] == 23 and event.data["status"] == "complete"
    assert event.data["subscales"] == {"depersonalization": 8, "derealization": 12, "amnesia": 3}
    assert "CADSS cadss@+40min complete: total 23/92" in event.detail
    assert log.drain_events() == []


def test_partial_is_never_counted_complete(log: AssessmentLog) -> None:
    answers: list[int | None] = [2] * 10 + [None] * 13
    entry = log.record("cadss", answers, EntryStatus.PARTIAL, timepoint_id="cadss@+40min")
    assert entry.status is EntryStatus.PARTIAL and not entry.score.complete
    assert entry.score.total == 20
    assert log.completed_timepoints() == {}
    (event,) = log.drain_events()
    assert "partial (10 of 23 answered, not a score)" in event.detail


def test_complete_with_missing_items_is_refused(log: AssessmentLog) -> None:
    answers: list[int | None] = [0] * 21 + [None, None]
    with pytest.raises(AssessmentError, match=r"item\(s\) 22, 23 unanswered.*save as partial"):
        log.record("cadss", answers, EntryStatus.COMPLETE)
    assert log.entries() == [] and log.drain_events() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"answers": [0] * 22 + [7]}, r"item 23 .*7 is out of range; allowed 0-4"),
        ({"answers": [0] * 22}, "CADSS has 23 items, got 22 answers"),
        ({"performed_s": START_S + 46 * MIN}, r"in the future; now is 0:50:00 session time"),
        ({"performed_s": -5.0}, "before the session started"),
        ({"scale_id": "madrs"}, "unknown scale 'madrs'; known: bprs_positive, cadss"),
        ({"timepoint_id": "moaas@+40min"}, "not a cadss timepoint"),
    ],
)
def test_bad_entries_are_refused(log: AssessmentLog, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"scale_id": "cadss", "answers": CADSS_ZERO, **kwargs}
    with pytest.raises(AssessmentError, match=message):
        log.record(args.pop("scale_id"), args.pop("answers"), EntryStatus.COMPLETE, **args)
    assert log.entries() == []


def test_second_complete_entry_for_a_timepoint_is_refused(log: AssessmentLog) -> None:
    log.record("cadss", CADSS_ZERO, EntryStatus.COMPLETE, timepoint_id="cadss@+40min")
    with pytest.raises(AssessmentError, match=r"already has a complete entry \(S1\)"):
        log.record("cadss", CADSS_ZERO, EntryStatus.COMPLETE, timepoint_id="cadss@+40min")


def test_edit_keeps_original_and_records_old_new_who_when_why(
    log: AssessmentLog, clock: FakeClock
) -> None:
    first = log.record("cadss", CADSS_ZERO, EntryStatus.COMPLETE, who="AB")
    log.drain_events()
    clock.advance(90)
    changed = list(CADSS_ZERO)
    changed[4] = 3
    edited = log.edit(first.entry_id, who="CD", reason="misheard item 5", answers=changed)
    assert edited.revision == 1 and edited.score.total == 3 and edited.who == "CD"
    original, current = log.history(first.entry_id)
    assert original == first and original.answers[4] == 0
    assert current == log.entry(first.entry_id) == edited
    (edit,) = log.edits(first.entry_id)
    assert (edit.who, edit.reason, edit.edited_s) == ("CD", "misheard item 5", clock.now())
    assert edit.wall_time == clock.wall_time().isoformat()
    assert [(c.field, c.old, c.new) for c in edit.changes] == [("item 5", 0, 3)]
    (event,) = log.drain_events()
    assert event.kind == "scale" and event.who == "CD"
    assert event.data["action"] == "edit" and event.data["reason"] == "misheard item 5"
    assert event.data["changes"] == [{"field": "item 5", "old": 0, "new": 3}]
    assert "item 5 0 -> 3" in event.detail


def test_partial_completed_by_edit_counts_then(log: AssessmentLog, clock: FakeClock) -> None:
    partial: list[int | None] = [1] * 20 + [None] * 3
    entry = log.record("cadss", partial, EntryStatus.PARTIAL, timepoint_id="cadss@+40min")
    assert log.completed_timepoints() == {}
    log.edit(
        entry.entry_id,
        who="AB",
        reason="observer items added",
        answers=[1] * 20 + [0, 2, 0],
        status=EntryStatus.COMPLETE,
    )
    assert log.completed_timepoints() == {"cadss@+40min": entry.performed_s}
    fields = [c.field for c in log.edits(entry.entry_id)[0].changes]
    assert fields == ["item 21", "item 22", "item 23", "status"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"who": "", "reason": "x", "answers": [1] * 23}, "needs who"),
        ({"who": "AB", "reason": " ", "answers": [1] * 23}, "needs a reason"),
        ({"who": "AB", "reason": "x"}, "changes nothing"),
        ({"who": "AB", "reason": "x", "answers": [9] * 23}, "item 1 .*allowed 0-4"),
        ({"who": "AB", "reason": "x", "performed_s": 1e9}, "in the future"),
        ({"who": "AB", "reason": "x", "answers": [None] * 23}, "cannot be saved as complete"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    log: AssessmentLog, kwargs: dict[str, Any], message: str
) -> None:
    entry = log.record("cadss", CADSS_ZERO, EntryStatus.COMPLETE, who="AB")
    with pytest.raises(AssessmentError, match=message):
        log.edit(entry.entry_id, **kwargs)
    assert log.history(entry.entry_id) == (entry,)
    assert log.edits(entry.entry_id) == ()


def test_edit_unknown_entry(log: AssessmentLog) -> None:
    with pytest.raises(AssessmentError, match="no entry 'S9'"):
        log.edit("S9", who="AB", reason="x", answers=CADSS_ZERO)


def test_edit_time_done(log: AssessmentLog, clock: FakeClock) -> None:
    entry = log.record("moaas", [5], EntryStatus.COMPLETE, who="AB")
    log.edit(entry.entry_id, who="AB", reason="entered late", performed_s=entry.performed_s - 300)
    (edit,) = log.edits(entry.entry_id)
    assert [(c.field, c.old, c.new) for c in edit.changes] == [
        ("performed_s", clock.now(), clock.now() - 300)
    ]
    assert [e.scale_id for e in log.entries("moaas")] == ["moaas"]


def test_version_grows_with_each_save_and_edit(log: AssessmentLog) -> None:
    assert log.version == 0
    entry = log.record("moaas", [5], EntryStatus.COMPLETE, who="AB")
    assert log.version == 1
    with pytest.raises(AssessmentError):
        log.record("moaas", [9], EntryStatus.COMPLETE, who="AB")
    assert log.version == 1  # a refused entry changes nothing a view shows
    log.edit(entry.entry_id, who="AB", reason="misread", answers=[4])
    assert log.version == 2


def test_score_rows_from_log_and_from_events_agree(log: AssessmentLog, clock: FakeClock) -> None:
    from ketadesk.core.assessments import score_rows, score_rows_from_events

    cadss = log.record("cadss", [1] * 23, EntryStatus.COMPLETE, who="AB", performed_s=600.0)
    log.record("cadss", [2] * 5 + [None] * 18, EntryStatus.PARTIAL, who="AB")
    log.record("moaas", [5], EntryStatus.COMPLETE, who="AB", performed_s=300.0)
    log.edit(cadss.entry_id, who="CD", reason="item 1 misheard", answers=[3] + [1] * 22)
    rows = score_rows(log.entries())
    assert rows == [
        (300.0, "moaas", 5, {}),
        (600.0, "cadss", 25, {"depersonalization": 8, "derealization": 14, "amnesia": 3}),
    ]
    assert score_rows_from_events(log.drain_events()) == rows
