"""The infusion panel: phase, countdown, delivered dose, pump rate, recovery clock, commands.

It shows the core Infusion's snapshot and turns clicks and keys into its commands (issue 3).
Buttons are enabled from the core's allowed_actions(); every command carries the clinician's
initials; a refusal from the core is shown, never raised. Completion gets its own look (green
border and text, marked in words) and a chime that is not an alarm tone, played once per
infusion when the panel first sees it complete.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.dose import format_number, load_dose_settings
from ketadesk.core.infusion import Action, Infusion, InfusionError, InfusionSnapshot, Phase
from ketadesk.core.infusion import allowed_actions as allowed_from
from ketadesk.core.session import Session, SessionSnapshot
from ketadesk.core.tones import completion_chime
from ketadesk.ui import theme
from ketadesk.ui.audio import AudioOutput
from ketadesk.ui.dialogs.infusion_actions import (
    ChangeRateDialog,
    CommandDialog,
    EndSessionDialog,
    PauseDialog,
    StartDialog,
    StopEarlyDialog,
    clock_text,
)
from ketadesk.ui.dialogs.session_setup import SessionSetupDialog

if TYPE_CHECKING:
    from ketadesk.ui.main_window import MainWindow

COMPLETE_COLOUR = "#3ddc84"  # green: information, unlike the alarm red, yellow and cyan
COMPLETE_CHUNK = "#23824c"  # darker, so the progress bar's white text stays readable
NO_PLAN_TEXT = "No session set up \u2014 New session (Ctrl+N): patient, screening, dose, plan"
CHIME_NAME = "infusion complete"

BUTTONS: tuple[tuple[Action, str, str | None], ...] = (
    (Action.START, "Start (F5)", "F5"),
    (Action.PAUSE, "Pause (F6)", "F6"),
    (Action.RESUME, "Resume (F7)", "F7"),
    (Action.STOP_EARLY, "Stop early (F8)", "F8"),
    (Action.CHANGE_RATE, "Change rate\u2026", None),
    (Action.BEGIN_RECOVERY, "Begin recovery", None),
    (Action.END, "End session\u2026", None),
)
PRIMARY = (Action.START, Action.PAUSE, Action.RESUME, Action.BEGIN_RECOVERY, Action.END)
DIALOGS: dict[Action, Callable[[Infusion, str | None, QWidget | None], CommandDialog]] = {
    Action.START: StartDialog,
    Action.PAUSE: PauseDialog,
    Action.STOP_EARLY: StopEarlyDialog,
    Action.CHANGE_RATE: ChangeRateDialog,
    Action.END: EndSessionDialog,
}
# The panel's look per phase: the style key and the phase's words with a text marker.
STATES: dict[Phase, tuple[str, str]] = {
    Phase.BASELINE: ("baseline", "\u25cb BASELINE"),
    Phase.INFUSING: ("infusing", "\u25b6 INFUSING"),
    Phase.PAUSED: ("paused", "\u2016 PAUSED"),
    Phase.COMPLETE: ("complete", "\u2714 COMPLETE"),
    Phase.STOPPED_EARLY: ("stopped", "\u25a0 STOPPED EARLY"),
    Phase.RECOVERY: ("recovery", "\u25d4 RECOVERY"),
    Phase.ENDED: ("ended", "ENDED"),
}
STYLE = f"""
QFrame#infusionPanel {{ background: {theme.PANEL}; border: 2px solid #2a3440; border-radius: 4px; }}
QFrame#infusionPanel[state="paused"] {{ border: 2px dashed #8fa3bf; }}
QFrame#infusionPanel[state="complete"] {{ border: 3px solid {COMPLETE_COLOUR}; }}
QFrame#infusionPanel QWidget#infusionBody {{ background: transparent; }}
QFrame#infusionPanel QLabel {{ background: transparent; font-size: 10pt; }}
QFrame#infusionPanel QLabel#phase {{ font-size: 13pt; font-weight: bold; }}
QFrame#infusionPanel[state="complete"] QLabel#phase {{ color: {COMPLETE_COLOUR}; }}
QFrame#infusionPanel QLabel#countdown {{ font-size: 24pt; font-weight: bold; }}
QFrame#infusionPanel QLabel#caption {{ color: {theme.MUTED}; }}
QFrame#infusionPanel QLabel#prompt {{ font-size: 12pt; font-weight: bold; }}
QFrame#infusionPanel QPushButton {{ padding: 4px 4px; font-size: 10pt; }}
QFrame#infusionPanel QProgressBar {{ border: 1px solid #36465a; border-radius: 3px;
    background: #1b222c; text-align: center; max-height: 16px; font-size: 9pt; }}
QFrame#infusionPanel QProgressBar::chunk {{ background: #3f7fbf; }}
QFrame#infusionPanel[state="complete"] QProgressBar::chunk {{ background: {COMPLETE_CHUNK}; }}
"""


class InfusionPanel(QFrame):
    """Redrawn from each session snapshot; commands go to session.infusion."""

    def set_session(self, session: Session) -> None:
        """Follow a new session (after a source change): its infusion, not the old one."""
        self.session = session

    def __init__(self, session: Session, audio: AudioOutput, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.audio = audio
        self._chime = completion_chime(audio.sample_rate_hz)
        self._chimed_for: Infusion | None = None
        self._state = ""
        self.active_dialog: QDialog | None = None  # the dialog a button opened, while open
        self.setup_action: QAction | None = None  # Session > New plan, once installed
        # Replaces the End session dialog when set (the New session flow: discharge, course).
        self.end_handler: Callable[[], QDialog | None] | None = None
        self.last_message = ""  # the last refusal shown (tests, debugging)
        self.setObjectName("infusionPanel")
        self.setStyleSheet(STYLE)

        self.prompt = QLabel(NO_PLAN_TEXT)
        self.prompt.setObjectName("prompt")
        self.prompt.setWordWrap(True)
        self.setup_button = QPushButton("New session\u2026")
        self.setup_button.clicked.connect(self.open_setup_dialog)

        self.countdown = QLabel("0:00")
        self.countdown.setObjectName("countdown")
        self.phase = QLabel("")
        self.phase.setObjectName("phase")
        self.phase.setWordWrap(True)
        self.caption = QLabel("")
        self.caption.setObjectName("caption")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.delivered = QLabel("")
        self.rate = QLabel("")
        self.recovery = QLabel("")

        top = QGridLayout()
        top.setHorizontalSpacing(8)
        top.setVerticalSpacing(0)
        top.addWidget(self.countdown, 0, 0, 2, 1)
        top.addWidget(self.phase, 0, 1)
        top.addWidget(self.caption, 1, 1)
        top.setColumnStretch(1, 1)

        # Two value rows: the pump while it can run, the recovery clock once the infusion ended.
        values = QGridLayout()
        values.setVerticalSpacing(0)
        self._headings: dict[str, QLabel] = {}
        for row, (title, label) in enumerate(
            (("Delivered", self.delivered), ("Pump", self.rate), ("Discharge", self.recovery))
        ):
            heading = QLabel(title)
            heading.setObjectName("caption")
            self._headings[title] = heading
            values.addWidget(heading, row, 0)
            values.addWidget(label, row, 1)
        values.setColumnStretch(1, 1)

        # One row of three slots keeps the panel short: the one primary command of the phase
        # (start, pause, resume, begin recovery, end: never two at once), change rate, stop.
        self.buttons: dict[Action, QPushButton] = {}
        commands = QHBoxLayout()
        commands.setSpacing(3)
        primary = QHBoxLayout()
        primary.setSpacing(0)
        for action, text, key in BUTTONS:
            button = QPushButton(text)
            if key is not None:
                button.setShortcut(QKeySequence(key))
            button.setToolTip(f"{action.value}" + (f" ({key})" if key else ""))
            button.clicked.connect(lambda _=False, a=action: self.command(a))
            button.setEnabled(False)
            self.buttons[action] = button
            if action in PRIMARY:
                primary.addWidget(button)
        commands.addLayout(primary, 1)
        commands.addWidget(self.buttons[Action.CHANGE_RATE], 1)
        commands.addWidget(self.buttons[Action.STOP_EARLY], 1)

        self.body = QWidget()
        self.body.setObjectName("infusionBody")
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(3)
        body.addLayout(top)
        body.addWidget(self.progress)
        body.addLayout(values)
        body.addLayout(commands)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.prompt)
        layout.addWidget(self.setup_button)
        layout.addWidget(self.body)
        self.show_infusion(None)

    # ---- drawing ------------------------------------------------------------------------------

    def refresh(self, snap: SessionSnapshot) -> None:
        self.show_infusion(snap.infusion)

    def redraw_now(self) -> None:
        """Redraw at once after a command instead of waiting for the next frame."""
        infusion = self.session.infusion
        self.show_infusion(infusion.snapshot() if infusion is not None else None)

    def show_infusion(self, snap: InfusionSnapshot | None) -> None:
        infusion = self.session.infusion
        has_plan = snap is not None and infusion is not None
        self.prompt.setVisible(not has_plan)
        self.setup_button.setVisible(not has_plan)
        self.body.setVisible(has_plan)
        if snap is None or infusion is None:
            self._set_state("none")
            return
        plan = infusion.plan
        n = plan.numbers
        f = format_number
        completed = snap.phase is Phase.COMPLETE or (
            snap.phase in (Phase.RECOVERY, Phase.ENDED) and snap.progress >= 1.0
        )
        if completed and self._chimed_for is not infusion:
            self._chimed_for = infusion
            self.audio.play(CHIME_NAME, self._chime)

        state, words = STATES[snap.phase]
        self._set_state(state)
        if completed:
            words += f" \u2014 {f(plan.dose_mg)} mg delivered"
        elif snap.ended_at_s is not None:
            words += f" \u2014 {f(snap.delivered_mg)} of {f(plan.dose_mg)} mg"
        self.phase.setText(words)
        self.setToolTip(
            f"Plan {f(n.dose_mg)} mg ({f(n.dose_mg_per_kg, 3)} mg/kg \u00d7 {f(n.weight_kg, 1)} kg)"
            f" over {f(n.duration_min, 1)} min at {f(n.rate_ml_per_h, 1)} mL/h of "
            f"{f(n.concentration_mg_per_ml, 3)} mg/mL; confirmed by {plan.who or '?'}"
        )

        if snap.ended_at_s is None:
            self.countdown.setText(clock_text(snap.remaining_s))
            if snap.started_at_s is None:
                self.caption.setText(
                    f"to infuse over {f(n.duration_min, 1)} min \u00b7 not started")
            else:
                since = clock_text(snap.elapsed_since_start_s)
                if snap.elapsed_since_start_s - snap.elapsed_infusing_s >= 1:
                    # Paused at some point: the pump ran less than the time since the start.
                    ran = clock_text(snap.elapsed_infusing_s)
                    self.caption.setText(f"remaining \u00b7 ran {ran} of {since}")
                else:
                    self.caption.setText(f"remaining \u00b7 elapsed {since}")
        else:
            # After the infusion the big clock counts the recovery observation.
            self.countdown.setText(clock_text(snap.recovery_elapsed_s or 0.0))
            self.caption.setText("recovery time since the end")
        self.progress.setValue(round(1000 * snap.progress))
        self.progress.setFormat(f"{100 * snap.progress:.0f} %")

        self.delivered.setText(
            f"{f(snap.delivered_mg, 1)} / {f(plan.dose_mg)} mg  "
            f"({f(snap.delivered_mg_per_kg, 2)} / {f(n.dose_mg_per_kg, 3)} mg/kg)"
        )
        self.rate.setText(
            f"{f(snap.rate_ml_per_h, 1)} mL/h now \u00b7 set {f(snap.set_rate_ml_per_h, 1)} mL/h"
        )
        self._show_recovery(snap)
        self._show_buttons(snap.phase)

    def _show_recovery(self, snap: InfusionSnapshot) -> None:
        at = snap.discharge_assessable_at_s
        for label, shown in ((self.rate, at is None), (self.recovery, at is not None)):
            label.setVisible(shown)
        self._headings["Pump"].setVisible(at is None)
        self._headings["Discharge"].setVisible(at is not None)
        if at is None:
            return
        wall = self.session.clock.wall_time() + timedelta(seconds=at - snap.t_s)
        at_text = wall.astimezone().strftime("%H:%M")
        if snap.discharge_assessable:
            self.recovery.setText(f"\u2714 can be assessed now (since {at_text})")
        else:
            self.recovery.setText(f"assessable at {at_text} (in {clock_text(at - snap.t_s)})")

    def _show_buttons(self, phase: Phase) -> None:
        allowed = set(allowed_from(phase))
        primary = next((a for a in PRIMARY if a in allowed), Action.END)
        for action, button in self.buttons.items():
            button.setEnabled(action in allowed)
            if action in PRIMARY:
                button.setVisible(action is primary)

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        self.setProperty("state", state)
        # A dynamic property only restyles after a re-polish (of the frame and its children).
        for w in (self, *self.findChildren(QWidget)):
            w.style().unpolish(w)
            w.style().polish(w)

    def show_message(self, text: str) -> None:
        """A refusal from the core, told to the person (a message box that does not block)."""
        self.last_message = text
        box = QMessageBox(QMessageBox.Icon.Warning, "Infusion", text, QMessageBox.StandardButton.Ok,
                          self.window())
        self._open(box)

    # ---- commands -----------------------------------------------------------------------------

    def command(self, action: Action) -> QDialog | None:
        """A button or key: open its dialog (returned) or give the command at once."""
        infusion = self.session.infusion
        if infusion is None:
            self.show_message(f"Cannot {action.value}: no plan yet; set up the session (Ctrl+N)")
            return None
        if action is Action.END and self.end_handler is not None:
            return self.end_handler()
        who = self.session.clinician or None  # None: the plan's initials
        dialog_type = DIALOGS.get(action)
        if dialog_type is not None:
            try:
                dialog = dialog_type(infusion, who, self.window())
            except InfusionError as exc:
                self.show_message(f"Not done: {exc}")
                return None
            self._open(dialog)
            return dialog
        try:
            if action is Action.RESUME:
                infusion.resume(who=who)
            elif action is Action.BEGIN_RECOVERY:
                infusion.begin_recovery(who=who)
            else:  # pragma: no cover - every other action has a dialog
                raise InfusionError(f"no handler for {action.value}")
        except InfusionError as exc:
            self.show_message(f"Not done: {exc}")
        self.redraw_now()
        return None

    def open_setup_dialog(self) -> SessionSetupDialog | None:
        """Session > New plan (Ctrl+N): only while nothing has started."""
        infusion = self.session.infusion
        if infusion is not None and infusion.phase is not Phase.BASELINE:
            self.show_message(
                f"Not done: the infusion is {infusion.phase.value}; a new plan needs a new session"
            )
            return None
        try:
            settings = load_dose_settings()
        except (ValueError, OSError) as exc:
            self.show_message(f"Cannot set up: the infusion settings are wrong: {exc}")
            return None
        dialog = SessionSetupDialog(self.session, settings, self.window())
        self._open(dialog)
        return dialog

    def _open(self, dialog: QDialog) -> None:
        self.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self.redraw_now)
        dialog.finished.connect(self._on_dialog_finished)
        dialog.open()

    def _on_dialog_finished(self) -> None:
        self.active_dialog = None


def install_infusion_panel(
    window: MainWindow, session: Session, audio: AudioOutput
) -> InfusionPanel:
    """Place the panel in the side column and add Session > New plan… (Ctrl+N)."""
    panel = InfusionPanel(session, audio)
    window.add_panel(panel, window.side)
    action = QAction("New plan\u2026", window)
    action.setShortcut(QKeySequence("Ctrl+N"))
    action.triggered.connect(panel.open_setup_dialog)
    window.menus["Session"].addAction(action)
    panel.setup_action = action
    return panel
