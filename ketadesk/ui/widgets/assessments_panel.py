"""The assessments panel: which rating scales are due or overdue, and a button to enter each.

A reminder, not an alarm (issue 5, point 3): periwinkle accents unlike the alarm colours
(red, yellow, cyan), no flashing, no sound. States are written out in words ("due now",
"OVERDUE since 0:55"). When the schedule announces something new (core ReminderTracker),
one highlighted line says so until it is dismissed or done. MOAA/S points that come with
each NIBP cycle are folded into one row (the latest) so the panel stays small; the older
ones stay reachable from Score… (Ctrl+K), which lists every due and overdue timepoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from ketadesk.core.assessments import (
    ReminderTracker,
    ScheduleStatus,
    TimepointKind,
    TimepointState,
    TimepointStatus,
)
from ketadesk.core.session import Session, SessionSnapshot
from ketadesk.ui import theme
from ketadesk.ui.dialogs.assessments_list import AssessmentsDialog
from ketadesk.ui.dialogs.scale_entry import ScaleEntryDialog, session_clock_text
from ketadesk.ui.dialogs.scale_picker import ScalePickerDialog, state_text
from ketadesk.ui.widgets.scale_strip import LiveScaleStrip

if TYPE_CHECKING:
    from ketadesk.ui.main_window import MainWindow

REMINDER_COLOUR = "#8c9eff"  # periwinkle: unlike alarm red/yellow/cyan and the sim magenta
MAX_ROWS = 3  # due/overdue rows shown; the rest are one line and in the Score… list
SCORE_KEY = "Ctrl+K"
LIST_KEY = "Ctrl+Shift+K"

STYLE = f"""
QFrame#assessments {{ background: {theme.PANEL}; border: 1px solid #222a33; border-radius: 4px; }}
QFrame#assessments QLabel {{ background: transparent; }}
QFrame#assessments QLabel, QFrame#assessments QPushButton {{ font-size: 10pt; }}
QFrame#assessments QPushButton {{ padding: 2px 8px; }}
QFrame#assessments QLabel#title {{ font-size: 11pt; font-weight: bold; }}
QFrame#notice {{ background: #262b4a; border: 1px solid {REMINDER_COLOUR}; border-radius: 3px; }}
QFrame#notice QPushButton {{ padding: 0px 6px; }}
QFrame#rowDue {{ border-left: 3px solid #56607a; background: transparent; }}
QFrame#rowOverdue {{ border-left: 3px solid {REMINDER_COLOUR}; background: #1f2438; }}
QLabel#stateOverdue {{ color: {REMINDER_COLOUR}; font-weight: bold; }}
QLabel#muted {{ color: {theme.MUTED}; }}
"""

# (timepoint id, state text, button text, overdue?) per row: the panel rebuilds on change only
RowModel = tuple[str, str, str, bool]


class _YieldingLabel(QLabel):
    """A line that gives its height up when the window is too short for everything.

    The due/overdue rows are what matters; the reminder line, the next and the done lines
    repeat or add to them. With no minimum height of their own, a short window (1280x800)
    squeezes them before it grows past the screen.
    """

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), 0)


class _YieldingFrame(QFrame):
    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), 0)


def short_label(tp: TimepointStatus, short_name: str) -> str:
    """'+40 min', 'baseline', 'NIBP +12 min': the timepoint without its scale's name."""
    rest = tp.label.removeprefix(f"{short_name} ").strip()
    return rest.replace("with NIBP at ", "NIBP ")


class AssessmentsPanel(QFrame):
    def set_session(self, session: Session) -> None:
        """Follow a new session (after a source change): its schedule and entries."""
        self.session = session
        self.tracker = ReminderTracker()
        self._announced.clear()
        self.redraw_now()

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.setObjectName("assessments")
        self.setStyleSheet(STYLE)
        # As tall as its content, and no taller: the side column is shared with the tiles.
        # In a short window only the header and the due/overdue rows are kept (see _Yielding).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.session = session
        self.tracker = ReminderTracker()
        self.picker: ScalePickerDialog | None = None
        self.entry_dialog: ScaleEntryDialog | None = None
        self.list_dialog: AssessmentsDialog | None = None
        self.score_action: QAction | None = None  # set by install_assessments
        self.list_action: QAction | None = None

        title = QLabel("Scales")
        title.setObjectName("title")
        self.score_button = QPushButton(f"Score\u2026 ({SCORE_KEY})")
        self.score_button.setToolTip("Enter any scale: a due timepoint or an ad hoc rating")
        self.score_button.clicked.connect(self.open_picker)
        self.list_button = QPushButton("Entries\u2026")
        self.list_button.setToolTip(f"Every entry, its history, Edit\u2026 ({LIST_KEY})")
        self.list_button.clicked.connect(self.open_list)
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.list_button)
        header.addWidget(self.score_button)

        self.notice = _YieldingFrame()
        self.notice.setObjectName("notice")
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_ok = QPushButton("OK")
        self.notice_ok.setToolTip("Dismiss this reminder (the timepoint stays listed)")
        self.notice_ok.clicked.connect(self.dismiss_notice)
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(6, 2, 2, 2)
        notice_row.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # it may yield
        notice_row.addWidget(self.notice_label, 1)
        notice_row.addWidget(self.notice_ok)
        self.notice.hide()
        self._announced: dict[str, TimepointStatus] = {}  # shown in the notice, in order

        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        self.more_label = _YieldingLabel()
        self.more_label.setObjectName("muted")
        self.next_label = _YieldingLabel()
        self.done_label = _YieldingLabel()
        self.done_label.setObjectName("muted")
        self.done_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 3, 8, 3)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.notice)
        layout.addLayout(self.rows_box)
        layout.addWidget(self.more_label)
        layout.addWidget(self.next_label)
        layout.addWidget(self.done_label)

        self.row_texts: list[RowModel] = []  # what the rows show (tests read it)
        self.action_buttons: list[QPushButton] = []
        self._row_frames: list[QFrame] = []
        self._timepoints: dict[str, TimepointStatus] = {}
        self._model: tuple[object, ...] | None = None
        self._drawn_key: tuple[object, ...] | None = None
        self.rebuilds = 0

    # ---- redraw

    def refresh(self, snap: SessionSnapshot) -> None:
        self._show(snap.assessments)

    def redraw_now(self) -> None:
        """After a save: show the new state at once instead of at the next frame."""
        self._show(self.session.assessment_status(self.session.clock.now()))

    def _show(self, status: ScheduleStatus) -> None:
        # Called every frame: nothing shown can change unless a timepoint does or a minute
        # passes ("in 12 min"), so skip the work otherwise (measured 270 -> 5 us a frame).
        key = (status.items, int(status.now_s // 60))
        if key == self._drawn_key:
            return
        self._drawn_key = key
        news = self.tracker.update(status)
        if news or self._announced:
            self._update_notice(news, status)
        rows, more, next_text, done_text = self._build_model(status)
        model = (tuple(rows), more, next_text, done_text)
        if model == self._model:
            return
        self._model = model
        self.rebuilds += 1
        self._timepoints = {tp.id: tp for tp in status.items}
        self._set_rows(rows)
        self.more_label.setText(more)
        self.more_label.setVisible(bool(more))
        self.next_label.setText(next_text)
        self.next_label.setVisible(bool(next_text))
        self.done_label.setText(done_text)
        self.done_label.setVisible(bool(done_text))

    def _name(self, scale_id: str) -> str:
        d = self.session.scales.get(scale_id)
        return d.short_name if d is not None else scale_id

    def _build_model(self, status: ScheduleStatus) -> tuple[list[RowModel], str, str, str]:
        now = status.now_s
        pending = [*status.overdue, *status.due]
        # With each NIBP cycle: only the latest not-done one gets a row (the panel is small).
        latest_nibp: dict[str, TimepointStatus] = {}
        missed_nibp: dict[str, int] = {}
        shown: list[TimepointStatus] = []
        for tp in pending:
            if tp.kind is TimepointKind.WITH_NIBP:
                prev = latest_nibp.get(tp.scale_id)
                if prev is not None:
                    missed_nibp[tp.scale_id] = missed_nibp.get(tp.scale_id, 0) + 1
                if prev is None or (tp.target_s or 0.0) > (prev.target_s or 0.0):
                    latest_nibp[tp.scale_id] = tp
            else:
                shown.append(tp)
        shown.extend(latest_nibp.values())
        shown.sort(key=lambda tp: (tp.state is not TimepointState.OVERDUE,
                                   tp.target_s if tp.target_s is not None else -1.0))
        rows: list[RowModel] = []
        for tp in shown:
            name = self._name(tp.scale_id)
            rows.append((tp.id, state_text(tp, now),
                         f"Enter {name} ({short_label(tp, name)})",
                         tp.state is TimepointState.OVERDUE))
        more = ""
        hidden = len(rows) - MAX_ROWS
        extra = sum(missed_nibp.values())
        if hidden > 0 or extra:
            count = max(hidden, 0) + extra
            more = f"{count} more not done \u2014 Score\u2026 ({SCORE_KEY}) lists them"
        rows = rows[:MAX_ROWS]

        next_text = ""
        upcoming = [tp for tp in status.upcoming if tp.kind is not TimepointKind.WITH_NIBP]
        if upcoming:
            tp = upcoming[0]
            if tp.target_s is None:
                next_text = f"Next: {tp.label}, timed from the infusion start"
            else:
                in_min = (tp.target_s - now) / 60.0
                next_text = (f"Next: {tp.label} at {session_clock_text(tp.target_s, False)} "
                             f"(in {in_min:.0f} min)")
        elif not rows and not status.items:
            next_text = "No timepoints in the protocol"

        done_parts: dict[str, list[str]] = {}
        nibp_done: dict[str, int] = {}
        for tp in status.done:
            if tp.kind is TimepointKind.WITH_NIBP:
                nibp_done[tp.scale_id] = nibp_done.get(tp.scale_id, 0) + 1
            else:
                done_parts.setdefault(tp.scale_id, []).append(short_label(tp, self._name(
                    tp.scale_id)))
        pieces = [f"{self._name(s)} {', '.join(parts)}" for s, parts in done_parts.items()]
        pieces += [f"{self._name(s)} \u00d7{n} with NIBP" for s, n in nibp_done.items()]
        done_text = f"Done: {'; '.join(pieces)}" if pieces else ""
        return rows, more, next_text, done_text

    def _set_rows(self, rows: list[RowModel]) -> None:
        for frame in self._row_frames:
            self.rows_box.removeWidget(frame)
            frame.hide()  # until the event loop deletes it, it must not cover the panel
            frame.deleteLater()
        self._row_frames, self.action_buttons = [], []
        self.row_texts = list(rows)
        for tid, state, button_text, overdue in rows:
            frame = QFrame()
            frame.setObjectName("rowOverdue" if overdue else "rowDue")
            label = QLabel(state)
            label.setObjectName("stateOverdue" if overdue else "")
            button = QPushButton(button_text)
            button.setProperty("timepoint", tid)
            button.clicked.connect(lambda _c=False, tid=tid: self.open_timepoint(tid))
            row = QHBoxLayout(frame)
            row.setContentsMargins(6, 1, 0, 1)
            row.addWidget(label, 1)
            row.addWidget(button)
            self.rows_box.addWidget(frame)
            self._row_frames.append(frame)
            self.action_buttons.append(button)

    # ---- the reminder line

    def _update_notice(self, news: list[TimepointStatus], status: ScheduleStatus) -> None:
        """Keep announced timepoints until done or dismissed; show the most pressing one."""
        for tp in news:
            self._announced[tp.id] = tp
        pending = {tp.id: tp for tp in (*status.overdue, *status.due)}
        self._announced = {k: pending[k] for k in self._announced if k in pending}
        if not self._announced:
            self.notice.hide()
            return
        # Overdue before due; among those the latest announced, which is the newest news.
        newest_first = list(reversed(self._announced.values()))
        first = min(newest_first, key=lambda tp: tp.state is not TimepointState.OVERDUE)
        state = "overdue" if first.state is TimepointState.OVERDUE else "due"
        count = len(self._announced)
        more = f" (and {count - 1} more)" if count > 1 else ""
        text = f"Reminder: {first.label} is {state}{more}"
        if text != self.notice_label.text() or self.notice.isHidden():
            self.notice_label.setText(text)
            self.notice.show()

    def dismiss_notice(self) -> None:
        self._announced = {}
        self.notice.hide()

    @property
    def notice_text(self) -> str:
        return self.notice_label.text() if not self.notice.isHidden() else ""

    # ---- commands

    def open_timepoint(self, timepoint_id: str) -> ScaleEntryDialog:
        tp = self._timepoints[timepoint_id]
        return self.open_entry(tp.scale_id, tp)

    def open_entry(self, scale_id: str, timepoint: TimepointStatus | None = None
                   ) -> ScaleEntryDialog:
        dialog = ScaleEntryDialog(self.session, scale_id, timepoint=timepoint,
                                  parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.entry_recorded.connect(lambda _e: self.redraw_now())
        self.entry_dialog = dialog
        dialog.open()
        return dialog

    def open_picker(self) -> ScalePickerDialog:
        status = self.session.assessment_status(self.session.clock.now())
        dialog = ScalePickerDialog(self.session.scales, status, parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._on_picker_accepted(dialog))
        self.picker = dialog
        dialog.open()
        return dialog

    def _on_picker_accepted(self, dialog: ScalePickerDialog) -> None:
        choice = dialog.choice
        if choice is not None:
            self.open_entry(*choice)

    def open_list(self) -> AssessmentsDialog:
        dialog = AssessmentsDialog(self.session, parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self.redraw_now())
        self.list_dialog = dialog
        dialog.open()
        return dialog


def install_assessments(window: MainWindow, session: Session
                        ) -> tuple[AssessmentsPanel, LiveScaleStrip]:
    """Place the panel in the side column, the strip under the trends, and the menu items:
    Session > Score a scale… (Ctrl+K) and View > Assessments… (Ctrl+Shift+K)."""
    panel = AssessmentsPanel(session)
    window.add_panel(panel, window.side)
    strip = LiveScaleStrip(session, window.trends.plots[0])
    window.add_panel(strip, window.below_trends)
    score = QAction("Score a scale\u2026", window)
    score.setShortcut(QKeySequence(SCORE_KEY))
    score.triggered.connect(panel.open_picker)
    window.menus["Session"].addAction(score)
    entries = QAction("Assessments\u2026", window)
    entries.setShortcut(QKeySequence(LIST_KEY))
    entries.triggered.connect(panel.open_list)
    window.menus["View"].addAction(entries)
    panel.score_action, panel.list_action = score, entries
    return panel, strip
