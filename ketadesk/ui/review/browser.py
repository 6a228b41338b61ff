"""The session browser: every recording in the data directory, filterable; open one to review.

One row per file from catalog.list_sessions (newest first, unreadable files last with their
problem). Double-click or Enter opens the selected session (the `opener` callback); a file
that cannot be opened is reported in the browser itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.store.catalog import SessionSummary, list_sessions
from ketadesk.ui import theme

COLUMNS = ("Patient", "Date", "Dose", "Data", "Status", "Duration", "File")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def row_cells(s: SessionSummary) -> tuple[str, ...]:
    """The table's text for one session (also what the filter matches)."""
    if s.problem is not None:
        return ("", "", "", "", f"unreadable: {s.problem}", "", s.path.name)
    date = s.start_wall_time.astimezone().strftime("%Y-%m-%d %H:%M") if s.start_wall_time else ""
    dose = f"{s.dose_mg_per_kg:g} mg/kg" if s.dose_mg_per_kg is not None else ""
    status = s.status.value if s.status is not None else ""
    if s.unfinished:
        status = "unfinished (KetaDesk stopped)"
    data = s.provenance.value if s.provenance is not None else ""
    return (s.patient_id or "(none)", date, dose, data, status, _duration(s.duration_s),
            s.path.name)


class _Table(QTableWidget):
    """Enter opens the selected row, like a double-click."""

    activated_row = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self.activated_row.emit(self.currentRow())
            return
        super().keyPressEvent(event)


class SessionBrowser(QWidget):
    """A window listing the sessions of `directory`; `opener(path)` returns an error or None."""

    session_chosen = Signal(Path)

    def __init__(self, directory: Path, opener: Callable[[Path], str | None]) -> None:
        super().__init__()
        self.setWindowTitle(f"KetaDesk sessions \u2014 {directory}")
        self.resize(1000, 560)
        self.directory = directory
        self.opener = opener
        self.sessions: list[SessionSummary] = []
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: patient, date, status, file \u2026")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.table = _Table(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda row, _c: self.open_row(row))
        self.table.activated_row.connect(self.open_row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.TEXT};")
        self.open_button = QPushButton("&Open")
        self.open_button.clicked.connect(lambda: self.open_row(self.table.currentRow()))
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.reload)

        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(refresh)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Recordings in {directory}"))
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        self.sessions = list_sessions(self.directory)
        self.table.setRowCount(0)
        for s in self.sessions:
            r = self.table.rowCount()
            self.table.insertRow(r)
            for col, text in enumerate(row_cells(s)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if s.problem is not None:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(r, col, item)
        self._apply_filter(self.filter.text())
        if not self.sessions:
            self.message.setText(f"No recordings in {self.directory} yet.")
        if self.table.rowCount():
            self.table.selectRow(self._first_visible())

    def visible_rows(self) -> list[int]:
        return [r for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    def _first_visible(self) -> int:
        rows = self.visible_rows()
        return rows[0] if rows else -1

    def _apply_filter(self, text: str) -> None:
        words = text.lower().split()
        for r, s in enumerate(self.sessions):
            haystack = " ".join(row_cells(s)).lower() + " " + s.session_id.lower()
            self.table.setRowHidden(r, not all(w in haystack for w in words))

    def _on_filter_text_changed(self, text: str) -> None:
        self._apply_filter(text)
        first = self._first_visible()
        if first >= 0:
            self.table.selectRow(first)

    def open_row(self, row: int) -> None:
        if not 0 <= row < len(self.sessions) or self.table.isRowHidden(row):
            self.message.setText("Select a session to open.")
            return
        path = self.sessions[row].path
        error = self.opener(path)
        if error is not None:
            self.message.setText(f"Cannot open {path.name}: {error}")
            self.message.setStyleSheet(f"color: {theme.TEXT}; background: #5a1f1f; padding: 4px;")
        else:
            self.message.setText("")
            self.message.setStyleSheet(f"color: {theme.TEXT};")
            self.session_chosen.emit(path)
