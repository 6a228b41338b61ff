"""`ketadesk review [SESSION]`: open a recorded session for review, or the session browser."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ketadesk.cli import CliError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "review", help="review a recorded session (no SESSION: the session browser)",
        description="Open a recorded session: the whole session on linked time axes, with "
                    "events, alarms, scales and a summary. Without SESSION, list the sessions "
                    "of the data directory to choose from.")
    p.add_argument("session", nargs="?", metavar="SESSION",
                   help="a recording file, a session id or an id prefix (at least 4 characters)")
    p.add_argument("--data-dir", help="where recordings are kept (default: $KETADESK_DATA_DIR or "
                                      "the platform's user data directory)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the review window offscreen to this PNG and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ketadesk.store.catalog import data_dir, resolve_session
    from ketadesk.store.reader import open_recording
    from ketadesk.store.records import StoreError

    directory = data_dir(args.data_dir)
    out = Path(args.screenshot) if args.screenshot else None
    if out is not None:
        if out.suffix.lower() != ".png":
            raise CliError(f"--screenshot {out} must end in .png")
        if not out.parent.is_dir():
            raise CliError(f"--screenshot {out}: directory {out.parent} does not exist")
        if args.session is None:
            raise CliError("--screenshot needs a SESSION to show")
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    rec = None
    if args.session is not None:
        # Everything about the file is checked before a window opens: a clear message, exit 2.
        try:
            path = resolve_session(args.session, directory)
            rec = open_recording(path)
        except StoreError as exc:
            raise CliError(str(exc)) from None

    from ketadesk.app import qt_app
    from ketadesk.ui.review import ReviewLauncher
    from ketadesk.ui.review.review_window import ReviewWindow

    app = qt_app()
    launcher = ReviewLauncher(directory)
    try:
        if rec is None:
            launcher.show_browser()
            return int(app.exec())
        try:
            window = ReviewWindow(rec)
        except StoreError as exc:
            rec.close()
            raise CliError(str(exc)) from None
        launcher.windows.append(window)
        window.show()
        if out is None:
            return int(app.exec())
        app.processEvents()
        if not window.grab().save(str(out)):
            raise CliError(f"could not write {out}")
        print(f"wrote {out}")
        return 0
    finally:
        launcher.close_all()
        app.processEvents()
