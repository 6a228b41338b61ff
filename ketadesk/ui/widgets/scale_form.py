"""Fast keyboard entry of one rating scale, generated from its definition file.

Keys: a digit scores the current item and moves on; Backspace or Up goes back; Down skips;
Delete clears; Enter saves as complete (only when every item is answered); Alt+P saves as
partial. Items rated from the clinician's observation are marked in text, not only colour.
Scores above 9 (no shipped scale has them) can be entered with the value buttons only.
The form knows nothing of the session: it emits `entry_saved(answers, status)` and the
caller records it (core AssessmentLog); if the caller refuses it, show_error() unlocks the
form with the message so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.scales import ScaleDefinition, ScaleItem, score

OBSERVER_MARK = "rated by clinician"
UNANSWERED = "-"

# Colours come from the palette so the form reads on the dark treatment-room theme and on a
# light one. The observer accent (always paired with text) is amber, light on a dark window
# and dark on a light one: the palette's link blue is unreadable on the dark theme.
OBSERVER_COLOUR_ON_DARK = "#f0b44c"
OBSERVER_COLOUR_ON_LIGHT = "#8a5a00"
STYLE = """
QFrame#scaleRow { border: 1px solid transparent; border-radius: 3px; }
QFrame#scaleRow[current="true"] { border: 2px solid palette(highlight); }
QLabel#observerMark { color: %(observer)s; font-weight: bold; }
QLabel#answer { font-weight: bold; }
QLabel#currentText { font-size: 14pt; font-weight: bold; }
QLabel#totals { font-size: 13pt; font-weight: bold; }
QLabel#message { font-weight: bold; }
"""


class _ItemRow(QFrame):
    """One item in the list; a click makes it the current item."""

    clicked = Signal(int)

    def __init__(self, index: int, item: ScaleItem) -> None:
        super().__init__()
        self.setObjectName("scaleRow")
        self.index = index
        self.number = QLabel(f"{item.number}.")
        self.text = QLabel(item.text)
        self.text.setWordWrap(True)
        self.mark = QLabel(f"[{OBSERVER_MARK}]" if item.is_observer else "")
        self.mark.setObjectName("observerMark")
        self.answer = QLabel(UNANSWERED)
        self.answer.setObjectName("answer")
        self.answer.setMinimumWidth(150)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.number)
        row.addWidget(self.text, 1)
        row.addWidget(self.mark)
        row.addWidget(self.answer)

    def set_current(self, current: bool) -> None:
        if self.property("current") == current:
            return
        self.setProperty("current", current)
        self.style().unpolish(self)
        self.style().polish(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.index)
        event.accept()


class ScaleForm(QWidget):
    """Entry form for one scale. Emits entry_saved(answers tuple, "complete" | "partial")."""

    entry_saved = Signal(object, str)

    def __init__(
        self,
        definition: ScaleDefinition,
        parent: QWidget | None = None,
        *,
        answers: Sequence[int | None] | None = None,
        title: str = "",
    ) -> None:
        super().__init__(parent)
        self.definition = definition
        n = len(definition.items)
        if answers is not None and len(answers) != n:
            raise ValueError(f"{definition.short_name} has {n} items, got {len(answers)} answers")
        self._answers: list[int | None] = list(answers) if answers is not None else [None] * n
        self._current = next((i for i, a in enumerate(self._answers) if a is None), 0)
        self._locked = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        observer = OBSERVER_COLOUR_ON_DARK if dark else OBSERVER_COLOUR_ON_LIGHT
        self.setStyleSheet(STYLE % {"observer": observer})

        heading_text = f"{definition.short_name}: {definition.name}"
        heading = QLabel(f"{heading_text}  ({title})" if title else heading_text)
        heading.setWordWrap(True)
        keys = f"{definition.items[0].min_score}-{definition.items[0].max_score}"
        if len({(i.min_score, i.max_score) for i in definition.items}) > 1:
            keys = "the item's range"
        help_line = QLabel(
            f"Keys {keys} score the item and move on; Backspace/Up back; Down skip; "
            "Delete clear; Enter save complete; Alt+P save partial"
        )
        help_line.setWordWrap(True)

        self._rows = [_ItemRow(i, item) for i, item in enumerate(definition.items)]
        list_widget = QWidget()
        list_layout = QVBoxLayout(list_widget)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(1)
        for row in self._rows:
            row.clicked.connect(self._on_row_clicked)
            list_layout.addWidget(row)
        list_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(list_widget)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.current_text = QLabel()
        self.current_text.setObjectName("currentText")
        self.current_text.setWordWrap(True)
        self._value_bar = QGridLayout()
        self._value_buttons: list[QPushButton] = []

        self.totals_label = QLabel()
        self.totals_label.setObjectName("totals")
        self.subscales_label = QLabel()
        self.subscales_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)

        self.save_complete_button = QPushButton("Save &complete (Enter)")
        self.save_partial_button = QPushButton("Save &partial")
        for button in (self.save_complete_button, self.save_partial_button):
            # Tab can reach them; a click must not steal the digits from the form.
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.save_complete_button.clicked.connect(self.save_complete)
        self.save_partial_button.clicked.connect(self.save_partial)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_partial_button)
        buttons.addWidget(self.save_complete_button)

        layout = QGridLayout(self)
        layout.addWidget(heading, 0, 0)
        layout.addWidget(help_line, 1, 0)
        layout.addWidget(self._scroll, 2, 0)
        layout.addWidget(self.current_text, 3, 0)
        layout.addLayout(self._value_bar, 4, 0)
        layout.addWidget(self.totals_label, 5, 0)
        layout.addWidget(self.subscales_label, 6, 0)
        layout.addWidget(self.message_label, 7, 0)
        layout.addLayout(buttons, 8, 0)
        layout.setRowStretch(2, 1)
        self._refresh()

    # ---- state, for the caller and tests

    @property
    def answers(self) -> tuple[int | None, ...]:
        return tuple(self._answers)

    @property
    def current_index(self) -> int:
        """Index of the current item; len(items) once past the last one."""
        return self._current

    @property
    def is_complete(self) -> bool:
        return all(a is not None for a in self._answers)

    @property
    def locked(self) -> bool:
        return self._locked

    # ---- commands

    def set_answer(self, index: int, value: int | None) -> bool:
        """Score item `index` (None clears it); False with a message if out of range."""
        item = self.definition.items[index]
        if value is not None and not item.min_score <= value <= item.max_score:
            self._say(
                f"{value} is out of range for item {item.number} ({item.text}): "
                f"allowed {item.allowed}"
            )
            return False
        self._answers[index] = value
        self._say("")
        self._refresh()
        return True

    def go_to(self, index: int) -> None:
        self._current = max(0, min(index, len(self._answers)))
        self._refresh()

    def save_complete(self) -> bool:
        if self._locked:
            return False
        missing = [
            i.number for i, a in zip(self.definition.items, self._answers, strict=True) if a is None
        ]
        if missing:
            numbers = ", ".join(str(n) for n in missing)
            self._say(f"Not complete: item(s) {numbers} unanswered. Answer them or save partial.")
            return False
        self._save("complete")
        return True

    def save_partial(self) -> bool:
        if self._locked:
            return False
        if all(a is None for a in self._answers):
            self._say("Nothing answered yet: there is nothing to save.")
            return False
        self._save("partial")
        return True

    def show_error(self, message: str) -> None:
        """The caller could not record the entry: unlock so it can be corrected."""
        self._locked = False
        self._say(f"Not saved: {message}")
        self._refresh()

    # ---- keyboard and mouse

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.setFocus()  # opened to be typed into: the digits must reach the form at once

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._locked:
            event.ignore()
            return
        key = event.key()
        text = event.text()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        n = len(self._answers)
        if plain and len(text) == 1 and text.isdigit():
            self._on_digit(int(text))
        elif mods == Qt.KeyboardModifier.AltModifier and key == Qt.Key.Key_P:
            # the button mnemonic normally takes Alt+P first; this covers an inactive window
            self.save_partial()
        elif mods == Qt.KeyboardModifier.AltModifier and key == Qt.Key.Key_C:
            self.save_complete()
        elif not plain:
            super().keyPressEvent(event)
            return
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Up):
            self.go_to(self._current - 1)
        elif key == Qt.Key.Key_Down and self._current < n:
            self.go_to(self._current + 1)
        elif key == Qt.Key.Key_Delete and self._current < n:
            self.set_answer(self._current, None)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.save_complete()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _on_digit(self, value: int) -> None:
        if self._current >= len(self._answers):
            self._say("Past the last item: Backspace or Up to go back, Enter to save.")
            return
        if self.set_answer(self._current, value):
            self.go_to(self._current + 1)

    def _on_row_clicked(self, index: int) -> None:
        self.go_to(index)
        self.setFocus()

    def _on_value_clicked(self, value: int) -> None:
        self._on_digit(value)
        self.setFocus()

    # ---- drawing

    def _save(self, status: str) -> None:
        self._locked = True
        self._say(f"Saved as {status}.")
        self._refresh()
        self.entry_saved.emit(tuple(self._answers), status)

    def _say(self, message: str) -> None:
        self.message_label.setText(message)

    def _refresh(self) -> None:
        d = self.definition
        for i, (row, item, value) in enumerate(
            zip(self._rows, d.items, self._answers, strict=True)
        ):
            row.set_current(i == self._current)
            if value is None:
                row.answer.setText(UNANSWERED)
            else:
                anchor = item.anchor(value)
                row.answer.setText(f"{value}  {anchor}" if anchor else str(value))
        if self._current < len(self._rows):
            item = d.items[self._current]
            mark = f"  [{OBSERVER_MARK}]" if item.is_observer else ""
            self.current_text.setText(f"Item {item.number}: {item.text}{mark}")
            self._scroll.ensureWidgetVisible(self._rows[self._current])
            self._build_value_buttons(item)
        else:
            end = (
                "All items answered: Enter saves complete."
                if self.is_complete
                else ("End of the list: some items are unanswered (Up to go back).")
            )
            self.current_text.setText(end)
            self._build_value_buttons(None)

        result = score(d, self._answers)
        answered = len(self._answers) - len(result.missing)
        state = "complete" if result.complete else "running total, not complete"
        self.totals_label.setText(
            f"Total {result.total} (range {d.min_total}-{d.max_total}); "
            f"{answered} of {len(self._answers)} answered, {state}"
        )
        self.subscales_label.setText(
            "   ".join(
                f"{s.name} {result.subscales[s.id]} ({s.min_total}-{s.max_total})"
                for s in d.subscales
            )
        )
        self.save_complete_button.setEnabled(result.complete and not self._locked)
        self.save_partial_button.setEnabled(answered > 0 and not self._locked)

    def _build_value_buttons(self, item: ScaleItem | None) -> None:
        wanted = () if item is None else tuple(range(item.min_score, item.max_score + 1))
        shown = tuple(int(b.property("value")) for b in self._value_buttons)
        if item is not None and wanted == shown:
            for b, v in zip(self._value_buttons, wanted, strict=True):
                b.setText(self._value_text(item, v))
            return
        for b in self._value_buttons:
            self._value_bar.removeWidget(b)
            b.hide()  # until the event loop deletes it, it must not cover the form
            b.deleteLater()
        self._value_buttons = []
        if item is None:
            return
        # Long anchors (MOAA/S) in one row made the form ~2,000 px wide: wrap them.
        longest = max(len(self._value_text(item, v)) for v in wanted)
        per_row = len(wanted) if longest <= 16 else (3 if longest <= 30 else 2)
        for v in wanted:
            b = QPushButton(self._value_text(item, v))
            b.setProperty("value", v)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the digits stay with the form
            b.clicked.connect(lambda _checked=False, v=v: self._on_value_clicked(v))
            index = len(self._value_buttons)
            self._value_bar.addWidget(b, index // per_row, index % per_row)
            self._value_buttons.append(b)

    @staticmethod
    def _value_text(item: ScaleItem, value: int) -> str:
        anchor = item.anchor(value)
        return f"{value} {anchor}" if anchor else str(value)
