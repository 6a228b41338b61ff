"""Plays a scenario's scripted clinician actions into a session, as the clinician "SCRIPT".

For demos and headless training runs (`ketadesk simulate` plays them unless --no-script); a
trainee at the GUI does the actions themselves, so the GUI plays them only in demo mode.
Each action is carried out through the same commands a person's click would use (pause with
a reason, resume, stop early, a CADSS entry, a note), so the recording cannot tell a scripted
action from a real one except by who did it. A command the session refuses (pause while not
infusing) is recorded as a note saying why, never raised: a script must not end a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketadesk.core.assessments import AssessmentError, EntryStatus
from ketadesk.core.infusion import InfusionError
from ketadesk.core.session import Session
from ketadesk.sources.simulator.scenario import CADSS_ITEMS, ActionKind, ScriptedAction

SCRIPT_WHO = "SCRIPT"
CADSS_SCALE = "cadss"


@dataclass(frozen=True)
class PlayedAction:
    """What the player did with one action at t_s: done, or refused with the reason."""

    t_s: float
    action: ScriptedAction
    done: bool
    detail: str


def cadss_answers(total: int) -> tuple[int, ...]:
    """23 item scores 0-4 that add up to `total` (spread evenly, earlier items first)."""
    if not 0 <= total <= 4 * CADSS_ITEMS:
        raise ValueError(f"a CADSS total must be 0-{4 * CADSS_ITEMS}, got {total}")
    base, extra = divmod(total, CADSS_ITEMS)
    return tuple(base + (1 if i < extra else 0) for i in range(CADSS_ITEMS))


class ScriptPlayer:
    """Carries out scripted actions when their time comes; call step(now_s) every step."""

    def __init__(self, actions: Sequence[ScriptedAction], session: Session, *,
                 origin_s: float = 0.0, who: str = SCRIPT_WHO) -> None:
        self.session = session
        self.origin_s = origin_s  # clock time of the session start ("at_min" counts from it)
        self.who = who
        self._pending = list(actions)
        self.played: list[PlayedAction] = []
        self._started_s: float | None = None  # the infusion's start, once known it stays

    @property
    def pending(self) -> tuple[ScriptedAction, ...]:
        return tuple(self._pending)

    def next_due_s(self) -> float | None:
        """When the next pending action is due (None: none, or waiting for the start)."""
        times = [t for a in self._pending if (t := self.due_s(a)) is not None]
        return min(times) if times else None

    def skip_past(self, now_s: float) -> tuple[ScriptedAction, ...]:
        """Drop the actions already due by now_s (demo mode switched on late replays nothing)."""
        past = tuple(a for a in self._pending if (t := self.due_s(a)) is not None and t <= now_s)
        self._pending = [a for a in self._pending if a not in past]
        return past

    def due_s(self, action: ScriptedAction) -> float | None:
        """The clock time the action is due, None while it depends on an unstarted infusion."""
        if action.at_min is not None:
            return self.origin_s + action.at_min * 60.0
        if self._started_s is None and self.session.infusion is not None:
            self._started_s = self.session.infusion.snapshot().started_at_s
        if self._started_s is None or action.at_infusion_min is None:
            return None
        return self._started_s + action.at_infusion_min * 60.0

    def step(self, now_s: float) -> list[PlayedAction]:
        """Do every action due by now_s, in time order; returns what was done or refused."""
        out: list[PlayedAction] = []
        if not self._pending:
            return out
        while True:
            due = [(t, i) for i, a in enumerate(self._pending)
                   if (t := self.due_s(a)) is not None and t <= now_s]
            if not due:
                return out
            _, i = min(due)
            played = self._do(self._pending.pop(i), now_s)
            self.played.append(played)
            out.append(played)

    def _do(self, action: ScriptedAction, now_s: float) -> PlayedAction:
        try:
            detail = self._perform(action, now_s)
        except (InfusionError, AssessmentError) as exc:
            text = f"scripted {action.kind.value} not done: {exc}"
            self.session.record(now_s, "note", text, self.who,
                                data={"script": action.kind.value, "refused": str(exc)})
            return PlayedAction(now_s, action, False, text)
        return PlayedAction(now_s, action, True, detail)

    def _perform(self, action: ScriptedAction, now_s: float) -> str:
        s = self.session
        kind = action.kind
        if kind is ActionKind.NOTE:
            s.record(now_s, "note", action.text, self.who, data={"script": "note"})
            return f"note: {action.text}"
        if kind is ActionKind.CADSS:
            answers = action.cadss_answers or cadss_answers(action.cadss_total or 0)
            entry = s.assessments.record(CADSS_SCALE, answers, EntryStatus.COMPLETE,
                                         who=self.who, timepoint_id=self._cadss_timepoint(now_s))
            return f"CADSS {entry.score.total} entered"
        inf = s.infusion
        if inf is None:
            raise InfusionError(f"no dose plan yet, so no infusion to {kind.value}")
        if kind is ActionKind.PAUSE:
            reason, text = self._pause_reason(action.reason)
            inf.pause(reason, text, who=self.who)
            return f"paused: {action.reason}"
        if kind is ActionKind.RESUME:
            inf.resume(who=self.who)
            return "resumed"
        inf.stop_early(action.reason or "scripted stop", who=self.who)
        return f"stopped early: {action.reason}"

    def _pause_reason(self, reason: str) -> tuple[str, str]:
        """A listed pause reason as is; anything else as the 'other' reason with the text."""
        inf = self.session.infusion
        assert inf is not None
        settings = inf.settings
        if any(r.lower() == reason.strip().lower() for r in settings.pause_reasons):
            return reason, ""
        return settings.other_reason, reason.strip() or "scripted pause"

    def _cadss_timepoint(self, now_s: float) -> str | None:
        # Count the entry for the CADSS timepoint that is due now, as a rater would.
        status = self.session.assessment_status(now_s)
        items = [i for i in (*status.due, *status.overdue) if i.scale_id == CADSS_SCALE]
        if not items:
            return None
        nearest = min(items, key=lambda i: abs((i.target_s if i.target_s is not None
                                                else float("inf")) - now_s))
        return nearest.id
