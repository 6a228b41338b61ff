"""`ketadesk record`: the GUI's pipeline run headless (no Qt imported), written to SQLite.

With the plan options of `ketadesk plan` it also runs an infusion through its phases on the
session clock, as a clinician would click them: baseline, start, completion (at the plan's total),
recovery, end. The phase events reach the recording the same way as in the GUI (session.tick ->
pipeline -> recorder). Without plan options it records monitoring only.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError
from ketadesk.cli.common import add_source_args, build_source, check_speed_for, parse_speed
from ketadesk.cli.plan_cmd import add_plan_args, confirmed_plan, has_plan_args
from ketadesk.core.dose import format_number
from ketadesk.core.infusion import Infusion, Phase
from ketadesk.core.people import parse_initials, parse_patient_id
from ketadesk.sources.base import Provenance

SIM_CLINICIAN = "SIM"  # who "clicks" in a run on simulated or replayed data


def register(sub: Any) -> None:
    p = sub.add_parser("record", help="record a source headless to a file",
                       description="Run source -> session -> recorder without a screen; with a "
                                   "plan (--weight, --dose, --concentration or a bag) also run "
                                   "the infusion: baseline, start, complete, recovery, end.")
    add_source_args(p, allow_max=True)
    p.add_argument("--minutes", type=float, default=None,
                   help="how long to record (0 < N <= 1440); with a plan the default is "
                        "baseline + infusion + recovery minutes")
    p.add_argument("--out", required=True, help="recording file to write (.db)")
    plan = p.add_argument_group("infusion plan (optional; the options of `ketadesk plan`)")
    add_plan_args(plan, required=False, minutes_flag="--infusion-minutes")
    plan.add_argument("--baseline-minutes", type=float, default=10.0,
                      help="monitoring before the infusion starts (0-240, default 10)")
    plan.add_argument("--recovery-minutes", type=float, default=60.0,
                      help="observation after the infusion until the session ends (0-720, "
                           "default 60)")
    plan.add_argument("--clinician", default=None, metavar="INITIALS",
                      help=f"initials recorded on every command (1-5 letters); default "
                           f"{SIM_CLINICIAN} on simulated or replayed data, required on a live "
                           "source")
    plan.add_argument("--patient-id", default="", metavar="ID",
                      help="pseudonymous patient id for the record (optional)")
    p.set_defaults(func=run)


@dataclass
class InfusionScript:
    """Gives the infusion's commands at set times, as a clinician would (headless runs, demos).

    start_at_s: when to start; recovery_s: observation after the infusion ended before the
    session is ended (None: stop at COMPLETE, leaving recovery to a person).
    """

    infusion: Infusion
    who: str
    start_at_s: float
    recovery_s: float | None = None

    def step(self) -> None:
        """Call before each pipeline step, so the commands' events reach that step's tick."""
        snap = self.infusion.snapshot()
        if snap.phase is Phase.BASELINE and snap.t_s >= self.start_at_s:
            self.infusion.start(who=self.who)
        elif self.recovery_s is None:
            return
        elif snap.phase in (Phase.COMPLETE, Phase.STOPPED_EARLY):
            self.infusion.begin_recovery(who=self.who)
            self.step()  # a zero-minute recovery ends at once
        elif snap.phase is Phase.RECOVERY and (snap.recovery_elapsed_s or 0.0) >= self.recovery_s:
            early = "" if snap.discharge_assessable else (
                f"scripted end after {format_number(self.recovery_s / 60, 1)} min of recovery")
            self.infusion.end(who=self.who, reason=early)


def _check_range(value: float, flag: str, low: float, high: float) -> None:
    if not low <= value <= high:
        raise CliError(f"{flag} {value:g} is out of range; allowed: {low:g} to {high:g}")


def run(args: argparse.Namespace) -> int:
    from ketadesk.core.clock import Clock, FakeClock, MonotonicClock, ScaledClock
    from ketadesk.core.pipeline import Pipeline
    from ketadesk.core.session import Session
    from ketadesk.store.session_recorder import SessionRecorder

    with_plan = has_plan_args(args)
    _check_range(args.baseline_minutes, "--baseline-minutes", 0, 240)
    _check_range(args.recovery_minutes, "--recovery-minutes", 0, 720)
    speed = parse_speed(args.speed, allow_max=True)
    source = build_source(args)
    check_speed_for(source, speed)
    who, patient = _people(args, source.info.provenance, with_plan)
    plan = confirmed_plan(args, who) if with_plan else None
    minutes = args.minutes
    if minutes is None:
        if plan is None:
            raise CliError("--minutes is required without a plan (or give the plan options)")
        minutes = args.baseline_minutes + plan.numbers.duration_min + args.recovery_minutes
    if not 0 < minutes <= 1440:
        raise CliError(f"--minutes {minutes:g} is out of range; allowed: more than 0, at most 1440")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CliError(f"--out {out}: directory {out.parent} does not exist")
    if out.exists():
        raise CliError(f"--out {out} exists already; choose a new file "
                       "(recordings are never overwritten)")

    clock: Clock
    fake: FakeClock | None = None
    if speed is None:
        clock = fake = FakeClock()
    else:
        clock = ScaledClock(MonotonicClock(), speed)
    source.open(clock)
    session = Session(clock, source.info)
    session.clinician, session.patient_id = who, patient
    script: InfusionScript | None = None
    if plan is not None:
        script = InfusionScript(session.set_plan(plan), who, args.baseline_minutes * 60.0,
                                args.recovery_minutes * 60.0)
    recorder = SessionRecorder.start(session, path=out)
    pipeline = Pipeline(source, session, recorder)
    end_s = minutes * 60.0
    try:
        if script is not None:
            script.step()  # a zero-minute baseline starts at once
        while clock.now() < end_s:
            if fake is not None:
                fake.advance(min(1.0, end_s - fake.now()))
            else:
                time.sleep(0.04)  # real-time pacing, as the GUI's 25 Hz timer would
            if script is not None:
                script.step()
            pipeline.step(clock.now())
    except KeyboardInterrupt:
        print("interrupted; the recording so far is kept")
    finally:
        source.close()
        recorder.close(clock.now())
    phase = "" if session.infusion is None else f"; infusion {session.infusion.phase.value}"
    print(f"recorded {clock.now() / 60:.1f} min from {source.info.name} "
          f"({source.info.provenance.value}) to {out}{phase}")
    return 0


def _people(args: argparse.Namespace, provenance: Provenance, with_plan: bool) -> tuple[str, str]:
    """Initials and patient id; a live source's plan needs a real person's initials."""
    text = args.clinician
    if text is None:
        if with_plan and provenance is Provenance.LIVE:
            raise CliError("--clinician INITIALS is required for a plan on a live source")
        text = SIM_CLINICIAN if with_plan else ""
    try:
        who = parse_initials(text) if text else ""
        return who, parse_patient_id(args.patient_id)
    except ValueError as exc:
        raise CliError(str(exc)) from None
