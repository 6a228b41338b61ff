"""The recovery dialog: KetaDesk stopped during a session; resume it or close it as interrupted.

Shown by `ketadesk gui` before the dashboard when the data directory holds recordings still
marked open whose writer is dead. One row per session (patient, start, last data, phase at
the crash); the buttons act on the selected row:
- Resume: continue that session (same file; the infusion rebuilt from its events). Offered
  only when it can be done safely (same source, last data less than an hour old, events that
  replay); otherwise the reason is shown.
- Close as interrupted: mark it ended at its last data; it stays readable for review.
- Decide later: start a new session and ask again at the next start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.clock import Clock
from ketadesk.core.rebuild import OffsetClock, RebuildError, resume_time_s
from ketadesk.core.session import Session
from ketadesk.store.recording import close_as_interrupted
from ketadesk.store.records import SessionStatus, StoreError
from ketadesk.store.recovery import UnfinishedSession, resume_into, resume_refusal
from ketadesk.store.session_recorder import SessionRecorder
from ketadesk.ui import theme

COLUMNS = ("Patient", "Started", "Last data", "Phase at the stop", "Delivered", "Source")
CloseFn = Callable[[Path], SessionStatus]


def _local(dt: datetime | None) -> str:
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S") if dt is not None else "?"


class RecoveryDialog(QDialog):
    """After accept(): `resume_path` is the session to resume, or None (start a new one)."""

    def __init__(self, sessions: Sequence[UnfinishedSession], source_name: str, *,
                 now_wall: datetime | None = None, close_fn: CloseFn = close_as_interrupted,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("KetaDesk: unfinished session")
        self.setModal(True)
        self.resize(900, 320)
        self.sessions = list(sessions)
        self.source_name = source_name
        self.now_wall = now_wall or datetime.now(UTC)
        self.close_fn = close_fn
        self.resume_path: Path | None = None
        self.closed_paths: list[Path] = []

        n = len(self.sessions)
        intro = QLabel(
            f"<b>KetaDesk stopped while {'a session was' if n == 1 else f'{n} sessions were'} "
            "being recorded.</b> Resume to continue the same recording (the infusion timer is "
            "rebuilt from the recorded events and is assumed to have kept running on the pump "
            "while KetaDesk was down: check the pump), or close it as interrupted.")
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet(f"color: {theme.MUTED};")

        self.resume_button = QPushButton("&Resume")
        self.close_button = QPushButton("&Close as interrupted")
        self.later_button = QPushButton("Decide &later")
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.close_button.clicked.connect(self._on_close_button_clicked)
        self.later_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.resume_button, self.close_button, self.later_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reason)
        layout.addLayout(buttons)
        self._fill()

    def _fill(self) -> None:
        self.table.setRowCount(0)
        for s in self.sessions:
            r = self.table.rowCount()
            self.table.insertRow(r)
            delivered = "" if s.delivered_mg is None else f"{s.delivered_mg:.1f} mg"
            last = f"{_local(s.last_wall_time)} (+{s.last_t_s / 60:.0f} min)"
            cells = (s.patient_id or "(none)", _local(s.start_wall_time), last, s.phase,
                     delivered, s.source_name)
            if s.problem is not None:
                cells = (s.path.name, "", "", "unreadable", "", "")
            for col, text in enumerate(cells):
                self.table.setItem(r, col, QTableWidgetItem(text))
        if self.sessions:
            self.table.selectRow(0)
        self._update_buttons()

    @property
    def selected(self) -> UnfinishedSession | None:
        rows = self.table.selectionModel().selectedRows()
        return self.sessions[rows[0].row()] if rows else None

    def refusal(self, s: UnfinishedSession) -> str | None:
        return resume_refusal(s, self.source_name, self.now_wall)

    def _update_buttons(self) -> None:
        s = self.selected
        refusal = None if s is None else self.refusal(s)
        self.resume_button.setEnabled(s is not None and refusal is None)
        self.close_button.setEnabled(s is not None)
        if s is None:
            self.reason.setText("")
        elif refusal is not None:
            self.reason.setText(f"Resume is not offered for this session: {refusal}.")
        else:
            self.reason.setText(f"{s.path.name}: recorded from {s.source_name}, "
                                f"clinician {s.clinician or '?'}.")

    def _on_table_item_selection_changed(self) -> None:
        self._update_buttons()

    def _on_resume_button_clicked(self) -> None:
        s = self.selected
        if s is None or self.refusal(s) is not None:
            return
        self.resume_path = s.path
        self.accept()

    def _on_close_button_clicked(self) -> None:
        s = self.selected
        if s is None:
            return
        try:
            self.close_fn(s.path)
        except StoreError as exc:
            self.reason.setText(f"Could not close {s.path.name}: {exc}")
            return
        self.closed_paths.append(s.path)
        self.sessions.remove(s)
        if not self.sessions:
            self.accept()  # nothing left to decide: a new session starts
            return
        self._fill()


def ask_recovery(directory: Path, source_name: str,
                 parent: QWidget | None = None) -> UnfinishedSession | None:
    """Ask about the unfinished sessions in `directory` (modal); the one to resume, or None.

    Returns None at once when there is nothing to ask about.
    """
    from ketadesk.store.recording import find_unfinished
    from ketadesk.store.recovery import describe_unfinished

    paths = find_unfinished(directory) if directory.is_dir() else []
    if not paths:
        return None
    dialog = RecoveryDialog([describe_unfinished(p) for p in paths], source_name, parent=parent)
    dialog.exec()
    chosen = dialog.resume_path
    return next((s for s in dialog.sessions if s.path == chosen), None)


def resumed_clock(base: Clock, session: UnfinishedSession) -> OffsetClock:
    """The session clock of a resumed session: true time since its start (gap included)."""
    start = session.start_wall_time or datetime.now(UTC)
    return OffsetClock(base, resume_time_s(start, session.last_t_s, base.wall_time()))


def resumed_recorder(resume: UnfinishedSession, session: Session,
                     directory: Path) -> SessionRecorder:
    """Continue the chosen recording; if that fails now, say so and record a new session."""
    try:
        return resume_into(resume.path, session)
    except (StoreError, RebuildError) as exc:
        box = QMessageBox(QMessageBox.Icon.Warning, "Session not resumed",
                          f"{resume.path.name} could not be resumed: {exc}\n\n"
                          "A new session is recorded instead; the old one stays unfinished.")
        box.open()
        _kept.append(box)
        return SessionRecorder.start(session, directory=directory)


_kept: list[QMessageBox] = []  # a message box opened without a parent must outlive the call
