"""Small pieces shared by the issue-9 dialogs: tri-state answers and a message line."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QWidget

NOT_ANSWERED = "— not answered"

# The shared dark theme leaves check box and radio indicators nearly invisible: outline them.
DIALOG_STYLE = """
QCheckBox::indicator, QRadioButton::indicator { width: 14px; height: 14px;
    border: 1px solid #7d8794; background: #1b222c; }
QRadioButton::indicator { border-radius: 7px; }
QCheckBox::indicator:checked, QRadioButton::indicator:checked { background: #7fd1ff; }
"""


def format_dose(mg_per_kg: float) -> str:
    """0.5 -> "0.5", 0.75 -> "0.75", 1.0 -> "1.0" (a bare "1" reads like a count)."""
    text = f"{mg_per_kg:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


class YesNo(QComboBox):
    """A question with three states: not answered (None), yes, no. Never defaults to an answer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItems([NOT_ANSWERED, "yes", "no"])

    def value(self) -> bool | None:
        return {0: None, 1: True, 2: False}[self.currentIndex()]

    def set_value(self, value: bool | None) -> None:
        self.setCurrentIndex(0 if value is None else 1 if value else 2)


class MessageLine(QLabel):
    """Where refusals from the core are shown (never a crash, never a blocking box)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet("color: #ffb454;")

    def show_error(self, text: str) -> None:
        self.setText(f"⚠ {text}" if text else "")
