"""Rating scales in the app (issue 5, points 2-5 and 7): panel, entry dialog, edits, strip.

Everything runs on a FakeClock: the dashboard is stepped, never slept on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.assessments import (
    EntryStatus,
    TimepointState,
    score_rows_from_events,
)
from ketadesk.core.clock import FakeClock
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.ui.dialogs.scale_entry import ScaleEntryDialog, parse_session_time
from ketadesk.ui.widgets.assessments_panel import REMINDER_COLOUR, AssessmentsPanel
from ketadesk.ui.widgets.scale_strip import LiveScaleStrip, ScaleStrip

CADSS_MIXED = [2, 3, 1, 0, 2, 4, 1, 0, 1, 0, 2, 3, 0, 1, 2, 0, 1, 0, 0, 1, 0, 3, 2]
DIGIT_KEYS = {d: getattr(Qt.Key, f"Key_{d}") for d in range(10)}
START_S = 60.0  # the infusion starts one minute into the session


def _dashboard(qtbot: QtBot, **options: str) -> Iterator[Dashboard]:
    d = build_dashboard(SimulatorSource(seed="11", **options), FakeClock())
    qtbot.addWidget(d.window)
    d.window.show()
    d.session.clinician = "AB"
    yield d
    d.controller.stop()
    d.source.close()


@pytest.fixture
def dash(qtbot: QtBot) -> Iterator[Dashboard]:
    yield from _dashboard(qtbot)


@pytest.fixture
def hourly_nibp_dash(qtbot: QtBot) -> Iterator[Dashboard]:
    """NIBP once an hour: no MOAA/S timepoints in the way of the CADSS ones."""
    yield from _dashboard(qtbot, nibp_interval_min="60", nibp_other_min="60")


def panel_of(d: Dashboard) -> AssessmentsPanel:
    (panel,) = [p for p in d.window.panels if isinstance(p, AssessmentsPanel)]
    return panel


def strip_of(d: Dashboard) -> LiveScaleStrip:
    (strip,) = [p for p in d.window.panels if isinstance(p, LiveScaleStrip)]
    return strip


def run_to(d: Dashboard, t_s: float, step_s: float = 10.0) -> None:
    """Advance the session to t_s in source steps, then redraw the window once."""
    assert isinstance(d.clock, FakeClock)
    while d.clock.now() < t_s:
        d.clock.advance(min(step_s, t_s - d.clock.now()))
        d.pipeline.step(d.clock.now())
    d.controller.step()


def start_infusion(d: Dashboard) -> None:
    run_to(d, START_S)
    plan = confirm_plan(PlanInputs(70, 0.5, concentration_mg_per_ml=1.0)).plan
    assert plan is not None
    d.session.set_plan(plan).start(who="AB")
    d.controller.step()


def button(panel: AssessmentsPanel, text: str) -> QPushButton:
    found = [b for b in panel.action_buttons if b.text() == text]
    assert found, f"no button {text!r}; shown: {[b.text() for b in panel.action_buttons]}"
    return found[0]


def focus_in(qtbot: QtBot, dialog: QWidget) -> QWidget:
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None
                    and (QApplication.focusWidget() is dialog
                         or dialog.isAncestorOf(QApplication.focusWidget())), timeout=2000)
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def type_keys(qtbot: QtBot, dialog: QWidget, digits: list[int]) -> None:
    for d in digits:
        qtbot.keyClick(focus_in(qtbot, dialog), DIGIT_KEYS[d])


def test_full_cadss_keyboard_only_from_ctrl_k(dash: Dashboard, qtbot: QtBot) -> None:
    run_to(dash, 120)
    panel = panel_of(dash)
    assert panel.row_texts[0][1:] == ("due now", "Enter CADSS (baseline)", False)
    window = dash.window
    window.activateWindow()
    qtbot.waitExposed(window)
    started = time.perf_counter()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    picker = panel.picker
    assert picker is not None and picker.isVisible()
    assert picker.choice == ("cadss", picker.choices[0][1])  # the due baseline comes first
    qtbot.keyClick(focus_in(qtbot, picker), Qt.Key.Key_Return)
    dialog = panel.entry_dialog
    assert dialog is not None and dialog.isVisible()
    assert focus_in(qtbot, dialog) is dialog.form  # typing starts at once, no click
    opened_s = dialog.opened_s
    run_to(dash, 150)  # half a minute passes while the patient answers
    type_keys(qtbot, dialog, CADSS_MIXED)
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Return)
    elapsed_s = time.perf_counter() - started
    (entry,) = dash.session.assessments.entries()
    assert (entry.scale_id, entry.timepoint_id, entry.status) == (
        "cadss", "cadss@baseline", EntryStatus.COMPLETE)
    assert entry.answers == tuple(CADSS_MIXED) and entry.score.total == 29
    assert entry.score.subscales == {"depersonalization": 11, "derealization": 12, "amnesia": 6}
    assert entry.performed_s == opened_s == 120.0 and entry.who == "AB"
    assert not any(tid == "cadss@baseline" for tid, *_ in panel.row_texts)
    assert "Done: CADSS baseline" in panel.done_label.text()
    assert elapsed_s < 10.0, f"25 key presses took {elapsed_s:.2f} s of program time"


def test_partial_save_leaves_the_timepoint_due(dash: Dashboard, qtbot: QtBot) -> None:
    start_infusion(dash)
    run_to(dash, START_S + 36 * 60)
    panel = panel_of(dash)
    row = [r for r in panel.row_texts if r[0] == "cadss@+40min"]
    assert row == [("cadss@+40min", "due at 0:41", "Enter CADSS (+40 min)", False)]
    button(panel, "Enter CADSS (+40 min)").click()
    dialog = panel.entry_dialog
    assert dialog is not None
    type_keys(qtbot, dialog, [1] * 10)
    # Alt+P is the button's mnemonic, which clicks after a short animation: wait for it
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: len(dash.session.assessments.entries()) > 0, timeout=2000)
    (entry,) = dash.session.assessments.entries()
    assert entry.status is EntryStatus.PARTIAL and entry.timepoint_id == "cadss@+40min"
    status = dash.session.assessment_status(dash.clock.now())
    cadss_due = [tp.id for tp in status.due if tp.scale_id == "cadss"]
    assert cadss_due == ["cadss@+40min"]  # a partial entry never makes it done
    assert any(r[0] == "cadss@+40min" for r in panel.row_texts)
    assert "+40" not in panel.done_label.text()


def test_due_then_overdue_reminder_not_alarm(hourly_nibp_dash: Dashboard) -> None:
    dash = hourly_nibp_dash
    start_infusion(dash)
    panel = panel_of(dash)
    panel.dismiss_notice()  # the baseline reminder from the session start
    run_to(dash, START_S + 34 * 60)
    assert not any(r[0] == "cadss@+40min" for r in panel.row_texts)
    assert panel.next_label.text().startswith("Next: CADSS +40 min at 0:41")
    run_to(dash, START_S + 35 * 60 + 1)
    assert panel.notice_text == "Reminder: CADSS +40 min is due"
    row = [r for r in panel.row_texts if r[0] == "cadss@+40min"]
    assert row == [("cadss@+40min", "due at 0:41", "Enter CADSS (+40 min)", False)]
    rebuilds = panel.rebuilds
    for _ in range(5):  # nothing changes: the panel keeps its widgets
        run_to(dash, dash.clock.now() + 1, step_s=1)
    assert panel.rebuilds == rebuilds
    run_to(dash, START_S + 50 * 60 + 1)
    row = [r for r in panel.row_texts if r[0] == "cadss@+40min"]
    assert row == [("cadss@+40min", "OVERDUE since 0:51", "Enter CADSS (+40 min)", True)]
    assert panel.notice_text == "Reminder: CADSS +40 min is overdue"
    # a reminder, not an alarm: its accent is far from the alarm red, yellow and cyan hues
    hue = QColor(REMINDER_COLOUR).hslHue()
    assert all(min(abs(hue - h), 360 - abs(hue - h)) > 30 for h in (0, 60, 180))
    panel.dismiss_notice()
    assert panel.notice_text == "" and any(r[3] for r in panel.row_texts)


def test_moaas_due_with_an_nibp_cycle_during_the_infusion(dash: Dashboard, qtbot: QtBot) -> None:
    run_to(dash, 40)  # one cycle at 30 s, before the infusion: no MOAA/S for it
    panel = panel_of(dash)
    assert not any(r[0].startswith("moaas@") for r in panel.row_texts)
    start_infusion(dash)
    assert isinstance(dash.source, SimulatorSource)
    dash.source.cycle_nibp_now()
    run_to(dash, START_S + 3 * 60)
    rows = [r for r in panel.row_texts if r[0].startswith("moaas@nibp")]
    assert len(rows) == 1 and rows[0][1] == "due now"
    assert rows[0][2].startswith("Enter MOAA/S (NIBP +")
    # overdue news outranks due news on the one reminder line; the rest are counted
    assert panel.notice_text == "Reminder: CADSS baseline is overdue (and 1 more)"
    button(panel, rows[0][2]).click()
    dialog = panel.entry_dialog
    assert dialog is not None
    type_keys(qtbot, dialog, [4])
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Return)
    (entry,) = dash.session.assessments.entries()
    assert (entry.scale_id, entry.timepoint_id, entry.score.total) == ("moaas", rows[0][0], 4)
    assert not any(r[0].startswith("moaas@") for r in panel.row_texts)
    assert "MOAA/S \u00d71 with NIBP" in panel.done_label.text()
    # done: it leaves the reminder line; the older, still overdue baseline stays on it
    assert panel.notice_text == "Reminder: CADSS baseline is overdue"


def test_edit_with_reason_keeps_the_original(dash: Dashboard, qtbot: QtBot) -> None:
    run_to(dash, 300)
    log = dash.session.assessments
    first = log.record("cadss", [0] * 23, EntryStatus.COMPLETE, who="AB",
                       timepoint_id="cadss@baseline")
    run_to(dash, 400)
    panel = panel_of(dash)
    view_items = {a.text(): a for a in dash.window.menus["View"].actions()}
    action = view_items["Assessments\u2026"]
    assert action.shortcut().toString() == "Ctrl+Shift+K"
    action.trigger()
    listing = panel.list_dialog
    assert listing is not None and listing.isVisible()
    assert listing.table.rowCount() == 1
    assert listing.table.item(0, 3).text() == "0"
    listing.select_entry(first.entry_id)
    dash.session.clinician = "CD"
    edit = listing.open_edit()
    assert edit is not None and edit.form.answers == tuple([0] * 23)
    edit.form.go_to(4)
    type_keys(qtbot, edit, [3])
    qtbot.keyClick(focus_in(qtbot, edit), Qt.Key.Key_Return)
    assert "an edit needs a reason" in edit.form.message_label.text()
    assert log.history(first.entry_id) == (first,)  # refused: nothing changed
    assert QApplication.focusWidget() is edit.reason_edit
    qtbot.keyClicks(edit.reason_edit, "misheard item 5")
    qtbot.keyClick(edit.reason_edit, Qt.Key.Key_Return)
    original, current = log.history(first.entry_id)
    assert original == first and current.score.total == 3 and current.who == "CD"
    (change,) = log.edits(first.entry_id)
    assert (change.who, change.reason, change.edited_s) == ("CD", "misheard item 5", 400.0)
    assert [(c.field, c.old, c.new) for c in change.changes] == [("item 5", 0, 3)]
    assert current.performed_s == first.performed_s  # the time done was left alone
    assert listing.table.item(0, 3).text() == "3" and listing.table.item(0, 7).text() == "1"
    history = listing.history.toPlainText()
    assert "Original: saved 0:05:00 by AB" in history
    assert "Edit 1: saved 0:06:40 by CD" in history
    assert "why: misheard item 5" in history and "item 5: 0 -> 3" in history


def test_future_and_pre_session_times_are_refused_with_the_message(
    dash: Dashboard, qtbot: QtBot
) -> None:
    run_to(dash, 600)
    dialog = panel_of(dash).open_entry("moaas")
    dialog.time_edit.setText("0:15:00")
    assert "in the future" in dialog.time_hint.text()
    type_keys(qtbot, dialog, [5])
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Return)
    assert dialog.isVisible() and dash.session.assessments.entries() == []
    assert dialog.form.message_label.text() == (
        "Not saved: the time done (0:15:00 session time) is in the future; "
        "now is 0:10:00 session time")
    assert QApplication.focusWidget() is dialog.time_edit
    dialog.time_edit.setText("-11")
    qtbot.keyClick(dialog.time_edit, Qt.Key.Key_Return)
    assert "before the session started" in dialog.form.message_label.text()
    dialog.time_edit.setText("0:08")
    qtbot.keyClick(dialog.time_edit, Qt.Key.Key_Return)
    (entry,) = dash.session.assessments.entries()
    assert entry.performed_s == 480.0 and entry.timepoint_id is None  # ad hoc
    assert not dialog.isVisible()


def test_parse_session_time() -> None:
    assert parse_session_time("1:02:03", 0) == 3723.0
    assert parse_session_time(" 0:45 ", 0) == 2700.0
    assert parse_session_time("-5", 1000.0) == 700.0
    for bad in ("", "12", "0:75", "noon", "1:2:3"):
        with pytest.raises(ValueError, match="not understood; type session time"):
            parse_session_time(bad, 0)


def test_missing_initials_are_asked_for(dash: Dashboard, qtbot: QtBot) -> None:
    dash.session.clinician = ""
    run_to(dash, 60)
    dialog = panel_of(dash).open_entry("moaas")
    type_keys(qtbot, dialog, [5])
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Return)
    assert "your initials are needed" in dialog.form.message_label.text()
    assert dash.session.assessments.entries() == []
    assert QApplication.focusWidget() is dialog.initials_edit
    qtbot.keyClicks(dialog.initials_edit, "CD")
    qtbot.keyClick(dialog.initials_edit, Qt.Key.Key_Return)
    (entry,) = dash.session.assessments.entries()
    assert entry.who == "CD" and dash.session.clinician == "CD"


def test_one_stray_escape_does_not_lose_typed_answers(dash: Dashboard, qtbot: QtBot) -> None:
    dialog = panel_of(dash).open_entry("cadss")
    type_keys(qtbot, dialog, [1, 2])
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Escape)
    assert dialog.isVisible() and "Esc again discards" in dialog.form.message_label.text()
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert dash.session.assessments.entries() == []


def test_strip_draws_points_and_timepoints_on_change_only(dash: Dashboard) -> None:
    start_infusion(dash)
    strip = strip_of(dash)
    assert strip.marker_positions_min == [(START_S + m * 60) / 60 for m in (40, 80, 120)]
    run_to(dash, 600)
    log = dash.session.assessments
    log.record("cadss", CADSS_MIXED, EntryStatus.COMPLETE, who="AB", performed_s=540.0)
    log.record("cadss", [4] * 5 + [None] * 18, EntryStatus.PARTIAL, who="AB")
    log.record("moaas", [4], EntryStatus.COMPLETE, who="AB", performed_s=570.0)
    redraws = strip.redraws
    dash.controller.step()
    assert strip.redraws == redraws + 1
    x, y = strip.total_curve.getData()
    assert list(x) == [9.0] and list(y) == [29.0]  # the partial is not a score
    sx, sy = strip.subscale_curves["amnesia"].getData()
    assert list(sx) == [9.0] and list(sy) == [6.0]
    mx, my = strip.bottom_curve.getData()
    assert list(mx) == [9.5] and list(my) == [4.0]
    for _ in range(3):
        run_to(dash, dash.clock.now() + 1, step_s=1)
    assert strip.redraws == redraws + 1  # no change, no redraw
    # the x axis follows the trends
    assert strip.top.viewRange()[0] == pytest.approx(dash.window.trends.plots[0].viewRange()[0])
    # review mode: the same points from the stored "scale" events
    events = [e for e in dash.session.events if e.kind == "scale"]
    review = ScaleStrip(dash.session.scales)
    review.set_points(score_rows_from_events(events))
    assert [list(c) for c in review.total_curve.getData()] == [[9.0], [29.0]]
    review.deleteLater()


def test_panel_state_after_done_and_timepoint_states(dash: Dashboard, qtbot: QtBot) -> None:
    start_infusion(dash)
    status = dash.session.assessment_status(dash.clock.now())
    baseline = [tp for tp in status.items if tp.id == "cadss@baseline"][0]
    assert baseline.state is TimepointState.OVERDUE
    panel = panel_of(dash)
    assert panel.row_texts[0] == ("cadss@baseline", "OVERDUE since 0:01",
                                  "Enter CADSS (baseline)", True)
    dialog = panel.open_timepoint("cadss@baseline")
    assert isinstance(dialog, ScaleEntryDialog) and dialog.timepoint is not None
    dialog.time_edit.setText("0:00:50")  # done before the start, entered late
    type_keys(qtbot, dialog, [0] * 23)
    qtbot.keyClick(focus_in(qtbot, dialog), Qt.Key.Key_Return)
    assert panel.row_texts == []
    assert panel.done_label.text() == "Done: CADSS baseline"
    assert dash.session.assessments.entries()[0].performed_s == 50.0
