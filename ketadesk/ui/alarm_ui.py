"""The alarm side of the window: bar, tile marks, sound, actions, limits dialog and log view.

Turns the person's alarm commands (acknowledge F9, audio pause F10, reset latched F11, quiet room,
limit changes) into calls on the session's alarm engine, stamped with the clinician's initials
(asked once if nobody is set), and shows the engine's refusals. Everything is redrawn from the
one live timer's refresh; flashing and burst timing follow an injected monotonic time source.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from ketadesk.core.alarm_engine import AlarmCommandError, AlarmSnapshot, AlarmState
from ketadesk.core.alarm_rules import fmt
from ketadesk.core.session import Session, SessionSnapshot
from ketadesk.ui.alarm_sound import AlarmSoundPlayer
from ketadesk.ui.audio import AudioOutput
from ketadesk.ui.dialogs.alarm_limits import AlarmLimitsDialog
from ketadesk.ui.dialogs.initials import ask_initials
from ketadesk.ui.main_window import MainWindow
from ketadesk.ui.widgets.alarm_bar import AlarmBar
from ketadesk.ui.widgets.alarm_log import AlarmLogView
from ketadesk.ui.widgets.alarm_tiles import TileAlarms

TimeSource = Callable[[], float]


class AlarmUi(QObject):
    """Builds the alarm widgets into `window` and handles the alarm commands."""

    def __init__(self, window: MainWindow, session: Session, audio: AudioOutput,
                 now: TimeSource = time.monotonic) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.audio = audio
        # Real time for flashing and burst repeats; tests put a fake here (read on every use).
        self.time_source: TimeSource = now
        # Replaceable in tests: asks the person for initials, None if they cancel.
        self.ask_initials: Callable[[str], str | None] = lambda reason: ask_initials(
            reason, window)
        self.bar = AlarmBar(self.monotonic)
        self.tiles = TileAlarms(window.tiles)
        self.sound = AlarmSoundPlayer(audio, self.monotonic)
        self.log_view: AlarmLogView | None = None
        self.limits_dialog: AlarmLimitsDialog | None = None

        self.ack_action = self._action("&Acknowledge alarms", "F9", self.acknowledge)
        self.pause_action = self._action("Audio &pause 2 min / resume", "F10", self.toggle_pause)
        self.reset_action = self._action("&Reset latched alarms", "F11", self.reset)
        self.limits_action = self._action("Alarm &limits\u2026", "Ctrl+L", self.open_limits)
        self.log_action = self._action("Alarm l&og\u2026", "Ctrl+Shift+A", self.open_log)
        self.quiet_action = QAction("&Quiet room (medium/low alarms visual only)", window)
        self.quiet_action.setCheckable(True)
        self.quiet_action.toggled.connect(self._on_quiet_action_toggled)
        session_menu, view_menu = window.menus["Session"], window.menus["View"]
        for a in (self.ack_action, self.pause_action, self.reset_action):
            session_menu.addAction(a)
        session_menu.addSeparator()
        session_menu.addAction(self.limits_action)
        view_menu.addAction(self.quiet_action)
        view_menu.addAction(self.log_action)
        self.bar.ack_button.clicked.connect(self.ack_action.trigger)
        self.bar.pause_button.clicked.connect(self.pause_action.trigger)
        self.bar.reset_button.clicked.connect(self.reset_action.trigger)

        window.top.addWidget(self.bar)
        window.panels.append(self)
        self._report_audio()

    def set_session(self, session: Session) -> None:
        """Follow a new session (after a source change): its alarm engine from now on."""
        self.session = session
        self._report_audio()

    def _report_audio(self) -> None:
        if not self.audio.available:
            # DOMAIN.md section 6: sound that cannot be heard is itself a technical alarm.
            self.session.alarms.set_audio_available(False, self.session.clock.now(),
                                                    self.audio.problem or "")

    def _action(self, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)  # the shortcut works with the menu closed
        return action

    def monotonic(self) -> float:
        return self.time_source()

    # ---- drawing ------------------------------------------------------------------------------

    def refresh(self, snap: SessionSnapshot) -> None:
        self.show_alarms(snap.alarms)
        if self.log_view is not None:
            self.log_view.refresh(snap)

    def show_alarms(self, alarms: AlarmSnapshot) -> None:
        self.bar.show_alarms(alarms)
        self.tiles.show_alarms(alarms, self.monotonic())
        self.sound.update(alarms)

    def _show_now(self) -> None:
        """Redraw at once after a command rather than at the next frame (sound stops now)."""
        self.show_alarms(self.session.alarms.snapshot(self.session.clock.now()))

    # ---- who ----------------------------------------------------------------------------------

    def who(self, reason: str) -> str | None:
        """The clinician's initials; asked once and remembered in session.clinician."""
        if self.session.clinician:
            return self.session.clinician
        initials = self.ask_initials(reason)
        if initials:
            self.session.clinician = initials.strip().upper()
            return self.session.clinician
        return None

    def _who_or_refuse(self, what: str) -> str | None:
        who = self.who(f"{what}: who is acting?")
        if who is None:
            self.bar.show_feedback(f"{what}: not done, your initials are needed", refused=True)
        return who

    # ---- commands -----------------------------------------------------------------------------

    def acknowledge(self) -> None:
        who = self._who_or_refuse("Acknowledge")
        if who is None:
            return
        try:
            done = self.session.alarms.acknowledge(self.session.clock.now(), who)
        except AlarmCommandError as exc:
            self.bar.show_feedback(str(exc), refused=True)
            return
        if done:
            self.bar.show_feedback(f"Acknowledged {len(done)} alarm(s) ({who}); a new alarm "
                                   "will sound again")
        elif self.session.alarms.snapshot(self.session.clock.now()).alarms:
            self.bar.show_feedback("nothing to acknowledge: every alarm shown is acknowledged "
                                   "already", refused=True)
        else:
            self.bar.show_feedback("nothing to acknowledge: no alarm is shown", refused=True)
        self._show_now()

    def toggle_pause(self) -> None:
        now = self.session.clock.now()
        paused = self.session.alarms.snapshot(now).audio_pause_remaining_s is not None
        who = self._who_or_refuse("Resume audio" if paused else "Audio pause")
        if who is None:
            return
        try:
            if paused:
                self.session.alarms.resume_audio(now, who)
                self.bar.show_feedback(f"Audio resumed ({who})")
            else:
                self.session.alarms.pause_audio(now, who)
                pause_s = self.session.alarms.config.audio_pause_s
                self.bar.show_feedback(f"Audio paused {fmt(pause_s / 60)} min ({who}); a new "
                                       "alarm still sounds. F10 again resumes.")
        except AlarmCommandError as exc:
            self.bar.show_feedback(str(exc), refused=True)
        self._show_now()

    def reset(self) -> None:
        who = self._who_or_refuse("Reset")
        if who is None:
            return
        now = self.session.clock.now()
        try:
            done = self.session.alarms.reset(now, who)
        except AlarmCommandError as exc:
            self.bar.show_feedback(str(exc), refused=True)
            return
        if done:
            self.bar.show_feedback(f"Reset {len(done)} latched alarm(s) ({who})")
        else:
            views = self.session.alarms.snapshot(now).alarms
            latching_active = [v for v in views if v.state is AlarmState.ACTIVE
                               and any(r.id == v.alarm_id and r.latching
                                       for r in self.session.alarms.rules)]
            why = ("the condition is still present" if latching_active
                   else "no latched alarm is shown")
            self.bar.show_feedback(f"nothing to reset: {why}; only alarms whose condition has "
                                   "cleared can be reset", refused=True)
        self._show_now()

    def _on_quiet_action_toggled(self, on: bool) -> None:
        if on == self.sound.quiet_room:
            return
        who = self._who_or_refuse("Quiet room")
        if who is None:
            self.quiet_action.setChecked(self.sound.quiet_room)  # undo the tick: not done
            return
        self.sound.quiet_room = on
        self.bar.set_quiet_room(on)
        detail = ("quiet room on: medium and low alarms visual only, high alarms still sound"
                  if on else "quiet room off: all alarms sound")
        self.session.record(self.session.clock.now(), "alarm_setting", detail, who,
                            {"quiet_room": on})
        self.bar.show_feedback(f"{detail[0].upper()}{detail[1:]} ({who})")
        self._show_now()

    # ---- windows ------------------------------------------------------------------------------

    def open_limits(self) -> AlarmLimitsDialog:
        if self.limits_dialog is None:
            self.limits_dialog = AlarmLimitsDialog(
                self.session, lambda: self.who("Change an alarm limit"), self.window)
        self.limits_dialog.fill()
        self.limits_dialog.open()
        return self.limits_dialog

    def open_log(self) -> AlarmLogView:
        if self.log_view is None:
            self.log_view = AlarmLogView(self.session, self.window)
        self.log_view.update_rows()
        self.log_view.show()
        self.log_view.raise_()
        return self.log_view
