"""`ketadesk gui` (the default) and `ketadesk screenshot`."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError
from ketadesk.cli.common import add_source_args, build_source, check_speed_for, parse_speed


def register(sub: Any) -> None:
    p = sub.add_parser("gui", help="open the dashboard (the default command)",
                       description="Open the bedside dashboard on a data source.")
    add_source_args(p)
    p.add_argument("--data-dir", help="where recordings and patients.db are kept (default: "
                                      "$KETADESK_DATA_DIR or the platform's user data directory)")
    p.add_argument("--no-record", action="store_true",
                   help="do not record this session (demonstrations only)")
    p.add_argument("--instructor", action="store_true",
                   help="also open the instructor window (simulator only; View > Instructor, "
                        "Ctrl+I)")
    p.set_defaults(func=run_gui)

    s = sub.add_parser("screenshot", help="render the dashboard offscreen to a PNG",
                       description="Render the main window offscreen after N simulated minutes, "
                                   "computed at full speed with no wall-clock waiting.")
    add_source_args(s)
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--sim-minutes", type=float, default=20.0,
                   help="simulated minutes to run before the picture (0-720, default 20)")
    s.add_argument("--size", default="1400x900", help="window size WxH (default 1400x900)")
    s.add_argument("--demo-plan", action="store_true",
                   help="show an infusion: 70 kg, 0.5 mg/kg over 40 min at 1 mg/mL, started "
                        "after a 10 min baseline (e.g. --sim-minutes 35 for mid-infusion)")
    s.set_defaults(func=run_screenshot)


def run_gui(args: argparse.Namespace) -> int:
    from ketadesk.app import Dashboard, build_dashboard, qt_app
    from ketadesk.core.clock import MonotonicClock, ScaledClock

    if args.instructor and args.source != "simulator":
        raise CliError(f"--instructor needs the simulator source, not {args.source!r}")
    speed = parse_speed(args.speed, allow_max=False)
    source = build_source(args)
    check_speed_for(source, speed)
    from ketadesk.store.catalog import data_dir
    from ketadesk.store.session_recorder import SessionRecorder

    directory = data_dir(args.data_dir)
    app = qt_app()
    clock: Any = ScaledClock(MonotonicClock(), speed or 1.0)
    built: list[Dashboard] = []
    # Crash recovery first (issue 6): an unfinished session is resumed or closed before the
    # dashboard starts a new one.
    from ketadesk.ui.dialogs.recovery import ask_recovery, resumed_clock, resumed_recorder

    resume = None if args.no_record else ask_recovery(directory, source.info.name)
    if resume is not None:
        clock = resumed_clock(clock, resume)
    to_resume = [resume] if resume is not None else []

    def recorder(session: Any) -> SessionRecorder:
        if to_resume:  # only the first session; one after a source change is a new recording
            return resumed_recorder(to_resume.pop(), session, directory)
        # After a source change the dashboard already holds the new source.
        current = built[0].source if built else source
        return SessionRecorder.start(session, directory=directory,
                                     config=simulation_meta(current))

    dash = build_dashboard(source, clock, None if args.no_record else recorder,
                           data_dir=directory)
    built.append(dash)
    if dash.pipeline.sink is not None:
        print(f"recording to {dash.pipeline.sink.path}")  # type: ignore[attr-defined]
    from ketadesk.ui.review import install_review_menu

    review = install_review_menu(dash.window, dash.window.menus["File"], directory)
    dash.window.show()
    dash.controller.start()
    if args.instructor and dash.instructor is not None:
        dash.instructor.open()
    try:
        return int(app.exec())
    finally:
        review.close_all()
        dash.close()


def simulation_meta(source: Any) -> dict[str, Any]:
    """What the recording's meta says about a simulated session (empty for other sources)."""
    scenario = getattr(source, "scenario", None)
    if scenario is None:
        return {}
    return {"provenance": "simulated", "scenario": scenario.name, "seed": source.seed,
            "profile": source.profile.name, "pk_model": source.pk_model}


def _parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m or not (320 <= int(m[1]) <= 7680 and 240 <= int(m[2]) <= 4320):
        raise CliError(f"--size {text!r} must be WxH with W 320-7680 and H 240-4320, e.g. 1400x900")
    return int(m[1]), int(m[2])


def run_screenshot(args: argparse.Namespace) -> int:
    width, height = _parse_size(args.size)
    if not 0 <= args.sim_minutes <= 720:
        raise CliError(f"--sim-minutes {args.sim_minutes:g} is out of range; allowed: 0 to 720")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise CliError(f"--out {out} must end in .png")
    if not out.parent.is_dir():
        raise CliError(f"--out {out}: directory {out.parent} does not exist")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ketadesk.app import build_dashboard, qt_app
    from ketadesk.core.clock import FakeClock

    source = build_source(args)
    app = qt_app()
    clock = FakeClock()
    dash = build_dashboard(source, clock)
    dash.window.resize(width, height)
    dash.window.show()
    end_s = args.sim_minutes * 60.0
    if args.demo_plan:
        from ketadesk.core.headless import HeadlessTimeline, run_session

        run_session(dash.pipeline, _demo_plan(dash.session), clock.advance,
                    HeadlessTimeline(baseline_min=10.0), who=DEMO_CLINICIAN,
                    should_stop=lambda: clock.now() >= end_s)
    while clock.now() < end_s:
        clock.advance(min(1.0, end_s - clock.now()))
        dash.pipeline.step(clock.now())
    dash.controller.step()
    app.processEvents()
    pixmap = dash.window.grab()
    ok = pixmap.save(str(out))
    dash.close()
    app.processEvents()
    if not ok:
        raise CliError(f"could not write {out}")
    size = f"{pixmap.width()}x{pixmap.height()}"
    note = "" if size == args.size else f" (asked {args.size}; the layout's minimum size wins)"
    print(f"wrote {out} ({size}{note}, {args.sim_minutes:g} simulated minutes)")
    return 0


DEMO_CLINICIAN = "DEMO"


def _demo_plan(session: Any) -> Any:
    """The worked example of DOMAIN.md 2, confirmed (run_session starts it after 10 min)."""
    from ketadesk.core.dose import PlanInputs, confirm_plan, load_dose_settings

    inputs = PlanInputs(weight=70.0, dose_mg_per_kg=0.5, duration_min=40.0,
                        concentration_mg_per_ml=1.0)
    plan = confirm_plan(inputs, who=DEMO_CLINICIAN, settings=load_dose_settings()).plan
    if plan is None:
        raise CliError("the demo plan is not confirmed with this site's infusion settings")
    session.clinician, session.patient_id = DEMO_CLINICIAN, "DEMO-001"
    return plan
