"""Screening before a session (issue 9): the protocol's questions, live findings, overrides.

The rules are ketadesk.core.screening; this dialog only collects answers and shows findings,
each with a text marker so the verdict reads without colour. "Go ahead" is enabled only when
the screen is cleared; a BLOCK finding is cleared by selecting it and giving a reason (stored
with the clinician's initials); an absolute contraindication has no override.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.screening import (
    MedCategory,
    ScreeningError,
    ScreeningInputs,
    ScreeningResult,
    ScreeningSettings,
    Verdict,
    evaluate,
)
from ketadesk.ui.dialogs.common import DIALOG_STYLE, MessageLine, YesNo

MARKERS = {
    Verdict.BLOCK_ABSOLUTE: ("[CONTRAINDICATED]", "#ff5c5c"),
    Verdict.BLOCK_OVERRIDABLE: ("[BLOCK]", "#ffb454"),
    Verdict.INCOMPLETE: ("[ANSWER]", "#ffd866"),
    Verdict.FLAG: ("[FLAG]", "#7fd1ff"),
    Verdict.OK: ("[OK]", "#8fd18f"),
}


class ScreeningDialog(QDialog):
    """Accepts with `screening` holding the cleared ScreeningResult (overrides included)."""

    def __init__(self, who: str, settings: ScreeningSettings | None = None,
                 session_bp: tuple[float, float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Screening before the session")
        self.who = who
        self.settings = settings or ScreeningSettings()
        self._overrides: dict[str, str] = {}
        self.screening: ScreeningResult = evaluate(ScreeningInputs(), self.settings)

        form_box = QGroupBox("Clinic protocol")
        form = QFormLayout(form_box)
        self.sys_ = QSpinBox(minimum=0, maximum=300, suffix=" mmHg")
        self.dia = QSpinBox(minimum=0, maximum=250, suffix=" mmHg")
        for spin in (self.sys_, self.dia):
            spin.setSpecialValueText("— not entered")
        self.bp_source = "entered"
        if session_bp is not None:
            self.sys_.setValue(round(session_bp[0]))
            self.dia.setValue(round(session_bp[1]))
            self.bp_source = "session NIBP"
        bp_row = QHBoxLayout()
        bp_row.addWidget(self.sys_)
        bp_row.addWidget(QLabel("/"))
        bp_row.addWidget(self.dia)
        self.bp_source_label = QLabel(f"({self.bp_source})")
        bp_row.addWidget(self.bp_source_label)
        form.addRow("Baseline BP", bp_row)
        self.psychosis = YesNo()
        form.addRow("History of schizophrenia or active psychosis", self.psychosis)
        self.substance = YesNo()
        form.addRow("Active substance use", self.substance)
        self.screened = QCheckBox("screen for recent use done and reviewed")
        form.addRow("", self.screened)
        meds = QHBoxLayout()
        self.med_boxes = {m: QCheckBox("MAOI" if m is MedCategory.MAOI else m.value)
                          for m in MedCategory}
        for box in self.med_boxes.values():
            meds.addWidget(box)
        form.addRow("Recent medications", meds)
        self.other_meds = QLineEdit(placeholderText="other recent medication (free text)")
        form.addRow("", self.other_meds)
        self.fasting = QDoubleSpinBox(minimum=-0.5, maximum=48.0, decimals=1, singleStep=0.5,
                                      suffix=" h", value=-0.5)
        self.fasting.setSpecialValueText("— not recorded")
        form.addRow("Fasting (hours since last meal)", self.fasting)
        self.escort = YesNo()
        form.addRow("Escort present for discharge", self.escort)

        self.findings = QListWidget()
        self.findings.setWordWrap(True)
        self.findings.setMinimumHeight(180)  # the six findings without scrolling
        self.reason = QLineEdit(placeholderText="reason to override the selected [BLOCK] finding")
        self.override_button = QPushButton("&Override selected")
        self.override_button.clicked.connect(self._override)
        orow = QHBoxLayout()
        orow.addWidget(self.reason, 1)
        orow.addWidget(self.override_button)
        self.status = QLabel()
        self.message = MessageLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go_button = self.buttons.addButton("&Go ahead",
                                                QDialogButtonBox.ButtonRole.AcceptRole)
        self.go_button.clicked.connect(self._go)
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(form_box)
        lay.addWidget(QLabel("Findings"))
        lay.addWidget(self.findings, 1)
        lay.addLayout(orow)
        lay.addWidget(self.status)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

        # First: a typed BP is "entered" before the findings (and the record) are computed.
        self.sys_.valueChanged.connect(self._bp_typed)
        self.dia.valueChanged.connect(self._bp_typed)
        for w in (self.sys_, self.dia, self.fasting):
            w.valueChanged.connect(self._changed)
        for c in (self.psychosis, self.substance, self.escort):
            c.currentIndexChanged.connect(self._changed)
        for b in (self.screened, *self.med_boxes.values()):
            b.toggled.connect(self._changed)
        self.other_meds.textChanged.connect(self._changed)
        self._changed()

    def inputs(self) -> ScreeningInputs:
        sys_, dia = self.sys_.value(), self.dia.value()
        fasting = self.fasting.value()
        return ScreeningInputs(
            baseline_sys_mmhg=float(sys_) if sys_ > 0 else None,
            baseline_dia_mmhg=float(dia) if dia > 0 else None,
            bp_source=self.bp_source,
            psychosis_history=self.psychosis.value(),
            active_substance_use=self.substance.value(),
            substance_screened=self.screened.isChecked(),
            recent_medications=frozenset(m for m, b in self.med_boxes.items() if b.isChecked()),
            other_medications=self.other_meds.text(),
            fasting_h=None if fasting < 0 else fasting,
            escort_present=self.escort.value())

    def _bp_typed(self) -> None:
        self.bp_source = "entered"
        self.bp_source_label.setText("(entered)")

    def _changed(self) -> None:
        result = evaluate(self.inputs(), self.settings)
        # Overrides stay only while the same finding is still there (a new BP needs a new one).
        for code, reason in list(self._overrides.items()):
            try:
                result = result.override(code, reason, self.who)
            except ScreeningError:
                del self._overrides[code]
        self.screening = result
        self._show()

    def _show(self) -> None:
        overridden = {o.code: o for o in self.screening.overrides}
        self.findings.clear()
        for f in self.screening.findings:
            marker, colour = MARKERS[f.verdict]
            text = f"{marker} {f.message}"
            if f.code in overridden:
                o = overridden[f.code]
                text = f"[OVERRIDDEN by {o.who}] {f.message} — reason: {o.reason}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, f.code)
            item.setForeground(QColor(colour))
            self.findings.addItem(item)
        blocking = self.screening.blocking
        if self.screening.absolute:
            self.status.setText("CONTRAINDICATED: no session. " + "; ".join(
                f.message for f in self.screening.of(Verdict.BLOCK_ABSOLUTE)))
        elif blocking:
            self.status.setText(f"Blocked: {len(blocking)} finding(s) to answer or override")
        else:
            self.status.setText("Cleared: the session may go ahead")
        self.go_button.setEnabled(self.screening.cleared)

    def select_finding(self, code: str) -> None:
        for i in range(self.findings.count()):
            if self.findings.item(i).data(Qt.ItemDataRole.UserRole) == code:
                self.findings.setCurrentRow(i)
                return
        raise KeyError(code)

    def _override(self) -> None:
        item = self.findings.currentItem()
        if item is None:
            self.message.show_error("select a [BLOCK] finding to override")
            return
        code = str(item.data(Qt.ItemDataRole.UserRole))
        try:
            self.screening = self.screening.override(code, self.reason.text(), self.who)
        except ScreeningError as exc:
            self.message.show_error(str(exc))
            return
        self._overrides[code] = self.reason.text().strip()
        self.reason.clear()
        self.message.show_error("")
        self._show()

    def _go(self) -> None:
        if not self.screening.cleared:  # the button is disabled; a shortcut must not bypass it
            self.message.show_error("the screen is not cleared")
            return
        self.accept()
