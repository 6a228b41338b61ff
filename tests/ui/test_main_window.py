from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer

from ketadesk.app import Dashboard, build_dashboard
from ketadesk.core.clock import FakeClock
from ketadesk.sources.base import NumericSample, Provenance, SampleBatch, SourceInfo
from ketadesk.sources.simulator.source import SimulatorSource
from ketadesk.ui.widgets.numeric_tile import DASHES


@pytest.fixture
def dash(qtbot: object) -> Iterator[Dashboard]:
    d = build_dashboard(SimulatorSource(seed="11"), FakeClock())
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    d.window.show()
    yield d
    d.controller.stop()
    d.source.close()


def _advance(d: Dashboard, seconds: int) -> None:
    assert isinstance(d.clock, FakeClock)
    for _ in range(seconds):
        d.clock.advance(1.0)
        d.controller.step()


def test_window_shows_with_simulation_banner_and_title(dash: Dashboard) -> None:
    assert dash.window.isVisible()
    assert dash.window.banner.isVisible()
    assert "SIMULATION" in dash.window.banner.text()
    assert "SIMULATION" in dash.window.windowTitle()


def test_numerics_update_as_simulated_time_advances(dash: Dashboard) -> None:
    assert dash.window.tiles["hr"].text == DASHES  # nothing measured yet
    _advance(dash, 5)
    hr1 = dash.window.tiles["hr"].text
    assert hr1.isdigit() and 40 < int(hr1) < 140
    assert dash.window.tiles["nibp"].text == DASHES  # first cuff cycle at 30 s
    _advance(dash, 40)
    assert "/" in dash.window.tiles["nibp"].text
    assert dash.window.clock_label.text() == "0:00:45"
    x, y = dash.window.ecg.curve.getData()
    assert x is not None and len(x) > 1000  # the sweep holds ~8 s of 250 Hz ECG


def test_probe_zero_shows_dashes_not_zero(qtbot: object) -> None:
    class OneShot:
        options = ()
        info = SourceInfo("probe", "test", ("spo2",), Provenance.LIVE)
        connection = None

        def open(self, clock: object) -> None: ...
        def close(self) -> None: ...
        def read(self) -> SampleBatch:
            return SampleBatch(numerics=(NumericSample("spo2", 0.5, 0.0),))

    d = build_dashboard(OneShot(), FakeClock())  # type: ignore[arg-type]
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    d.clock.advance(1.0)  # type: ignore[attr-defined]
    d.controller.step()
    assert d.window.tiles["spo2"].text == DASHES
    assert not d.window.banner.isVisible()  # live data: no simulation banner
    assert "SIMULATION" not in d.window.windowTitle()


def test_one_periodic_timer_drives_the_redraw(dash: Dashboard, qtbot: object) -> None:
    timers = [t for t in dash.window.findChildren(QTimer) if t.isActive()]
    assert timers == []  # the window itself runs no timer
    dash.controller.start()
    assert dash.controller.timer.isActive() and not dash.controller.timer.isSingleShot()
    assert dash.controller.timer.interval() == 40  # 25 Hz from defaults.toml
    dash.clock.advance(3.0)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: dash.window.clock_label.text() == "0:00:03", timeout=2000)  # type: ignore[attr-defined]


def test_dashboard_records_everything_and_flushes_on_close(qtbot: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ketadesk.store.reader import open_recording
    from ketadesk.store.session_recorder import SessionRecorder

    d = build_dashboard(SimulatorSource(seed="2"), FakeClock(),
                        lambda s: SessionRecorder.start(s, directory=tmp_path))
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    _advance(d, 90)
    path = d.pipeline.sink.path  # type: ignore[union-attr]
    d.close()
    rec = open_recording(path)
    assert rec.status.value == "closed" and rec.meta.provenance.value == "simulated"
    assert len(rec.numeric("hr")[0]) == 91
    assert len(rec.waveform("ecg_ii")[0]) == 90 * 250 + 1
    assert rec.verify_audit()[0]
    rec.close()
