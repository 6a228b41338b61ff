"""Guard against PySide6 6.12.0 on CPython 3.11, whose void QPainter calls decref None."""

from __future__ import annotations

import sys

from PySide6.QtGui import QImage, QPainter


def test_qpainter_void_calls_leave_none_refcount_unchanged(qapp: object) -> None:
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for i in range(1000):
            painter.drawLine(0, i % 64, 63, 63 - i % 64)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    # On 3.12+ None is immortal and its count is a constant; on 3.11 a broken binding loses 1000.
    assert abs(after - before) < 50, f"None refcount moved by {after - before}"
