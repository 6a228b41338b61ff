"""The alarm bar: the most urgent alarm, how many others, their states, and the alarm buttons.

Presentation after IEC 60601-1-8 (DOMAIN.md section 6): red / yellow / cyan for high / medium /
low, flashing at the rates ketadesk.core.alarm_signals decides, `***` / `**` / `*` markers and the
priority and state in words so nothing depends on colour alone. The flash phase follows an
injected monotonic time source (real time by default), never the session clock, so a sped-up or
fake session clock does not change the flash rate; it is recomputed on each refresh (the one
live timer runs at 25 Hz, enough for 2 Hz flashing), no timer of its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from ketadesk.core.alarm_engine import AlarmSnapshot, AlarmState, AlarmView
from ketadesk.core.alarm_rules import Priority
from ketadesk.core.alarm_signals import flash_lit, flashes
from ketadesk.core.session import SessionSnapshot
from ketadesk.ui import theme

# (strong colour, text colour on it). Cyan for low as DOMAIN.md section 6 allows.
ALARM_COLOURS: dict[Priority, tuple[str, str]] = {
    Priority.HIGH: ("#e8261f", "#ffffff"),
    Priority.MEDIUM: ("#f5c800", "#000000"),
    Priority.LOW: ("#1ec8e0", "#000000"),
}
PRIORITY_WORD = {Priority.HIGH: "HIGH", Priority.MEDIUM: "MEDIUM", Priority.LOW: "LOW"}
# How long an action's confirmation or refusal stays in the bar (seconds of real time).
FEEDBACK_S = 10.0
MESSAGE_H, ROW2_H = 42, 22  # px; the bar is ~70 px high whatever it shows
PAUSE_TEXT = "Audio pause 2 min F10"
RESUME_TEXT = "Resume audio F10"

TimeSource = Callable[[], float]


def priority_text(p: Priority) -> str:
    """E.g. `*** HIGH`: the priority readable without colour."""
    return f"{p.marker} {PRIORITY_WORD[p]}"


def state_words(view: AlarmView) -> list[str]:
    """The inactivation and latch states of one alarm, in words."""
    words = []
    if view.technical:
        words.append("technical")
    if view.state is AlarmState.LATCHED:
        words.append("LATCHED: condition over, reset with F11")
    if view.acknowledged:
        words.append("acknowledged")
    if view.audio_paused:
        words.append("audio paused")
    return words


def alarm_text(view: AlarmView) -> str:
    """One alarm as a line of text: marker, priority word, message, states."""
    return " \u00b7 ".join([f"{priority_text(view.priority)}  {view.message}", *state_words(view)])


def format_countdown(remaining_s: float) -> str:
    """mm:ss, rounded up so a fresh 2-minute pause reads 02:00 and ends at 00:00."""
    s = max(0, math.ceil(remaining_s - 1e-9))
    return f"{s // 60:02d}:{s % 60:02d}"


class AlarmBar(QFrame):
    """Top-of-window alarm bar; refresh(snapshot) redraws it from the session's alarm snapshot."""

    def __init__(self, now: TimeSource = time.monotonic) -> None:
        super().__init__()
        self.setObjectName("alarmBar")
        self._now = now
        self._styles: dict[QLabel, str] = {}
        self._feedback_until = -math.inf
        self.quiet_room = False
        self.lit = False  # whether the top alarm's colour fill shows now (the flash phase)

        self.message = QLabel("No alarms")
        self.message.setObjectName("alarmMessage")
        # A fixed height: a longer alarm must not resize the window below it (that relayout and
        # repaint of every plot cost ~60 ms, far more than the rest of the alarm frame). A text
        # too long for one line at 14 pt is set at 11 pt on two lines in the same height.
        self.message.setFixedHeight(MESSAGE_H)
        # Wrap rather than widen the window or cut the words of an alarm.
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(200)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.more = QLabel("")
        self.more.setObjectName("alarmMore")
        self.more.setMinimumWidth(96)  # shown or empty, it keeps its place: no relayout
        self.pause_label = QLabel("")
        self.pause_label.setObjectName("alarmPause")
        self.quiet_label = QLabel("QUIET ROOM: only high-priority alarms sound")
        self.quiet_label.setObjectName("alarmQuiet")
        self.quiet_label.setStyleSheet(
            "color: #b9c4ff; border: 1px solid #5a6aa8; padding: 0 6px; font-weight: bold;"
            "font-size: 10pt;")
        self.quiet_label.hide()
        for label in (self.pause_label, self.quiet_label):
            label.setFixedHeight(ROW2_H)
        self.feedback = QLabel("")
        self.feedback.setObjectName("alarmFeedback")
        # Always there (empty when idle) and one line high, so a message does not shift the
        # window; it never widens the window (the full text is in the tooltip).
        self.feedback.setFixedHeight(ROW2_H)
        self.feedback.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        self.ack_button = QPushButton("Acknowledge F9")
        self.pause_button = QPushButton(PAUSE_TEXT)
        self.reset_button = QPushButton("Reset latched F11")
        for b in (self.ack_button, self.pause_button, self.reset_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the F-keys work wherever the focus is

        # Row 1: the alarm and the buttons that act on it. Row 2: audio states and the answer
        # to the last action. Both rows keep their height whatever they show.
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.message, 1)
        top.addWidget(self.more)
        top.addWidget(self.ack_button)
        top.addWidget(self.pause_button)
        top.addWidget(self.reset_button)
        second = QHBoxLayout()
        second.setContentsMargins(0, 0, 0, 0)
        second.addWidget(self.pause_label)
        second.addWidget(self.quiet_label)
        second.addWidget(self.feedback, 1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 2, 0, 2)
        box.setSpacing(3)
        box.addLayout(top)
        box.addLayout(second)

    # ---- state from the application -------------------------------------------------------

    def set_quiet_room(self, on: bool) -> None:
        self.quiet_room = on
        self.quiet_label.setVisible(on)

    def show_feedback(self, text: str, refused: bool = False) -> None:
        """A confirmation or a refusal of the last action, shown for FEEDBACK_S seconds."""
        colour = "#ff8a80" if refused else theme.MUTED
        self.feedback.setStyleSheet(f"color: {colour}; font-size: 10pt;")
        self.feedback.setText(("Refused: " if refused else "") + text)
        self.feedback.setToolTip(self.feedback.text())
        self._feedback_until = self._now() + FEEDBACK_S

    # ---- drawing --------------------------------------------------------------------------

    def refresh(self, snap: SessionSnapshot) -> None:
        self.show_alarms(snap.alarms)

    def show_alarms(self, alarms: AlarmSnapshot) -> None:
        now = self._now()
        top = alarms.top
        if top is None:
            self.lit = False
            self.message.setText("No alarms")
            self._style(self.message, f"color: {theme.MUTED}; font-size: 14pt; padding: 4px 8px;"
                        "border: 1px solid #222a33;")
            self.message.setToolTip("")
        else:
            text = alarm_text(top)
            self.message.setText(text)
            self.message.setToolTip("\n".join(alarm_text(v) for v in alarms.alarms))
            strong, on_strong = ALARM_COLOURS[top.priority]
            self.lit = lit = not flashes(top) or flash_lit(top.priority, now)
            pt = 14 if self._fits_one_line(text, 14) else 11
            base = f"font-size: {pt}pt; font-weight: bold; padding: 1px 8px;"
            if lit:
                self._style(self.message, f"{base} background: {strong}; color: {on_strong};"
                            f"border: 2px solid {strong};")
            else:
                # The dark phase keeps the words readable: only the fill blinks.
                self._style(self.message, f"{base} background: {theme.PANEL}; color: {strong};"
                            f"border: 2px solid {strong};")
        n = alarms.others_count
        self.more.setText(f"+{n} more" if n else "")
        self.more.setToolTip(self.message.toolTip())
        self._style(self.more, "font-size: 13pt; font-weight: bold; padding: 0 6px;")
        remaining = alarms.audio_pause_remaining_s
        if remaining is None:
            self.pause_label.hide()
            self.pause_button.setText(PAUSE_TEXT)
        else:
            self.pause_label.setText(f"AUDIO PAUSED {format_countdown(remaining)}")
            self._style(self.pause_label, "color: #ffffff; background: #3a4658; font-size: 11pt;"
                        "font-weight: bold; padding: 0 8px;")
            self.pause_label.show()
            self.pause_button.setText(RESUME_TEXT)
        if self.feedback.text() and now >= self._feedback_until:
            self.feedback.setText("")
            self.feedback.setToolTip("")

    def _fits_one_line(self, text: str, pt: int) -> bool:
        font = QFont(self.message.font())
        font.setPointSize(pt)
        font.setBold(True)
        return QFontMetrics(font).horizontalAdvance(text) <= self.message.width() - 24

    def _style(self, label: QLabel, css: str) -> None:
        # Restyling re-polishes the widget: do it only when the style really changes.
        if self._styles.get(label) != css:
            self._styles[label] = css
            label.setStyleSheet(css)
