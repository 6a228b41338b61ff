"""A large numeric tile with label and unit, as on a bedside monitor.

Invalid or stale data shows as dashes: a number on screen always means a measurement.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel

DASHES = "- - -"


class NumericTile(QFrame):
    def __init__(self, label: str, unit: str, colour: str, *, big_pt: int = 40) -> None:
        super().__init__()
        self.setObjectName("tile")
        self.colour = colour
        self.label = QLabel(label)
        self.unit = QLabel(unit)
        self.value = QLabel(DASHES)
        self.sub = QLabel("")
        for w in (self.label, self.unit, self.sub):
            w.setStyleSheet(f"color: {colour}; background: transparent; font-size: 11pt;")
        self.value.setStyleSheet(
            f"color: {colour}; background: transparent; font-size: {big_pt}pt; font-weight: bold;")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sub.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.addWidget(self.label, 0, 0)
        grid.addWidget(self.unit, 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.value, 1, 0, 1, 2)
        grid.addWidget(self.sub, 2, 0, 1, 2)

    def set_value(self, text: str | None, sub: str = "") -> None:
        self.value.setText(DASHES if text is None else text)
        self.sub.setText(sub)

    @property
    def text(self) -> str:
        return self.value.text()
