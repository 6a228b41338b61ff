"""When rating scales are due, and the record of the ones done.

AssessmentSchedule turns the protocol (defaults.toml [assessments]: CADSS at baseline, +40,
+80, +120 min after the infusion start; MOAA/S with every NIBP cycle during the infusion)
into timepoints that are upcoming, due, overdue or done at a given moment. Being due is a
reminder for the clinician, never an alarm.

AssessmentLog keeps the entries: answers, partial or complete, the time each was really
done, who entered it. Editing an entry keeps every earlier revision and records old and new
values, who, when and why. Each save and edit yields one SessionEvent of kind "scale".
All times are monotonic seconds since session start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from ketadesk.core.clock import Clock
from ketadesk.core.events import SessionEvent
from ketadesk.core.scales import (
    AnswerError,
    ScaleDefinition,
    ScaleScore,
    score,
    validate_answers,
)

BASELINE = "baseline"


class AssessmentError(ValueError):
    """An entry or edit that cannot be accepted; the message says what and what is allowed."""


class ScheduleConfigError(ValueError):
    """An [assessments] configuration that cannot be used."""


# ---------------------------------------------------------------- schedule


class TimepointKind(Enum):
    BASELINE = "baseline"  # before the infusion starts
    AFTER_START = "after_start"  # a fixed number of minutes after the infusion start
    WITH_NIBP = "with_nibp"  # with one NIBP cycle during the infusion


class TimepointState(Enum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"


@dataclass(frozen=True)
class ScheduleSettings:
    """The protocol: which scales when, and how long before/after a timepoint counts."""

    # (scale id, minutes after the infusion start; None = baseline), in the order written
    timepoints: tuple[tuple[str, float | None], ...]
    with_each_nibp: tuple[str, ...] = ()
    remind_before_s: float = 300.0
    overdue_after_s: float = 600.0
    nibp_overdue_after_s: float = 300.0

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], known_scales: Collection[str] | None = None
    ) -> ScheduleSettings:
        """From defaults.toml [assessments]; ScheduleConfigError names the bad key."""
        allowed = {
            "timepoints",
            "with_each_nibp",
            "remind_before_min",
            "overdue_after_min",
            "nibp_overdue_after_min",
        }
        unknown = sorted(set(section) - allowed)
        if unknown:
            raise ScheduleConfigError(
                f"[assessments] has unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )

        def check_scale(scale_id: object, where: str) -> str:
            if not isinstance(scale_id, str):
                raise ScheduleConfigError(f"{where}: scale id must be text, got {scale_id!r}")
            if known_scales is not None and scale_id not in known_scales:
                raise ScheduleConfigError(
                    f"{where}: unknown scale {scale_id!r}; known: {', '.join(sorted(known_scales))}"
                )
            return scale_id

        raw_points = section.get("timepoints", {})
        if not isinstance(raw_points, Mapping):
            raise ScheduleConfigError("[assessments.timepoints] must be a table: scale = [...]")
        timepoints: list[tuple[str, float | None]] = []
        for scale_id, times in raw_points.items():
            where = f"[assessments.timepoints] {scale_id}"
            check_scale(scale_id, where)
            if not isinstance(times, list):
                raise ScheduleConfigError(f'{where} must be a list such as ["baseline", 40]')
            for t in times:
                if t == BASELINE:
                    timepoints.append((scale_id, None))
                elif isinstance(t, int | float) and not isinstance(t, bool) and t >= 0:
                    timepoints.append((scale_id, float(t)))
                else:
                    raise ScheduleConfigError(
                        f'{where}: {t!r} is not a timepoint; allowed: "baseline" or '
                        "minutes after the infusion start (a number >= 0)"
                    )
        if len(set(timepoints)) != len(timepoints):
            raise ScheduleConfigError("[assessments.timepoints] lists a timepoint twice")

        nibp = section.get("with_each_nibp", [])
        if not isinstance(nibp, list):
            raise ScheduleConfigError("[assessments] with_each_nibp must be a list of scale ids")
        with_nibp = tuple(check_scale(s, "[assessments] with_each_nibp") for s in nibp)

        def minutes(key: str, default_min: float) -> float:
            value = section.get(key, default_min)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ScheduleConfigError(
                    f"[assessments] {key} must be a number of minutes >= 0, got {value!r}"
                )
            return float(value) * 60.0

        return cls(
            timepoints=tuple(timepoints),
            with_each_nibp=with_nibp,
            remind_before_s=minutes("remind_before_min", 5.0),
            overdue_after_s=minutes("overdue_after_min", 10.0),
            nibp_overdue_after_s=minutes("nibp_overdue_after_min", 5.0),
        )


@dataclass(frozen=True)
class TimepointStatus:
    id: str  # stable key an entry refers to, e.g. "cadss@+40min", "moaas@nibp:1234.0s"
    scale_id: str
    kind: TimepointKind
    label: str  # e.g. "CADSS +40 min"
    state: TimepointState
    target_s: float | None  # when it is meant to be done; None while the start is unknown
    due_from_s: float | None  # reminder from here; None = due now (baseline before start)
    overdue_from_s: float | None  # overdue from here; None while the start is unknown
    done_s: float | None = None  # when it was really done (complete entries only)


@dataclass(frozen=True)
class ScheduleStatus:
    now_s: float
    items: tuple[TimepointStatus, ...]  # ordered by target time, baselines first

    def _in(self, state: TimepointState) -> tuple[TimepointStatus, ...]:
        return tuple(i for i in self.items if i.state is state)

    @property
    def due(self) -> tuple[TimepointStatus, ...]:
        return self._in(TimepointState.DUE)

    @property
    def overdue(self) -> tuple[TimepointStatus, ...]:
        return self._in(TimepointState.OVERDUE)

    @property
    def upcoming(self) -> tuple[TimepointStatus, ...]:
        return self._in(TimepointState.UPCOMING)

    @property
    def done(self) -> tuple[TimepointStatus, ...]:
        return self._in(TimepointState.DONE)


def timepoint_id(scale_id: str, minutes_after_start: float | None) -> str:
    if minutes_after_start is None:
        return f"{scale_id}@{BASELINE}"
    return f"{scale_id}@+{minutes_after_start:g}min"


def nibp_timepoint_id(scale_id: str, nibp_cycle_s: float) -> str:
    return f"{scale_id}@nibp:{nibp_cycle_s:.1f}s"


class AssessmentSchedule:
    """Timepoints and their state at a moment; pure: the caller supplies every time."""

    def __init__(
        self, settings: ScheduleSettings, short_names: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self._names = dict(short_names or {})

    @classmethod
    def from_defaults(
        cls, scales: Mapping[str, ScaleDefinition], section: Mapping[str, Any] | None = None
    ) -> AssessmentSchedule:
        """From defaults.toml [assessments] (or the given section), checked against `scales`."""
        if section is None:
            from ketadesk.core.config import defaults

            section = defaults().get("assessments", {})
        settings = ScheduleSettings.from_config(section, known_scales=scales.keys())
        return cls(settings, {k: d.short_name for k, d in scales.items()})

    def _name(self, scale_id: str) -> str:
        return self._names.get(scale_id, scale_id)

    def status(
        self,
        infusion_start_s: float | None,
        nibp_cycle_s: Sequence[float],
        now_s: float,
        *,
        infusion_end_s: float | None = None,
        done: Mapping[str, float] | None = None,
    ) -> ScheduleStatus:
        """Every timepoint's state at now_s.

        infusion_start_s is None before the infusion starts: baselines are then due and the
        timed points upcoming with no time yet. NIBP cycles count for `with_each_nibp` scales
        when they fall between the start and infusion_end_s (None = still running) and are
        not in the future. `done` maps timepoint id -> time really done (complete entries).
        """
        if infusion_start_s is not None and infusion_start_s > now_s:
            raise ValueError(
                f"infusion start {infusion_start_s:.1f} s is after now ({now_s:.1f} s)"
            )
        done = done or {}
        s = self.settings
        if infusion_start_s is not None:
            infusion_start_s = float(infusion_start_s)
        items: list[TimepointStatus] = []
        for scale_id, minutes in s.timepoints:
            tid = timepoint_id(scale_id, minutes)
            if minutes is None:
                kind = TimepointKind.BASELINE
                label = f"{self._name(scale_id)} baseline"
                # A baseline is for before the drug: once the infusion runs it is overdue.
                target, due_from, overdue_from = infusion_start_s, None, infusion_start_s
            else:
                kind = TimepointKind.AFTER_START
                label = f"{self._name(scale_id)} +{minutes:g} min"
                if infusion_start_s is None:
                    target = due_from = overdue_from = None
                else:
                    target = infusion_start_s + minutes * 60.0
                    due_from = target - s.remind_before_s
                    overdue_from = target + s.overdue_after_s
            items.append(
                self._one(tid, scale_id, kind, label, target, due_from, overdue_from, now_s, done)
            )
        if infusion_start_s is not None:
            end_s = now_s if infusion_end_s is None else min(infusion_end_s, now_s)
            for cycle_s in sorted(float(c) for c in nibp_cycle_s):
                if not infusion_start_s <= cycle_s <= end_s:
                    continue
                minutes_in = (cycle_s - infusion_start_s) / 60.0
                for scale_id in s.with_each_nibp:
                    items.append(
                        self._one(
                            nibp_timepoint_id(scale_id, cycle_s),
                            scale_id,
                            TimepointKind.WITH_NIBP,
                            f"{self._name(scale_id)} with NIBP at +{minutes_in:.0f} min",
                            cycle_s,
                            cycle_s,
                            cycle_s + s.nibp_overdue_after_s,
                            now_s,
                            done,
                        )
                    )
        items.sort(key=lambda i: (i.kind is not TimepointKind.BASELINE, _order_key(i.target_s)))
        return ScheduleStatus(now_s=now_s, items=tuple(items))

    @staticmethod
    def _one(
        tid: str,
        scale_id: str,
        kind: TimepointKind,
        label: str,
        target: float | None,
        due_from: float | None,
        overdue_from: float | None,
        now_s: float,
        done: Mapping[str, float],
    ) -> TimepointStatus:
        if tid in done:
            state = TimepointState.DONE
        elif overdue_from is not None and now_s >= overdue_from:
            state = TimepointState.OVERDUE
        elif kind is TimepointKind.BASELINE or (due_from is not None and now_s >= due_from):
            state = TimepointState.DUE
        else:
            state = TimepointState.UPCOMING
        return TimepointStatus(
            tid, scale_id, kind, label, state, target, due_from, overdue_from, done.get(tid)
        )


def _order_key(target_s: float | None) -> float:
    return float("inf") if target_s is None else target_s


class ReminderTracker:
    """Says once when a timepoint becomes due and once when it becomes overdue.

    The session calls update() every tick and turns what it returns into a reminder for the
    clinician (not an alarm); a state already announced is not repeated.
    """

    def __init__(self) -> None:
        self._announced: dict[str, TimepointState] = {}

    def update(self, status: ScheduleStatus) -> list[TimepointStatus]:
        news: list[TimepointStatus] = []
        for item in status.items:
            announce = item.state in (TimepointState.DUE, TimepointState.OVERDUE)
            if announce and self._announced.get(item.id) is not item.state:
                news.append(item)
            self._announced[item.id] = item.state
        return news


# ---------------------------------------------------------------- log of entries


class EntryStatus(Enum):
    PARTIAL = "partial"  # saved unfinished; never counted as a done timepoint
    COMPLETE = "complete"


@dataclass(frozen=True)
class AssessmentEntry:
    """One revision of one entry; revision 0 is the original as first saved."""

    entry_id: str
    revision: int
    scale_id: str
    answers: tuple[int | None, ...]  # in item order; None = unanswered (partial only)
    status: EntryStatus
    score: ScaleScore
    performed_s: float  # when the assessment was really done
    saved_s: float  # when this revision was saved
    who: str  # who saved this revision
    timepoint_id: str | None  # the schedule's timepoint, None for an unscheduled rating


@dataclass(frozen=True)
class FieldChange:
    field: str  # "item 5", "status", "performed_s"
    old: Any
    new: Any


@dataclass(frozen=True)
class AssessmentEdit:
    entry_id: str
    revision: int  # the revision this edit created
    edited_s: float
    wall_time: str
    who: str
    reason: str
    changes: tuple[FieldChange, ...]


@dataclass
class _Record:
    revisions: list[AssessmentEntry] = field(default_factory=list)
    edits: list[AssessmentEdit] = field(default_factory=list)


class AssessmentLog:
    """Entries and edits of the session's rating scales, with an audit trail."""

    def __init__(self, scales: Mapping[str, ScaleDefinition], clock: Clock) -> None:
        self._scales = dict(scales)
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._events: list[SessionEvent] = []
        self._version = 0

    # ---- saving

    def record(
        self,
        scale_id: str,
        answers: Sequence[int | None],
        status: EntryStatus,
        *,
        who: str = "",
        performed_s: float | None = None,
        timepoint_id: str | None = None,
    ) -> AssessmentEntry:
        """Save a new entry (performed now unless performed_s says otherwise)."""
        definition = self._definition(scale_id)
        now_s = self._clock.now()
        performed = now_s if performed_s is None else performed_s
        checked, result = self._check(definition, answers, status, performed, now_s)
        self._check_timepoint(scale_id, timepoint_id, status, exclude=None)
        entry = AssessmentEntry(
            entry_id=f"S{len(self._records) + 1}",
            revision=0,
            scale_id=scale_id,
            answers=checked,
            status=status,
            score=result,
            performed_s=float(performed),
            saved_s=now_s,
            who=who.strip(),
            timepoint_id=timepoint_id,
        )
        self._records[entry.entry_id] = _Record(revisions=[entry])
        self._version += 1
        self._emit(entry, "record", f"{_summary(definition, entry)}", {})
        return entry

    def edit(
        self,
        entry_id: str,
        *,
        who: str,
        reason: str,
        answers: Sequence[int | None] | None = None,
        status: EntryStatus | None = None,
        performed_s: float | None = None,
    ) -> AssessmentEntry:
        """Change a saved entry; earlier revisions stay, the edit records old/new, who, why."""
        record = self._records.get(entry_id)
        if record is None:
            raise AssessmentError(f"no entry {entry_id!r}; known: {', '.join(self._records)}")
        if not who.strip():
            raise AssessmentError("an edit needs who made it (initials)")
        if not reason.strip():
            raise AssessmentError("an edit needs a reason")
        old = record.revisions[-1]
        definition = self._definition(old.scale_id)
        now_s = self._clock.now()
        new_answers = old.answers if answers is None else answers
        new_status = old.status if status is None else status
        new_performed = old.performed_s if performed_s is None else performed_s
        checked, result = self._check(definition, new_answers, new_status, new_performed, now_s)
        self._check_timepoint(old.scale_id, old.timepoint_id, new_status, exclude=entry_id)

        changes: list[FieldChange] = [
            FieldChange(f"item {item.number}", a, b)
            for item, a, b in zip(definition.items, old.answers, checked, strict=True)
            if a != b
        ]
        if new_status is not old.status:
            changes.append(FieldChange("status", old.status.value, new_status.value))
        if float(new_performed) != old.performed_s:
            changes.append(FieldChange("performed_s", old.performed_s, float(new_performed)))
        if not changes:
            raise AssessmentError(f"edit of {entry_id} changes nothing")

        entry = replace(
            old,
            revision=old.revision + 1,
            answers=checked,
            status=new_status,
            score=result,
            performed_s=float(new_performed),
            saved_s=now_s,
            who=who.strip(),
        )
        edit = AssessmentEdit(
            entry_id=entry_id,
            revision=entry.revision,
            edited_s=now_s,
            wall_time=self._clock.wall_time().isoformat(),
            who=who.strip(),
            reason=reason.strip(),
            changes=tuple(changes),
        )
        record.revisions.append(entry)
        record.edits.append(edit)
        self._version += 1
        change_text = "; ".join(f"{c.field} {c.old} -> {c.new}" for c in changes)
        self._emit(
            entry,
            "edit",
            f"{entry_id} edited ({change_text}; reason: {edit.reason}): "
            f"{_summary(definition, entry)}",
            {
                "reason": edit.reason,
                "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in changes],
            },
        )
        return entry

    # ---- reading

    @property
    def version(self) -> int:
        """Grows by one with every save and edit: a view redraws only when it has changed."""
        return self._version

    def entries(self, scale_id: str | None = None) -> list[AssessmentEntry]:
        """The current revision of every entry, in the order first saved."""
        current = [r.revisions[-1] for r in self._records.values()]
        return [e for e in current if scale_id is None or e.scale_id == scale_id]

    def entry(self, entry_id: str) -> AssessmentEntry:
        return self._records[entry_id].revisions[-1]

    def history(self, entry_id: str) -> tuple[AssessmentEntry, ...]:
        """Every revision, the original first."""
        return tuple(self._records[entry_id].revisions)

    def edits(self, entry_id: str) -> tuple[AssessmentEdit, ...]:
        return tuple(self._records[entry_id].edits)

    def completed_timepoints(self) -> dict[str, float]:
        """Timepoint id -> time really done, for complete entries only (the schedule's `done`)."""
        return {
            e.timepoint_id: e.performed_s
            for e in self.entries()
            if e.timepoint_id is not None and e.status is EntryStatus.COMPLETE
        }

    def drain_events(self) -> list[SessionEvent]:
        """SessionEvents (kind "scale") produced since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    # ---- helpers

    def _definition(self, scale_id: str) -> ScaleDefinition:
        try:
            return self._scales[scale_id]
        except KeyError:
            raise AssessmentError(
                f"unknown scale {scale_id!r}; known: {', '.join(sorted(self._scales))}"
            ) from None

    @staticmethod
    def _check(
        definition: ScaleDefinition,
        answers: Sequence[int | None],
        status: EntryStatus,
        performed_s: float,
        now_s: float,
    ) -> tuple[tuple[int | None, ...], ScaleScore]:
        if not isinstance(status, EntryStatus):
            raise AssessmentError(f"status must be partial or complete, got {status!r}")
        try:
            checked = validate_answers(definition, answers)
        except AnswerError as exc:
            raise AssessmentError(str(exc)) from None
        result = score(definition, checked)
        if status is EntryStatus.COMPLETE and not result.complete:
            missing = ", ".join(str(n) for n in result.missing)
            raise AssessmentError(
                f"{definition.short_name} cannot be saved as complete: item(s) {missing} "
                "unanswered; answer them or save as partial"
            )
        if not isinstance(performed_s, int | float) or isinstance(performed_s, bool):
            raise AssessmentError(f"the time done must be a number of seconds: {performed_s!r}")
        if performed_s > now_s:
            raise AssessmentError(
                f"the time done ({_clock_text(performed_s)}) is in the future; "
                f"now is {_clock_text(now_s)}"
            )
        if performed_s < 0:
            raise AssessmentError(
                f"the time done ({performed_s:.0f} s) is before the session started"
            )
        return checked, result

    def _check_timepoint(
        self, scale_id: str, tid: str | None, status: EntryStatus, exclude: str | None
    ) -> None:
        if tid is None:
            return
        if not tid.startswith(f"{scale_id}@"):
            raise AssessmentError(f"timepoint {tid!r} is not a {scale_id} timepoint")
        if status is not EntryStatus.COMPLETE:
            return
        for e in self.entries():
            if e.entry_id != exclude and e.timepoint_id == tid and e.status is EntryStatus.COMPLETE:
                raise AssessmentError(
                    f"timepoint {tid} already has a complete entry ({e.entry_id}); "
                    "edit that entry instead"
                )

    def _emit(
        self, entry: AssessmentEntry, action: str, detail: str, extra: dict[str, Any]
    ) -> None:
        data: dict[str, Any] = {
            "action": action,
            "entry_id": entry.entry_id,
            "revision": entry.revision,
            "scale": entry.scale_id,
            "timepoint": entry.timepoint_id,
            "status": entry.status.value,
            "answers": list(entry.answers),
            "total": entry.score.total,
            "subscales": dict(entry.score.subscales),
            "missing": list(entry.score.missing),
            "performed_s": entry.performed_s,
            **extra,
        }
        self._events.append(
            SessionEvent(
                t_s=entry.saved_s,
                wall_time=self._clock.wall_time().isoformat(),
                kind="scale",
                detail=detail,
                who=entry.who,
                data=data,
            )
        )


# (time really done, scale id, total, subscale id -> total): one point of a trend strip.
ScoreRow = tuple[float, str, int, dict[str, int]]


def score_rows(entries: Iterable[AssessmentEntry]) -> list[ScoreRow]:
    """The complete entries as strip points, by time done (a partial is not a score)."""
    rows = [
        (e.performed_s, e.scale_id, e.score.total, dict(e.score.subscales))
        for e in entries
        if e.status is EntryStatus.COMPLETE
    ]
    return sorted(rows, key=lambda r: r[0])


def score_rows_from_events(events: Iterable[SessionEvent]) -> list[ScoreRow]:
    """The same points from a stored session's "scale" events: the last revision of each
    entry counts (review mode feeds the strip from the recording, not from a live log)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for ev in events:
        if ev.kind == "scale" and "entry_id" in ev.data:
            latest[str(ev.data["entry_id"])] = ev.data
    rows: list[ScoreRow] = []
    for data in latest.values():
        if data.get("status") != EntryStatus.COMPLETE.value:
            continue
        subs = {str(k): int(v) for k, v in dict(data.get("subscales") or {}).items()}
        rows.append((float(data["performed_s"]), str(data["scale"]), int(data["total"]), subs))
    return sorted(rows, key=lambda r: r[0])


def _summary(definition: ScaleDefinition, entry: AssessmentEntry) -> str:
    where = entry.timepoint_id or "unscheduled"
    subs = ", ".join(f"{k} {v}" for k, v in entry.score.subscales.items())
    subs_text = f" ({subs})" if subs else ""
    if entry.status is EntryStatus.COMPLETE:
        return (
            f"{definition.short_name} {where} complete: total {entry.score.total}"
            f"/{definition.max_total}{subs_text} done at {_clock_text(entry.performed_s)}"
        )
    answered = len(entry.answers) - len(entry.score.missing)
    return (
        f"{definition.short_name} {where} partial ({answered} of {len(entry.answers)} "
        f"answered, not a score): running total {entry.score.total}{subs_text}"
    )


def _clock_text(t_s: float) -> str:
    """Session time as h:mm:ss, for messages."""
    whole = int(t_s)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d} session time"
