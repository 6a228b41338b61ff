"""`ketadesk record`: the GUI's pipeline run headless (no Qt imported), written to SQLite."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError
from ketadesk.cli.common import add_source_args, build_source, check_speed_for, parse_speed


def register(sub: Any) -> None:
    p = sub.add_parser("record", help="record a source headless to a file",
                       description="Run source -> session -> recorder without a screen.")
    add_source_args(p, allow_max=True)
    p.add_argument("--minutes", type=float, required=True, help="how long to record (0 < N <= 1440)")
    p.add_argument("--out", required=True, help="recording file to write (.db)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ketadesk.core.clock import Clock, FakeClock, MonotonicClock, ScaledClock
    from ketadesk.core.pipeline import Pipeline
    from ketadesk.core.session import Session
    from ketadesk.store.session_recorder import SessionRecorder

    if not 0 < args.minutes <= 1440:
        raise CliError(f"--minutes {args.minutes:g} is out of range; allowed: more than 0, at most 1440")
    speed = parse_speed(args.speed, allow_max=True)
    source = build_source(args)
    check_speed_for(source, speed)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CliError(f"--out {out}: directory {out.parent} does not exist")
    if out.exists():
        raise CliError(f"--out {out} exists already; choose a new file (recordings are never overwritten)")

    clock: Clock
    fake: FakeClock | None = None
    if speed is None:
        clock = fake = FakeClock()
    else:
        clock = ScaledClock(MonotonicClock(), speed)
    source.open(clock)
    session = Session(clock, source.info)
    recorder = SessionRecorder.start(session, path=out)
    pipeline = Pipeline(source, session, recorder)
    end_s = args.minutes * 60.0
    try:
        while clock.now() < end_s:
            if fake is not None:
                fake.advance(min(1.0, end_s - fake.now()))
            else:
                time.sleep(0.04)  # real-time pacing, as the GUI's 25 Hz timer would
            pipeline.step(clock.now())
    except KeyboardInterrupt:
        print("interrupted; the recording so far is kept")
    finally:
        source.close()
        recorder.close(clock.now())
    print(f"recorded {clock.now() / 60:.1f} min from {source.info.name} "
          f"({source.info.provenance.value}) to {out}")
    return 0
