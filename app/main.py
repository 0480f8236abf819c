"""The composition root: builds the application, its services and the window, and wires them.

Start-up order matters: the settings are read first; the translators are installed before any
widget exists (so texts set once at construction come out in the chosen language), and the
theme before the window is shown (so it never flashes light). After the settings pane applies
new settings, `_SettingsApplier` passes them on to the app and the window.

The model library, the model manager (downloads, imports, hardware) and the models pane are
built here too; "Set as default" in the models pane is saved through the settings pane
(`_DefaultModelSaver`), so both show the same default. A first start with no model to load
opens on the Models pane, which recommends one for the PC.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
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
    from app.ui.models_pane import ModelManagerPane
    from app.ui.settings_pane import SettingsPane
    from app.ui.theme import ThemeManager
    from app.workers.documents import DocumentService
    from app.workers.generation import GenerationService
    from app.workers.models import ModelManager

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
    """Passes applied settings on to the theme, the language, the window and (when given) the
    model manager (offline mode) and the models pane (the default model)."""

    def __init__(self, theme: ThemeManager, language: LanguageManager, window: MainWindow,
                 settings: Settings, models: ModelManager | None = None,
                 models_pane: ModelManagerPane | None = None) -> None:
        super().__init__(window)
        self._theme = theme
        self._language = language
        self._window = window
        self._settings = settings
        self._models = models
        self._models_pane = models_pane

    @Slot(object)
    def _on_settings_pane_settings_applied(self, settings: Settings) -> None:
        changed = changed_fields(self._settings, settings)
        self._settings = settings
        if "appearance.language" in changed:
            self._language.apply(settings.appearance.language)
        if "appearance.theme" in changed or "appearance.font_size" in changed:
            self._theme.apply(settings.appearance.theme, settings.appearance.font_size)
        self._window.apply_settings(settings, changed)
        if self._models is not None and "privacy.offline_mode" in changed:
            self._models.set_offline(settings.privacy.offline_mode)
        if self._models_pane is not None and "model.default_model" in changed:
            self._models_pane.set_default_model(settings.model.default_model)
        log.info("settings in effect: %s", ", ".join(changed) or "no changes")


class _DefaultModelSaver(QObject):
    """Saves "Set as default" from the models pane through the settings pane, so the settings
    file, the settings pane's field and the models pane agree.

    With no other edits pending in the settings pane, the field is set and applied (one save,
    `settings_applied` as usual). With pending edits, applying would save those too, so the
    default alone is saved to the store and the field shows it; the pending edits stay pending.
    """

    def __init__(self, store: SettingsStore, settings_pane: SettingsPane,
                 models_pane: ModelManagerPane) -> None:
        super().__init__(models_pane)
        self._store = store
        self._settings_pane = settings_pane
        self._models_pane = models_pane

    @Slot(str)
    def _on_models_pane_default_requested(self, folder: str) -> None:
        from app.core.settings import SettingsError, update

        pane = self._settings_pane
        if not pane.is_modified():
            pane.model_path_edit.setText(folder)
            pane.apply()
            return
        try:
            self._store.save(update(pane.applied_settings, {"model.default_model": folder}))
        except SettingsError as exc:
            self._models_pane.show_message(exc.user_message, error=True)
            return
        pane.model_path_edit.setText(folder)
        self._models_pane.set_default_model(folder)


@dataclass
class Hearth:
    """The window and the services behind it, as `build_window` wired them."""

    window: MainWindow
    service: GenerationService
    settings_pane: SettingsPane
    models: ModelManager
    models_pane: ModelManagerPane
    conversations: Store | None
    documents: DocumentService | None = None

    def shutdown(self) -> None:
        """Pause downloads (their bytes wait for the next start), stop the generation thread
        and the document tasks, close the conversation store and the document index."""
        self.models.shutdown()
        self.service.shutdown()
        if self.documents is not None:
            self.documents.shutdown()
        if self.conversations is not None:
            self.conversations.close()


def build_window(paths: AppPaths, store: SettingsStore, settings: Settings,
                 warnings: list[str], theme: ThemeManager, language: LanguageManager, *,
                 data_dir_locked: bool = False) -> Hearth:
    """Build the services and the window and wire them (the translators and the theme are
    installed first, by the caller). Shared by `run_gui`, the screenshot tools and tests."""
    from app.core.library import ModelLibrary
    from app.ui.main_window import MainWindow
    from app.ui.models_pane import ModelManagerPane
    from app.ui.settings_pane import SettingsPane
    from app.workers.documents import DocumentService
    from app.workers.generation import GenerationService
    from app.workers.models import ModelManager

    conversations = _open_conversations(paths, warnings)
    service = GenerationService()
    pane = SettingsPane(store, settings, data_dir=paths.data, data_dir_locked=data_dir_locked,
                        warnings=warnings)
    manager = ModelManager(ModelLibrary(paths), offline=settings.privacy.offline_mode)
    models_pane = ModelManagerPane(manager, service,
                                   default_model=settings.model.default_model)
    window = MainWindow(service, pane, conversations, models_pane)
    window.apply_settings(settings)
    window.set_dark(theme.is_dark)
    theme.theme_changed.connect(window.set_dark)
    applier = _SettingsApplier(theme, language, window, settings, manager, models_pane)
    pane.settings_applied.connect(applier._on_settings_pane_settings_applied)
    saver = _DefaultModelSaver(store, pane, models_pane)
    models_pane.default_requested.connect(saver._on_models_pane_default_requested)
    documents = None
    if conversations is not None:  # documents belong to saved conversations
        documents = DocumentService.for_paths(paths, manager.embedder_folder())
        documents.forget_deleted_conversations(conversations)
        manager.embedders_changed.connect(
            lambda: documents.set_embedder_folder(manager.embedder_folder()))
        window.chat.set_documents(documents)
    if warnings:
        window.show_settings_notice()
    return Hearth(window, service, pane, manager, models_pane, conversations, documents)


def open_start_model(window: MainWindow, settings: Settings, model_dir: str | None) -> None:
    """Load the model asked for on the command line, else the default one; with neither, show
    the Models pane, which recommends one for this PC."""
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
    else:
        window.show_models()


def run_gui(paths: AppPaths, model_dir: str | None = None) -> int:
    """Open the window and run until it closes; returns the exit code."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.ui.error_presenter import ErrorPresenter
    from app.ui.i18n import LanguageManager
    from app.ui.theme import ThemeManager

    setup_logging(paths)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "hearth.png")))

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

    hearth = build_window(paths, store, settings, warnings, theme, language,
                          data_dir_locked=locked)
    window = hearth.window
    presenter = ErrorPresenter(paths.logs, window)
    presenter.install()
    window.show()
    open_start_model(window, settings, model_dir)
    try:
        return app.exec()
    finally:
        hearth.shutdown()
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
