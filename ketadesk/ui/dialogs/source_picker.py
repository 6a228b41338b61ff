"""File > Change source...: pick a registered data source and fill in its declared options.

Every source in the entry-point group is listed, a broken plugin too (disabled, with the
reason). The option form is generated from the source's SourceOption declarations: a combo
box for a fixed set of choices, a line edit otherwise, plus a file chooser for `path`. OK
constructs the source (which validates the options) and hands it to `apply` (the dashboard's
switch); any refusal is shown inline and the dialog stays open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.session import SourceChangeRefused
from ketadesk.sources.base import Provenance, SourceError, VitalsSource
from ketadesk.sources.registry import RegisteredSource, discover
from ketadesk.ui import theme

ERROR_COLOUR = "#ff7a70"
PATH_KEY = "path"


_KIND_LONG = {
    Provenance.LIVE: "live device data",
    Provenance.SIMULATED: "simulated data, not a real patient",
    Provenance.REPLAY: "recorded data played back",
}


def kind_text(reg: RegisteredSource) -> str:
    if reg.factory is None:
        return "unavailable"
    return reg.provenance.value if reg.provenance is not None else "kind not declared"


def kind_long_text(reg: RegisteredSource) -> str:
    if reg.provenance is None:
        return kind_text(reg)
    return _KIND_LONG[reg.provenance]


class SourceForm(QWidget):
    """The option fields of one source, generated from its declared options."""

    def __init__(self, reg: RegisteredSource) -> None:
        super().__init__()
        self.reg = reg
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.browse_buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(f"<b>{reg.name}</b> \u2014 {reg.summary}")
        title.setWordWrap(True)
        layout.addWidget(title)
        kind = QLabel(f"{kind_long_text(reg)}   \u00b7   {reg.target}")
        kind.setStyleSheet(f"color: {theme.MUTED};")
        kind.setWordWrap(True)
        layout.addWidget(kind)
        if reg.factory is None:
            why = QLabel(f"This source cannot be loaded: {reg.error}")
            why.setWordWrap(True)
            why.setStyleSheet(f"color: {ERROR_COLOUR};")
            layout.addWidget(why)
        elif not reg.options:
            layout.addWidget(QLabel("This source has no options."))
        form = QFormLayout()
        for opt in reg.options:
            field: QLineEdit | QComboBox
            if opt.choices:
                field = QComboBox()
                field.addItems(list(opt.choices))
                field.setCurrentText(opt.default)
            else:
                field = QLineEdit(opt.default)
                field.setPlaceholderText("(empty)" if not opt.default else "")
            field.setObjectName(f"option_{opt.key}")
            field.setToolTip(opt.help)
            self.fields[opt.key] = field
            cell = QVBoxLayout()
            cell.setSpacing(1)
            if opt.key == PATH_KEY and isinstance(field, QLineEdit):
                row = QHBoxLayout()
                row.addWidget(field, 1)
                browse = QPushButton("Browse\u2026")
                browse.clicked.connect(lambda _=False, k=opt.key: self._on_browse_clicked(k))
                self.browse_buttons[opt.key] = browse
                row.addWidget(browse)
                cell.addLayout(row)
            else:
                cell.addWidget(field)
            help_label = QLabel(opt.help)
            help_label.setWordWrap(True)
            help_label.setStyleSheet(f"color: {theme.MUTED}; font-size: 9pt;")
            cell.addWidget(help_label)
            form.addRow(opt.key, cell)
        layout.addLayout(form)
        layout.addStretch(1)

    def values(self) -> dict[str, str]:
        out = {}
        for key, field in self.fields.items():
            text = field.currentText() if isinstance(field, QComboBox) else field.text()
            out[key] = text.strip()
        return out

    def set_value(self, key: str, text: str) -> None:
        field = self.fields[key]
        if isinstance(field, QComboBox):
            field.setCurrentText(text)
        else:
            field.setText(text)

    def choose_file(self, start: str) -> str:
        """Ask for a file (a seam tests replace: a native dialog cannot be clicked in a test)."""
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Choose a file", start,
            "All files (*);;CSV or WFDB recordings (*.csv *.hea)")
        return chosen

    def _on_browse_clicked(self, key: str) -> None:
        current = self.values()[key]
        start = str(Path(current).parent) if current else str(Path.home())
        chosen = self.choose_file(start)
        if chosen:
            self.set_value(key, chosen)


class SourcePickerDialog(QDialog):
    def __init__(self, apply: Callable[[VitalsSource], None], *, current: str = "",
                 refusal: str | None = None,
                 sources: Mapping[str, RegisteredSource] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change data source")
        self.setMinimumSize(760, 560)
        self._apply = apply
        self.refusal = refusal
        self.source: VitalsSource | None = None  # the new, opened source after OK
        self.sources = dict(sources if sources is not None else discover())

        note = QLabel("Changing the source ends this monitoring session and starts a new one "
                      "on the chosen source (a confirmed dose plan must be confirmed again).")
        note.setWordWrap(True)
        self.refusal_label = QLabel(f"\u26a0 Not possible now: {refusal}" if refusal else "")
        self.refusal_label.setWordWrap(True)
        self.refusal_label.setStyleSheet(f"color: {ERROR_COLOUR}; font-weight: bold;")
        self.refusal_label.setVisible(bool(refusal))

        self.list = QListWidget()
        self.list.setMaximumWidth(210)
        self.stack = QStackedWidget()
        self.forms: dict[str, SourceForm] = {}
        for name, reg in self.sources.items():
            item = QListWidgetItem(f"{name}  [{kind_text(reg)}]")
            item.setData(Qt.ItemDataRole.UserRole, name)
            if reg.factory is None:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(f"cannot be loaded: {reg.error}")
            else:
                item.setToolTip(reg.summary)
            self.list.addItem(item)
            form = SourceForm(reg)
            self.forms[name] = form
            # Scrolled, so a source with many options keeps every help line readable.
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(form)
            self.stack.addWidget(scroll)
        self.list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.list.currentRowChanged.connect(lambda _row: self.show_error(""))

        self.error = QLabel("")
        self.error.setObjectName("sourcePickerError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Switch source")
        self.ok_button.setEnabled(not refusal)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.refusal_label)
        layout.addLayout(body, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.select(current if current in self.forms else self._first_loadable())

    def _first_loadable(self) -> str:
        return next((n for n, r in self.sources.items() if r.factory is not None), "")

    def select(self, name: str) -> None:
        names = list(self.forms)
        if name in names:
            self.list.setCurrentRow(names.index(name))

    def selected_name(self) -> str:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def form(self, name: str | None = None) -> SourceForm:
        return self.forms[name or self.selected_name()]

    def show_error(self, text: str) -> None:
        self.error.setText(f"\u26a0 {text}" if text else "")

    def accept(self) -> None:
        """Construct the chosen source and switch to it; on any refusal say why and stay open."""
        if self.refusal:
            self.show_error(self.refusal)
            return
        name = self.selected_name()
        reg = self.sources.get(name)
        if reg is None or reg.factory is None:
            self.show_error("choose a source that can be loaded"
                            + (f" ({name}: {reg.error})" if reg is not None else ""))
            return
        try:
            source = reg.factory(**self.form(name).values())
        except SourceError as exc:
            self.show_error(f"{name}: {exc}")
            return
        except Exception as exc:  # a third-party source's bug must not take the app down
            self.show_error(f"{name} could not be created: {type(exc).__name__}: {exc}")
            return
        try:
            self._apply(source)
        except Exception as exc:
            _close_quietly(source)
            message = str(exc) if isinstance(exc, SourceError | SourceChangeRefused) else (
                f"{type(exc).__name__}: {exc}")
            self.show_error(f"{name}: {message}")
            return
        self.source = source
        super().accept()


def _close_quietly(source: VitalsSource) -> None:
    # Already failing: the first error is the one to show.
    with contextlib.suppress(Exception):
        source.close()
