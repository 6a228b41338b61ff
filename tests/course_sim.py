"""A whole simulated session on a FakeClock, numerics only (fast): for course, discharge and
GUI flow tests. BP rises during the infusion to baseline + rise at +40 min, then falls back."""

from __future__ import annotations

from dataclasses import dataclass

from ketadesk.core.assessments import EntryStatus, timepoint_id
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.session import Session
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo

INFO = SourceInfo("sim-course", "course test source",
                  ("hr", "spo2", "rr", "nibp_sys", "nibp_dia", "nibp_mean"), Provenance.SIMULATED)

BASELINE_S = 600.0  # dose starts 10 min after the session opened
INFUSION_S = 2400.0


@dataclass
class SimSpec:
    dose_mg_per_kg: float = 0.5
    weight_kg: float = 70.0
    baseline_sys: float = 125.0
    baseline_dia: float = 78.0
    rise_sys: float = 16.0  # DOMAIN.md 3: Yale mean SBP +16 at 40 min
    rise_dia: float = 11.0
    cadss_peak: int = 6  # total at +40 min
    hypertension_pause: bool = False
    recovery_min: float = 61.0
    who: str = "AB"


def _bp(spec: SimSpec, t: float, start: float) -> tuple[float, float]:
    if t <= start:
        return spec.baseline_sys, spec.baseline_dia
    x = t - start
    frac = min(x / INFUSION_S, 1.0) if x <= INFUSION_S else max(0.0, 1 - (x - INFUSION_S) / 3600)
    return spec.baseline_sys + spec.rise_sys * frac, spec.baseline_dia + spec.rise_dia * frac


def _feed(session: Session, clock: FakeClock, spec: SimSpec, until_s: float, start: float,
          nibp_every_s: float) -> None:
    while clock.now() < until_s:
        clock.advance(10.0)
        t = clock.now()
        nums = [NumericSample("hr", t, 72.0), NumericSample("spo2", t, 98.0),
                NumericSample("rr", t, 14.0)]
        if int(t) % int(nibp_every_s) == 0:
            s, d = _bp(spec, t, start)
            nums += [NumericSample("nibp_sys", t, s), NumericSample("nibp_dia", t, d),
                     NumericSample("nibp_mean", t, (s + 2 * d) / 3)]
        session.ingest(SampleBatch(numerics=tuple(nums)))
        session.tick(t)


def cadss_answers(total: int) -> list[int]:
    """23 CADSS answers (0-4) adding up to total."""
    answers = [0] * 23
    for i in range(23):
        answers[i] = min(4, total - sum(answers))
    return answers


def open_session(spec: SimSpec, clock: FakeClock | None = None) -> Session:
    """A session fed through its baseline phase (NIBP at 5 and 10 min), no plan yet."""
    clock = clock or FakeClock()
    session = Session(clock, INFO)
    session.clinician = spec.who
    _feed(session, clock, spec, BASELINE_S, BASELINE_S, 300.0)
    return session


def run_infusion(session: Session, spec: SimSpec) -> Session:
    """Plan, infusion, CADSS at baseline and +40, recovery; the session is left in RECOVERY."""
    clock = session.clock
    assert isinstance(clock, FakeClock)
    decision = confirm_plan(PlanInputs(spec.weight_kg, spec.dose_mg_per_kg,
                                       concentration_mg_per_ml=1.0), who=spec.who,
                            override_reasons={"dose_above_max": "titration"})
    assert decision.plan is not None, decision.blocking
    inf = session.set_plan(decision.plan)
    session.assessments.record("cadss", cadss_answers(0), EntryStatus.COMPLETE, who=spec.who,
                               timepoint_id=timepoint_id("cadss", None))
    inf.start(who=spec.who)
    start = clock.now()
    if spec.hypertension_pause:
        _feed(session, clock, spec, start + 1200.0, start, 600.0)
        inf.pause("hypertension", who=spec.who)
        clock.advance(120.0)
        inf.resume(who=spec.who)
    _feed(session, clock, spec, start + INFUSION_S + 200.0, start, 600.0)
    session.assessments.record("cadss", cadss_answers(spec.cadss_peak), EntryStatus.COMPLETE,
                               who=spec.who, timepoint_id=timepoint_id("cadss", 40))
    inf.begin_recovery(who=spec.who)
    end = inf.snapshot().ended_at_s
    assert end is not None
    _feed(session, clock, spec, end + spec.recovery_min * 60.0, start, 900.0)
    return session


def run_session(spec: SimSpec, clock: FakeClock | None = None) -> Session:
    """A whole session: baseline, infusion, recovery (left in RECOVERY)."""
    return run_infusion(open_session(spec, clock), spec)
