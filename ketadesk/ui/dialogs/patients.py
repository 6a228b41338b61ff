"""Pick or create the patient before a session (issue 9): a searchable list and a short form.

No names: a pseudonymous ID, year of birth, sex and today's weight. The store refuses bad input
with a message, which is shown under the form.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ketadesk.store.patients import SEXES, Patient, PatientStore, PatientStoreError
from ketadesk.ui.dialogs.common import DIALOG_STYLE, MessageLine


class PatientsDialog(QDialog):
    """Accepts with `chosen` set to the picked or newly created patient."""

    def __init__(self, store: PatientStore, parent: QWidget | None = None,
                 today: date | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Patient")
        self.setMinimumWidth(460)
        self.store = store
        self.today = today or date.today()
        self.chosen: Patient | None = None

        self.search = QLineEdit(placeholderText="Search by ID prefix (Ctrl+F)")
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _item: self._pick())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.search.textChanged.connect(self.reload)
        QShortcut(QKeySequence.StandardKey.Find, self, self.search.setFocus)

        box = QGroupBox("New patient (pseudonymous ID, no name)")
        form = QFormLayout(box)
        self.new_id = QLineEdit(placeholderText="e.g. KD-0042")
        self.new_year = QSpinBox(minimum=1900, maximum=self.today.year, value=1980)
        self.new_sex = QComboBox()
        self.new_sex.addItems(list(SEXES))
        # No plausible default: a weight nobody typed must not reach a dose.
        self.new_weight = QDoubleSpinBox(minimum=0.0, maximum=400.0, decimals=1, value=0.0,
                                         suffix=" kg")
        self.new_weight.setSpecialValueText("— enter weight")
        self.create_button = QPushButton("&Create and use")
        self.create_button.clicked.connect(self._create)
        form.addRow("ID", self.new_id)
        form.addRow("Year of birth", self.new_year)
        form.addRow("Sex", self.new_sex)
        form.addRow("Weight today", self.new_weight)
        form.addRow(self.create_button)

        self.message = MessageLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("&Use selected",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.clicked.connect(self._pick)
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addWidget(self.search)
        lay.addWidget(self.list, 1)
        lay.addWidget(box)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        for p in self.store.search(self.search.text()):
            w = self.store.latest_weight(p.patient_id)
            kg = f"{w.kg:g} kg" if w else "no weight"
            item = QListWidgetItem(f"{p.patient_id}   born {p.year_of_birth}   {p.sex}   {kg}")
            item.setData(Qt.ItemDataRole.UserRole, p.patient_id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.use_button.setEnabled(self.list.currentItem() is not None)

    def _pick(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.message.show_error("select a patient, or create one")
            return
        self.chosen = self.store.get_patient(str(item.data(Qt.ItemDataRole.UserRole)))
        self.accept()

    def _create(self) -> None:
        try:
            self.chosen = self.store.add_patient(
                self.new_id.text(), self.new_year.value(), self.new_sex.currentText(),
                self.new_weight.value(), on=self.today)
        except PatientStoreError as exc:
            self.message.show_error(str(exc))
            return
        self.accept()
