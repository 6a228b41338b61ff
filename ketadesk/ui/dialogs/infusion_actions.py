"""The small dialogs behind the infusion panel's buttons: start, pause, stop early, change rate,
end session.

Each one gathers what the core command needs (a reason, a rate), runs that command on accept
with the clinician's initials, and stays open showing the core's message when the core refuses
(InfusionError), so nothing typed is lost. Tests fill the fields and call accept(); the app opens
them with open().
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.dose import format_number
from ketadesk.core.infusion import Infusion, InfusionError
from ketadesk.ui.dialogs.session_setup import parse_number

ERROR_STYLE = "color: #ff6b6b; font-weight: bold;"


def clock_text(seconds: float) -> str:
    """m:ss, minutes unbounded (a 120 min infusion shows 120:00)."""
    total = max(0, round(seconds))
    return f"{total // 60}:{total % 60:02d}"


class CommandDialog(QDialog):
    """A form, an explanation, an error line and OK/Cancel; OK runs the command."""

    def __init__(self, title: str, ok_text: str, explanation: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.explanation = QLabel(explanation)
        self.explanation.setWordWrap(True)
        self.form = QFormLayout()
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.ok_button = QPushButton(ok_text)
        self.ok_button.setDefault(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def run(self) -> None:
        """Give the command; raise InfusionError or ValueError to stay open with the message."""
        raise NotImplementedError

    def accept(self) -> None:
        try:
            self.run()
        except (InfusionError, ValueError) as exc:
            self.error.setText(f"Not done: {exc}")
            return
        super().accept()


class StartDialog(CommandDialog):
    """A read-back of the pump settings before the timer starts: F5 alone never starts it."""

    def __init__(self, infusion: Infusion, who: str | None, parent: QWidget | None = None) -> None:
        n = infusion.plan.numbers
        super().__init__(
            "Start infusion",
            "Start (pump running)",
            f"Check the pump: rate {format_number(n.rate_ml_per_h, 1)} mL/h, volume to be "
            f"infused {format_number(n.volume_ml, 1)} mL of "
            f"{format_number(n.concentration_mg_per_ml, 3)} mg/mL "
            f"({format_number(n.dose_mg)} mg over {format_number(n.duration_min, 1)} min). "
            "Start the pump, then confirm here: the timer starts now.",
            parent,
        )
        self._infusion, self._who = infusion, who

    def run(self) -> None:
        self._infusion.start(who=self._who)


class PauseDialog(CommandDialog):
    def __init__(self, infusion: Infusion, who: str | None, parent: QWidget | None = None) -> None:
        super().__init__("Pause infusion", "Pause",
                         "Stop the pump, then record why. The remaining dose is kept: the "
                         "infusion runs longer after resuming.", parent)
        self._infusion, self._who = infusion, who
        self._other = infusion.settings.other_reason
        self.reason = QComboBox()
        self.reason.addItems(list(infusion.settings.pause_reasons))
        self.text = QLineEdit()
        self.text.setPlaceholderText(f"required for '{self._other}'")
        self.form.addRow("Reason", self.reason)
        self.form.addRow("Details", self.text)
        self.reason.currentIndexChanged.connect(self._update)
        self.text.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        needs_text = self.reason.currentText() == self._other
        self.ok_button.setEnabled(not needs_text or bool(self.text.text().strip()))

    def run(self) -> None:
        self._infusion.pause(self.reason.currentText(), self.text.text(), who=self._who)


class StopEarlyDialog(CommandDialog):
    def __init__(self, infusion: Infusion, who: str | None, parent: QWidget | None = None) -> None:
        snap = infusion.snapshot()
        super().__init__(
            "Stop infusion early",
            "Stop infusion",
            f"Delivered so far: {format_number(snap.delivered_mg)} of "
            f"{format_number(infusion.plan.dose_mg)} mg. Stopping ends this infusion: it cannot "
            "be resumed. Stop the pump and give the reason.",
            parent,
        )
        self._infusion, self._who = infusion, who
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("required, e.g. BP 185/110 persisting")
        self.form.addRow("Reason", self.reason)
        self.reason.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.ok_button.setEnabled(bool(self.reason.text().strip()))

    def run(self) -> None:
        self._infusion.stop_early(self.reason.text(), who=self._who)


class ChangeRateDialog(CommandDialog):
    def __init__(self, infusion: Infusion, who: str | None, parent: QWidget | None = None) -> None:
        snap = infusion.snapshot()
        super().__init__(
            "Change pump rate",
            "Change rate",
            f"The pump is set to {format_number(snap.set_rate_ml_per_h, 1)} mL/h. Change the "
            "pump first, then record the new rate: the remaining dose is kept, the time changes.",
            parent,
        )
        self._infusion, self._who = infusion, who
        self.rate = QLineEdit(format_number(snap.set_rate_ml_per_h, 1))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("required")
        self.form.addRow("New rate (mL/h)", self.rate)
        self.form.addRow("Reason", self.reason)
        self.reason.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.ok_button.setEnabled(bool(self.reason.text().strip()))

    def run(self) -> None:
        rate, problem = parse_number(self.rate.text(), "new rate (mL/h)", "40")
        if rate is None:
            raise ValueError(problem)
        self._infusion.change_rate(rate, self.reason.text(), who=self._who)


class EndSessionDialog(CommandDialog):
    def __init__(self, infusion: Infusion, who: str | None, parent: QWidget | None = None) -> None:
        snap = infusion.snapshot()
        at = snap.discharge_assessable_at_s
        if at is not None and snap.t_s < at:
            explanation = (f"The recovery minimum is not reached (in {clock_text(at - snap.t_s)}). "
                           "Ending now needs a reason; it is recorded.")
        else:
            explanation = "The recovery minimum is reached. End the session's observation?"
        super().__init__("End session", "End session", explanation, parent)
        self._infusion, self._who = infusion, who
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("required before the recovery minimum")
        self.form.addRow("Reason", self.reason)

    def run(self) -> None:
        self._infusion.end(who=self._who, reason=self.reason.text())

