"""The scale entry form driven by the keyboard alone (issue 5, points 2 and 7)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from ketadesk.core.scales import ScaleDefinition, load_scales, score
from ketadesk.ui.widgets.scale_form import OBSERVER_MARK, ScaleForm

CADSS_MIXED = [2, 3, 1, 0, 2, 4, 1, 0, 1, 0, 2, 3, 0, 1, 2, 0, 1, 0, 0, 1, 0, 3, 2]
DIGIT_KEYS = {d: getattr(Qt.Key, f"Key_{d}") for d in range(10)}


@pytest.fixture(scope="module")
def scales() -> dict[str, ScaleDefinition]:
    return load_scales()


def make_form(qtbot: QtBot, definition: ScaleDefinition, **kw: object) -> ScaleForm:
    form = ScaleForm(definition, **kw)  # type: ignore[arg-type]
    qtbot.addWidget(form)
    form.resize(900, 700)
    form.show()
    qtbot.waitExposed(form)
    form.activateWindow()
    # the form takes the keyboard when shown: no click is needed before typing
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form, timeout=2000)
    return form


def focused(form: ScaleForm) -> QWidget:
    """Where typed keys really go: the focus widget, which must be the form or inside it."""
    widget = QApplication.focusWidget()
    assert widget is not None and (widget is form or form.isAncestorOf(widget))
    return widget


def type_digit(qtbot: QtBot, form: ScaleForm, digit: int) -> None:
    qtbot.keyClick(focused(form), DIGIT_KEYS[digit], Qt.KeyboardModifier.NoModifier, -1)


def test_full_cadss_keyboard_only(qtbot: QtBot, scales: dict[str, ScaleDefinition]) -> None:
    form = make_form(qtbot, scales["cadss"])
    started = time.perf_counter()
    with qtbot.waitSignal(form.entry_saved, timeout=2000) as blocker:
        for value in CADSS_MIXED:
            type_digit(qtbot, form, value)
        qtbot.keyClick(focused(form), Qt.Key.Key_Return)
    elapsed_s = time.perf_counter() - started
    assert blocker.args == [tuple(CADSS_MIXED), "complete"]
    assert form.locked
    assert "Total 29 (range 0-92); 23 of 23 answered, complete" in form.totals_label.text()
    assert "Depersonalization 11 (0-32)" in form.subscales_label.text()
    assert "Amnesia 6 (0-12)" in form.subscales_label.text()
    # 24 key presses in all; the form itself must add no noticeable time to them
    assert elapsed_s < 5.0, f"keyboard entry took {elapsed_s:.2f} s of program time"


def test_observer_items_marked_in_text(qtbot: QtBot, scales: dict[str, ScaleDefinition]) -> None:
    form = make_form(qtbot, scales["cadss"])
    marks = [row.mark.text() for row in form._rows]
    assert [i + 1 for i, m in enumerate(marks) if OBSERVER_MARK in m] == [20, 21, 22, 23]
    form.go_to(19)
    assert form.current_text.text() == (
        "Item 20: Patient seems strange or makes the rater uneasy  [rated by clinician]"
    )
    form.go_to(0)
    assert OBSERVER_MARK not in form.current_text.text()


def test_running_totals_back_and_overwrite(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["cadss"])
    for value in (2, 3, 4):
        type_digit(qtbot, form, value)
    assert form.current_index == 3
    assert form.totals_label.text().startswith("Total 9 (range 0-92); 3 of 23 answered")
    assert "not complete" in form.totals_label.text()
    # items 1, 2 are derealization, item 3 depersonalization
    assert "Depersonalization 4 (0-32)   Derealization 5 (0-48)" in form.subscales_label.text()
    qtbot.keyClick(focused(form), Qt.Key.Key_Backspace)
    qtbot.keyClick(focused(form), Qt.Key.Key_Up)
    assert form.current_index == 1
    type_digit(qtbot, form, 0)  # item 2 rescored, then on to item 3
    assert form.answers[:3] == (2, 0, 4) and form.current_index == 2
    assert form.totals_label.text().startswith("Total 6 ")
    assert form._rows[1].answer.text() == "0  not at all"


def test_out_of_range_key_refused_and_stays(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["cadss"])
    type_digit(qtbot, form, 7)
    assert form.current_index == 0 and form.answers[0] is None
    assert form.message_label.text() == (
        "7 is out of range for item 1 (Things seem to happen in slow motion): allowed 0-4"
    )
    type_digit(qtbot, form, 1)
    assert form.answers[0] == 1 and form.message_label.text() == ""


def test_enter_refuses_incomplete_and_alt_p_saves_partial(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["cadss6"])
    type_digit(qtbot, form, 1)
    qtbot.keyClick(focused(form), Qt.Key.Key_Down)  # skip item 2
    type_digit(qtbot, form, 3)
    assert not form.save_complete_button.isEnabled()
    assert form.save_partial_button.isEnabled()
    with qtbot.assertNotEmitted(form.entry_saved):
        qtbot.keyClick(focused(form), Qt.Key.Key_Return)
    assert "item(s) 2, 7, 15, 22 unanswered" in form.message_label.text()
    emitted: list[tuple[object, str]] = []
    form.entry_saved.connect(lambda answers, status: emitted.append((answers, status)))
    # Alt+P is the button's mnemonic, which clicks after a short animation: wait for it
    qtbot.keyClick(focused(form), Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: len(emitted) > 0, timeout=2000)
    assert emitted == [((1, None, 3, None, None, None), "partial")]
    assert score(scales["cadss6"], emitted[0][0]).missing == (2, 7, 15, 22)
    type_digit(qtbot, form, 4)  # locked after saving: nothing changes
    assert form.answers == (1, None, 3, None, None, None) and len(emitted) == 1


def test_partial_with_nothing_answered_is_refused(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["moaas"])
    with qtbot.assertNotEmitted(form.entry_saved):
        assert not form.save_partial()
    assert "Nothing answered" in form.message_label.text()


def test_bprs_keys_follow_its_range(qtbot: QtBot, scales: dict[str, ScaleDefinition]) -> None:
    form = make_form(qtbot, scales["bprs_positive"])
    type_digit(qtbot, form, 0)
    assert "allowed 1-7" in form.message_label.text() and form.current_index == 0
    with qtbot.waitSignal(form.entry_saved) as blocker:
        for value in (1, 7, 4, 2):
            type_digit(qtbot, form, value)
        assert form.current_text.text() == "All items answered: Enter saves complete."
        qtbot.keyClick(focused(form), Qt.Key.Key_Enter)
    assert blocker.args == [(1, 7, 4, 2), "complete"]
    assert form.totals_label.text().startswith("Total 14 (range 4-28)")


def test_mouse_value_buttons_and_delete(qtbot: QtBot, scales: dict[str, ScaleDefinition]) -> None:
    form = make_form(qtbot, scales["moaas"])
    labels = [b.text() for b in form._value_buttons]
    assert labels[0] == "0 no response" and len(labels) == 6
    qtbot.mouseClick(form._value_buttons[5], Qt.MouseButton.LeftButton)
    assert form.answers == (5,) and form.current_index == 1
    assert QApplication.focusWidget() is form  # the click did not take the keyboard away
    qtbot.keyClick(focused(form), Qt.Key.Key_Up)
    qtbot.keyClick(focused(form), Qt.Key.Key_Delete)
    assert form.answers == (None,)


def test_caller_refusal_unlocks_with_message(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["moaas"], answers=[3])
    assert form.save_complete()
    assert form.locked and not form.save_complete_button.isEnabled()
    form.show_error("the time done is in the future")
    assert not form.locked and form.save_complete_button.isEnabled()
    assert form.message_label.text() == "Not saved: the time done is in the future"


def test_prefilled_partial_starts_at_first_gap(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    form = make_form(qtbot, scales["cadss6"], answers=[1, 1, None, 2, None, 0])
    assert form.current_index == 2
    with pytest.raises(ValueError, match="has 6 items, got 2 answers"):
        ScaleForm(scales["cadss6"], answers=[1, 2])


def test_observer_accent_follows_light_or_dark_window(
    qtbot: QtBot, scales: dict[str, ScaleDefinition]
) -> None:
    from PySide6.QtGui import QColor, QPalette

    from ketadesk.ui.widgets.scale_form import OBSERVER_COLOUR_ON_DARK, OBSERVER_COLOUR_ON_LIGHT

    for window_colour, expected in (
        ("#0b0e12", OBSERVER_COLOUR_ON_DARK),
        ("#f4f4f4", OBSERVER_COLOUR_ON_LIGHT),
    ):
        host = QWidget()
        qtbot.addWidget(host)
        palette = host.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(window_colour))
        host.setPalette(palette)
        form = ScaleForm(scales["cadss6"], host)
        assert expected in form.styleSheet()
