"""Connection indicator, source picker and switching the running dashboard to another source."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QDialog, QLineEdit

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.clock import FakeClock
from ketadesk.core.config import resource_path
from ketadesk.core.dose import PlanInputs, confirm_plan
from ketadesk.core.session import ConnectionStatus, Session, SourceChangeRefused
from ketadesk.sources import registry
from ketadesk.sources.base import (
    ConnectionState,
    NumericSample,
    Provenance,
    SampleBatch,
    SourceInfo,
)
from ketadesk.sources.recordings import NumericSeries, Recording
from ketadesk.sources.registry import RegisteredSource
from ketadesk.sources.replay import ReplaySource
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.ui.dialogs.source_picker import SourcePickerDialog
from ketadesk.ui.source_ui import CHANGE_SOURCE_SHORTCUT, source_picker_for
from ketadesk.ui.widgets.connection_status import ConnectionIndicator, describe

DEMO_CSV = str(resource_path("recordings", "demo_simulated_10min.csv"))


def _dash(qtbot: Any, source: Any) -> Dashboard:
    d = build_dashboard(source, FakeClock())
    qtbot.addWidget(d.window)
    d.window.show()
    return d


@pytest.fixture
def dash(qtbot: Any) -> Iterator[Dashboard]:
    d = _dash(qtbot, SimulatorSource(seed="3"))
    yield d
    d.controller.stop()
    d.source.close()


def _advance(d: Dashboard, seconds: float, step_s: float = 1.0) -> None:
    assert isinstance(d.clock, FakeClock)
    for _ in range(int(seconds / step_s)):
        d.clock.advance(step_s)
        d.controller.step()


def _indicator(d: Dashboard) -> ConnectionIndicator:
    (ind,) = d.window.findChildren(ConnectionIndicator)
    return ind


# ---- connection indicator --------------------------------------------------------------------


class ScriptedSource:
    """A live source whose connection state the test sets."""

    options = ()
    info = SourceInfo("scripted", "scripted monitor", ("hr",), Provenance.LIVE)

    def __init__(self) -> None:
        self.connection = ConnectionState.CONNECTING
        self.pending: list[NumericSample] = []
        self.clock: Any = None

    def open(self, clock: Any) -> None:
        self.clock = clock

    def close(self) -> None:
        self.connection = ConnectionState.DISCONNECTED

    def read(self) -> SampleBatch:
        out, self.pending = tuple(self.pending), []
        return SampleBatch(numerics=out)


@pytest.mark.parametrize("status, now_s, text", [
    (None, 0.0, "\u25cc connecting\u2026"),
    (ConnectionStatus(ConnectionState.CONNECTED, 1.0), 5.0, "\u25cf connected"),
    (ConnectionStatus(ConnectionState.CONNECTING, 0.0, "listening"), 5.0,
     "\u25cc connecting \u2014 waiting for the device\u2026"),
    (ConnectionStatus(ConnectionState.CONNECTING, 90.0, "", True, 60.0), 95.0,
     "\u2715 disconnected \u2014 reconnecting\u2026"),
    (ConnectionStatus(ConnectionState.STALLED, 90.0, "", True, 60.0), 105.0,
     "\u25b2 stalled 0:45 \u2014 no data"),
    (ConnectionStatus(ConnectionState.DISCONNECTED, 600.0, "end of recording", True, 599.0),
     601.0, "\u2715 disconnected \u2014 end of recording"),
    (ConnectionStatus(ConnectionState.DISCONNECTED, 3.0), 4.0,
     "\u2715 disconnected \u2014 no data will arrive"),
])
def test_indicator_text_says_the_state_in_words(status: ConnectionStatus | None, now_s: float,
                                                text: str) -> None:
    assert describe(status, now_s)[0] == text


def test_indicator_follows_a_live_source_through_stall_and_reconnect(qtbot: Any) -> None:
    src = ScriptedSource()
    d = _dash(qtbot, src)
    ind = _indicator(d)
    _advance(d, 1)
    assert "waiting for the device" in ind.text()
    src.connection = ConnectionState.CONNECTED
    src.pending = [NumericSample("hr", 2.0, 70.0)]
    _advance(d, 1)
    assert ind.text() == "\u25cf connected"
    _advance(d, 30)
    src.connection = ConnectionState.STALLED
    _advance(d, 15)
    assert ind.text() == "\u25b2 stalled 0:45 \u2014 no data"  # last data at 2 s, now 47 s
    assert "stalled since session time 0:33" in ind.toolTip()
    src.connection = ConnectionState.CONNECTING
    _advance(d, 1)
    assert ind.text() == "\u2715 disconnected \u2014 reconnecting\u2026"
    d.controller.stop()


def test_replay_end_of_recording_shows_disconnected_with_the_reason(qtbot: Any) -> None:
    rec = Recording("tiny", {"hr": NumericSeries(np.array([0.0, 5.0]), np.array([60.0, 61.0]))},
                    {}, 10.0)
    d = _dash(qtbot, ReplaySource.from_recording(rec))
    _advance(d, 5)
    assert _indicator(d).text() == "\u25cf connected"
    _advance(d, 6)
    assert _indicator(d).text() == "\u2715 disconnected \u2014 end of recording"
    snap = d.session.snapshot(d.clock.now())
    assert snap.connection is ConnectionState.DISCONNECTED
    assert snap.alarms.top is not None and "disconnected" in snap.alarms.top.message
    d.controller.stop()


def test_indicator_sits_beside_the_source_name(dash: Dashboard) -> None:
    _advance(dash, 1)
    header = dash.window.header
    assert header.indexOf(dash.window.status) == 0
    assert header.indexOf(_indicator(dash)) == 1
    assert _indicator(dash).text() == "\u25cf connected"


# ---- the picker ------------------------------------------------------------------------------


def test_picker_lists_every_registered_source_and_a_broken_one_disabled(
        qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry.entry_points

    def with_broken(group: str) -> list[EntryPoint]:
        return [*real(group=group), EntryPoint("broken", "no_such_module_kd:Src", group)]

    monkeypatch.setattr(registry, "entry_points", with_broken)
    dlg = SourcePickerDialog(lambda s: None)
    qtbot.addWidget(dlg)
    names = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    for expected in ("simulator  [simulated]", "replay  [replay]", "hl7  [live]",
                     "broken  [unavailable]"):
        assert expected in names
    broken = dlg.list.item(names.index("broken  [unavailable]"))
    assert not broken.flags() & broken.flags().ItemIsEnabled
    assert "No module named 'no_such_module_kd'" in broken.toolTip()
    assert dlg.selected_name() == "hl7"  # the first loadable one when no current is given
    dlg.list.setCurrentRow(names.index("broken  [unavailable]"))
    dlg.accept()
    assert dlg.result() != QDialog.DialogCode.Accepted
    assert "choose a source that can be loaded" in dlg.error.text()


def test_form_is_generated_from_declared_options(qtbot: Any) -> None:
    dlg = SourcePickerDialog(lambda s: None, current="replay")
    qtbot.addWidget(dlg)
    form = dlg.form()
    assert set(form.fields) == {o.key for o in ReplaySource.options}
    loop = form.fields["loop"]
    assert isinstance(loop, QComboBox)
    assert [loop.itemText(i) for i in range(loop.count())] == ["yes", "no"]
    assert loop.currentText() == "no"
    speed = form.fields["speed"]
    assert isinstance(speed, QLineEdit) and speed.text() == "1"
    assert set(form.browse_buttons) == {"path"}
    assert "path" not in dlg.form("hl7").browse_buttons
    assert dlg.form("hl7").values()["port"] == "2575"

    form.choose_file = lambda start: DEMO_CSV  # type: ignore[method-assign]
    form.browse_buttons["path"].click()
    assert form.values()["path"] == DEMO_CSV


@pytest.mark.parametrize("options, says", [
    ({}, "option path is required"),
    ({"path": DEMO_CSV, "speed": "100"}, "speed must be between 1 and 60"),
    ({"path": "/no/such/file.csv"}, "/no/such/file.csv"),
])
def test_bad_options_are_shown_inline_and_nothing_switches(
        dash: Dashboard, qtbot: Any, options: dict[str, str], says: str) -> None:
    dlg = source_picker_for(dash)
    qtbot.addWidget(dlg)
    dlg.select("replay")
    for key, value in options.items():
        dlg.form().set_value(key, value)
    dlg.ok_button.click()
    assert says in dlg.error.text()
    assert dlg.result() != QDialog.DialogCode.Accepted
    assert dash.source.info.name == "simulator"


def test_a_plugin_that_raises_a_bug_is_reported_not_a_crash(qtbot: Any) -> None:
    class Buggy:
        """A buggy plugin"""

        options = ()

        def __init__(self) -> None:
            raise ZeroDivisionError("oops")

    reg = RegisteredSource("buggy", "x:Buggy", Buggy, None)
    dlg = SourcePickerDialog(lambda s: None, sources={"buggy": reg})
    qtbot.addWidget(dlg)
    dlg.accept()
    assert "buggy could not be created: ZeroDivisionError: oops" in dlg.error.text()


# ---- switching -------------------------------------------------------------------------------


def test_ok_switches_the_dashboard_to_replay_with_banner_and_title(
        dash: Dashboard, qtbot: Any) -> None:
    _advance(dash, 10)
    old_source, old_session = dash.source, dash.session
    old_session.clinician = "AB"
    seen: list[Session] = []
    dash.session_changed.append(seen.append)
    assert "SIMULATION" in dash.window.windowTitle()

    dlg = source_picker_for(dash)
    qtbot.addWidget(dlg)
    assert dlg.selected_name() == "simulator"  # the current source is preselected
    dlg.select("replay")
    dlg.form().set_value("path", DEMO_CSV)
    dlg.form().set_value("speed", "2")
    dlg.ok_button.click()

    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.error.text() == ""
    assert dash.source is dlg.source and dash.source.info.provenance is Provenance.REPLAY
    assert dash.session is not old_session and seen == [dash.session]
    assert dash.pipeline.session is dash.session and dash.controller.pipeline is dash.pipeline
    assert old_source.connection is ConnectionState.DISCONNECTED  # the simulator was closed
    assert "source changed to replay (replay); this session ends" in old_session.events[-1].detail
    assert old_session.events[-1].who == "AB"
    assert dash.session.clinician == "AB"
    assert "after a source change from simulator" in dash.session.events[0].detail
    win = dash.window
    assert win.banner.isVisible() and win.banner.text().startswith("REPLAY")
    assert "REPLAY" in win.windowTitle() and "SIMULATION" not in win.windowTitle()
    # The new session has its own clock from 0 and the replayed values come through.
    assert dash.clock.now() == 0.0
    _advance(dash, 5)
    assert win.clock_label.text() == "0:00:05"
    assert win.tiles["hr"].text.isdigit()
    assert "replay of demo_simulated_10min.csv at 2x" in win.status.text()


def test_switch_to_a_live_source_removes_the_banner(dash: Dashboard, qtbot: Any) -> None:
    dlg = source_picker_for(dash)
    qtbot.addWidget(dlg)
    dlg.select("hl7")
    dlg.form().set_value("port", "0")
    dlg.accept()
    try:
        assert dash.source.info.provenance is Provenance.LIVE
        assert not dash.window.banner.isVisible()
        assert dash.window.windowTitle() == "KetaDesk"
        assert "waiting for the device" in _indicator(dash).text()
    finally:
        dash.source.close()


def test_a_source_that_cannot_open_leaves_the_session_running(
        dash: Dashboard, qtbot: Any) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        session = dash.session
        dlg = source_picker_for(dash)
        qtbot.addWidget(dlg)
        dlg.select("hl7")
        dlg.form().set_value("port", str(port))
        dlg.accept()
    assert f"cannot listen on 127.0.0.1:{port}" in dlg.error.text()
    assert dash.session is session and dash.source.info.name == "simulator"
    _advance(dash, 2)
    assert dash.source.connection is ConnectionState.CONNECTED


def test_switch_is_refused_once_the_infusion_has_started(dash: Dashboard, qtbot: Any) -> None:
    plan = confirm_plan(PlanInputs(70, 0.5, concentration_mg_per_ml=1.0), who="AB").plan
    assert plan is not None
    infusion = dash.session.set_plan(plan)
    dlg = source_picker_for(dash)  # planned, not started: allowed
    qtbot.addWidget(dlg)
    assert dlg.ok_button.isEnabled() and not dlg.refusal_label.isVisible()
    _advance(dash, 60)
    infusion.start(who="AB")
    _advance(dash, 60)

    dlg = source_picker_for(dash)
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.ok_button.isEnabled()
    assert dlg.refusal_label.isVisible()
    assert "infusion started at session time 0:01:00" in dlg.refusal_label.text()
    dlg.select("replay")
    dlg.form().set_value("path", DEMO_CSV)
    dlg.accept()  # even if OK were reachable
    assert "cannot be changed" in dlg.error.text()
    assert dlg.result() != QDialog.DialogCode.Accepted
    with pytest.raises(SourceChangeRefused):
        dash.switch_source(ReplaySource(path=DEMO_CSV))
    assert dash.source.info.name == "simulator"


def test_menu_action_opens_the_picker(dash: Dashboard, qtbot: Any) -> None:
    actions = {a.text(): a for a in dash.window.menus["File"].actions()}
    action = actions["Change &source\u2026"]
    assert action.shortcut().toString() == CHANGE_SOURCE_SHORTCUT
    action.trigger()
    (dlg,) = dash.window.findChildren(SourcePickerDialog)
    assert dlg.isVisible() and dlg.isModal()
    dlg.reject()


def test_a_new_session_gets_a_fresh_clock_and_live_data_runs_at_1x() -> None:
    from ketadesk.app import fresh_clock
    from ketadesk.core.clock import MonotonicClock, ScaledClock
    from ketadesk.sources.hl7 import Hl7Source

    fast = ScaledClock(MonotonicClock(), 10.0)
    replay = ReplaySource(path=DEMO_CSV)
    again = fresh_clock(fast, replay)
    assert isinstance(again, ScaledClock) and again.speed == 10.0 and again.now() < 1.0
    live = fresh_clock(fast, Hl7Source(port="0"))
    assert isinstance(live, ScaledClock) and live.speed == 1.0
    fake = FakeClock(start_s=500.0)
    new_fake = fresh_clock(fake, replay)
    assert isinstance(new_fake, FakeClock) and new_fake.now() == 0.0
    assert new_fake.wall_time() == fake.wall_time()


def test_switching_source_closes_the_old_recording_and_starts_a_new_one(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ketadesk.app import build_dashboard
    from ketadesk.core.clock import FakeClock
    from ketadesk.core.config import resource_path
    from ketadesk.sources.replay import ReplaySource
    from ketadesk.sources.simulator.source import SimulatorSource
    from ketadesk.store.reader import open_recording
    from ketadesk.store.session_recorder import SessionRecorder

    d = build_dashboard(SimulatorSource(), FakeClock(),
                        lambda s: SessionRecorder.start(s, directory=tmp_path))
    qtbot.addWidget(d.window)
    d.clock.advance(5.0)
    d.controller.step()
    first = d.pipeline.sink.path
    d.switch_source(ReplaySource(path=str(resource_path("recordings", "demo_simulated_10min.csv"))))
    second = d.pipeline.sink.path
    assert first != second
    with open_recording(first) as rec:
        assert rec.status.value == "closed" and rec.meta.provenance.value == "simulated"
    d.clock.advance(3.0)
    d.controller.step()
    d.close()
    with open_recording(second) as rec:
        assert rec.meta.provenance.value == "replay"
        assert len(rec.numeric("hr")[0]) >= 3
