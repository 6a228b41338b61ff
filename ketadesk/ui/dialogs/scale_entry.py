"""Enter (or edit) one rating scale: the ScaleForm plus when it was done, who, and why.

The form takes the keyboard as soon as the dialog opens (digits score, Enter saves). The
time done defaults to the moment the dialog opened, as session time (the clock in the
window's corner); it may be moved earlier. The core AssessmentLog decides what is
acceptable (time in the future or before the session, missing items, a second complete
entry for a timepoint, an edit without a reason) and its message is shown in the form,
which unlocks so nothing typed is lost. Without clinician initials nothing is saved.
"""

from __future__ import annotations

import re
from datetime import timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.assessments import (
    AssessmentEntry,
    AssessmentError,
    EntryStatus,
    TimepointStatus,
)
from ketadesk.core.session import Session
from ketadesk.ui import theme
from ketadesk.ui.widgets.scale_form import ScaleForm

MAX_INITIALS = 8
TIME_HELP = "session time h:mm:ss or h:mm, or -N for N minutes ago"


def session_clock_text(t_s: float, seconds: bool = True) -> str:
    """Session time as h:mm:ss (or h:mm), like the clock in the window's corner."""
    whole = int(max(0.0, t_s))
    text = f"{whole // 3600}:{whole % 3600 // 60:02d}"
    return f"{text}:{whole % 60:02d}" if seconds else text


def parse_session_time(text: str, now_s: float) -> float:
    """Seconds since session start from 'h:mm:ss', 'h:mm' or '-N' (N minutes before now).

    Only the form of the text is checked here; whether the time is allowed (not in the
    future, not before the session) is the core's decision.
    """
    t = text.strip()
    ago = re.fullmatch(r"-\s*(\d+(?:\.\d+)?)", t)
    if ago:
        return now_s - float(ago[1]) * 60.0
    m = re.fullmatch(r"(\d{1,2}):([0-5]\d)(?::([0-5]\d))?", t)
    if not m:
        raise ValueError(f"time done {text!r} not understood; type {TIME_HELP}")
    return int(m[1]) * 3600.0 + int(m[2]) * 60.0 + float(m[3] or 0)


class ScaleEntryDialog(QDialog):
    """New entry (scale_id, optional timepoint) or edit of a saved one (entry_id)."""

    entry_recorded = Signal(object)  # the AssessmentEntry just saved

    def __init__(
        self,
        session: Session,
        scale_id: str | None = None,
        *,
        timepoint: TimepointStatus | None = None,
        entry_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.entry_id = entry_id
        self.timepoint = timepoint
        self.saved_entry: AssessmentEntry | None = None
        self._esc_armed = False
        self._last_status = EntryStatus.COMPLETE
        log = session.assessments
        self.opened_s = session.clock.now()
        answers: tuple[int | None, ...] | None = None
        if entry_id is not None:
            current = log.entry(entry_id)
            scale_id = current.scale_id
            answers = current.answers
            self._initial_s = current.performed_s
            where = current.timepoint_id or "unscheduled"
            title = f"edit {entry_id}, {where}"
        else:
            if scale_id is None:
                raise ValueError("a new entry needs a scale id")
            self._initial_s = self.opened_s
            title = timepoint.label if timepoint is not None else "ad hoc, no timepoint"
        definition = session.scales[scale_id]
        self.scale_id = scale_id
        verb = "Edit" if entry_id is not None else "Enter"
        self.setWindowTitle(f"{verb} {definition.short_name} \u2014 {title}")

        self.form = ScaleForm(definition, answers=answers, title=title)
        self.form.entry_saved.connect(self._on_form_entry_saved)

        self._initial_time_text = session_clock_text(self._initial_s)
        self.time_edit = QLineEdit(self._initial_time_text)
        self.time_edit.setToolTip(f"When the assessment was really done: {TIME_HELP}")
        self.time_edit.setMaximumWidth(110)
        self.time_hint = QLabel()
        self.time_hint.setStyleSheet(f"color: {theme.MUTED};")
        self.initials_edit = QLineEdit(session.clinician)
        self.initials_edit.setMaxLength(MAX_INITIALS)
        self.initials_edit.setMaximumWidth(90)
        self.initials_edit.setPlaceholderText("required")
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("required: why this entry is changed")

        fields = QGridLayout()
        fields.addWidget(QLabel("Done at"), 0, 0)
        fields.addWidget(self.time_edit, 0, 1)
        fields.addWidget(self.time_hint, 0, 2)
        fields.addWidget(QLabel("Your initials"), 0, 3)
        fields.addWidget(self.initials_edit, 0, 4)
        fields.setColumnStretch(2, 1)
        if entry_id is not None:
            fields.addWidget(QLabel("Reason for edit"), 1, 0)
            fields.addWidget(self.reason_edit, 1, 1, 1, 4)
        else:
            self.reason_edit.hide()

        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        layout.addWidget(self.form, 1)
        layout.addLayout(bottom)

        # Enter in a field retries the save; no button may swallow Enter as a dialog default.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        for edit in (self.time_edit, self.initials_edit, self.reason_edit):
            edit.returnPressed.connect(self._retry_save)
        self.time_edit.textChanged.connect(self._update_time_hint)
        self.setTabOrder(self.form, self.time_edit)
        self.setTabOrder(self.time_edit, self.initials_edit)
        if entry_id is not None:
            self.setTabOrder(self.initials_edit, self.reason_edit)
        self._update_time_hint()
        # Tall enough for every item of a short scale, no taller than the 900 px window.
        self.resize(880, min(740, 400 + 25 * len(definition.items)))

    # ---- what the person typed

    def performed_s(self) -> float:
        """The time done in session seconds; the exact opening (or saved) time if untouched."""
        text = self.time_edit.text()
        if text.strip() == self._initial_time_text:
            return self._initial_s
        return parse_session_time(text, self.session.clock.now())

    def _update_time_hint(self) -> None:
        now_s = self.session.clock.now()
        try:
            t = self.performed_s()
        except ValueError:
            self.time_hint.setText(f"({TIME_HELP})")
            return
        wall = self.session.clock.wall_time() - timedelta(seconds=now_s - t)
        ago_min = (now_s - t) / 60.0
        when = "now" if abs(ago_min) < 1 else (
            f"{ago_min:.0f} min ago" if ago_min > 0 else "in the future")
        self.time_hint.setText(f"= {wall.astimezone():%H:%M:%S} local, {when}")

    # ---- saving

    def _on_form_entry_saved(self, answers: tuple[int | None, ...], status_text: str) -> None:
        status = EntryStatus(status_text)
        self._last_status = status
        problem, field = self._save(answers, status)
        if problem:
            self.form.show_error(problem)
            (field or self.form).setFocus()
            return
        self.accept()

    def _save(
        self, answers: tuple[int | None, ...], status: EntryStatus
    ) -> tuple[str, QWidget | None]:
        who = self.initials_edit.text().strip()
        if not who:
            return ("your initials are needed: type them in 'Your initials' "
                    f"(1-{MAX_INITIALS} characters), then Enter"), self.initials_edit
        try:
            performed = self.performed_s()
        except ValueError as exc:
            return str(exc), self.time_edit
        log = self.session.assessments
        try:
            if self.entry_id is None:
                entry = log.record(
                    self.scale_id, answers, status, who=who, performed_s=performed,
                    timepoint_id=self.timepoint.id if self.timepoint is not None else None)
            else:
                changed_time = None if performed == self._initial_s else performed
                entry = log.edit(self.entry_id, who=who, reason=self.reason_edit.text(),
                                 answers=answers, status=status, performed_s=changed_time)
        except AssessmentError as exc:
            message = str(exc)
            if "time done" in message:
                return message, self.time_edit
            if "reason" in message:
                return message, self.reason_edit
            return message, None
        if not self.session.clinician:
            # Asked once: later entries and commands are stamped with the same initials.
            self.session.clinician = who
        self.saved_entry = entry
        self.entry_recorded.emit(entry)
        return "", None

    def _retry_save(self) -> None:
        if self._last_status is EntryStatus.PARTIAL:
            self.form.save_partial()
        else:
            self.form.save_complete()

    # ---- keyboard

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.form.setFocus()  # typing starts at item 1 with no click

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._unsaved_answers() and not self._esc_armed:
            # One stray Esc must not throw away a half-typed scale.
            self._esc_armed = True
            self.form.message_label.setText(
                "Esc again discards what was typed; Alt+P saves it as partial.")
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # never a default button: Enter belongs to the form
            return
        super().keyPressEvent(event)

    def _unsaved_answers(self) -> bool:
        if self.saved_entry is not None:
            return False
        if self.entry_id is not None:
            return self.form.answers != self.session.assessments.entry(self.entry_id).answers
        return any(a is not None for a in self.form.answers)
