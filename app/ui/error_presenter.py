"""Shows bugs (unexpected exceptions) as a dialog with details and the log's location.

Expected failures (`AppError`) are shown inline by the panes; anything reaching the hooks here is
a bug. Exceptions raised on other threads are routed to the GUI thread through a queued signal.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


class ErrorPresenter(QObject):
    """Installs sys/threading excepthooks and shows each bug once, on the GUI thread.

    Signals:
        bug_reported(str): the formatted traceback
    """

    bug_reported = Signal(str)

    def __init__(self, log_dir: Path, parent_window: QWidget | None = None,
                 show_dialogs: bool = True) -> None:
        super().__init__()
        self._log_dir = log_dir
        self._window = parent_window
        self._show_dialogs = show_dialogs
        self.bug_reported.connect(self._on_bug_reported)

    def install(self) -> None:
        """Route uncaught exceptions of every thread here."""
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def _excepthook(self, kind: type[BaseException], exc: BaseException,
                    tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("uncaught exception:\n%s", text)
        self.bug_reported.emit(text)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self._excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    @Slot(str)
    def _on_bug_reported(self, text: str) -> None:
        if not self._show_dialogs:
            return
        box = QMessageBox(self._window)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(self.tr("Something went wrong"))
        box.setText(self.tr("Hearth hit an unexpected error. Your conversation is safe; you can "
                            "keep working. The details are in the log:\n{path}").format(
                                path=self._log_dir / "hearth.log"))
        box.setDetailedText(text)
        copy = box.addButton(self.tr("Copy details"), QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if box.clickedButton() is copy:
            QGuiApplication.clipboard().setText(text)
