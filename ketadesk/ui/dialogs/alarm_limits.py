"""Session > Alarm limits: the rules as a table; a threshold typed in is a live limit change.

Every change goes through Session.change_alarm_limit (validated by the alarm engine, recorded
with the clinician's initials); a refusal is shown inline and the cell goes back to the limit in
force. Only the threshold is editable: priority, delay and latching are site configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.alarm_engine import AlarmCommandError
from ketadesk.core.alarm_rules import LimitRule, fmt
from ketadesk.core.channels import CHANNELS
from ketadesk.core.session import Session

COLUMNS = ("Channel", "Side", "Limit (edit)", "Unit", "Relative to baseline", "Priority",
           "Delay s", "Latching")
LIMIT_COLUMN = 2


class AlarmLimitsDialog(QDialog):
    def __init__(self, session: Session, who: Callable[[], str | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm limits")
        self.session = session
        self._who = who
        self._filling = False
        self.refused = False  # whether the last change was refused
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_table_item_changed)
        note = QLabel("Type a new limit in the Limit column and press Enter. Each change is "
                      "checked (low below high, inside the plausible range) and recorded with "
                      "your initials. Relative limits are offsets from the patient's baseline.")
        note.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("limitMessage")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(note)
        box.addWidget(self.table, 1)
        box.addWidget(self.message)
        box.addWidget(buttons)
        self.resize(860, 560)
        self.fill()

    @property
    def rules(self) -> tuple[LimitRule, ...]:
        return self.session.alarms.rules

    def row_of(self, rule_id: str) -> int:
        for row, rule in enumerate(self.rules):
            if rule.id == rule_id:
                return row
        raise KeyError(f"no alarm rule {rule_id!r}")

    def fill(self) -> None:
        """Show the rules in force (after a change or a refusal)."""
        self._filling = True
        try:
            rules = self.rules
            self.table.setRowCount(len(rules))
            for row, r in enumerate(rules):
                ch = CHANNELS[r.channel]
                cells = (ch.label, r.side, fmt(r.threshold), ch.unit,
                         ("yes: baseline + limit" if r.side == "high" else
                          "yes: baseline - limit") if r.relative else "no",
                         f"{r.priority.marker} {r.priority.value}", fmt(r.delay_s),
                         "yes" if r.latching else "no")
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    if col == LIMIT_COLUMN:
                        flags |= Qt.ItemFlag.ItemIsEditable
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                        item.setBackground(QColor("#243040"))  # editable cells look like fields
                        item.setToolTip(f"{r.id}: {r.describe_limit()}\n{r.source}")
                        item.setData(Qt.ItemDataRole.UserRole, r.id)
                    item.setFlags(flags)
                    self.table.setItem(row, col, item)
        finally:
            self._filling = False

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != LIMIT_COLUMN:
            return
        rule_id = str(item.data(Qt.ItemDataRole.UserRole))
        self.change(rule_id, item.text())

    def change(self, rule_id: str, text: str) -> bool:
        """Ask the session to change one limit; show the result; True if it was accepted."""
        accepted = False
        try:
            value = float(text.strip().replace(",", "."))
        except ValueError:
            self._show(f"{rule_id}: {text!r} is not a number; type the limit in "
                       f"{CHANNELS[rule_id.split('.')[0]].unit or 'the channel unit'}, e.g. 120",
                       refused=True)
        else:
            who = self._who()
            if not who:
                self._show("limit not changed: your initials are needed to change a limit",
                           refused=True)
            else:
                try:
                    ev = self.session.change_alarm_limit(rule_id, value, who)
                except AlarmCommandError as exc:
                    self._show(str(exc), refused=True)
                else:
                    self._show(f"Changed {ev.detail} (recorded, {ev.who})", refused=False)
                    accepted = True
        self.fill()
        return accepted

    def _show(self, text: str, refused: bool) -> None:
        self.message.setText(("Refused: " if refused else "") + text)
        self.message.setStyleSheet(f"color: {'#ff8a80' if refused else '#9be59b'};")
        self.refused = refused
