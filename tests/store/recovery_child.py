"""Child process for the app-level SIGKILL test: the headless pipeline (simulator -> session
-> SessionRecorder) on a FakeClock advanced in 0.2 s steps, infusing from t=2 s. After every
step it prints `t <now>`, and `committed <t>` after each commit, until it is killed.
Usage: recovery_child.py DIRECTORY"""

from __future__ import annotations

import sys

from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.pipeline import Pipeline
from ketadesk.core.session import Session
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.store.session_recorder import SessionRecorder

STEP_S = 0.2


def main() -> None:
    clock = FakeClock()
    source = SimulatorSource(seed="5")
    source.open(clock)
    session = Session(clock, source.info)
    session.patient_id, session.clinician = "P-KILL", "KL"
    recorder = SessionRecorder.start(session, directory=sys.argv[1])
    pipeline = Pipeline(source, session, recorder)
    print(f"path {recorder.path}", flush=True)
    plan = confirm_plan(PlanInputs(weight=70.0, dose_mg_per_kg=0.5, duration_min=40.0,
                                   concentration_mg_per_ml=1.0), who="KL").plan
    assert plan is not None
    committed = None
    for _ in range(36_000):  # two simulated hours at most, should nobody kill it
        clock.advance(STEP_S)
        if session.infusion is None and clock.now() >= 1.0:
            session.set_plan(plan)
        inf = session.infusion
        if inf is not None and clock.now() >= 2.0 and inf.snapshot().started_at_s is None:
            inf.start("KL")
        pipeline.step(clock.now())
        if recorder.writer.committed_t_s != committed:
            committed = recorder.writer.committed_t_s
            print(f"committed {committed!r}", flush=True)
        print(f"t {clock.now()!r}", flush=True)


if __name__ == "__main__":
    main()
