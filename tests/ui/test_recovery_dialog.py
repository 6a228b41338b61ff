"""The recovery dialog: an unfinished session is offered; resume appends to the same file with
the infusion rebuilt; close marks it interrupted; resume is refused when it is not safe."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from review_helpers import record_session

from ketadesk.app import build_dashboard
from ketadesk.core.clock import FakeClock
from ketadesk.core.infusion import Phase
from ketadesk.core.rebuild import OffsetClock
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.store.reader import open_recording
from ketadesk.store.recording import find_unfinished
from ketadesk.store.records import SessionStatus
from ketadesk.store.recovery import describe_unfinished
from ketadesk.ui.dialogs.recovery import RecoveryDialog, resumed_clock, resumed_recorder

CRASH_MIN = 20.0


def crashed_session(directory: Path) -> Path:
    """A 60-minute timeline recorded until +20 min (infusing since +5), then the app dies:
    the writer's lock and connection go away without the recording being closed."""
    path, _, recorder = record_session(directory, CRASH_MIN, scale=1.0, close=False)
    recorder.writer._release()  # what the kernel does for a killed process
    return path


@pytest.fixture(scope="module")
def crashed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crashed_session(tmp_path_factory.mktemp("crashed"))


@pytest.fixture
def crashed(crashed_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test (the database with its WAL, as the dead process left them)."""
    for f in crashed_template.parent.iterdir():
        shutil.copy2(f, tmp_path / f.name)
    return tmp_path / crashed_template.name


def _dialog(qtbot: object, path: Path, source: str = "simulator",
            minutes_later: float = 3.0) -> RecoveryDialog:
    u = describe_unfinished(path)
    assert u.start_wall_time is not None
    now = u.start_wall_time + timedelta(minutes=CRASH_MIN + minutes_later)
    dialog = RecoveryDialog([u], source, now_wall=now)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    return dialog


def test_the_unfinished_session_is_offered_with_its_state_at_the_crash(
        crashed: Path, qtbot: object) -> None:
    assert find_unfinished(crashed.parent) == [crashed]
    dialog = _dialog(qtbot, crashed)
    cells = [dialog.table.item(0, c).text() for c in range(dialog.table.columnCount())]
    assert cells[0] == "P-0042"
    assert "(+20 min)" in cells[2]
    assert cells[3] == "INFUSING"
    u = describe_unfinished(crashed)
    assert cells[4] == f"{u.delivered_mg:.1f} mg"
    # 52.5 mg/h from +5 min to the last data, less the 2-minute pause (+15 to +17)
    assert u.delivered_mg == pytest.approx(52.5 * (u.last_t_s - 300.0 - 120.0) / 3600.0,
                                           abs=0.05)
    assert dialog.resume_button.isEnabled() and dialog.close_button.isEnabled()


def test_close_as_interrupted_marks_the_file_and_ends_the_dialog(
        crashed: Path, qtbot: object) -> None:
    dialog = _dialog(qtbot, crashed)
    dialog.close_button.click()
    assert dialog.result() == RecoveryDialog.DialogCode.Accepted and dialog.resume_path is None
    assert dialog.closed_paths == [crashed]
    assert find_unfinished(crashed.parent) == []
    with open_recording(crashed) as rec:
        assert rec.status is SessionStatus.INTERRUPTED
        assert rec.end_t_s == pytest.approx(CRASH_MIN * 60, abs=3.0)
        assert rec.verify_audit().ok


def test_resume_appends_to_the_same_file_with_the_infusion_rebuilt(
        crashed: Path, qtbot: object) -> None:
    dialog = _dialog(qtbot, crashed)
    dialog.resume_button.click()
    assert dialog.resume_path == crashed
    u = dialog.sessions[0]
    # The restart happens 3 minutes after the last data, by the wall clock.
    assert u.start_wall_time is not None
    base = FakeClock(wall_start=u.last_wall_time + timedelta(minutes=3))  # type: ignore[operator]
    clock = resumed_clock(base, u)
    assert clock.now() == pytest.approx(u.last_t_s + 180.0)
    source = SimulatorSource(seed="7")
    dash = build_dashboard(source, clock, lambda s: resumed_recorder(u, s, crashed.parent))
    qtbot.addWidget(dash.window)  # type: ignore[attr-defined]
    session = dash.session
    assert session.patient_id == "P-0042" and session.started_wall == u.start_wall_time
    assert session.infusion is not None
    snap = session.infusion.snapshot()
    assert snap.phase is Phase.INFUSING
    assert snap.delivered_mg > (u.delivered_mg or 0.0)  # the pump ran on during the 3 minutes
    assert "1970" not in dash.window.status.text()
    # the live trends show the history from before the crash
    t, v = session.buffers.series("hr", 0.0, u.last_t_s)
    assert len(t) > 0.9 * u.last_t_s and np.isfinite(v).any()
    for _ in range(10):
        base.advance(1.0)
        dash.controller.step()
    dash.close()
    with open_recording(crashed) as rec:
        assert rec.status is SessionStatus.CLOSED and rec.verify_audit().ok
        resumed = [e for e in rec.events() if e.kind == "resumed"]
        assert len(resumed) == 1 and "check the pump" in resumed[0].detail.lower()
        assert resumed[0].data["gap_from_s"] == pytest.approx(u.last_t_s)
        hr_t = rec.numeric("hr").t_s
        # data up to the crash, a 3-minute gap, then data again
        assert hr_t[hr_t <= u.last_t_s][-1] >= u.last_t_s - 3.0
        after = hr_t[hr_t > u.last_t_s]
        assert after[0] >= u.last_t_s + 180.0 - 1e-6 and len(after) >= 9
        # no infusion event repeated by the rebuild
        phases = [e.data["to"] for e in rec.events() if e.kind == "phase"]
        assert phases == ["INFUSING", "PAUSED", "INFUSING"]
        assert rec.end_t_s == pytest.approx(clock.now())
    assert find_unfinished(crashed.parent) == []


def test_resume_is_refused_with_the_reason_when_not_safe(crashed: Path, qtbot: object) -> None:
    other = _dialog(qtbot, crashed, source="hl7")
    assert not other.resume_button.isEnabled()
    assert "--source simulator" in other.reason.text()
    late = _dialog(qtbot, crashed, minutes_later=90.0)
    assert not late.resume_button.isEnabled()
    assert "90 min old" in late.reason.text()
    late.later_button.click()
    assert late.result() == RecoveryDialog.DialogCode.Rejected and late.resume_path is None
    assert find_unfinished(crashed.parent) == [crashed]  # decide later: left as it is


def test_offset_clock_is_what_the_gui_resumes_on(crashed: Path) -> None:
    u = describe_unfinished(crashed)
    clock = resumed_clock(FakeClock(wall_start=u.last_wall_time), u)  # restarted at once
    assert isinstance(clock, OffsetClock) and clock.now() == pytest.approx(u.last_t_s)
