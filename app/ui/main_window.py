"""The main window: a header with the model controls, a navigation rail, and the panes.

The rail switches between the chat, the models and the settings. The window re-sets its own
texts on `QEvent.LanguageChange` (`retranslate`); the panes do the same for theirs.
"""

from __future__ import annotations

import gc
from collections.abc import Collection

from PySide6.QtCore import QChildEvent, QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.settings import Settings
from app.core.store import Store
from app.ui.chat_pane import ChatPane
from app.ui.history_sidebar import HistorySidebar, connect_sidebar
from app.ui.i18n import PROVIDER_LABELS, Retranslating, choice_text
from app.ui.models_pane import ModelManagerPane
from app.ui.settings_pane import SettingsPane
from app.ui.theme import set_dark_on_views
from app.workers.generation import GenerationService, ModelStatus

PROVIDER_ITEMS = tuple(PROVIDER_LABELS.items())
"""(provider, label) in menu order; labels are translated with `choice_text`."""


class GuiThreadGarbageCollector(QObject):
    """Runs Python's cycle collector on the GUI thread only, from a timer, while it is started.

    Left automatic, a collection runs on whichever thread happens to allocate, the generation
    thread included. PySide 6.12 releases the GIL in the middle of destroying a widget's
    children; a collection on another thread at that moment walks the half-destroyed wrapper
    tree and crashes (the window tests segfaulted in 5 runs of 16, in gc's traverse on the
    generation thread while the GUI thread deleted message widgets; Regenerate and New chat do
    that while a reply may still be running). Anki disables automatic collection for the same
    reason and collects from its main thread.
    """

    INTERVAL_MS = 500

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        """Turn automatic collection off and collect from the timer instead."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more and give collection back to Python, as it was before start."""
        if not self._timer.isActive():
            return
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    @Slot()
    def _on_timer_timeout(self) -> None:
        # The generations Python itself would have collected by now, youngest first.
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for gen in range(3):
            if counts[gen] > thresholds[gen]:
                generation = gen
        if generation >= 0:
            gc.collect(generation)


class MainWindow(Retranslating, QMainWindow):
    """Hearth's window. It owns no model: the GenerationService does, on its own thread.

    `settings_pane` (built by the composition root, which owns the settings store) adds the
    Settings page and Ctrl+, to open it; `models_pane` the Models page and Ctrl+M, whose Use,
    Unload, Settings and Go to chat requests the window carries out, and the chat's "get a model"
    then leads there. While the window is open, Python's garbage collector runs on the GUI
    thread only (see `GuiThreadGarbageCollector`).
    """

    def __init__(self, service: GenerationService,
                 settings_pane: SettingsPane | None = None, store: Store | None = None,
                 models_pane: ModelManagerPane | None = None) -> None:
        super().__init__()
        self._service = service
        self._context_cap: int | None = None
        self._dark = False
        self._model_state = "none"  # none, loading or loaded (the header says which)
        self._model_status: ModelStatus | None = None
        self._notice_shown = False
        self.garbage_collector = GuiThreadGarbageCollector(self)
        self.garbage_collector.start()
        self.setWindowTitle("Hearth")
        self.resize(1000, 760)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_header())
        self._notice = QLabel()
        self._notice.setObjectName("noticeBanner")
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.RichText)
        self._notice.linkActivated.connect(self._on_notice_link_activated)
        self._notice.hide()
        layout.addWidget(self._notice)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.pages = QStackedWidget()
        self.chat = ChatPane(service, store)
        self.models = models_pane
        if models_pane is not None:
            self.chat.open_model_requested.connect(self.show_models)
            self.chat.point_to_models_pane()
            models_pane.use_requested.connect(self.load_model)
            models_pane.unload_requested.connect(service.unload_model)
            models_pane.settings_requested.connect(self.show_settings)
            models_pane.chat_requested.connect(self.show_chat)
        else:
            self.chat.open_model_requested.connect(self.choose_model_folder)
        # With a conversation store the chat page has the history sidebar on its left.
        self.sidebar: HistorySidebar | None = None
        self.chat_page: QWidget = self.chat
        if store is not None:
            self.sidebar = HistorySidebar(store)
            connect_sidebar(self.sidebar, self.chat)
            self.chat.new_chat_button.hide()  # the sidebar has its own, at the top
            splitter = QSplitter(Qt.Orientation.Horizontal)
            splitter.setObjectName("chatSplitter")
            splitter.setChildrenCollapsible(False)
            splitter.addWidget(self.sidebar)
            splitter.addWidget(self.chat)
            splitter.setStretchFactor(1, 1)
            splitter.setSizes([240, 760])
            self.chat_page = splitter
        self.pages.addWidget(self.chat_page)
        if models_pane is not None:
            self.pages.addWidget(models_pane)
        self.settings = settings_pane
        if settings_pane is not None:
            self.pages.addWidget(settings_pane)
        body.addWidget(self._build_nav())
        body.addWidget(self.pages, 1)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)

        # New messages get the current Markdown colours (see set_dark).
        self._conversation = self.chat.findChild(QWidget, "conversationContent")
        if self._conversation is not None:
            self._conversation.installEventFilter(self)

        service.model_loading.connect(self._on_service_model_loading)
        service.model_loaded.connect(self._on_service_model_loaded)
        service.model_load_failed.connect(self._on_service_model_load_failed)
        service.model_unloaded.connect(self._on_service_model_unloaded)
        self._add_shortcuts()
        self.retranslate()

    def _build_header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(16, 8, 16, 8)
        title = QLabel("Hearth")
        title.setObjectName("appTitle")
        title.setToolTip(f"Hearth {__version__}")
        row.addWidget(title)
        row.addSpacing(16)
        self.model_label = QLabel()
        self.model_label.setObjectName("modelLabel")
        row.addWidget(self.model_label, 1)
        self.provider_combo = QComboBox()
        self.provider_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for key, label in PROVIDER_ITEMS:
            self.provider_combo.addItem(choice_text(label), key)
        row.addWidget(self.provider_combo)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.choose_model_folder)
        row.addWidget(self.open_button)
        return header

    def _build_nav(self) -> QWidget:
        rail = QFrame()
        rail.setObjectName("navRail")
        column = QVBoxLayout(rail)
        column.setContentsMargins(8, 12, 8, 12)
        column.setSpacing(4)
        self._nav_group = QButtonGroup(self)
        self._nav_group.setExclusive(True)
        self._nav_group.buttonClicked.connect(self._on_nav_group_button_clicked)
        self._nav_pages: dict[QAbstractButton, QWidget] = {}
        self.chat_nav_button = self._nav_button(column, self.chat_page)
        self.chat_nav_button.setChecked(True)
        self.models_nav_button: QPushButton | None = None
        if self.models is not None:
            self.models_nav_button = self._nav_button(column, self.models)
        self.settings_nav_button: QPushButton | None = None
        if self.settings is not None:
            self.settings_nav_button = self._nav_button(column, self.settings)
        column.addStretch(1)
        return rail

    def _nav_button(self, column: QVBoxLayout, page: QWidget) -> QPushButton:
        button = QPushButton()
        button.setObjectName("navButton")
        button.setCheckable(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._nav_pages[button] = page
        self._nav_group.addButton(button)
        column.addWidget(button)
        return button

    def _add_shortcuts(self) -> None:
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.chat.stop)
        QShortcut(QKeySequence("Ctrl+N"), self, self._on_new_chat_shortcut_activated)
        QShortcut(QKeySequence("Ctrl+L"), self, self._on_focus_input_shortcut_activated)
        QShortcut(QKeySequence("Ctrl+O"), self, self.choose_model_folder)
        QShortcut(QKeySequence("Ctrl+,"), self, self.show_settings)
        QShortcut(QKeySequence("Ctrl+M"), self, self.show_models)

    # -- texts ------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Set the window's own texts in the current language (the panes do theirs)."""
        self.provider_combo.setAccessibleName(self.tr("Execution provider"))
        self.provider_combo.setToolTip(self.tr("Where the model runs; Auto tries the GPU first"))
        for i, (_key, label) in enumerate(PROVIDER_ITEMS):
            self.provider_combo.setItemText(i, choice_text(label))
        self.open_button.setText(self.tr("Open model folder..."))
        self.open_button.setAccessibleName(self.tr("Open model folder"))
        self.chat_nav_button.setText(self.tr("Chat"))
        self.chat_nav_button.setAccessibleName(self.tr("Show the chat"))
        self.chat_nav_button.setToolTip(self.tr("Chat (Ctrl+L)"))
        if self.models_nav_button is not None:
            self.models_nav_button.setText(self.tr("Models"))
            self.models_nav_button.setAccessibleName(self.tr("Show the models"))
            self.models_nav_button.setToolTip(self.tr("Models: download, load and remove (Ctrl+M)"))
        if self.settings_nav_button is not None:
            self.settings_nav_button.setText(self.tr("Settings"))
            self.settings_nav_button.setAccessibleName(self.tr("Show the settings"))
            self.settings_nav_button.setToolTip(self.tr("Settings (Ctrl+,)"))
        self._notice.setAccessibleName(self.tr("Notice"))
        self._update_model_label()
        self._update_notice()

    def _update_model_label(self) -> None:
        if self._model_state == "loading":
            self.model_label.setText(self.tr("Loading..."))
        elif self._model_state == "loaded" and self._model_status is not None:
            status = self._model_status
            self.model_label.setText(f"{status.name} · {status.provider_label}")
        else:
            self.model_label.setText(self.tr("No model"))

    def _update_notice(self) -> None:
        if not self._notice_shown:
            self._notice.hide()
            return
        self._notice.setText(self.tr(
            "Some settings could not be read, so Hearth is using their defaults.") +
            ' <a href="settings">' + self.tr("See Settings") + "</a>")
        self._notice.show()

    # -- public -----------------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        """The provider chosen in the header."""
        return str(self.provider_combo.currentData())

    @Slot()
    def show_chat(self) -> None:
        """Show the chat pane."""
        self._show_page(self.chat_page)

    @Slot()
    def show_models(self) -> None:
        """Show the models pane (if the window has one)."""
        if self.models is not None:
            self._show_page(self.models)

    @Slot()
    def show_settings(self) -> None:
        """Show the settings pane (if the window has one)."""
        if self.settings is not None:
            self._show_page(self.settings)

    def show_settings_notice(self) -> None:
        """Say above the panes that some settings were reset (details: the settings pane)."""
        self._notice_shown = True
        self._update_notice()

    def apply_settings(self, settings: Settings, changed: Collection[str] | None = None) -> None:
        """Take the settings the window uses: generation defaults, provider, context limit.

        `changed` (dotted keys) limits what is touched, so applying unrelated settings does not
        override the provider or effort the user picked for this session; None applies all.
        """
        generation = settings.generation
        self.chat.options = generation.to_options()
        self.chat.set_system_prompt(generation.system_prompt)
        self._context_cap = settings.model.context_cap
        if (changed is None or "generation.reasoning_effort" in changed) \
                and not self.chat.messages:
            index = self.chat.effort_combo.findData(generation.reasoning_effort)
            if index >= 0:
                self.chat.effort_combo.setCurrentIndex(index)
        if changed is None or "model.provider" in changed:
            index = self.provider_combo.findData(settings.model.provider)
            if index >= 0:
                self.provider_combo.setCurrentIndex(index)

    @Slot(bool)
    def set_dark(self, dark: bool) -> None:
        """Give the Markdown views (code, tables) their dark or light colours."""
        self._dark = dark
        set_dark_on_views(self, dark)

    def show_missing_start_model(self, folder: str) -> None:
        """Say that the model chosen for start-up is not there (the app opens without it)."""
        self.chat.show_error(self.tr(
            "The model set to load at start is not at {folder}. Open another, or change it in "
            "Settings.").format(folder=folder))

    @Slot()
    def choose_model_folder(self) -> None:
        """Ask for a model folder and load it."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open model folder"))
        if folder:
            self.load_model(folder)

    def load_model(self, folder: str) -> None:
        """Load a model folder on the chosen provider (named as in the Models pane if it is an
        installed model)."""
        name = None
        if self.models is not None:
            installed = self.models.manager.library.find_by_path(folder)
            name = installed.name if installed is not None else None
        if not self._service.load_model(folder, self.provider, self._context_cap, name=name):
            self.chat.show_error(self.tr("Wait for the current reply or load to finish."))

    # -- internals --------------------------------------------------------------------------------
    def _show_page(self, page: QWidget) -> None:
        self.pages.setCurrentWidget(page)
        for button, button_page in self._nav_pages.items():
            button.setChecked(button_page is page)
        if page is self.settings:
            self._notice_shown = False
            self._update_notice()

    @Slot()
    def _on_new_chat_shortcut_activated(self) -> None:
        self.show_chat()
        self.chat.new_chat()

    @Slot()
    def _on_focus_input_shortcut_activated(self) -> None:
        self.show_chat()
        self.chat.input.setFocus()

    @Slot(QAbstractButton)
    def _on_nav_group_button_clicked(self, button: QAbstractButton) -> None:
        self._show_page(self._nav_pages[button])

    @Slot(str)
    def _on_notice_link_activated(self, _link: str) -> None:
        self.show_settings()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A message added to the conversation: its Markdown views start light.
        # getattr: Qt may still deliver events while the window's Python side is torn down.
        if watched is getattr(self, "_conversation", None) and getattr(self, "_dark", False) \
                and isinstance(event, QChildEvent) \
                and event.type() == QEvent.Type.ChildAdded:
            child = event.child()
            if isinstance(child, QWidget):
                set_dark_on_views(child, True)
        return super().eventFilter(watched, event)

    @Slot(str)
    def _on_service_model_loading(self, path: str) -> None:
        self._model_state = "loading"
        self._update_model_label()
        self.open_button.setEnabled(False)

    @Slot(object)
    def _on_service_model_loaded(self, status: ModelStatus) -> None:
        self._model_state, self._model_status = "loaded", status
        self._update_model_label()
        self.model_label.setToolTip(status.path)
        self.open_button.setEnabled(True)

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._model_state, self._model_status = "none", None
        self._update_model_label()
        self.model_label.setToolTip("")

    @Slot(str)
    def _on_service_model_load_failed(self, _message: str) -> None:
        self._model_state, self._model_status = "none", None
        self._update_model_label()
        self.model_label.setToolTip("")
        self.open_button.setEnabled(True)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Stop a streaming reply at once; the thread itself is shut down by the app.
        self._service.stop()
        if self.settings is not None:
            self.settings.shutdown()
        self.garbage_collector.stop()
        super().closeEvent(event)
