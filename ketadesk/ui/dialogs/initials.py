"""Asks once for the clinician's initials, which every later action of theirs is stamped with."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

# The alarm engine's rule for initials (1-5 letters); checked here so the person sees it at once.
_INITIALS = re.compile(r"[A-Za-z]{1,5}")


class InitialsDialog(QDialog):
    def __init__(self, reason: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is at the chair?")
        self.initials = ""
        text = "Your initials (1-5 letters) are recorded with every action you take."
        self.prompt = QLabel(f"{reason}\n{text}" if reason else text)
        self.prompt.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("e.g. AB")
        self.edit.setMaxLength(5)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #ff8a80;")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        for w in (self.prompt, self.edit, self.error, buttons):
            box.addWidget(w)

    def accept(self) -> None:
        text = self.edit.text().strip()
        if not _INITIALS.fullmatch(text):
            what = "nothing" if not text else repr(text)
            self.error.setText(f"Initials must be 1-5 letters (e.g. AB); you entered {what}.")
            self.error.show()
            return
        self.initials = text.upper()
        super().accept()


def ask_initials(reason: str, parent: QWidget | None = None) -> str | None:
    """Open the dialog modally; the initials, or None if the person cancelled."""
    dlg = InitialsDialog(reason, parent)
    return dlg.initials if dlg.exec() == QDialog.DialogCode.Accepted else None
