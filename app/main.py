"""The composition root: builds the application, its services and the window, and wires them.

Start-up order matters: the settings are read first; the translators are installed before any
widget exists (so texts set once at construction come out in the chosen language), and the
theme before the window is shown (so it never flashes light). After the settings pane applies
new settings, `_SettingsApplier` passes them on to the app and the window.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from app.core.errors import StorageError
from app.core.logs import setup_logging
from app.core.paths import AppPaths
from app.core.settings import Settings, SettingsStore, changed_fields, resolve_paths
from app.core.store import Store

if TYPE_CHECKING:
    from app.ui.i18n import LanguageManager
    from app.ui.main_window import MainWindow
    from app.ui.theme import ThemeManager

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resources_dir() -> Path:
    """The resources folder, also inside a frozen (PyInstaller) build."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    return Path(frozen_root) / "resources" if frozen_root else RESOURCES


def translations_dir() -> Path:
    """Where hearth_<language>.qm files are."""
    return resources_dir() / "translations"


def data_dir_overridden(paths: AppPaths) -> bool:
    """Whether --data-dir or $HEARTH_DATA_DIR chose the folders (`AppPaths.from_env`).

    Only an override puts the config folder inside the data folder; the platform folders never
    nest that way.
    """
    return paths.config == paths.data / "config"


class _SettingsApplier(QObject):
    """Passes applied settings on to the theme, the language and the window."""

    def __init__(self, theme: ThemeManager, language: LanguageManager, window: MainWindow,
                 settings: Settings) -> None:
        super().__init__(window)
        self._theme = theme
        self._language = language
        self._window = window
        self._settings = settings

    @Slot(object)
    def _on_settings_pane_settings_applied(self, settings: Settings) -> None:
        changed = changed_fields(self._settings, settings)
        self._settings = settings
        if "appearance.language" in changed:
            self._language.apply(settings.appearance.language)
        if "appearance.theme" in changed or "appearance.font_size" in changed:
            self._theme.apply(settings.appearance.theme, settings.appearance.font_size)
        self._window.apply_settings(settings, changed)
        log.info("settings in effect: %s", ", ".join(changed) or "no changes")


def run_gui(paths: AppPaths, model_dir: str | None = None) -> int:
    """Open the window and run until it closes; returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from app.ui.error_presenter import ErrorPresenter
    from app.ui.i18n import LanguageManager
    from app.ui.main_window import MainWindow
    from app.ui.settings_pane import SettingsPane
    from app.ui.theme import ThemeManager
    from app.workers.generation import GenerationService

    setup_logging(paths)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")

    store = SettingsStore(paths)
    settings, warnings = store.load()
    locked = data_dir_overridden(paths)
    if not locked:
        # Where the conversations and models are: the setting, unless its drive is missing.
        paths, missing = resolve_paths(paths, settings)
        warnings += missing
    log.info("data folder %s%s", paths.data, " (override)" if locked else "")

    language = LanguageManager(translations_dir(), parent=app)
    language.apply(settings.appearance.language)
    theme = ThemeManager(app, resources_dir(), parent=app)
    theme.apply(settings.appearance.theme, settings.appearance.font_size)

    conversations = _open_conversations(paths, warnings)
    service = GenerationService()
    pane = SettingsPane(store, settings, data_dir=paths.data, data_dir_locked=locked,
                        warnings=warnings)
    window = MainWindow(service, pane, conversations)
    window.apply_settings(settings)
    window.set_dark(theme.is_dark)
    theme.theme_changed.connect(window.set_dark)
    applier = _SettingsApplier(theme, language, window, settings)
    pane.settings_applied.connect(applier._on_settings_pane_settings_applied)
    if warnings:
        window.show_settings_notice()
    presenter = ErrorPresenter(paths.logs, window)
    presenter.install()
    window.show()

    if model_dir:
        window.load_model(model_dir)
    elif default_model := settings.model.default_model:
        folder = Path(default_model).expanduser()
        if folder.is_dir():
            window.load_model(str(folder))
        else:
            # A removed drive: say so, and open without a model rather than fail to load.
            log.warning("the start model %s is missing", folder)
            window.show_missing_start_model(str(folder))
    try:
        return app.exec()
    finally:
        service.shutdown()
        if conversations is not None:
            conversations.close()
        log.info("window closed")


def _open_conversations(paths: AppPaths, warnings: list[str]) -> Store | None:
    """The conversation store; on failure the app still opens (chats are then not saved)."""
    try:
        store = Store.for_paths(paths.ensure())
    except (StorageError, OSError) as exc:
        message = exc.user_message if isinstance(exc, StorageError) else str(exc)
        log.warning("conversation store unavailable: %s", message)
        warnings.append(f"Conversations cannot be saved: {message}")
        return None
    # E.g. a damaged database moved aside, or replies cut off by a crash.
    warnings.extend(store.notices)
    return store
