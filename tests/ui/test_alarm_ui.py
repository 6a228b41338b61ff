"""The alarm GUI: bar, flashing, actions, sound, quiet room, limits dialog, log view.

All on a FakeClock-driven dashboard with a fake monotonic time for flashing and bursts; no sleep.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alarm_bed import Bed, NoDeviceAudio, ScriptSource
from PySide6.QtCore import Qt

import ketadesk.ui.audio
from ketadesk.app import build_dashboard
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.clock import FakeClock
from ketadesk.core.tones import PATTERNS
from ketadesk.sources.base import NumericSample
from ketadesk.ui.alarm_sound import burst_name
from ketadesk.ui.dialogs.alarm_limits import LIMIT_COLUMN
from ketadesk.ui.dialogs.initials import InitialsDialog
from ketadesk.ui.widgets.alarm_bar import format_countdown
from ketadesk.ui.widgets.numeric_tile import DASHES

HIGH, MEDIUM = burst_name(Priority.HIGH), burst_name(Priority.MEDIUM)


@pytest.fixture
def bed(qtbot: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bed]:
    monkeypatch.setattr(ketadesk.ui.audio, "AudioOutput", NoDeviceAudio)
    source = ScriptSource()
    d = build_dashboard(source, FakeClock())  # type: ignore[arg-type]
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    b = Bed(d, source)
    d.alarm_ui.time_source = lambda: b.mono[0]
    d.window.show()
    yield b
    d.close()


def _ids(b: Bed) -> list[str]:
    return [v.alarm_id for v in b.step().alarms.alarms]


def test_top_alarm_with_marker_words_and_count_of_the_others(bed: Bed) -> None:
    snap = bed.run(12, hr=150.0)  # HR > 120 for 10 s: medium
    bed.nibp(190, 95)  # >= 180 high (and >= 165 medium)
    snap = bed.step()
    bar = bed.dash.alarm_ui.bar
    assert snap.alarms.top is not None and snap.alarms.top.alarm_id == "nibp_sys.high.high"
    assert bar.message.text().startswith("*** HIGH  NIBP sys high 190")
    others = snap.alarms.others_count
    assert others >= 3  # NIBP sys medium, HR medium, audio unavailable (this test's machine)
    assert bar.more.text() == f"+{others} more" and bar.more.isVisible()
    tiles = bed.dash.window.tiles
    assert tiles["nibp"].label.text().endswith("***")
    assert tiles["hr"].label.text().endswith("**") and not tiles["hr"].label.text().endswith("***")
    assert tiles["spo2"].label.text() == "SpO\u2082"  # no alarm on SpO2


def test_high_alarm_flashes_at_2_hz_on_real_time_not_session_time(bed: Bed) -> None:
    bed.run(2)
    bed.nibp(190, 95)
    ui = bed.dash.alarm_ui
    phases = []
    for k in range(8):  # every 1/8 s over one second: 2 Hz at 50 % -> on, on, off, off x2
        bed.at(100.0 + k / 8)
        phases.append((ui.bar.lit, "nibp" in ui.tiles.lit))
    assert [p[0] for p in phases] == [True, True, False, False] * 2
    assert [p[1] for p in phases] == [p[0] for p in phases]  # the tile flashes in step
    # The session clock racing ahead (60x replay) does not move the phase.
    bed.at(100.3)
    for _ in range(5):
        bed.clock.advance(0.25)
        bed.step()
        assert not ui.bar.lit


def test_medium_alarm_flashes_slower_and_the_bar_reads_without_colour(bed: Bed) -> None:
    bed.run(12, hr=150.0)
    ui = bed.dash.alarm_ui
    lit = []
    for k in range(8):  # every 1/2 s over 4 s: 0.5 Hz at 50 % -> 1 s on, 1 s off
        bed.at(200.0 + k / 2)
        lit.append("hr" in ui.tiles.lit)
    assert lit == [True, True, False, False] * 2
    # The top alarm is the HR one or the audio one, both medium: the marker and word say so.
    assert ui.bar.message.text().startswith("** MEDIUM ")


def test_acknowledge_button_stops_sound_and_flashing_and_records_who(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    bed.run(12, hr=150.0)
    ui = bed.dash.alarm_ui
    assert bed.dash.audio.played[-1] == MEDIUM
    ui.bar.ack_button.click()
    snap = bed.step()
    assert all(v.acknowledged for v in snap.alarms.alarms)
    assert snap.alarms.sound is None
    assert "acknowledged" in ui.bar.message.text()
    assert "Acknowledged" in ui.bar.feedback.text()
    bed.at(bed.mono[0] + 1.0)  # the dark phase of 0.5 Hz: acknowledged alarms stay steady
    assert ui.bar.lit and "hr" in ui.tiles.lit
    events = [e for e in bed.dash.session.events if e.kind == "alarm" and e.who == "AB"]
    assert any("acknowledged: HR high" in e.detail for e in events)
    played = len(bed.dash.audio.played)
    bed.at(bed.mono[0] + 60.0)
    assert len(bed.dash.audio.played) == played  # silent after the acknowledgement


def test_f9_f10_f11_shortcuts_trigger_the_actions(bed: Bed, qtbot: object) -> None:
    ui = bed.dash.alarm_ui
    assert ui.ack_action.shortcut().toString() == "F9"
    assert ui.pause_action.shortcut().toString() == "F10"
    assert ui.reset_action.shortcut().toString() == "F11"
    assert ui.limits_action.shortcut().toString() == "Ctrl+L"
    assert ui.log_action.shortcut().toString() == "Ctrl+Shift+A"
    bed.dash.session.clinician = "AB"
    bed.run(12, hr=150.0)
    bed.dash.window.activateWindow()
    qtbot.waitUntil(bed.dash.window.isActiveWindow, timeout=2000)  # type: ignore[attr-defined]
    qtbot.keyClick(bed.dash.window, Qt.Key.Key_F9)  # type: ignore[attr-defined]
    assert all(v.acknowledged for v in bed.step().alarms.alarms)
    qtbot.keyClick(bed.dash.window, Qt.Key.Key_F10)  # type: ignore[attr-defined]
    assert bed.step().alarms.audio_pause_remaining_s is not None


def test_audio_pause_countdown_and_a_new_alarm_still_sounds(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    bed.run(12, hr=150.0)
    ui, played = bed.dash.alarm_ui, bed.dash.audio.played
    ui.bar.pause_button.click()
    bed.step()
    assert ui.bar.pause_label.isVisible()
    assert ui.bar.pause_label.text() == "AUDIO PAUSED 02:00"
    assert ui.bar.pause_button.text().startswith("Resume audio")
    assert "audio paused" in ui.bar.message.text()
    n = len(played)
    bed.run(15)
    assert ui.bar.pause_label.text() == "AUDIO PAUSED 01:45"
    assert len(played) == n  # 15 s of real time, no repeat: the paused alarms are silent
    bed.nibp(190, 95)  # a new (high) condition during the pause
    assert played[n:] == [HIGH]
    bed.run(106)  # the pause runs out at 120 s
    assert not ui.bar.pause_label.isVisible()
    assert ui.bar.pause_button.text().startswith("Audio pause")


def test_countdown_format() -> None:
    assert [format_countdown(s) for s in (120.0, 119.2, 61.0, 59.5, 0.4, 0.0, -1.0)] == [
        "02:00", "02:00", "01:01", "01:00", "00:01", "00:00", "00:00"]


def test_f10_during_a_pause_resumes_audio(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    ui = bed.dash.alarm_ui
    ui.pause_action.trigger()
    assert bed.step().alarms.audio_pause_remaining_s is not None
    ui.pause_action.trigger()
    assert bed.step().alarms.audio_pause_remaining_s is None
    assert "Audio resumed (AB)" in ui.bar.feedback.text()


def test_reset_latched_alarm_and_refusal_when_nothing_to_reset(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    bed.run(2)
    bed.nibp(190, 95)
    bed.run(1)
    ui = bed.dash.alarm_ui
    ui.reset_action.trigger()  # the condition is still present
    assert ui.bar.feedback.text().startswith("Refused: nothing to reset: the condition is still")
    bed.nibp(130, 80)  # clears: the high one latches, the medium one goes
    bed.step()
    assert "LATCHED" in ui.bar.message.text() and "F11" in ui.bar.message.text()
    assert "nibp_sys.high.high" in _ids(bed)
    ui.bar.reset_button.click()
    assert "nibp_sys.high.high" not in _ids(bed)
    assert "Reset 1 latched alarm(s) (AB)" in ui.bar.feedback.text()
    assert bed.dash.window.tiles["nibp"].label.text() == "NIBP"
    ui.reset_action.trigger()
    assert "no latched alarm is shown" in ui.bar.feedback.text()
    bed.at(bed.mono[0] + 11.0)
    assert ui.bar.feedback.text() == ""  # the message goes after a while


def test_quiet_room_keeps_medium_visual_and_high_still_sounds(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    ui, played = bed.dash.alarm_ui, bed.dash.audio.played
    ui.quiet_action.setChecked(True)
    assert ui.bar.quiet_label.isVisible()
    assert "QUIET ROOM" in ui.bar.quiet_label.text()
    assert "View" in [m for m, menu in bed.dash.window.menus.items()
                      if ui.quiet_action in menu.actions()]
    n = len(played)
    bed.run(15, hr=150.0)
    assert bed.step().alarms.top is not None
    assert MEDIUM not in played[n:]  # shown, not heard
    bed.nibp(190, 95)
    assert played[-1] == HIGH
    assert any(e.kind == "alarm_setting" and e.who == "AB" and e.data["quiet_room"]
               for e in bed.dash.session.events)
    ui.quiet_action.setChecked(False)
    assert not ui.bar.quiet_label.isVisible()


def test_bursts_repeat_at_the_priority_interval_of_real_time(bed: Bed) -> None:
    bed.run(2)
    bed.nibp(190, 95)
    played = bed.dash.audio.played
    n = played.count(HIGH)
    repeat = PATTERNS[Priority.HIGH].repeat_s
    bed.at(bed.mono[0] + repeat - 0.1)
    assert played.count(HIGH) == n
    bed.at(bed.mono[0] + 0.2)
    assert played.count(HIGH) == n + 1


def test_audio_unavailable_is_a_technical_alarm_on_a_headless_machine(bed: Bed) -> None:
    snap = bed.step()
    audio = [v for v in snap.alarms.alarms if v.alarm_id == "tech.audio"]
    assert len(audio) == 1 and audio[0].technical
    assert "no audio output device" in audio[0].message
    assert "audio output unavailable" in bed.dash.alarm_ui.bar.message.text()
    assert "technical" in bed.dash.alarm_ui.bar.message.text()
    assert not bed.dash.audio.available


def test_with_a_working_audio_device_there_is_no_audio_alarm(
        qtbot: object, monkeypatch: pytest.MonkeyPatch) -> None:
    class Working(NoDeviceAudio):
        @property
        def available(self) -> bool:
            return True

    monkeypatch.setattr(ketadesk.ui.audio, "AudioOutput", Working)
    d = build_dashboard(ScriptSource(), FakeClock())  # type: ignore[arg-type]
    qtbot.addWidget(d.window)  # type: ignore[attr-defined]
    assert d.controller.step().alarms.alarms == ()
    assert d.alarm_ui.bar.message.text() == "No alarms"
    d.close()


def test_initials_are_asked_once_and_remembered(bed: Bed) -> None:
    asked: list[str] = []
    ui = bed.dash.alarm_ui
    ui.ask_initials = lambda reason: asked.append(reason) or "cd"  # type: ignore[func-returns-value]
    bed.run(12, hr=150.0)
    ui.ack_action.trigger()
    ui.pause_action.trigger()
    assert len(asked) == 1 and "Acknowledge" in asked[0]
    assert bed.dash.session.clinician == "CD"
    bed.step()
    who = {e.who for e in bed.dash.session.events if e.kind == "alarm" and e.who}
    assert who == {"CD"}


def test_cancelled_initials_refuse_the_action(bed: Bed) -> None:
    ui = bed.dash.alarm_ui
    ui.ask_initials = lambda reason: None
    bed.run(12, hr=150.0)
    ui.ack_action.trigger()
    assert not any(v.acknowledged for v in bed.step().alarms.alarms)
    assert ui.bar.feedback.text().startswith("Refused: Acknowledge: not done")
    ui.quiet_action.setChecked(True)
    assert not ui.quiet_action.isChecked() and not ui.bar.quiet_label.isVisible()


def test_initials_dialog_refuses_empty_and_non_letters(qtbot: object) -> None:
    dlg = InitialsDialog("Acknowledge")
    qtbot.addWidget(dlg)  # type: ignore[attr-defined]
    dlg.accept()
    assert dlg.result() != InitialsDialog.DialogCode.Accepted
    assert "1-5 letters" in dlg.error.text() and "nothing" in dlg.error.text()
    dlg.edit.setText("A1")
    dlg.accept()
    assert "'A1'" in dlg.error.text() and dlg.initials == ""
    dlg.edit.setText(" ab ")
    dlg.accept()
    assert dlg.result() == InitialsDialog.DialogCode.Accepted and dlg.initials == "AB"


def test_limit_edit_accepted_is_recorded_and_refusals_shown_inline(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    ui = bed.dash.alarm_ui
    dlg = ui.open_limits()
    row = dlg.row_of("hr.high.medium")
    dlg.table.item(row, LIMIT_COLUMN).setText("130")
    assert not dlg.refused and "120 -> 130" in dlg.message.text()
    assert dlg.table.item(row, LIMIT_COLUMN).text() == "130"
    events = [e for e in bed.step() and bed.dash.session.events if e.kind == "limit_change"]
    assert len(events) == 1 and events[0].who == "AB" and events[0].data["new"] == 130.0
    # HR 125 no longer alarms; HR 135 does after the 10 s delay.
    bed.run(15, hr=125.0)
    assert "hr.high.medium" not in _ids(bed)
    bed.run(12, hr=135.0)
    assert "hr.high.medium" in _ids(bed)

    low = dlg.row_of("hr.low.medium")
    dlg.table.item(low, LIMIT_COLUMN).setText("140")  # above the high limit 130
    assert dlg.refused and "must be below" in dlg.message.text()
    assert dlg.message.text().startswith("Refused:")
    assert dlg.table.item(low, LIMIT_COLUMN).text() == "50"  # back to the limit in force
    dlg.table.item(low, LIMIT_COLUMN).setText("5")  # outside the plausible range 20-300
    assert dlg.refused and "plausible range" in dlg.message.text()
    dlg.table.item(low, LIMIT_COLUMN).setText("fifty")
    assert dlg.refused and "not a number" in dlg.message.text()
    assert len([e for e in bed.dash.session.events if e.kind == "limit_change"]) == 1


def test_alarm_log_view_lists_every_action_newest_first_and_updates_live(bed: Bed) -> None:
    bed.dash.session.clinician = "AB"
    bed.run(12, hr=150.0)
    ui = bed.dash.alarm_ui
    ui.ack_action.trigger()
    ui.pause_action.trigger()
    bed.step()
    view = ui.open_log()
    rows = view.rows()
    assert rows[0][3] == "audio paused" and rows[0][6] == "AB" and rows[0][1] == "all alarms"
    states = [r[3] for r in rows]
    assert states.index("acknowledged") < states.index("raised")  # newest first
    hr_raised = next(r for r in rows if r[1] == "HR" and r[3] == "raised")
    assert hr_raised[0] == "0:00:10" and hr_raised[2] == "** MEDIUM" and hr_raised[4] == "150"
    assert "HR high 150 > 120 bpm" in hr_raised[5]
    n = len(rows)
    bed.nibp(190, 95)
    rows = view.rows()
    assert len(rows) == n + 2 and rows[0][2] in ("*** HIGH", "** MEDIUM")
    assert any(r[2] == "*** HIGH" and r[3] == "raised" for r in rows[:2])
    bed.nibp(130, 80)
    assert view.rows()[0][3] == "cleared"


def test_invalid_channel_shows_dashes_and_the_engine_agrees(bed: Bed) -> None:
    bed.run(3)
    assert bed.dash.window.tiles["spo2"].text == "97"
    snap = bed.run(2, spo2=0.0)  # a probe's 0: no measurement
    assert bed.dash.window.tiles["spo2"].text == DASHES
    assert "spo2" in snap.alarms.invalid_channels and not snap.readings["spo2"].valid
    snap = bed.run(2, spo2=96.0)
    assert "spo2" not in snap.alarms.invalid_channels
    assert bed.dash.window.tiles["spo2"].text == "96"


def test_the_alarm_ui_runs_no_timer_of_its_own(bed: Bed) -> None:
    from PySide6.QtCore import QTimer

    bed.run(12, hr=150.0)
    assert [t for t in bed.dash.window.findChildren(QTimer) if t.isActive()] == []


def test_pr_alarms_mark_the_hr_tile(bed: Bed) -> None:
    from ketadesk.ui.widgets.alarm_tiles import CHANNEL_TILE

    assert CHANNEL_TILE["pr"] == "hr" and CHANNEL_TILE["nibp_mean"] == "nibp"
    bed.source.queue.append(NumericSample("nibp_dia", bed.clock.now(), 115.0))
    bed.step()
    assert bed.dash.window.tiles["nibp"].label.text().endswith("***")
