"""The discharge checklist at the end of a session (issue 9).

Shows each criterion with a text marker ([MET] / [NOT MET]), the BP before the dose, at 40 min
and at discharge (from the session, never typed) and the minutes monitored. "Re-check" recomputes
at the session's current time (no timer). Recording ends the observation (Infusion.end, which
needs a reason before the recovery minimum) and adds the "discharge" event to the session;
with criteria unmet a reason is required.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.discharge import (
    BpReading,
    DischargeChecklist,
    DischargeError,
    DischargeInputs,
    DischargeRecord,
    DischargeSettings,
    record_discharge,
    session_checklist,
)
from ketadesk.core.infusion import InfusionError, Phase
from ketadesk.core.session import Session
from ketadesk.ui.dialogs.common import DIALOG_STYLE, MessageLine, YesNo

# DOMAIN.md 8: adverse events recorded around a session. The names match the titration's
# stay_if_pause_reasons ([titration] in defaults.toml), so a ticked one holds the next dose.
ADVERSE_EVENTS = ("nausea/vomiting", "hypertension", "agitation")


class DischargeDialog(QDialog):
    """Accepts with `record` (DischargeRecord), already recorded in the session."""

    def __init__(self, session: Session, who: str, settings: DischargeSettings | None = None,
                 escort_from_screening: bool | None = None, parent: QWidget | None = None,
                 ) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Discharge")
        self.setMinimumWidth(640)
        self.session = session
        self.who = who
        self.settings = settings or DischargeSettings()
        self.record: DischargeRecord | None = None

        form = QFormLayout()
        self.mental = YesNo()
        self.escort = YesNo()
        # Screening asked about the escort; it must still be confirmed at the door.
        if escort_from_screening is not None:
            self.escort.setToolTip(f"at screening: {'yes' if escort_from_screening else 'no'}")
        form.addRow("Mental status back to baseline", self.mental)
        form.addRow("Escort present now", self.escort)
        # Adverse events of this session go into the course row; the next titration reads them.
        adverse = QHBoxLayout()
        self.adverse_boxes = {name: QCheckBox(name) for name in ADVERSE_EVENTS}
        for box in self.adverse_boxes.values():
            adverse.addWidget(box)
        adverse.addStretch(1)
        self.adverse_other = QLineEdit(placeholderText="other adverse event (free text)")
        form.addRow("Adverse events", adverse)
        form.addRow("", self.adverse_other)
        self.items = QListWidget()
        self.items.setWordWrap(True)
        self.bp_label = QLabel()
        self.bp_label.setWordWrap(True)
        self.recheck = QPushButton("&Re-check")
        self.recheck.clicked.connect(self.refresh)
        self.reason = QLineEdit(placeholderText="reason, if discharging with criteria not met")
        self.message = MessageLine()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.record_button = buttons.addButton("Record &discharge",
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.record_button.clicked.connect(self._record)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("Criteria"))
        lay.addWidget(self.items, 1)
        lay.addWidget(self.bp_label)
        lay.addWidget(self.recheck)
        lay.addWidget(self.reason)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.mental.currentIndexChanged.connect(self.refresh)
        self.escort.currentIndexChanged.connect(self.refresh)
        self.checklist: DischargeChecklist = self._compute()
        self.refresh()

    def adverse_events(self) -> tuple[str, ...]:
        """The adverse events ticked or typed (none: an empty tuple)."""
        ticked = [name for name, box in self.adverse_boxes.items() if box.isChecked()]
        other = self.adverse_other.text().strip()
        return (*ticked, *([other] if other else []))

    def _compute(self) -> DischargeChecklist:
        inputs = DischargeInputs(self.mental.value(), self.escort.value())
        return session_checklist(self.session, inputs, self.session.clock.now(), self.settings)

    def refresh(self) -> None:
        self.checklist = self._compute()
        self.items.clear()
        for i in self.checklist.items:
            item = QListWidgetItem(f"{'[MET]' if i.met else '[NOT MET]'} {i.detail}")
            item.setForeground(QColor("#8fd18f" if i.met else "#ffb454"))
            self.items.addItem(item)
        bp = self.checklist.bp
        self.bp_label.setText(
            f"BP before dose {_bp(bp.before_dose)} · at 40 min {_bp(bp.at_40_min)} · "
            f"at discharge {_bp(bp.at_discharge)} · "
            f"{self.checklist.minutes_monitored:.0f} min monitored")

    def _record(self) -> None:
        self.refresh()
        wall = self.session.clock.wall_time().isoformat()
        try:
            record = record_discharge(self.checklist, self.who, wall, self.reason.text())
            inf = self.session.infusion
            if inf is not None and inf.phase is Phase.RECOVERY:
                inf.end(who=self.who, reason=self.reason.text())
        except (DischargeError, InfusionError) as exc:
            self.message.show_error(str(exc))
            return
        ev = record.to_event()
        adverse = self.adverse_events()
        detail = ev.detail + ("; adverse events: " + ", ".join(adverse) if adverse else
                              "; no adverse events")
        self.session.record(ev.t_s, ev.kind, detail, ev.who,
                            {**ev.data, "adverse_events": list(adverse)})
        self.record = record
        self.accept()


def _bp(r: BpReading | None) -> str:
    return "none" if r is None else r.text()
