"""`ketadesk patients`, `patient add|weight`, `course`, `outcome`: the patient database (issue 9).

The same store and course arithmetic as the GUI (ketadesk.store.patients, ketadesk.core.course).
The database is patients.db in the data directory (KETADESK_DATA_DIR or the platform's user data
directory). Bad input exits 2 with a message saying what is allowed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from ketadesk.cli import CliError
from ketadesk.core.course import (
    SCALE_NAMES,
    CourseError,
    CourseSummary,
    describe_outcome,
    parse_scale,
)
from ketadesk.store.patients import SEXES, PatientStore, PatientStoreError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("patients", help="list patients (pseudonymous IDs)",
                              description="List patients, optionally those whose ID starts "
                              "with PREFIX.")
    p.add_argument("--search", default="", metavar="PREFIX", help="ID prefix (any case)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_patients)

    p = subparsers.add_parser("patient", help="add a patient or a weight")
    sub = p.add_subparsers(dest="patient_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a patient: pseudonymous ID, year of birth, sex, weight")
    a.add_argument("patient_id", metavar="ID", help="pseudonymous ID, e.g. KD-0042 (no names)")
    a.add_argument("--year-of-birth", required=True, type=_int("--year-of-birth"), metavar="Y")
    a.add_argument("--sex", required=True, metavar="|".join(SEXES), help="F, M or X")
    a.add_argument("--weight", required=True, type=_float("--weight"), metavar="KG")
    a.set_defaults(func=run_patient_add)
    w = sub.add_parser("weight", help="record a weight")
    w.add_argument("patient_id", metavar="ID")
    w.add_argument("kg", type=_float("KG"), metavar="KG")
    w.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD", help="default today")
    w.set_defaults(func=run_patient_weight)

    c = subparsers.add_parser("course", help="a patient's treatment course",
                              description="Sessions done and planned, spacing warnings, "
                              "induction progress, outcome scores with response and remission.")
    c.add_argument("patient_id", metavar="ID")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=run_course)

    o = subparsers.add_parser("outcome", help="enter an outcome score (PHQ-9 or MADRS)")
    o.add_argument("patient_id", metavar="ID")
    o.add_argument("--scale", required=True, metavar="phq9|madrs")
    o.add_argument("--total", required=True, type=_int("--total"), metavar="N")
    o.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD", help="default today")
    o.add_argument("--who", default="", metavar="INITIALS", help="who took the score")
    o.set_defaults(func=run_outcome)


def _open() -> PatientStore:
    try:
        return PatientStore()
    except (PatientStoreError, OSError) as exc:
        raise CliError(str(exc)) from None


def run_patients(args: argparse.Namespace) -> int:
    with _open() as store:
        found = store.search(args.search)
        if args.json:
            rows = []
            for p in found:
                w = store.latest_weight(p.patient_id)
                rows.append({**asdict(p), "weight_kg": w.kg if w else None,
                             "sessions_done": sum(1 for s in store.sessions(p.patient_id)
                                                  if s.status.value == "done")})
            print(json.dumps(rows, indent=2))
            return 0
        if not found:
            print("no patients" + (f" with an ID starting {args.search!r}" if args.search else ""))
            return 0
        print(f"{'ID':<20} {'born':>5} {'sex':>3} {'weight':>8}")
        for p in found:
            w = store.latest_weight(p.patient_id)
            kg = f"{w.kg:g} kg" if w else "-"
            print(f"{p.patient_id:<20} {p.year_of_birth:>5} {p.sex:>3} {kg:>8}")
    return 0


def run_patient_add(args: argparse.Namespace) -> int:
    with _open() as store:
        try:
            p = store.add_patient(args.patient_id, args.year_of_birth, args.sex, args.weight)
        except PatientStoreError as exc:
            raise CliError(str(exc)) from None
    print(f"added {p.patient_id}: born {p.year_of_birth}, sex {p.sex}, {args.weight:g} kg")
    return 0


def run_patient_weight(args: argparse.Namespace) -> int:
    with _open() as store:
        try:
            w = store.add_weight(args.patient_id, args.kg, args.date)
        except PatientStoreError as exc:
            raise CliError(str(exc)) from None
    print(f"{args.patient_id}: {w.kg:g} kg on {w.on.isoformat()}")
    return 0


def run_outcome(args: argparse.Namespace) -> int:
    try:
        scale = parse_scale(args.scale)
    except CourseError as exc:
        raise CliError(str(exc)) from None
    with _open() as store:
        try:
            x = store.add_outcome(args.patient_id, scale, args.total, args.date or date.today(),
                                  args.who)
            summary = store.course(args.patient_id)
        except PatientStoreError as exc:
            raise CliError(str(exc)) from None
    status = next(s for s in reversed(summary.outcomes[scale]) if s.score == x)
    print(describe_outcome(status))
    return 0


def run_course(args: argparse.Namespace) -> int:
    with _open() as store:
        try:
            patient = store.require(args.patient_id)
            summary = store.course(patient.patient_id)
        except PatientStoreError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(course_json(patient.patient_id, summary), indent=2))
        return 0
    print(f"Course of {patient.patient_id}: {summary.progress.message}")
    if not summary.sessions:
        print("no sessions yet")
    for i, s in enumerate(summary.sessions, 1):
        dose = "-" if s.dose_mg_per_kg is None else f"{s.dose_mg_per_kg:g} mg/kg"
        bp = ("-" if s.peak_sys_mmhg is None
              else f"{s.peak_sys_mmhg:.0f}/{_n(s.peak_dia_mmhg)}")
        cadss = "-" if s.peak_cadss is None else f"{s.peak_cadss:g}"
        print(f"{i:>2} {s.on.isoformat()} {s.status.value:<7} {dose:>10}  peak BP {bp:>7}  "
              f"CADSS {cadss:>3}  pauses {s.pauses}  alarms {s.alarms}"
              + (f"  AE: {', '.join(s.adverse_events)}" if s.adverse_events else "")
              + ("  stopped early" if s.stopped_early else ""))
    for w in summary.warnings:
        print(f"WARNING: {w.message}")
    for scale, rows in summary.outcomes.items():
        print(f"{SCALE_NAMES[scale]}:")
        for st in rows:
            print(f"  {describe_outcome(st)}")
    return 0


def course_json(patient_id: str, c: CourseSummary) -> dict[str, Any]:
    def session(s: Any) -> dict[str, Any]:
        d = asdict(s)
        d["on"] = s.on.isoformat()
        d["status"] = s.status.value
        return d

    p = c.progress
    return {
        "patient_id": patient_id,
        "sessions": [session(s) for s in c.sessions],
        "warnings": [{"kind": w.kind.value, "first": w.first.isoformat(),
                      "second": w.second.isoformat(), "message": w.message} for w in c.warnings],
        "progress": {"target": p.target, "done": p.done, "planned": p.planned,
                     "first_day": p.first_day.isoformat() if p.first_day else None,
                     "deadline": p.deadline.isoformat() if p.deadline else None,
                     "complete": p.complete, "on_schedule": p.on_schedule,
                     "message": p.message},
        "outcomes": {scale.value: [
            {"date": st.score.on.isoformat(), "total": st.score.total, "who": st.score.who,
             "is_baseline": st.is_baseline,
             "baseline": st.baseline.total if st.baseline else None,
             "change_fraction": st.change_fraction, "response": st.response,
             "remission": st.remission, "severity": st.severity}
            for st in rows] for scale, rows in c.outcomes.items()},
    }


def _n(x: float | None) -> str:
    return "?" if x is None else f"{x:.0f}"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _int(name: str) -> Any:
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not a whole number") from None
    return parse


def _float(name: str) -> Any:
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} {text!r} is not a number") from None
    return parse

