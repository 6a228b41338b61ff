"""Dark theme for a dimmed treatment room."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#0b0e12"
PANEL = "#151a21"
TEXT = "#d8dee6"
MUTED = "#7d8794"
SIM_BANNER = "#b8327a"  # magenta: unlike any alarm colour (red, yellow, cyan)
REPLAY_BANNER = "#5a4fcf"

STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 11pt; }}
QFrame#tile {{ background: {PANEL}; border: 1px solid #222a33; border-radius: 4px; }}
QPushButton {{ background: #243040; border: 1px solid #36465a; padding: 6px 12px; border-radius: 3px; }}
QPushButton:hover {{ background: #2d3c50; }}
QPushButton:disabled {{ color: #55606c; background: #1a212b; }}
QLineEdit, QComboBox, QDoubleSpinBox, QSpinBox, QPlainTextEdit, QTextEdit {{
    background: #1b222c; border: 1px solid #36465a; padding: 3px; }}
QMenuBar, QMenu {{ background: {PANEL}; }}
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #36465a; }}
"""


def apply(app: QApplication) -> None:
    pg.setConfigOptions(background=BACKGROUND, foreground=MUTED, antialias=False)
    pal = app.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor(BACKGROUND))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor("#1b222c"))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    app.setPalette(pal)
    app.setStyleSheet(STYLE)
