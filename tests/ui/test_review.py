"""Review mode: the review window on a recorded session, the browser, bad files, the menus."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTableWidget
from review_helpers import record_session

from ketadesk.cli import main as cli_main
from ketadesk.core.clock import FakeClock
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.store.reader import open_recording
from ketadesk.store.review_data import MarkerKind
from ketadesk.ui.review import ReviewLauncher, install_review_menu
from ketadesk.ui.review.browser import SessionBrowser
from ketadesk.ui.review.review_window import GO_TO_SPAN_S, ReviewWindow

MINUTES = 15.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _, _ = record_session(tmp_path_factory.mktemp("rec"), MINUTES)
    return path


@pytest.fixture
def window(recorded: Path, qtbot: object) -> Iterator[ReviewWindow]:
    w = ReviewWindow(open_recording(recorded))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()
    yield w
    w.close()


def _centre(w: ReviewWindow) -> float:
    t0, t1 = w.x_range_s()
    return (t0 + t1) / 2.0


def _click_row(qtbot: object, table: QTableWidget, row: int) -> None:
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,  # type: ignore[attr-defined]
                     pos=QPoint(rect.center()))


def test_opens_the_whole_session_with_provenance_and_summary(window: ReviewWindow) -> None:
    t0, t1 = window.x_range_s()
    assert t0 == pytest.approx(0.0, abs=1.0) and t1 == pytest.approx(MINUTES * 60, abs=1.0)
    assert window.banner.isVisible() and "SIMULATION" in window.banner.text()
    assert "SIMULATION" in window.windowTitle() and "P-0042" in window.windowTitle()
    assert "P-0042" in window.header.text() and "closed" in window.header.text()
    summary = window.summary.text()
    assert "Delivered" in summary and "Peak SBP" in summary and "Peak CADSS" in summary
    # every plot shares the x axis: the trend panel's master view drives them all
    for plot in window.all_plots():
        x0, x1 = plot.getViewBox().viewRange()[0]
        assert (x0 * 60, x1 * 60) == pytest.approx((t0, t1), abs=1.0)
        assert plot.getViewBox().state["mouseEnabled"] == [True, False]  # drag/wheel in time
    # moving any plot (as a mouse drag on it does) moves them all, the waveforms refilled
    window.wave_plots["pleth"].setXRange(2.0, 3.0, padding=0)
    assert window.x_range_s() == pytest.approx((120.0, 180.0), abs=0.5)
    x, _ = window.wave_curves["ecg_ii"].getData()
    assert x[0] * 60 == pytest.approx(120.0, abs=0.5) and x[-1] * 60 == pytest.approx(180.0, abs=0.5)
    x0, x1 = window.trends.plots[-1].getViewBox().viewRange()[0]
    assert (x0, x1) == pytest.approx((2.0, 3.0), abs=0.01)


def test_waveforms_are_enveloped_when_zoomed_out_and_exact_when_zoomed_in(
        window: ReviewWindow, recorded: Path) -> None:
    x, y = window.wave_curves["ecg_ii"].getData()
    assert len(x) <= window.provider.max_points + 16  # whole 15 min: an envelope, not 225k
    with open_recording(recorded) as rec:
        full = rec.waveform("ecg_ii")
        assert np.nanmax(y) == pytest.approx(float(full.values.max()))  # peaks survive
        assert np.nanmin(y) == pytest.approx(float(full.values.min()))
        window.set_x_range_s(300.0, 310.0)
        x, y = window.wave_curves["ecg_ii"].getData()
        raw = rec.waveform("ecg_ii", 300.0, 310.0)
    np.testing.assert_allclose(x * 60.0, raw.t_s, atol=1e-9)
    np.testing.assert_array_equal(y, raw.values.astype(np.float64))


def test_clicking_an_alarm_or_a_scale_entry_moves_the_plots_to_its_time(
        window: ReviewWindow, qtbot: object) -> None:
    alarms = window.recording.alarms()
    assert alarms and window.alarm_table.rowCount() == len(alarms)
    target = alarms[-1]
    _click_row(qtbot, window.alarm_table, len(alarms) - 1)
    assert _centre(window) == pytest.approx(target.t_s, abs=0.5)
    t0, t1 = window.x_range_s()
    assert t1 - t0 == pytest.approx(GO_TO_SPAN_S)
    scales = window.recording.scale_entries(current_only=True)
    assert window.scale_table.rowCount() == len(scales) >= 1
    _click_row(qtbot, window.scale_table, 0)
    assert _centre(window) == pytest.approx(min(scales[0].t_s, MINUTES * 60 - GO_TO_SPAN_S / 2),
                                            abs=0.5)


def test_keyboard_pans_and_zooms(window: ReviewWindow, qtbot: object) -> None:
    window.set_x_range_s(200.0, 400.0)
    qtbot.keyClick(window, Qt.Key.Key_Right)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((250.0, 450.0), abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Left)  # type: ignore[attr-defined]
    qtbot.keyClick(window, Qt.Key.Key_Left)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((150.0, 350.0), abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Plus)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((200.0, 300.0), abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Minus)  # type: ignore[attr-defined]
    qtbot.keyClick(window, Qt.Key.Key_Minus)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((50.0, 450.0), abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Home)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((0.0, 400.0), abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_End)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((MINUTES * 60 - 400.0, MINUTES * 60), abs=0.5)
    qtbot.keyClick(window, Qt.Key.Key_F)  # type: ignore[attr-defined]
    assert window.x_range_s() == pytest.approx((0.0, MINUTES * 60), abs=0.5)
    # Panning past the end stops at the end; zooming in stops at a few seconds.
    qtbot.keyClick(window, Qt.Key.Key_Plus)  # type: ignore[attr-defined]
    for _ in range(5):
        qtbot.keyClick(window, Qt.Key.Key_Right)  # type: ignore[attr-defined]
    assert window.x_range_s()[1] == pytest.approx(MINUTES * 60, abs=0.5)
    for _ in range(20):
        qtbot.keyClick(window, Qt.Key.Key_Plus)  # type: ignore[attr-defined]
    t0, t1 = window.x_range_s()
    assert t1 - t0 == pytest.approx(4.0, abs=0.01)


def test_event_markers_are_on_every_plot_with_labels_on_the_lane(window: ReviewWindow) -> None:
    kinds = {m.kind for m in window.markers}
    assert {MarkerKind.PHASE, MarkerKind.PAUSE, MarkerKind.RATE, MarkerKind.SCALE,
            MarkerKind.ALARM_MEDIUM} <= kinds
    labels = [label.textItem.toPlainText() for _, label in window.marker_labels]
    assert "Start" in labels and "Resume" in labels and any(lb.startswith("Pause") for lb in
                                                             labels)
    # every plot has a vertical segment at every marker time
    want = sorted(m.t_s / 60.0 for m in window.markers)
    for plot in window.all_plots():
        xs = [x for c in window.marker_curves if c.getViewBox() is plot.getViewBox()
              for x in c.getData()[0][::2]]
        assert sorted(xs) == pytest.approx(want)
    start = next(m for m in window.markers if m.label == "Start")
    assert start.t_s == pytest.approx(5 * 60 * MINUTES / 60, abs=3.0)
    # Labels never overlap on the lane: greedy rows, the rest hidden until zoomed in.
    shown = [label for _, label in window.marker_labels if label.isVisible()]
    assert 3 <= len(shown) < len(window.marker_labels)
    rects = [lb.mapRectToScene(lb.boundingRect()) for lb in shown]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b)
    window.set_x_range_s(start.t_s - 10.0, start.t_s + 10.0)  # zoomed in: its label shows
    start_label = next(lb for m, lb in window.marker_labels if m is start)
    assert start_label.isVisible()


def test_browser_lists_filters_and_opens_sessions(tmp_path: Path, qtbot: object) -> None:
    p1, _, _ = record_session(tmp_path, 1.0)
    (tmp_path / "foreign.kdrec").write_text("not a recording")
    opened: list[Path] = []

    def opener(path: Path) -> str | None:
        opened.append(path)
        return None if path == p1 else "cannot be read"

    browser = SessionBrowser(tmp_path, opener)
    qtbot.addWidget(browser)  # type: ignore[attr-defined]
    browser.show()
    assert browser.table.rowCount() == 2
    cells = [browser.table.item(0, c).text() for c in range(browser.table.columnCount())]
    assert cells[0] == "P-0042" and cells[2] == "0.5 mg/kg" and cells[3] == "simulated"
    assert cells[4] == "closed" and cells[5] == "0:01:00"
    assert browser.table.item(1, 4).text().startswith("unreadable:")
    browser.filter.setText("p-0042 simulated")
    assert browser.visible_rows() == [0]
    browser.filter.setText("nobody")
    assert browser.visible_rows() == []
    browser.filter.clear()
    browser.table.setFocus()
    browser.table.selectRow(0)
    qtbot.keyClick(browser.table, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert opened == [p1]
    browser.open_row(1)
    assert "Cannot open foreign.kdrec" in browser.message.text()


def test_a_foreign_or_damaged_file_gives_a_message_not_a_crash(
        tmp_path: Path, recorded: Path, qtbot: object) -> None:
    launcher = ReviewLauncher(tmp_path)
    foreign = tmp_path / "notes.kdrec"
    foreign.write_text("hello")
    assert launcher.open_path(foreign) is None
    assert launcher.error_box is not None and launcher.error_box.isVisible()
    assert "is not a KetaDesk recording" in launcher.error_box.text()
    launcher.error_box.close()
    sqlite3.connect(tmp_path / "other.kdrec").execute("CREATE TABLE t (x)").connection.close()
    assert launcher.open_path(tmp_path / "other.kdrec") is None
    assert "not a KetaDesk recording" in (launcher.last_error or "")
    assert launcher.open_path(tmp_path) is None  # a directory chosen by mistake
    damaged = tmp_path / "damaged.kdrec"
    damaged.write_bytes(recorded.read_bytes()[:8192])  # cut short
    assert launcher.open_path(damaged) is None
    assert launcher.last_error and str(damaged) in launcher.last_error
    window = launcher.open_path(recorded)
    assert isinstance(window, ReviewWindow) and window.isVisible()
    launcher.close_all()


def test_file_menu_opens_the_browser_and_review_command_renders(
        tmp_path: Path, recorded: Path, qtbot: object) -> None:
    from ketadesk.app import build_dashboard

    dash = build_dashboard(SimulatorSource(seed="3"), FakeClock())
    qtbot.addWidget(dash.window)  # type: ignore[attr-defined]
    launcher = install_review_menu(dash.window, dash.window.menus["File"], recorded.parent)
    actions = {a.text(): a for a in dash.window.menus["File"].actions()}
    assert actions["&Open recording\u2026"].shortcut().toString() == "Ctrl+Shift+O"
    assert actions["&Sessions\u2026"].shortcut().toString() == "Ctrl+B"
    actions["&Sessions\u2026"].trigger()
    assert launcher.browser is not None and launcher.browser.isVisible()
    assert launcher.browser.sessions[0].path == recorded
    launcher.browser.open_row(0)
    assert len(launcher.windows) == 1 and launcher.windows[0].isVisible()
    launcher.close_all()
    dash.controller.stop()
    dash.source.close()

    out = tmp_path / "review.png"
    assert cli_main(["review", "--screenshot", str(out), str(recorded)]) == 0
    assert out.stat().st_size > 10_000
    assert cli_main(["review", "--screenshot", str(out), str(tmp_path / "none.kdrec")]) == 2
