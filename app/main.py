"""The composition root: builds the application, its services and the window, and wires them."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from app.core.logs import setup_logging
from app.core.paths import AppPaths

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resources_dir() -> Path:
    """The resources folder, also inside a frozen (PyInstaller) build."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    return Path(frozen_root) / "resources" if frozen_root else RESOURCES


def run_gui(paths: AppPaths, model_dir: str | None = None) -> int:
    """Open the window and run until it closes; returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from app.ui.error_presenter import ErrorPresenter
    from app.ui.main_window import MainWindow
    from app.workers.generation import GenerationService

    setup_logging(paths)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    style = resources_dir() / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    service = GenerationService()
    window = MainWindow(service)
    presenter = ErrorPresenter(paths.logs, window)
    presenter.install()
    window.show()
    if model_dir:
        window.load_model(model_dir)
    try:
        return app.exec()
    finally:
        service.shutdown()
        log.info("window closed")
