"""The main window: a header with the model controls, and the chat pane."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.ui.chat_pane import ChatPane
from app.workers.generation import GenerationService, ModelStatus

PROVIDER_ITEMS = (("auto", "Auto (GPU if available)"), ("cpu", "CPU"), ("cuda", "CUDA (NVIDIA)"),
                  ("dml", "DirectML (Windows GPU)"))


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


class MainWindow(QMainWindow):
    """Hearth's window. It owns no model: the GenerationService does, on its own thread.

    While it is open, Python's garbage collector runs on the GUI thread only (see
    `GuiThreadGarbageCollector`).
    """

    def __init__(self, service: GenerationService) -> None:
        super().__init__()
        self._service = service
        self.garbage_collector = GuiThreadGarbageCollector(self)
        self.garbage_collector.start()
        self.setWindowTitle("Hearth")
        self.resize(1000, 760)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_header())
        self.chat = ChatPane(service)
        self.chat.open_model_requested.connect(self.choose_model_folder)
        layout.addWidget(self.chat, 1)
        self.setCentralWidget(central)

        service.model_loading.connect(self._on_service_model_loading)
        service.model_loaded.connect(self._on_service_model_loaded)
        service.model_load_failed.connect(self._on_service_model_load_failed)
        self._add_shortcuts()

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
        self.model_label = QLabel(self.tr("No model"))
        self.model_label.setObjectName("modelLabel")
        row.addWidget(self.model_label, 1)
        self.provider_combo = QComboBox()
        self.provider_combo.setAccessibleName(self.tr("Execution provider"))
        self.provider_combo.setToolTip(self.tr("Where the model runs; Auto tries the GPU first"))
        for key, label in PROVIDER_ITEMS:
            self.provider_combo.addItem(self.tr(label), key)
        row.addWidget(self.provider_combo)
        self.open_button = QPushButton(self.tr("Open model folder..."))
        self.open_button.setAccessibleName(self.tr("Open model folder"))
        self.open_button.clicked.connect(self.choose_model_folder)
        row.addWidget(self.open_button)
        return header

    def _add_shortcuts(self) -> None:
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.chat.stop)
        QShortcut(QKeySequence("Ctrl+N"), self, self.chat.new_chat)
        QShortcut(QKeySequence("Ctrl+L"), self, self.chat.input.setFocus)
        QShortcut(QKeySequence("Ctrl+O"), self, self.choose_model_folder)

    @property
    def provider(self) -> str:
        """The provider chosen in the header."""
        return str(self.provider_combo.currentData())

    @Slot()
    def choose_model_folder(self) -> None:
        """Ask for a model folder and load it."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open model folder"))
        if folder:
            self.load_model(folder)

    def load_model(self, folder: str) -> None:
        """Load a model folder on the chosen provider."""
        if not self._service.load_model(folder, self.provider):
            self.chat.show_error(self.tr("Wait for the current reply or load to finish."))

    @Slot(str)
    def _on_service_model_loading(self, path: str) -> None:
        self.model_label.setText(self.tr("Loading..."))
        self.open_button.setEnabled(False)

    @Slot(object)
    def _on_service_model_loaded(self, status: ModelStatus) -> None:
        self.model_label.setText(f"{status.name} · {status.provider_label}")
        self.model_label.setToolTip(status.path)
        self.open_button.setEnabled(True)

    @Slot(str)
    def _on_service_model_load_failed(self, _message: str) -> None:
        self.model_label.setText(self.tr("No model"))
        self.open_button.setEnabled(True)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Stop a streaming reply at once; the thread itself is shut down by the app.
        self._service.stop()
        self.garbage_collector.stop()
        super().closeEvent(event)
