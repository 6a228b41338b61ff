"""The alarm log view (View > Alarm log): every alarm raised, acknowledged, paused, reset and
cleared, newest first, updated live from the engine's log on each refresh.

The view shows the engine's in-memory log (its capacity is the engine's log_capacity); the
recorder keeps the durable copy as session events of kind "alarm".
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.alarm_engine import AlarmLogEntry
from ketadesk.core.alarm_rules import fmt
from ketadesk.core.channels import CHANNELS
from ketadesk.core.session import Session, SessionSnapshot

COLUMNS = ("Time", "Channel", "Priority", "State", "Value", "Message", "Who")
_PRIORITY_WORD = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}


def session_time(t_s: float) -> str:
    """h:mm:ss since the session started."""
    s = int(max(0.0, t_s))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def log_row(entry: AlarmLogEntry) -> tuple[str, ...]:
    """The cells of one log line as shown."""
    ch = CHANNELS.get(entry.channel)
    channel = ch.label if ch is not None else (entry.channel or "all alarms")
    priority = (f"{entry.priority.marker} {_PRIORITY_WORD[entry.priority.value]}"
                if entry.priority is not None else "")
    value = "" if entry.value is None else fmt(entry.value)
    return (session_time(entry.t_s), channel, priority, entry.state.value.replace("_", " "),
            value, entry.message, entry.who)


class AlarmLogView(QDialog):
    """A non-modal window over the session's alarm log."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm log")
        self.setModal(False)
        self.session = session
        self._shown: tuple[int, AlarmLogEntry | None] = (-1, None)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        capacity = session.alarms.config.log_capacity
        self.note = QLabel(f"Newest first. Holds the last {capacity} entries; the session "
                           "recording keeps every one.")
        box = QVBoxLayout(self)
        box.addWidget(self.note)
        box.addWidget(self.table, 1)
        self.resize(980, 480)
        self.update_rows()

    def refresh(self, snap: SessionSnapshot) -> None:
        if self.isVisible():
            self.update_rows()

    def update_rows(self) -> None:
        log = self.session.alarms.log
        # Length plus identity of the newest entry: a full log keeps its length as it rolls on.
        key = (len(log), log[-1] if log else None)
        if key[0] == self._shown[0] and key[1] is self._shown[1]:
            return
        self._shown = key
        self.table.setRowCount(len(log))
        for row, entry in enumerate(reversed(log)):
            for col, text in enumerate(log_row(entry)):
                self.table.setItem(row, col, QTableWidgetItem(text))

    def rows(self) -> list[tuple[str, ...]]:
        """The table as text, top row first (tests, copy-out)."""
        out = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(self.table.columnCount())]
            out.append(tuple(c.text() if c is not None else "" for c in cells))
        return out
