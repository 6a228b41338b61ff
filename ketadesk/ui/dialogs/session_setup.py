"""Session set-up: patient, weight, dose, duration, drug strength and the clinician (issue 3).

Every change runs the core's check_plan() and shows the numbers and findings at once; the
Confirm button is enabled only when confirm_plan() would succeed with the override reasons and
acknowledgements given here. Nothing is decided in this module: the arithmetic and the guards
are ketadesk.core.dose, the identifiers ketadesk.core.people.

An override reason or an acknowledgement belongs to the finding it answers, message included:
changing the dose from 1.5 to 1.8 mg/kg asks for the reason again.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.dose import (
    LB_TO_KG,
    DoseSettings,
    Finding,
    PlanCheck,
    PlanDecision,
    PlanInputs,
    Severity,
    WeightUnit,
    check_plan,
    confirm_plan,
    format_number,
)
from ketadesk.core.infusion import InfusionError
from ketadesk.core.people import parse_initials, parse_patient_id
from ketadesk.core.session import Session

# Words and a marker for each severity: the meaning never rests on the colour alone.
SEVERITY_TEXT: dict[Severity, str] = {
    Severity.REFUSED: "\u2716 REFUSED \u2014 change the input",
    Severity.NEEDS_OVERRIDE: "\u270e NEEDS OVERRIDE \u2014 give a reason",
    Severity.QUESTION: "? QUESTION \u2014 tick once checked",
    Severity.WARNING: "\u26a0 WARNING",
}
INPUT_TEXT = "\u2716 INPUT \u2014 fill in or correct"
SEVERITY_COLOUR: dict[Severity, str] = {
    Severity.REFUSED: "#ff6b6b",
    Severity.NEEDS_OVERRIDE: "#ff9f43",
    Severity.QUESTION: "#f5d76e",
    Severity.WARNING: "#f0b44c",
}
# The dark theme leaves unchecked radio buttons and check boxes nearly invisible.
STYLE = """
QRadioButton::indicator, QCheckBox::indicator { width: 14px; height: 14px;
    border: 2px solid #8fa3bf; background: #1b222c; }
QRadioButton::indicator { border-radius: 9px; }
QRadioButton::indicator:checked, QCheckBox::indicator:checked { background: #5fa8ff; }
QWidget#findings, QFrame#tile QLabel { background: transparent; }
"""
NOTHING_STARTS = "Nothing starts until the plan is confirmed."
NO_NUMBER = "\u2014"


def parse_number(text: str, name: str, example: str) -> tuple[float | None, str]:
    """A typed number (a decimal comma is accepted) or None with a message naming the field."""
    value = text.strip()
    if not value:
        return None, f"{name}: enter a number, e.g. {example}"
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    try:
        return float(value), ""
    except ValueError:
        return None, f"{name} {text.strip()!r} is not a number: type digits, e.g. {example}"


class FindingRow(QFrame):
    """One finding: severity in words and a marker, the message, and what answers it."""

    changed = Signal()

    def __init__(self, finding: Finding | None, message: str) -> None:
        super().__init__()
        self.finding = finding
        self.setObjectName("findingRow")
        severity = finding.severity if finding else Severity.REFUSED
        colour = SEVERITY_COLOUR[severity]
        self.marker = QLabel(SEVERITY_TEXT[severity] if finding else INPUT_TEXT)
        self.marker.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.setStyleSheet(
            f"QFrame#findingRow {{ border-left: 4px solid {colour}; padding-left: 4px; }}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.marker)
        layout.addWidget(self.message)
        self.reason: QLineEdit | None = None
        self.checked: QCheckBox | None = None
        if severity is Severity.NEEDS_OVERRIDE and finding is not None:
            self.reason = QLineEdit()
            self.reason.setPlaceholderText("override reason (required)")
            self.reason.textChanged.connect(self.changed)
            layout.addWidget(self.reason)
        elif severity is Severity.QUESTION and finding is not None:
            self.checked = QCheckBox("I have checked this")
            self.checked.toggled.connect(self.changed)
            layout.addWidget(self.checked)


class SessionSetupDialog(QDialog):
    """Fill in, watch the numbers and findings, confirm: the session gets the plan."""

    plan_confirmed = Signal(object)  # the DosePlan, after session.set_plan() accepted it

    def __init__(
        self, session: Session, settings: DoseSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings or DoseSettings()
        self.setWindowTitle("Set up session \u2014 infusion plan")
        self.setMinimumWidth(560)
        self.resize(600, 820)  # room for three findings with their answers, within 900 px
        self.setStyleSheet(STYLE)

        self.patient_id = QLineEdit(session.patient_id)
        self.patient_id.setPlaceholderText("pseudonym, e.g. KD-0042 (optional; not a name)")
        self.weight = QLineEdit()
        self.weight.setPlaceholderText("e.g. 70")
        self.weight_unit = QComboBox()
        self.weight_unit.addItems([u.value for u in WeightUnit])
        self.weight_kg = QLabel("")
        weight_row = QHBoxLayout()
        weight_row.addWidget(self.weight, 1)
        weight_row.addWidget(self.weight_unit)
        weight_row.addWidget(self.weight_kg, 1)

        self.dose_group = QButtonGroup(self)
        self.dose_presets: dict[float, QRadioButton] = {}
        dose_row = QHBoxLayout()
        for mg_per_kg in self.settings.dose_presets_mg_per_kg:
            button = QRadioButton(format_number(mg_per_kg, 3))
            self.dose_group.addButton(button)
            self.dose_presets[mg_per_kg] = button
            dose_row.addWidget(button)
        self.dose_custom_choice = QRadioButton("custom")
        self.dose_group.addButton(self.dose_custom_choice)
        self.dose_custom = QLineEdit()
        self.dose_custom.setPlaceholderText("mg/kg")
        self.dose_custom.setMaximumWidth(90)
        dose_row.addWidget(self.dose_custom_choice)
        dose_row.addWidget(self.dose_custom)
        dose_row.addWidget(QLabel("mg/kg"))
        dose_row.addStretch(1)
        first = next(iter(self.dose_presets.values()), self.dose_custom_choice)
        first.setChecked(True)

        self.duration = QLineEdit(format_number(self.settings.default_duration_min, 1))
        duration_row = QHBoxLayout()
        duration_row.addWidget(self.duration)
        duration_row.addWidget(QLabel("min"))

        self.use_concentration = QRadioButton("concentration")
        self.use_bag = QRadioButton("bag")
        strength_group = QButtonGroup(self)
        strength_group.addButton(self.use_concentration)
        strength_group.addButton(self.use_bag)
        self.use_concentration.setChecked(True)
        self.concentration = QLineEdit()
        self.concentration.setPlaceholderText("e.g. 1")
        self.bag_mg = QLineEdit()
        self.bag_mg.setPlaceholderText("mg in bag")
        self.bag_ml = QLineEdit()
        self.bag_ml.setPlaceholderText("total mL")
        for edit in (self.concentration, self.bag_mg, self.bag_ml):
            # A nested grid in a form row is squeezed below the edits' height otherwise.
            edit.setMinimumHeight(self.weight.sizeHint().height())
        strength = QGridLayout()
        strength.addWidget(self.use_concentration, 0, 0)
        strength.addWidget(self.concentration, 0, 1)
        strength.addWidget(QLabel("mg/mL"), 0, 2, 1, 3)
        strength.addWidget(self.use_bag, 1, 0)
        strength.addWidget(self.bag_mg, 1, 1)
        strength.addWidget(QLabel("mg in"), 1, 2)
        strength.addWidget(self.bag_ml, 1, 3)
        strength.addWidget(QLabel("mL"), 1, 4)

        self.clinician = QLineEdit(session.clinician)
        self.clinician.setPlaceholderText("required, 1-5 letters")
        self.clinician.setMaxLength(5)

        # What earlier steps decided (the New session flow's prefill); hidden otherwise.
        self.context = QLabel("")
        self.context.setWordWrap(True)
        self.context.setVisible(False)
        self._dose_locked = False

        form = QFormLayout()
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Weight", weight_row)
        form.addRow("Dose (mg/kg)", dose_row)
        form.addRow("Duration", duration_row)
        form.addRow("Drug strength", strength)
        form.addRow("Clinician initials", self.clinician)

        self.numbers: dict[str, QLabel] = {}
        results = QGridLayout()
        for row, (key, title) in enumerate(
            (
                ("dose_mg", "Total dose"),
                ("dose_mg_per_h", "Dose rate"),
                ("rate_ml_per_h", "Pump rate"),
                ("volume_ml", "Volume to infuse"),
            )
        ):
            value = QLabel(NO_NUMBER)
            value.setStyleSheet("font-size: 14pt; font-weight: bold;")
            self.numbers[key] = value
            results.addWidget(QLabel(title), row // 2, (row % 2) * 2)
            results.addWidget(value, row // 2, (row % 2) * 2 + 1)
        results_box = QFrame()
        results_box.setObjectName("tile")
        results_box.setLayout(results)

        # In a scroll area: wrapped messages get their full height there, and a long list of
        # findings cannot push the buttons off the screen.
        findings_widget = QWidget()
        findings_widget.setObjectName("findings")
        self.findings_box = QVBoxLayout(findings_widget)
        self.findings_box.setContentsMargins(0, 0, 4, 0)
        self.findings_box.setSpacing(4)
        self.no_findings = QLabel("No findings.")
        self.findings_box.addWidget(self.no_findings)
        self.findings_box.addStretch(1)
        findings_scroll = QScrollArea()
        findings_scroll.setWidgetResizable(True)
        findings_scroll.setFrameShape(QFrame.Shape.NoFrame)
        findings_scroll.setMinimumHeight(200)
        findings_scroll.setWidget(findings_widget)
        self._rows: dict[tuple[str, str], FindingRow] = {}

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(
            f"color: {SEVERITY_COLOUR[Severity.REFUSED]}; font-weight: bold;")
        self.note = QLabel(NOTHING_STARTS)
        self.note.setStyleSheet("font-style: italic;")

        self.buttons = QDialogButtonBox()
        self.confirm_button = QPushButton("Confirm plan")
        self.confirm_button.setDefault(True)
        self.buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.context)
        layout.addLayout(form)
        layout.addWidget(results_box)
        layout.addWidget(QLabel("Findings"))
        layout.addWidget(findings_scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)

        self._prefill()
        for edit in (self.patient_id, self.weight, self.dose_custom, self.duration,
                     self.concentration, self.bag_mg, self.bag_ml, self.clinician):
            edit.textChanged.connect(self._update)
        self.weight_unit.currentIndexChanged.connect(self._update)
        self.dose_group.buttonToggled.connect(self._update)
        strength_group.buttonToggled.connect(self._update)
        self._update()

    # ---- reading the form ---------------------------------------------------------------------

    def inputs(self) -> tuple[PlanInputs | None, list[str]]:
        """PlanInputs from the fields, or None with what is missing or not a number."""
        problems: list[str] = []

        def number(edit: QLineEdit, name: str, example: str) -> float:
            value, problem = parse_number(edit.text(), name, example)
            if problem:
                problems.append(problem)
            return math.nan if value is None else value

        weight = number(self.weight, "weight", "70")
        if self.dose_custom_choice.isChecked():
            dose = number(self.dose_custom, "custom dose (mg/kg)", "0.6")
        else:
            dose = next(v for v, b in self.dose_presets.items() if b.isChecked())
        duration = number(self.duration, "duration (min)", "40")
        conc = bag_mg = bag_ml = None
        if self.use_bag.isChecked():
            bag_mg = number(self.bag_mg, "mg in bag", "35")
            bag_ml = number(self.bag_ml, "bag total mL", "100")
        else:
            conc = number(self.concentration, "concentration (mg/mL)", "1")
        if problems:
            return None, problems
        return (
            PlanInputs(
                weight=weight,
                dose_mg_per_kg=dose,
                duration_min=duration,
                weight_unit=WeightUnit(self.weight_unit.currentText()),
                concentration_mg_per_ml=conc,
                bag_mg=bag_mg,
                bag_ml=bag_ml,
            ),
            [],
        )

    def people(self) -> tuple[str, str, list[str]]:
        """(initials, patient id, problems)."""
        problems: list[str] = []
        initials = patient = ""
        try:
            initials = parse_initials(self.clinician.text())
        except ValueError as exc:
            problems.append(str(exc))
        try:
            patient = parse_patient_id(self.patient_id.text())
        except ValueError as exc:
            problems.append(str(exc))
        return initials, patient, problems

    def override_reasons(self) -> dict[str, str]:
        return {
            row.finding.code: row.reason.text()
            for row in self._rows.values()
            if row.finding is not None and row.reason is not None
        }

    def acknowledged(self) -> list[str]:
        return [
            row.finding.code
            for row in self._rows.values()
            if row.finding is not None and row.checked is not None and row.checked.isChecked()
        ]

    def decision(self) -> PlanDecision | None:
        """What confirm_plan() says now (None while an input is missing or not a number)."""
        inputs, problems = self.inputs()
        initials, _, people_problems = self.people()
        if inputs is None or problems or people_problems:
            return None
        return confirm_plan(
            inputs,
            override_reasons=self.override_reasons(),
            acknowledged=self.acknowledged(),
            who=initials,
            settings=self.settings,
        )

    def findings(self) -> list[FindingRow]:
        """The rows shown, in order (tests and screen readers)."""
        return list(self._rows.values())

    # ---- showing ------------------------------------------------------------------------------

    def _update(self) -> None:
        self.dose_custom.setEnabled(self.dose_custom_choice.isChecked() and not self._dose_locked)
        conc_mode = self.use_concentration.isChecked()
        self.concentration.setEnabled(conc_mode)
        self.bag_mg.setEnabled(not conc_mode)
        self.bag_ml.setEnabled(not conc_mode)
        inputs, problems = self.inputs()
        _, _, people_problems = self.people()
        check = check_plan(inputs, self.settings) if inputs is not None else None
        self._show_weight()
        self._show_numbers(check)
        wanted: list[tuple[Finding | None, str]] = [(None, p) for p in problems + people_problems]
        if check is not None:
            wanted += [(f, f.message) for f in check.findings]
        self._sync_rows(wanted)
        decision = self.decision()
        self.confirm_button.setEnabled(decision is not None and decision.confirmed)
        self.message.setText("")

    def _show_weight(self) -> None:
        value, _ = parse_number(self.weight.text(), "weight", "70")
        if value is None or not math.isfinite(value) or self.weight_unit.currentText() == "kg":
            self.weight_kg.setText("")
        else:
            self.weight_kg.setText(f"= {format_number(value * LB_TO_KG, 1)} kg")

    def _show_numbers(self, check: PlanCheck | None) -> None:
        n = check.numbers if check is not None else None
        f = format_number
        texts = {
            "dose_mg": f"{f(n.dose_mg)} mg" if n else NO_NUMBER,
            "dose_mg_per_h": f"{f(n.dose_mg_per_h)} mg/h" if n else NO_NUMBER,
            "rate_ml_per_h": f"{f(n.rate_ml_per_h, 1)} mL/h" if n else NO_NUMBER,
            "volume_ml": f"{f(n.volume_ml, 1)} mL" if n else NO_NUMBER,
        }
        for key, text in texts.items():
            self.numbers[key].setText(text)

    def _sync_rows(self, wanted: list[tuple[Finding | None, str]]) -> None:
        # Rows are kept while their finding stays, so a reason being typed is not lost.
        keys = [(f.code if f else "input", message) for f, message in wanted]
        for key in [k for k in self._rows if k not in keys]:
            gone = self._rows.pop(key)
            self.findings_box.removeWidget(gone)
            gone.setParent(None)
            gone.deleteLater()
        rows: dict[tuple[str, str], FindingRow] = {}
        for key, (finding, message) in zip(keys, wanted, strict=True):
            if key in rows:
                continue  # the same finding twice says nothing new
            row = self._rows.get(key)
            if row is None:
                row = FindingRow(finding, message)
                row.changed.connect(self._update)
            rows[key] = row
        for row in rows.values():
            self.findings_box.removeWidget(row)
        for i, row in enumerate(rows.values()):
            self.findings_box.insertWidget(1 + i, row)  # after "No findings.", before the stretch
        self._rows = rows
        self.no_findings.setVisible(not rows)

    def _prefill(self) -> None:
        """A plan not yet started can be revised: start from what was confirmed."""
        infusion = self.session.infusion
        if infusion is None:
            return
        i = infusion.plan.inputs
        self.weight.setText(format_number(i.weight, 3))
        self.weight_unit.setCurrentText(i.weight_unit.value)
        self._set_dose(i.dose_mg_per_kg)
        self.duration.setText(format_number(i.duration_min, 2))
        if i.concentration_mg_per_ml is not None:
            self.concentration.setText(format_number(i.concentration_mg_per_ml, 4))
        else:
            self.use_bag.setChecked(True)
            self.bag_mg.setText(format_number(i.bag_mg or 0.0, 3))
            self.bag_ml.setText(format_number(i.bag_ml or 0.0, 2))

    def _set_dose(self, mg_per_kg: float) -> None:
        preset = next((b for v, b in self.dose_presets.items() if math.isclose(v, mg_per_kg)),
                      None)
        if preset is not None:
            preset.setChecked(True)
        else:
            self.dose_custom_choice.setChecked(True)
            self.dose_custom.setText(format_number(mg_per_kg, 3))

    def prefill(self, *, weight_kg: float | None = None, dose_mg_per_kg: float | None = None,
                lock_patient: bool = False, lock_dose: bool = False, context: str = "") -> None:
        """Values decided before this dialog (the New session flow): the patient's latest
        weight (editable: re-weigh), the dose chosen at titration, and a line saying where they
        came from. A locked patient or dose is changed in its own step (patient pick,
        titration with a reason), so the plan cannot silently differ from what was recorded."""
        if weight_kg is not None:
            self.weight_unit.setCurrentText(WeightUnit.KG.value)
            self.weight.setText(format_number(weight_kg, 3))
        if dose_mg_per_kg is not None:
            self._set_dose(dose_mg_per_kg)
        self.patient_id.setReadOnly(lock_patient)
        self._dose_locked = lock_dose
        for button in (*self.dose_presets.values(), self.dose_custom_choice):
            button.setEnabled(not lock_dose)
        self.context.setText(context)
        self.context.setVisible(bool(context))
        self._update()

    # ---- confirming ---------------------------------------------------------------------------

    def accept(self) -> None:
        decision = self.decision()
        if decision is None or decision.plan is None:
            self.message.setText("Not confirmed: answer every finding marked above first.")
            return
        initials, patient, _ = self.people()
        plan = decision.plan
        try:
            self.session.set_plan(plan)
        except InfusionError as exc:
            self.message.setText(f"Not confirmed: {exc}")
            return
        self.session.clinician = initials
        self.session.patient_id = patient
        self.session.record(
            self.session.clock.now(),
            "session",
            f"Session set up: patient {patient or '(no id)'}, clinician {initials}",
            who=initials,
            data={"patient_id": patient, "clinician": initials},
        )
        self.plan_confirmed.emit(plan)
        super().accept()
