"""A recorded session for the review tests: the headless pipeline with a SessionRecorder on a
FakeClock, with a plan, a started/paused/resumed infusion, a rate change, a BP surge that
raises alarms and CADSS entries, so every kind of marker is in the file."""

from __future__ import annotations

from pathlib import Path

from ketadesk.core.assessments import EntryStatus
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.pipeline import Pipeline
from ketadesk.core.session import Session
from ketadesk.sources.base import NumericSample, SampleBatch
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.store.session_recorder import SessionRecorder


class SurgeSource(SimulatorSource):
    """The simulator with systolic/diastolic pressure raised between two session times."""

    def __init__(self, surge_s: tuple[float, float], **options: str) -> None:
        super().__init__(**options)
        self.surge_s = surge_s

    def read(self) -> SampleBatch:
        batch = super().read()
        a, b = self.surge_s
        numerics = tuple(
            NumericSample(s.channel, s.t_s, s.value + (55.0 if s.channel == "nibp_sys" else 25.0))
            if s.channel in ("nibp_sys", "nibp_dia") and a <= s.t_s < b else s
            for s in batch.numerics)
        return SampleBatch(numerics, batch.waveforms, batch.status)


def record_session(directory: Path, minutes: float = 15.0, *, scale: float | None = None,
                   close: bool = True, step_s: float = 3.0) -> tuple[Path, Session, SessionRecorder]:
    """Record `minutes` of a session; its timeline is stretched by minutes/60 (a 60-minute
    session: plan at 2 min, start 5, pause 15-17, rate change 20, surge 22-30, CADSS 45)."""
    k = (minutes / 60.0) if scale is None else scale
    clock = FakeClock()
    source = SurgeSource((22 * 60 * k, 30 * 60 * k), seed="7", nibp_interval_min="1")
    source.open(clock)
    session = Session(clock, source.info)
    session.patient_id, session.clinician = "P-0042", "AB"
    recorder = SessionRecorder.start(session, directory=directory)
    pipeline = Pipeline(source, session, recorder)
    plan = confirm_plan(PlanInputs(weight=70.0, dose_mg_per_kg=0.5, duration_min=40.0 * k,
                                   # a compressed timeline needs a stronger solution to
                                   # keep the pump rate possible
                                   concentration_mg_per_ml=1.0 if k >= 0.25 else 10.0),
                        who="AB",
                        acknowledged=("duration_unusual", "rate_high")).plan
    assert plan is not None
    actions = {
        round(2 * 60 * k): lambda: session.set_plan(plan),
        round(5 * 60 * k): lambda: session.infusion.start("AB"),  # type: ignore[union-attr]
        round(15 * 60 * k): lambda: session.infusion.pause("nausea/vomiting",  # type: ignore[union-attr]
                                                           who="AB"),
        round(17 * 60 * k): lambda: session.infusion.resume("AB"),  # type: ignore[union-attr]
        round(20 * 60 * k): lambda: session.infusion.change_rate(  # type: ignore[union-attr]
            round(plan.rate_ml_per_h * 0.75, 1), "BP rising", who="AB"),
        round(45 * 60 * k): lambda: session.assessments.record(
            "cadss", [1] * 23, EntryStatus.COMPLETE, who="AB"),
        round(50 * 60 * k): lambda: session.assessments.record(
            "cadss", [0] * 23, EntryStatus.COMPLETE, who="CD"),
    }
    end_s = minutes * 60.0
    pending = sorted(actions.items())
    while clock.now() < end_s:
        # Steps of a few seconds: each step commits (fsync), the slow part on a shared disk.
        clock.advance(min(step_s, end_s - clock.now()))
        while pending and pending[0][0] <= clock.now():
            clock_at = clock.now()
            pending.pop(0)[1]()
            assert clock.now() == clock_at
        pipeline.step(clock.now())
    if close:
        recorder.close(clock.now())
    return recorder.path, session, recorder
