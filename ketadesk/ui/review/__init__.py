"""Review mode: open recorded sessions from a file, the session browser or the command line.

`ReviewLauncher` keeps the open review windows and reports a file that cannot be opened
(foreign, damaged, newer format) with a message instead of failing; `install_review_menu`
puts File > Open recording... (Ctrl+Shift+O) and File > Sessions... (Ctrl+B) on a window.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from ketadesk.store.reader import open_recording
from ketadesk.store.records import SUFFIX, StoreError
from ketadesk.ui.review.browser import SessionBrowser
from ketadesk.ui.review.review_window import ReviewWindow


class ReviewLauncher:
    """Opens review windows and the browser for one data directory."""

    def __init__(self, directory: Path, parent: QWidget | None = None) -> None:
        self.directory = directory
        self.parent = parent
        self.windows: list[ReviewWindow] = []
        self.browser: SessionBrowser | None = None
        self.error_box: QMessageBox | None = None
        self.last_error: str | None = None

    def load(self, path: str | os.PathLike[str]) -> ReviewWindow | str:
        """A shown review window for `path`, or the reason it cannot be opened."""
        try:
            rec = open_recording(path)
        except StoreError as exc:
            return str(exc)
        except OSError as exc:  # e.g. a directory or an unreadable path from the file dialog
            return f"{path} cannot be read: {exc.strerror or exc}"
        try:
            window = ReviewWindow(rec)
        except StoreError as exc:  # damage found while loading the data
            rec.close()
            return str(exc)
        self.windows = [w for w in self.windows if w.isVisible()]
        self.windows.append(window)
        window.show()
        return window

    def open_path(self, path: str | os.PathLike[str]) -> ReviewWindow | None:
        """Open for review; a failure is shown in a message box (not blocking) and returned."""
        result = self.load(path)
        if isinstance(result, ReviewWindow):
            self.last_error = None
            return result
        self.last_error = result
        box = QMessageBox(QMessageBox.Icon.Critical, "Cannot open recording",
                          f"This file cannot be opened for review.\n\n{result}",
                          QMessageBox.StandardButton.Ok, self.parent)
        box.open()
        self.error_box = box
        return None

    def browser_opener(self, path: Path) -> str | None:
        result = self.load(path)
        return result if isinstance(result, str) else None

    def show_browser(self) -> SessionBrowser:
        if self.browser is None:
            self.browser = SessionBrowser(self.directory, self.browser_opener)
        else:
            self.browser.reload()
        self.browser.show()
        self.browser.raise_()
        return self.browser

    def choose_file(self) -> ReviewWindow | None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent, "Open recording", str(self.directory),
            f"KetaDesk recordings (*{SUFFIX});;All files (*)")
        return self.open_path(path) if path else None

    def close_all(self) -> None:
        for w in self.windows:
            w.close()
            w.deleteLater()
        self.windows.clear()
        if self.browser is not None:
            self.browser.close()
            self.browser.deleteLater()
            self.browser = None


def install_review_menu(window: QMainWindow, file_menu: object,
                        directory: Path) -> ReviewLauncher:
    """Add Open recording... and Sessions... to a File menu; returns the launcher they use."""
    launcher = ReviewLauncher(directory, window)
    open_action = QAction("&Open recording\u2026", window)
    open_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
    open_action.triggered.connect(launcher.choose_file)
    sessions_action = QAction("&Sessions\u2026", window)
    sessions_action.setShortcut(QKeySequence("Ctrl+B"))
    sessions_action.triggered.connect(launcher.show_browser)
    for action in (open_action, sessions_action):
        file_menu.addAction(action)  # type: ignore[attr-defined]
    return launcher
