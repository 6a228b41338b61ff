"""`ketadesk simulate` (a whole simulated session, headless) and `ketadesk scenarios`.

simulate runs baseline, infusion and recovery on the simulator with the alarm engine and the
recorder (the GUI's pipeline, no Qt), at --speed max in seconds. The scenario's scripted
clinician actions are played by default (--no-script to leave the infusion alone); the
recording's meta says provenance "simulated" with the scenario and seed, so every reader can
label it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError
from ketadesk.cli.common import parse_speed

# At full speed a step covers this much simulated time: 40 % less work than 1 s steps, the
# same samples and command times (see core/headless.py); the GUI at 60x steps 2.4 s anyway.
MAX_SPEED_STEP_S = 5.0


def register(sub: Any) -> None:
    s = sub.add_parser("scenarios", help="list the simulator's scenarios",
                       description="The shipped simulator scenarios with what they teach.")
    s.set_defaults(func=run_scenarios)

    p = sub.add_parser(
        "simulate", help="run a whole simulated session headless and record it",
        description="Baseline, infusion and recovery on the simulated patient, with alarms and "
                    "the recorder, written to a recording that export and review open.")
    p.add_argument("--scenario", default="normal", help="scenario name (see `ketadesk "
                                                        "scenarios`; default normal)")
    p.add_argument("--weight", type=float, required=True, help="patient weight, kg (30-250)")
    p.add_argument("--dose", type=float, required=True, help="dose, mg/kg (e.g. 0.5)")
    p.add_argument("--duration-minutes", type=float, default=40.0,
                   help="infusion duration, minutes (default 40)")
    p.add_argument("--concentration", type=float, default=1.0,
                   help="syringe/bag concentration, mg/mL (default 1)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: the scenario's); the same seed, the same recording")
    p.add_argument("--profile", default="", help="patient profile instead of the scenario's")
    p.add_argument("--pk-model", default="", help="clements (default) or domino")
    p.add_argument("--speed", default="max",
                   help="simulated seconds per real second, 1-60, or max (default)")
    p.add_argument("--baseline-minutes", type=float, default=10.0,
                   help="monitoring before the start, minutes (default 10)")
    p.add_argument("--recovery-minutes", type=float, default=60.0,
                   help="observation after the infusion ends, minutes (default 60)")
    p.add_argument("--no-script", action="store_true",
                   help="do not play the scenario's scripted clinician actions")
    p.add_argument("--who", default="SIM", help="initials stamped on the protocol's commands "
                                                "(default SIM; scripted actions are SCRIPT)")
    p.add_argument("--out", required=True, help="recording file to write")
    p.set_defaults(func=run_simulate)


def run_scenarios(args: argparse.Namespace) -> int:
    from ketadesk.sources.simulator.scenario import (
        ScenarioError,
        load_named_scenario,
        scenario_names,
    )

    for name in scenario_names():
        try:
            sc = load_named_scenario(name)
        except ScenarioError as exc:
            print(f"{name}\n  (cannot be loaded: {exc})\n")
            continue
        print(f"{sc.name}: {sc.title}")
        print(f"  {' '.join(sc.description.split())}")
        for objective in sc.learning_objectives:
            print(f"  - {objective}")
        scripted = f"{len(sc.actions)} scripted action(s)" if sc.actions else "no scripted actions"
        print(f"  patient: {sc.patient.name}, {sc.patient.weight_kg:g} kg; seed {sc.seed}; "
              f"{scripted}\n")
    return 0


def _plan(args: argparse.Namespace) -> Any:
    from ketadesk.core.dose import PlanInputs, Severity, confirm_plan

    inputs = PlanInputs(weight=args.weight, dose_mg_per_kg=args.dose,
                        duration_min=args.duration_minutes,
                        concentration_mg_per_ml=args.concentration)
    decision = confirm_plan(inputs, who=args.who)
    questions = [f.code for f in decision.check.findings if f.severity is Severity.QUESTION]
    if questions and not decision.confirmed:
        # A simulation may ask an unusual question ("150 kg: did you mean lb?"); answering it
        # yes is recorded as an acknowledgement, as at the bedside.
        decision = confirm_plan(inputs, who=args.who, acknowledged=questions)
    if decision.plan is None:
        raise CliError("the dose plan is not allowed: " + "; ".join(
            f"{f.message} ({f.severity.value})" for f in decision.blocking))
    return decision.plan


def _source(args: argparse.Namespace) -> Any:
    from ketadesk.sources.base import SourceError
    from ketadesk.sources.simulator.source import SimulatorSource

    opts = {"scenario": args.scenario, "profile": args.profile}
    if args.seed is not None:
        if args.seed < 0:
            raise CliError(f"--seed must be a whole number >= 0, got {args.seed}")
        opts["seed"] = str(args.seed)
    if args.pk_model:
        opts["pk_model"] = args.pk_model
    try:
        return SimulatorSource(**opts)
    except SourceError as exc:
        raise CliError(str(exc)) from None


def run_simulate(args: argparse.Namespace) -> int:
    from ketadesk.cli.gui_cmd import simulation_meta
    from ketadesk.core.clock import Clock, FakeClock, MonotonicClock, ScaledClock
    from ketadesk.core.headless import HeadlessError, HeadlessTimeline, run_session
    from ketadesk.core.pipeline import Pipeline
    from ketadesk.core.session import Session
    from ketadesk.sources.simulator.script_player import ScriptPlayer
    from ketadesk.store.session_recorder import SessionRecorder

    speed = parse_speed(args.speed, allow_max=True)
    try:
        timeline = HeadlessTimeline(args.baseline_minutes, args.recovery_minutes)
    except HeadlessError as exc:
        raise CliError(str(exc).replace("baseline_min", "--baseline-minutes")
                       .replace("recovery_min", "--recovery-minutes")) from None
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CliError(f"--out {out}: directory {out.parent} does not exist")
    if out.exists():
        raise CliError(f"--out {out} exists already; choose a new file (recordings are never "
                       "overwritten)")
    plan = _plan(args)
    source = _source(args)

    clock: Clock
    if speed is None:
        fake = FakeClock()
        clock, advance = fake, fake.advance
    else:
        clock = ScaledClock(MonotonicClock(), speed)
        scale = speed

        def advance(dt_s: float) -> None:
            time.sleep(dt_s / scale)

    source.open(clock)
    session = Session(clock, source.info)
    session.clinician = args.who
    meta = {**simulation_meta(source), "scripted": not args.no_script}
    recorder = SessionRecorder.start(session, path=out, config=meta)
    pipeline = Pipeline(source, session,
                        recorder if speed is not None else _CommitEvery(recorder, 300.0))
    player = None if args.no_script else ScriptPlayer(source.scenario.actions, session,
                                                      origin_s=clock.now())
    wall_start = time.perf_counter()
    try:
        result = run_session(pipeline, plan, advance, timeline, who=args.who,
                             on_step=None if player is None else player.step,
                             next_due_s=None if player is None else player.next_due_s,
                             step_s=MAX_SPEED_STEP_S if speed is None else 1.0)
    except KeyboardInterrupt:
        print("interrupted; the recording so far is kept")
        result = None
    finally:
        source.close()
        recorder.close(clock.now())
    took_s = time.perf_counter() - wall_start
    _summary(out, source, session, player, took_s, result)
    return 0


class _CommitEvery:
    """At full speed a commit (an fsync) per simulated second would be most of the run time;
    a rerun gives the same recording, so committing every few simulated minutes is enough."""

    def __init__(self, recorder: Any, every_s: float) -> None:
        self.recorder = recorder
        self.every_s = every_s
        self._last_s = -float("inf")

    def add_batch(self, batch: Any) -> None:
        self.recorder.add_batch(batch)

    def add_events(self, events: list[Any]) -> None:
        self.recorder.add_events(events)

    def flush(self, now_s: float) -> None:
        if now_s - self._last_s >= self.every_s:
            self._last_s = now_s
            self.recorder.flush(now_s)


def _summary(out: Path, source: Any, session: Any, player: Any, took_s: float,
             result: Any) -> None:
    raised = [e for e in session.events if e.kind == "alarm" and e.data.get("state") == "raised"]
    print(f"simulated {session.clock.now() / 60:.1f} min (SIMULATION: scenario "
          f"{source.scenario.name}, {source.profile.name}, seed {source.seed}) to {out} in "
          f"{took_s:.1f} s")
    if result is not None and result.stopped_early:
        print("  the infusion was stopped early")
    if player is not None:
        for p in player.played:
            print(f"  script {p.t_s / 60:6.1f} min: {p.detail}")
    print(f"  {len(raised)} alarm(s) raised" + (": " if raised else ""))
    seen: dict[str, int] = {}
    for e in raised:
        seen[str(e.data.get("alarm_id", e.detail))] = seen.get(
            str(e.data.get("alarm_id", e.detail)), 0) + 1
    for alarm_id, n in sorted(seen.items()):
        print(f"    {alarm_id} x{n}")
