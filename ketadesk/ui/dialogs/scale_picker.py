"""Pick what to score: a due or overdue timepoint first, or any scale ad hoc (no timepoint).

Keyboard: the first row is selected, arrows move, Enter takes it, Esc cancels.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.assessments import ScheduleStatus, TimepointState, TimepointStatus
from ketadesk.core.scales import ScaleDefinition
from ketadesk.ui.dialogs.scale_entry import session_clock_text

Choice = tuple[str, TimepointStatus | None]  # (scale id, timepoint or None for ad hoc)


def state_text(tp: TimepointStatus, now_s: float) -> str:
    """'due now', 'due at 0:45', 'OVERDUE since 0:55' ... in words, never colour alone."""
    if tp.state is TimepointState.OVERDUE:
        since = tp.overdue_from_s if tp.overdue_from_s is not None else now_s
        return f"OVERDUE since {session_clock_text(since, seconds=False)}"
    if tp.state is TimepointState.DUE:
        if tp.target_s is None or tp.target_s <= now_s:
            return "due now"
        return f"due at {session_clock_text(tp.target_s, seconds=False)}"
    if tp.state is TimepointState.DONE and tp.done_s is not None:
        return f"done at {session_clock_text(tp.done_s, seconds=False)}"
    if tp.target_s is None:
        return "after the infusion starts"
    return f"at {session_clock_text(tp.target_s, seconds=False)}"


class ScalePickerDialog(QDialog):
    def __init__(
        self,
        scales: dict[str, ScaleDefinition],
        status: ScheduleStatus,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Score a scale")
        self.list = QListWidget()
        self._choices: list[Choice] = []
        pending = [*status.overdue, *status.due]
        pending.sort(key=lambda tp: tp.target_s if tp.target_s is not None else -1.0)
        for tp in pending:
            self._add(f"{tp.label} \u2014 {state_text(tp, status.now_s)}", (tp.scale_id, tp))
        # The protocol's scales first (CADSS, MOAA/S), then the others, for ad hoc ratings.
        in_protocol = list(dict.fromkeys(tp.scale_id for tp in status.items))
        order = sorted(scales, key=lambda k: (k not in in_protocol, in_protocol.index(k)
                                              if k in in_protocol else 0, k))
        for scale_id in order:
            d = scales[scale_id]
            self._add(f"{d.short_name} \u2014 ad hoc (no timepoint)", (scale_id, None))
            self.list.item(self.list.count() - 1).setToolTip(d.name)
        self.list.setCurrentRow(0)
        # Enter reaches the OK button (the default); activated would accept a second time.
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Due and overdue timepoints first; Enter takes the selected row."))
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(560, 360)

    def _add(self, text: str, choice: Choice) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, len(self._choices))
        self._choices.append(choice)
        self.list.addItem(item)

    @property
    def choices(self) -> list[Choice]:
        return list(self._choices)

    @property
    def choice(self) -> Choice | None:
        row = self.list.currentRow()
        return self._choices[row] if 0 <= row < len(self._choices) else None
