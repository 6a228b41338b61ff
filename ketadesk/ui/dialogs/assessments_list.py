"""The session's scale entries in a table, each one's history, and Edit… (with a reason).

An edit never overwrites: the core keeps the original and every revision, and records old
and new values, who, when and why; the history pane shows all of it for the selected row.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.assessments import AssessmentEntry, EntryStatus
from ketadesk.core.session import Session
from ketadesk.ui.dialogs.scale_entry import ScaleEntryDialog, session_clock_text

COLUMNS = ("Done at", "Scale", "Timepoint", "Total", "Subscales", "Status", "Who", "Edits")


def subscale_text(session: Session, entry: AssessmentEntry) -> str:
    names = {s.id: s.name for s in session.scales[entry.scale_id].subscales}
    return ", ".join(f"{names.get(k, k)} {v}" for k, v in entry.score.subscales.items())


def history_text(session: Session, entry_id: str) -> str:
    """The original and every edit of one entry, as plain text for the history pane."""
    log = session.assessments
    revisions = log.history(entry_id)
    edits = {e.revision: e for e in log.edits(entry_id)}
    lines: list[str] = []
    for rev in revisions:
        d = session.scales[rev.scale_id]
        answers = " ".join("-" if a is None else str(a) for a in rev.answers)
        head = "Original" if rev.revision == 0 else f"Edit {rev.revision}"
        lines.append(
            f"{head}: saved {session_clock_text(rev.saved_s)} by {rev.who or '(no initials)'}; "
            f"{rev.status.value}, total {rev.score.total}/{d.max_total}, done at "
            f"{session_clock_text(rev.performed_s)}")
        edit = edits.get(rev.revision)
        if edit is not None:
            lines.append(f"  why: {edit.reason}  (wall clock {edit.wall_time})")
            for c in edit.changes:
                old, new = c.old, c.new
                if c.field == "performed_s":
                    old, new = session_clock_text(float(old)), session_clock_text(float(new))
                lines.append(f"  {c.field}: {old} -> {new}")
        lines.append(f"  answers: {answers}")
    return "\n".join(lines)


class AssessmentsDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Assessments")
        self.edit_dialog: ScaleEntryDialog | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_history)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_edit())
        self.history = QPlainTextEdit()
        self.history.setReadOnly(True)
        self.history.setPlaceholderText("Select an entry to see its original and every edit.")
        self.empty_label = QLabel("No scale entered yet in this session.")
        self.edit_button = QPushButton("Edit\u2026")
        self.edit_button.clicked.connect(self.open_edit)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.empty_label)
        buttons.addStretch(1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("History of the selected entry"))
        layout.addWidget(self.history, 2)
        layout.addLayout(buttons)
        self.resize(980, 560)
        self.reload()

    def reload(self) -> None:
        """Fill the table from the log (the current revision of each entry)."""
        selected = self.selected_entry_id()
        entries = self.session.assessments.entries()
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            d = self.session.scales[e.scale_id]
            edits = len(self.session.assessments.edits(e.entry_id))
            status = e.status.value if e.status is EntryStatus.COMPLETE else "PARTIAL"
            cells = (session_clock_text(e.performed_s), d.short_name,
                     e.timepoint_id or "ad hoc", str(e.score.total),
                     subscale_text(self.session, e), status, e.who, str(edits) if edits else "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, e.entry_id)
                self.table.setItem(row, col, item)
            if e.entry_id == selected:
                self.table.selectRow(row)
        self.empty_label.setVisible(not entries)
        self.edit_button.setEnabled(bool(entries))
        if selected is None and entries:
            self.table.selectRow(len(entries) - 1)
        self._show_history()

    def selected_entry_id(self) -> str | None:
        items = self.table.selectedItems()
        return str(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def select_entry(self, entry_id: str) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == entry_id:
                self.table.selectRow(row)
                return
        raise KeyError(entry_id)

    def open_edit(self) -> ScaleEntryDialog | None:
        """Open the selected entry prefilled; saving asks the core for an audited edit."""
        entry_id = self.selected_entry_id()
        if entry_id is None:
            return None
        dialog = ScaleEntryDialog(self.session, entry_id=entry_id, parent=self)
        dialog.entry_recorded.connect(lambda _e: self.reload())
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _show_history(self) -> None:
        entry_id = self.selected_entry_id()
        self.history.setPlainText("" if entry_id is None else
                                  history_text(self.session, entry_id))
