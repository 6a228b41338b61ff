"""The source's place in the main window: the connection indicator and File > Change source.

Kept out of app.py and main_window.py so the composition root only calls install_source_ui().
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from ketadesk.core.session import SourceChangeRefused
from ketadesk.ui.dialogs.source_picker import SourcePickerDialog
from ketadesk.ui.widgets.connection_status import ConnectionIndicator

if TYPE_CHECKING:
    from ketadesk.app import Dashboard

CHANGE_SOURCE_SHORTCUT = "Ctrl+Shift+S"


def install_source_ui(dash: Dashboard) -> QAction:
    """Put the connection indicator beside the source name and add File > Change source..."""
    dash.window.add_panel(ConnectionIndicator(), dash.window.header, stretch=1)
    action = QAction("Change &source\u2026", dash.window)
    action.setShortcut(QKeySequence(CHANGE_SOURCE_SHORTCUT))
    action.setObjectName("changeSourceAction")
    action.triggered.connect(lambda: open_source_picker(dash))
    dash.window.menus["File"].addAction(action)
    return action


def source_picker_for(dash: Dashboard) -> SourcePickerDialog:
    """The picker for this dashboard, saying up front if a change would be refused now."""
    refusal = None
    try:
        dash.session.check_source_change()
    except SourceChangeRefused as exc:
        refusal = str(exc)
    return SourcePickerDialog(dash.switch_source, current=dash.source.info.name,
                              refusal=refusal, parent=dash.window)


def open_source_picker(dash: Dashboard) -> SourcePickerDialog:
    dialog = source_picker_for(dash)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
