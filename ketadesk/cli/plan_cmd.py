"""`ketadesk plan`: compute and check an infusion dose plan without a screen (issue 3).

The same arithmetic and guards as the set-up dialog (ketadesk.core.dose). A plan is printed
only when it could be confirmed: refused input, an override without --override-reason or an
unacknowledged question without --accept-questions exits 2 with the findings on stderr
(with --json the unconfirmed object is still printed to stdout, for scripts).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ketadesk.cli import CliError
from ketadesk.core.dose import (
    DosePlan,
    DoseSettings,
    Finding,
    PlanDecision,
    PlanInputs,
    Severity,
    WeightUnit,
    confirm_plan,
    describe_numbers,
    load_dose_settings,
)

_HINTS = {
    Severity.REFUSED: "change the input",
    Severity.NEEDS_OVERRIDE: "pass --override-reason TEXT to override",
    Severity.QUESTION: "pass --accept-questions once checked",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plan",
        help="compute and check an infusion dose plan",
        description="Compute dose (mg), dose rate (mg/h), pump rate (mL/h) and volume (mL) "
        "from weight, mg/kg, duration and concentration, and run the typo guards.",
    )
    add_plan_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def add_plan_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    required: bool = True,
    minutes_flag: str = "--minutes",
) -> None:
    """The plan's options, shared by `plan` and `record` (which has its own --minutes, so it
    names the infusion duration differently; either way it lands in args.plan_minutes)."""
    p.add_argument("--weight", type=float, required=required, metavar="W", help="patient weight")
    p.add_argument(
        "--weight-unit", choices=[u.value for u in WeightUnit], default="kg", help="default kg"
    )
    p.add_argument(
        "--dose", type=float, required=required, metavar="MG_PER_KG", help="e.g. 0.5, 0.75, 1.0"
    )
    p.add_argument(
        minutes_flag,
        dest="plan_minutes",
        type=float,
        default=None,
        metavar="M",
        help="infusion duration in minutes (default from defaults.toml, 40)",
    )
    p.add_argument("--concentration", type=float, metavar="MG_PER_ML", help="drug concentration")
    p.add_argument("--bag-mg", type=float, metavar="MG", help="mg of ketamine in the bag")
    p.add_argument("--bag-ml", type=float, metavar="ML", help="total volume of the bag")
    p.add_argument(
        "--override-reason",
        metavar="TEXT",
        default="",
        help="reason that overrides every finding needing an override (dose or total cap)",
    )
    p.add_argument(
        "--accept-questions",
        action="store_true",
        help="acknowledge every question (e.g. a weight over 150 kg, an unusual duration)",
    )


def has_plan_args(args: argparse.Namespace) -> bool:
    """Whether any plan option was given (the record command runs without a plan otherwise)."""
    given = (args.weight, args.dose, args.plan_minutes, args.concentration, args.bag_mg,
             args.bag_ml)
    return any(v is not None for v in given) or bool(args.override_reason) or args.accept_questions


def decide_plan(
    args: argparse.Namespace, who: str = ""
) -> tuple[PlanDecision, dict[str, str]]:
    """confirm_plan() on the options: the decision and the override reasons it was given."""
    settings = _settings()
    inputs = plan_inputs(args, settings)
    first = confirm_plan(inputs, settings=settings)
    # One --override-reason / --accept-questions applies to every finding of that kind.
    reasons = {
        f.code: args.override_reason
        for f in first.check.findings
        if f.severity is Severity.NEEDS_OVERRIDE and args.override_reason.strip()
    }
    acks = [f.code for f in first.check.findings if f.severity is Severity.QUESTION]
    decision = confirm_plan(
        inputs,
        override_reasons=reasons,
        acknowledged=acks if args.accept_questions else (),
        who=who,
        settings=settings,
    )
    return decision, reasons


def confirmed_plan(args: argparse.Namespace, who: str) -> DosePlan:
    """The confirmed plan from the options, or CliError with what blocks it."""
    decision, _ = decide_plan(args, who)
    if decision.plan is None:
        raise CliError(blocked_message(decision))
    return decision.plan


def run(args: argparse.Namespace) -> int:
    decision, reasons = decide_plan(args)
    if args.json:
        print(json.dumps(_as_json(decision, reasons), indent=2))
    if not decision.confirmed:
        raise CliError(blocked_message(decision))
    if not args.json:
        print("\n".join(_as_text(decision)))
    return 0


def _settings() -> DoseSettings:
    try:
        return load_dose_settings()
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot read the infusion defaults: {exc}") from exc


def plan_inputs(args: argparse.Namespace, settings: DoseSettings) -> PlanInputs:
    """PlanInputs from the options; CliError when one is missing or two contradict."""
    missing = [flag for flag, v in (("--weight", args.weight), ("--dose", args.dose)) if v is None]
    if missing:
        raise CliError(f"a plan needs {' and '.join(missing)} (with --concentration or a bag)")
    has_bag = args.bag_mg is not None or args.bag_ml is not None
    if args.concentration is not None and has_bag:
        raise CliError("give either --concentration or --bag-mg with --bag-ml, not both")
    if args.concentration is None and not has_bag:
        raise CliError("give --concentration MG_PER_ML, or a bag with --bag-mg MG --bag-ml ML")
    if has_bag and (args.bag_mg is None or args.bag_ml is None):
        raise CliError("a bag needs both --bag-mg (mg in the bag) and --bag-ml (its total mL)")
    return PlanInputs(
        weight=args.weight,
        weight_unit=WeightUnit(args.weight_unit),
        dose_mg_per_kg=args.dose,
        duration_min=(
            settings.default_duration_min if args.plan_minutes is None else args.plan_minutes
        ),
        concentration_mg_per_ml=args.concentration,
        bag_mg=args.bag_mg,
        bag_ml=args.bag_ml,
    )


def _status(f: Finding, decision: PlanDecision, reasons: dict[str, str]) -> str:
    if f in decision.blocking:
        return "blocking"
    if f.severity is Severity.NEEDS_OVERRIDE and f.code in reasons:
        return "overridden"
    if f.severity is Severity.QUESTION:
        return "acknowledged"
    return "shown"


def _as_json(decision: PlanDecision, reasons: dict[str, str]) -> dict[str, Any]:
    check = decision.check
    out: dict[str, Any] = {
        "confirmed": decision.confirmed,
        "weight_entered": check.inputs.weight,
        "weight_unit_entered": check.inputs.weight_unit.value,
    }
    n = check.numbers
    if n is not None:
        out.update(
            weight_kg=n.weight_kg,
            dose_mg_per_kg=n.dose_mg_per_kg,
            duration_min=n.duration_min,
            concentration_mg_per_ml=n.concentration_mg_per_ml,
            dose_mg=n.dose_mg,
            dose_mg_per_h=n.dose_mg_per_h,
            rate_ml_per_h=n.rate_ml_per_h,
            volume_ml=n.volume_ml,
        )
    # warnings: what stays visible on a confirmed plan (everything not blocking it).
    out["warnings"] = [f.message for f in check.findings if f not in decision.blocking]
    out["findings"] = [
        {
            "code": f.code,
            "severity": f.severity.value,
            "field": f.field,
            "message": f.message,
            "status": _status(f, decision, reasons),
        }
        for f in check.findings
    ]
    out["overrides"] = [
        {"code": o.code, "reason": o.reason}
        for o in (decision.plan.overrides if decision.plan else ())
    ]
    return out


def _as_text(decision: PlanDecision) -> list[str]:
    plan = decision.plan
    assert plan is not None
    lines = ["Infusion plan (confirmed)", *describe_numbers(plan.numbers, plan.inputs)]
    overridden = {o.code: o.reason for o in plan.overrides}
    for f in plan.findings:
        if f.code in overridden:
            lines.append(f"OVERRIDDEN: {f.message} -- reason: {overridden[f.code]}")
        elif f.severity is Severity.QUESTION:
            lines.append(f"ACKNOWLEDGED: {f.message}")
        else:
            lines.append(f"WARNING: {f.message}")
    return lines


def blocked_message(decision: PlanDecision) -> str:
    refused = any(f.severity is Severity.REFUSED for f in decision.blocking)
    head = "plan refused" if refused else "plan not confirmed"
    lines = [f"{head}:"]
    lines += [
        f"  {f.severity.value}: {f.message} ({_HINTS[f.severity]})" for f in decision.blocking
    ]
    return "\n".join(lines)
