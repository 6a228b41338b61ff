"""Titration in front of the dose choice (issue 9): the previous session, the suggestion, the
protocol steps, and the clinician's choice with a reason. Nothing is chosen automatically: the
suggested step is preselected, the clinician confirms or picks another and says why.

Chain it before the session set-up dialog: pass `decision.chosen_mg_per_kg` as the set-up's
dose, and record `decision.to_event(t_s)` in the session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.course import CourseSession
from ketadesk.core.titration import (
    TitrationDecision,
    TitrationError,
    TitrationSettings,
    decide,
    suggest,
)
from ketadesk.ui.dialogs.common import DIALOG_STYLE, MessageLine, format_dose


def describe_previous(prev: CourseSession | None) -> str:
    if prev is None:
        return "No previous session."
    dose = ("not recorded" if prev.dose_mg_per_kg is None
            else f"{format_dose(prev.dose_mg_per_kg)} mg/kg")
    bp = ("not measured" if prev.peak_sys_mmhg is None
          else f"{prev.peak_sys_mmhg:.0f}/{_n(prev.peak_dia_mmhg)} mmHg")
    pauses = ", ".join(prev.pause_reasons) or "none"
    aes = ", ".join(prev.adverse_events) or "none"
    cadss = "not recorded" if prev.peak_cadss is None else f"{prev.peak_cadss:g}"
    lines = [f"Previous session {prev.on.isoformat()}: {dose}",
             f"Peak BP {bp}; pauses: {pauses}; adverse events: {aes}; alarms {prev.alarms}",
             f"Peak CADSS (dissociation): {cadss}"]
    if prev.stopped_early:
        lines.append("Stopped early")
    return "\n".join(lines)


class TitrationDialog(QDialog):
    """Accepts with `decision` (TitrationDecision)."""

    def __init__(self, previous: CourseSession | None, who: str,
                 settings: TitrationSettings | None = None, parent: QWidget | None = None,
                 wall_now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self._wall_now = wall_now  # the session clock's wall_time, for the record
        self.setWindowTitle("Dose for this session")
        self.setMinimumWidth(600)
        self.who = who
        self.suggestion = suggest(previous, settings)
        self.decision: TitrationDecision | None = None

        self.previous_label = QLabel(describe_previous(previous))
        self.previous_label.setWordWrap(True)
        self.suggestion_label = QLabel(
            f"Suggested: {self.suggestion.text}\n(a suggestion only: the choice is yours)")
        self.suggestion_label.setWordWrap(True)

        box = QGroupBox("Dose (mg/kg)")
        row = QHBoxLayout(box)
        self.group = QButtonGroup(self)
        self.step_buttons: dict[float, QRadioButton] = {}
        for i, step in enumerate(self.suggestion.steps_mg_per_kg):
            mark = "  ← suggested" if step == self.suggestion.dose_mg_per_kg else ""
            b = QRadioButton(f"&{i + 1}  {format_dose(step)}{mark}")
            self.group.addButton(b)
            self.step_buttons[step] = b
            row.addWidget(b)
        self.other = QRadioButton("other")
        self.group.addButton(self.other)
        self.other_value = QDoubleSpinBox(minimum=0.05, maximum=2.0, decimals=2, singleStep=0.05,
                                          value=self.suggestion.dose_mg_per_kg)
        self.other_value.valueChanged.connect(lambda _v: self.other.setChecked(True))
        row.addWidget(self.other)
        row.addWidget(self.other_value)
        suggested = self.step_buttons.get(self.suggestion.dose_mg_per_kg)
        (suggested or self.other).setChecked(True)

        self.reason = QLineEdit(placeholderText="reason (needed when not the suggested dose)")
        self.message = MessageLine()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.addButton("&Use this dose",
                                           QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.clicked.connect(self._ok)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(self.previous_label)
        lay.addWidget(self.suggestion_label)
        lay.addWidget(box)
        lay.addWidget(self.reason)
        lay.addWidget(self.message)
        lay.addWidget(buttons)

    def chosen(self) -> float:
        for step, b in self.step_buttons.items():
            if b.isChecked():
                return step
        return float(self.other_value.value())

    def _ok(self) -> None:
        try:
            self.decision = decide(self.suggestion, self.chosen(), self.reason.text(), self.who,
                                   self._wall_now())
        except TitrationError as exc:
            self.message.show_error(str(exc))
            return
        self.accept()


def _n(x: float | None) -> str:
    return "?" if x is None else f"{x:.0f}"
