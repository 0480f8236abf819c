"""The models pane: what this PC can run, the recommended model, downloads, installed models,
the catalog, any Hugging Face repo, and the document-search model.

It is the first thing a new user sees, so it answers in order: what is this PC ("This PC"),
what should I get ("Recommended for this PC", one primary button), how is it going
("Downloads", shown only while there are some), what do I have ("Installed", with the outcome
of the last load), and what else is there ("Available models", "Add from Hugging Face",
"Document search").

All work runs in `ModelManager` (app.workers.models) on worker threads; the pane draws its state
and turns clicks into its calls. Loading goes through the window (`use_requested`), which owns
the provider choice; the pane follows the `GenerationService` to show a busy indicator and then
the outcome: provider, time, memory, or an actionable error (with the CPU build offered when a
GPU build does not fit).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import CatalogEntry, Variant
from app.core.downloads import RemoteModel
from app.core.engine import AUTO_ORDER, PROVIDER_LABELS
from app.core.hardware import Hardware
from app.core.library import InstalledModel, VerifyReport
from app.ui.i18n import Retranslating
from app.ui.model_rows import (
    PROGRESS_STEPS,
    CatalogRow,
    DownloadRow,
    InstalledRow,
    format_size,
    repolish,
)
from app.ui.page_layout import centred_column, section_card
from app.workers.generation import GenerationService, ModelStatus
from app.workers.models import DownloadInfo, ModelManager

log = logging.getLogger(__name__)

SECTIONS = ("pc", "recommended", "downloads", "installed", "available", "huggingface",
            "documents")


def same_folder(a: str | Path | None, b: str | Path | None) -> bool:
    """Whether two paths name the same folder."""
    if not a or not b:
        return False
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


class ModelManagerPane(Retranslating, QWidget):
    """Download, load, import and remove models, with what fits this PC.

    `manager` does the work; `service` (optional) is followed to show loading and its outcome;
    `default_model` is the `model.default_model` setting (a folder), tagged "Default".

    Signals:
        use_requested(str): load this model folder (the window does, with its provider)
        unload_requested(): free the loaded model
        default_requested(str): make this folder the default model ("" for none)
        settings_requested(): show Settings (offline mode, the Hugging Face token)
        chat_requested(): show the chat
    """

    use_requested = Signal(str)
    unload_requested = Signal()
    default_requested = Signal(str)
    settings_requested = Signal()
    chat_requested = Signal()

    def __init__(self, manager: ModelManager, service: GenerationService | None = None, *,
                 default_model: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPane")
        self.manager = manager
        self._service = service
        self._default_model = default_model
        self._message: tuple[str, bool] | None = None
        self.section_titles: dict[str, QLabel] = {}
        self.sections: dict[str, QFrame] = {}
        self._hints: dict[str, QLabel] = {}
        self.catalog_rows: dict[str, CatalogRow] = {}
        self.installed_rows: dict[str, InstalledRow] = {}
        self.download_rows: dict[str, DownloadRow] = {}
        self.recommended_row: CatalogRow | None = None
        self._embedder_widgets: dict[str, tuple[QLabel, QLabel, QPushButton]] = {}
        # The load shown in the Installed section: idle, loading, loaded or failed.
        self._load_state = "idle"
        self._load_path = ""
        self._load_status: ModelStatus | None = None
        self._load_error = ""
        self._loaded_path = ""
        self._import_note: tuple[str, bool] | None = None
        self._search_note: tuple[str, bool] | None = None
        self._search_results: list[RemoteModel] = []
        self._shown_warnings: tuple[str, ...] = ()
        self._build()
        self._connect()
        self.retranslate()
        if service is not None and service.model is not None:
            self._on_service_model_loaded(service.model)
        manager.refresh()
        if manager.hardware is None:
            manager.detect_hardware()

    # -- public ---------------------------------------------------------------------------------
    @property
    def default_model(self) -> str:
        """The default model's folder as the pane shows it."""
        return self._default_model

    def set_default_model(self, folder: str) -> None:
        """Tag this folder's model as the default (after the setting changed)."""
        self._default_model = folder
        self._sync_installed()

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show a line at the top of the pane ("" clears it)."""
        self._set_message(text, error=error)

    def import_folder(self, folder: str, link: bool = False) -> bool:
        """Import a model folder (copy, or `link` to use it where it is); False while another
        import runs."""
        if not self.manager.import_folder(folder, link=link):
            return False
        self._import_note = None
        self.import_progress.setRange(0, 0)
        self.import_progress.show()
        self.import_cancel_button.show()
        self.import_button.setEnabled(False)
        self._set_import_note(self.tr("Checking {folder}…").format(folder=folder), False)
        return True

    def confirm_remove(self, model: InstalledModel) -> bool:
        """Ask before removing a model (tests patch QMessageBox.question for the click)."""
        if model.linked or model.missing or not self.manager.library.owns_folder(model):
            text = self.tr("Remove {name} from the list? Its folder, {folder}, is not deleted.")
        else:
            text = self.tr("Remove {name}? Its folder, {folder}, is deleted and {size} of disk "
                           "space is freed.")
        if same_folder(model.path, self._loaded_path):
            text += "\n\n" + self.tr("The model is in use; it is unloaded first.")
        answer = QMessageBox.question(
            self, self.tr("Remove model"),
            text.format(name=model.name, folder=str(model.path),
                        size=format_size(model.size_bytes)),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.offline_banner = QLabel()
        self.offline_banner.setObjectName("modelsNotice")
        self.offline_banner.setWordWrap(True)
        self.offline_banner.setTextFormat(Qt.TextFormat.RichText)
        self.offline_banner.linkActivated.connect(self._on_banner_link_activated)
        self.offline_banner.hide()
        outer.addWidget(self.offline_banner)
        self.message_label = QLabel()
        self.message_label.setObjectName("modelsMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        outer.addWidget(self.message_label)

        scroll, column = centred_column("models", 880)
        self.scroll_area = scroll
        self.heading = QLabel()
        self.heading.setObjectName("modelsHeading")
        column.addWidget(self.heading)
        column.addWidget(self._build_pc())
        column.addWidget(self._build_recommended())
        column.addWidget(self._build_downloads())
        column.addWidget(self._build_installed())
        column.addWidget(self._build_available())
        column.addWidget(self._build_huggingface())
        column.addWidget(self._build_documents())
        column.addStretch(1)
        outer.addWidget(scroll, 1)

    def _section(self, key: str) -> tuple[QFrame, QVBoxLayout, QHBoxLayout]:
        frame, box, title = section_card("models")
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(title)
        head.addStretch(1)
        box.addLayout(head)
        self.section_titles[key] = title
        self.sections[key] = frame
        return frame, box, head

    def _hint(self, box: QVBoxLayout, key: str) -> QLabel:
        hint = QLabel()
        hint.setObjectName("modelsHint")
        hint.setWordWrap(True)
        box.addWidget(hint)
        self._hints[key] = hint
        return hint

    def _list(self, box: QVBoxLayout) -> QVBoxLayout:
        holder = QVBoxLayout()
        holder.setContentsMargins(0, 0, 0, 0)
        holder.setSpacing(8)
        box.addLayout(holder)
        return holder

    def _build_pc(self) -> QFrame:
        frame, box, head = self._section("pc")
        self.recheck_button = QPushButton()
        self.recheck_button.setObjectName("flatButton")
        self.recheck_button.clicked.connect(self._on_recheck_button_clicked)
        head.addWidget(self.recheck_button)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        self._pc_labels: dict[str, QLabel] = {}
        self.pc_values: dict[str, QLabel] = {}
        for row, key in enumerate(("memory", "graphics", "disk", "runtime")):
            label = QLabel()
            label.setObjectName("hardwareLabel")
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            value = QLabel()
            value.setObjectName("hardwareValue")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            self._pc_labels[key], self.pc_values[key] = label, value
        box.addLayout(grid)
        return frame

    def _build_recommended(self) -> QFrame:
        frame, box, _head = self._section("recommended")
        self._recommended_box = self._list(box)
        self.recommended_note = self._hint(box, "recommended")
        return frame

    def _build_downloads(self) -> QFrame:
        frame, box, _head = self._section("downloads")
        self._downloads_box = self._list(box)
        frame.hide()
        return frame

    def _build_installed(self) -> QFrame:
        frame, box, _head = self._section("installed")
        self.load_panel = QFrame()
        self.load_panel.setObjectName("loadPanel")
        self.load_panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        panel = QVBoxLayout(self.load_panel)
        panel.setContentsMargins(12, 10, 12, 10)
        panel.setSpacing(6)
        line = QHBoxLayout()
        line.setSpacing(8)
        self.load_label = QLabel()
        self.load_label.setObjectName("loadLabel")
        self.load_label.setWordWrap(True)
        self.load_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        line.addWidget(self.load_label, 1)
        self.load_cpu_button = QPushButton()
        self.load_cpu_button.setObjectName("rowButton")
        self.load_cpu_button.clicked.connect(self._on_load_cpu_button_clicked)
        line.addWidget(self.load_cpu_button, 0, Qt.AlignmentFlag.AlignTop)
        self.chat_button = QPushButton()
        self.chat_button.setObjectName("primaryButton")
        self.chat_button.clicked.connect(self.chat_requested)
        line.addWidget(self.chat_button, 0, Qt.AlignmentFlag.AlignTop)
        panel.addLayout(line)
        self.load_busy = QProgressBar()
        self.load_busy.setObjectName("loadBusy")
        self.load_busy.setRange(0, 0)
        self.load_busy.setTextVisible(False)
        self.load_busy.setFixedHeight(6)
        panel.addWidget(self.load_busy)
        self.load_panel.hide()
        box.addWidget(self.load_panel)
        self._installed_box = self._list(box)
        self.installed_empty = self._hint(box, "installed.empty")
        row = QHBoxLayout()
        row.setSpacing(8)
        self.import_button = QPushButton()
        self.import_button.clicked.connect(self._on_import_button_clicked)
        row.addWidget(self.import_button)
        self.link_check = QCheckBox()
        row.addWidget(self.link_check)
        self.import_progress = QProgressBar()
        self.import_progress.setObjectName("downloadProgress")
        self.import_progress.setTextVisible(False)
        self.import_progress.setFixedHeight(8)
        self.import_progress.hide()
        row.addWidget(self.import_progress, 1)
        self.import_cancel_button = QPushButton()
        self.import_cancel_button.setObjectName("rowButton")
        self.import_cancel_button.clicked.connect(self.manager.cancel_import)
        self.import_cancel_button.hide()
        row.addWidget(self.import_cancel_button)
        row.addStretch(0)
        box.addLayout(row)
        self.import_note = QLabel()
        self.import_note.setObjectName("modelNote")
        self.import_note.setWordWrap(True)
        self.import_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_note.hide()
        box.addWidget(self.import_note)
        return frame

    def _build_available(self) -> QFrame:
        frame, box, _head = self._section("available")
        self.available_note = self._hint(box, "available")
        holder = self._list(box)
        for entry in self.manager.catalog:
            row = CatalogRow(entry)
            row.download_requested.connect(self._on_row_download_requested)
            row.resume_requested.connect(self.manager.resume)
            row.use_requested.connect(self._on_row_use_requested)
            holder.addWidget(row)
            self.catalog_rows[entry.id] = row
        return frame

    def _build_huggingface(self) -> QFrame:
        frame, box, _head = self._section("huggingface")
        self._hint(box, "huggingface")
        search = QHBoxLayout()
        search.setSpacing(8)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("searchEdit")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.returnPressed.connect(self._on_search_button_clicked)
        search.addWidget(self.search_edit, 1)
        self.search_button = QPushButton()
        self.search_button.clicked.connect(self._on_search_button_clicked)
        search.addWidget(self.search_button)
        box.addLayout(search)
        self.search_results = QListWidget()
        self.search_results.setObjectName("searchResults")
        self.search_results.itemClicked.connect(self._on_search_results_item_clicked)
        self.search_results.hide()
        box.addWidget(self.search_results)
        self.search_note = QLabel()
        self.search_note.setObjectName("modelNote")
        self.search_note.setWordWrap(True)
        self.search_note.hide()
        box.addWidget(self.search_note)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.repo_label = QLabel()
        self.repo_label.setObjectName("hardwareLabel")
        self.repo_edit = QLineEdit()
        self.repo_edit.setObjectName("repoEdit")
        self.repo_edit.returnPressed.connect(self._on_repo_download_button_clicked)
        self.repo_label.setBuddy(self.repo_edit)
        self.subfolder_label = QLabel()
        self.subfolder_label.setObjectName("hardwareLabel")
        self.subfolder_edit = QLineEdit()
        self.subfolder_edit.setObjectName("subfolderEdit")
        self.subfolder_edit.returnPressed.connect(self._on_repo_download_button_clicked)
        self.subfolder_label.setBuddy(self.subfolder_edit)
        self.repo_download_button = QPushButton()
        self.repo_download_button.clicked.connect(self._on_repo_download_button_clicked)
        grid.addWidget(self.repo_label, 0, 0)
        grid.addWidget(self.repo_edit, 0, 1)
        grid.addWidget(self.subfolder_label, 1, 0)
        grid.addWidget(self.subfolder_edit, 1, 1)
        grid.addWidget(self.repo_download_button, 1, 2)
        grid.setColumnStretch(1, 1)
        box.addLayout(grid)
        return frame

    def _build_documents(self) -> QFrame:
        frame, box, _head = self._section("documents")
        self._hint(box, "documents")
        for embedder in self.manager.catalog.embedders:
            row = QFrame()
            row.setObjectName("modelRow")
            row.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
            inner = QVBoxLayout(row)
            inner.setContentsMargins(12, 10, 12, 10)
            inner.setSpacing(4)
            top = QHBoxLayout()
            name = QLabel(embedder.name)
            name.setObjectName("modelName")
            top.addWidget(name)
            top.addStretch(1)
            size = QLabel(format_size(embedder.size_bytes))
            size.setObjectName("modelMeta")
            top.addWidget(size)
            button = QPushButton()
            button.setObjectName("rowButton")
            button.clicked.connect(lambda _=False, eid=embedder.id:
                                   self._on_embedder_button_clicked(eid))
            top.addWidget(button)
            inner.addLayout(top)
            description = QLabel()
            description.setObjectName("modelDescription")
            description.setWordWrap(True)
            inner.addWidget(description)
            status = QLabel()
            status.setObjectName("modelDetail")
            status.setWordWrap(True)
            status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            inner.addWidget(status)
            box.addWidget(row)
            self._embedder_widgets[embedder.id] = (description, status, button)
        if not self.manager.catalog.embedders:
            self._hint(box, "documents.none")
        return frame

    def _connect(self) -> None:
        m = self.manager
        m.hardware_detected.connect(self._on_manager_hardware_detected)
        m.library_changed.connect(self._on_manager_library_changed)
        m.downloads_changed.connect(self._on_manager_downloads_changed)
        m.download_progressed.connect(self._on_manager_download_progressed)
        m.download_finished.connect(self._on_manager_download_finished)
        m.download_cancelled.connect(self._on_manager_download_cancelled)
        m.import_progressed.connect(self._on_manager_import_progressed)
        m.import_finished.connect(self._on_manager_import_finished)
        m.import_failed.connect(self._on_manager_import_failed)
        m.import_cancelled.connect(self._on_manager_import_cancelled)
        m.model_removed.connect(self._on_manager_model_removed)
        m.verified.connect(self._on_manager_verified)
        m.search_finished.connect(self._on_manager_search_finished)
        m.search_failed.connect(self._on_manager_search_failed)
        m.embedders_changed.connect(self._sync_embedders)
        m.offline_changed.connect(self._on_manager_offline_changed)
        m.error_occurred.connect(self._on_manager_error_occurred)
        if self._service is not None:
            s = self._service
            s.model_loading.connect(self._on_service_model_loading)
            s.model_loaded.connect(self._on_service_model_loaded)
            s.model_load_failed.connect(self._on_service_model_load_failed)
            s.model_unloaded.connect(self._on_service_model_unloaded)

    # -- texts ----------------------------------------------------------------------------------
    def language(self) -> str:
        """The interface language, for the catalog's own descriptions (en or ja)."""
        return self.tr("en", "the language code of this translation")

    def retranslate(self) -> None:
        """Set every text in the current language (at start and on LanguageChange)."""
        self.heading.setText(self.tr("Models"))
        titles = {
            "pc": self.tr("This PC"),
            "recommended": self.tr("Recommended for this PC"),
            "downloads": self.tr("Downloads"),
            "installed": self.tr("Installed"),
            "available": self.tr("Available models"),
            "huggingface": self.tr("Add from Hugging Face"),
            "documents": self.tr("Document search"),
        }
        for key, text in titles.items():
            self.section_titles[key].setText(text)
        hints = {
            "installed.empty": self.tr(
                "No models yet. Download the recommended one above, or import a model folder "
                "you already have."),
            "available": self.tr(
                "Models Hearth knows, checked against this PC. Each downloads the build that "
                "suits it."),
            "huggingface": self.tr(
                "Any ONNX Runtime GenAI model: search, or enter its repository (owner/name) and "
                "the sub-folder that holds genai_config.json."),
            "documents": self.tr(
                "Finding the passages of your documents that answer a question needs this small "
                "model. It runs on the CPU and stays on this PC."),
            "documents.none": self.tr("The catalog lists no document-search model."),
        }
        for key, text in hints.items():
            if key in self._hints:
                self._hints[key].setText(text)
        labels = {"memory": self.tr("Memory"), "graphics": self.tr("Graphics"),
                  "disk": self.tr("Free disk"), "runtime": self.tr("Runtime")}
        for key, text in labels.items():
            self._pc_labels[key].setText(text)
        self.recheck_button.setText(self.tr("Check again"))
        self.recheck_button.setToolTip(self.tr("Measure memory, graphics and disk again"))
        self.import_button.setText(self.tr("Import folder…"))
        self.import_button.setToolTip(self.tr(
            "Add a model folder you already have (the folder that holds genai_config.json)"))
        self.link_check.setText(self.tr("Use it where it is (do not copy)"))
        self.link_check.setToolTip(self.tr(
            "For a folder on a drive that stays connected; otherwise Hearth copies the model "
            "into its models folder"))
        self.import_progress.setAccessibleName(self.tr("Import progress"))
        self.import_cancel_button.setText(self.tr("Cancel"))
        self.chat_button.setText(self.tr("Go to chat"))
        self.load_busy.setAccessibleName(self.tr("Loading the model"))
        self.search_edit.setPlaceholderText(self.tr("Search Hugging Face, e.g. phi-4 onnx"))
        self.search_edit.setAccessibleName(self.tr("Search Hugging Face"))
        self.search_button.setText(self.tr("Search"))
        self.search_results.setAccessibleName(self.tr("Search results"))
        self.repo_label.setText(self.tr("Repository"))
        self.repo_edit.setPlaceholderText(self.tr("owner/name"))
        self.subfolder_label.setText(self.tr("Sub-folder"))
        self.subfolder_edit.setPlaceholderText(self.tr(
            "e.g. cpu_and_mobile/cpu-int4-rtn-block-32 (empty: the top folder)"))
        self.repo_download_button.setText(self.tr("Download"))
        self.message_label.setAccessibleName(self.tr("Models message"))
        self._update_message()
        self._update_import_note()
        self._update_search_note()
        self._refresh_all()

    # -- drawing the state ----------------------------------------------------------------------
    def _refresh_all(self) -> None:
        self._show_hardware()
        self._sync_recommended()
        self._sync_downloads()
        self._sync_installed()
        self._sync_catalog()
        self._sync_embedders()
        self._apply_offline()
        self._update_load_panel()

    def _show_hardware(self) -> None:
        hw = self.manager.hardware
        values = self.pc_values
        if hw is None:
            checking = self.tr("Checking this PC…")
            for key in values:
                values[key].setText(checking if key == "memory" else "")
            self.recheck_button.setEnabled(False)
            return
        self.recheck_button.setEnabled(not self.manager.detecting)
        values["memory"].setText(self.tr("{total} ({free} free now)").format(
            total=format_size(hw.ram_total_bytes), free=format_size(hw.ram_available_bytes))
            if hw.ram_total_bytes else self.tr("Unknown"))
        if hw.gpus:
            lines = [self.tr("{name}: {memory} of its own memory").format(
                name=g.name, memory=format_size(g.vram_bytes)) for g in hw.gpus]
            values["graphics"].setText("\n".join(lines))
        else:
            values["graphics"].setText(self.tr(
                "No graphics card with its own memory was found; models run on the CPU."))
        values["disk"].setText(self.tr("{free} in the models folder ({folder})").format(
            free=format_size(hw.disk_free_bytes), folder=str(self.manager.models_dir))
            if hw.disk_free_bytes is not None else self.tr("Unknown"))
        values["runtime"].setText(self._runtime_text(hw))

    def _runtime_text(self, hw: Hardware) -> str:
        if not hw.providers:  # the runtime did not import
            return self.tr("ONNX Runtime GenAI is not installed: models cannot be loaded.")
        genai = next((v for name, v in hw.packages if name.startswith("onnxruntime-genai")), "")
        providers = ", ".join(PROVIDER_LABELS.get(p, p) for p in AUTO_ORDER
                              if p in hw.providers)
        return self.tr("ONNX Runtime GenAI {version}; runs models on: {providers}").format(
            version=genai, providers=providers).replace("  ", " ")

    def _row_state(self, row: CatalogRow) -> None:
        m = self.manager
        entry = row.entry
        fit = m.fit_for(entry.id)
        installed = m.installed_for(entry, fit.variant if fit is not None else None)
        if installed is None:
            installed = m.installed_for(entry)
        row.update_state(fit=fit, hardware=m.hardware, installed=installed,
                         download=m.download_for_entry(entry.id), offline=m.offline,
                         loaded=installed is not None
                         and same_folder(installed.path, self._loaded_path),
                         language=self.language())

    def _sync_recommended(self) -> None:
        m = self.manager
        fit = m.recommendation
        current = self.recommended_row
        if current is not None and (fit is None or current.entry.id != fit.entry.id):
            current.setParent(None)
            current.deleteLater()
            self.recommended_row = current = None
        if fit is not None and current is None:
            current = CatalogRow(fit.entry, featured=True)
            current.download_requested.connect(self._on_row_download_requested)
            current.resume_requested.connect(self.manager.resume)
            current.use_requested.connect(self._on_row_use_requested)
            self._recommended_box.addWidget(current)
            current.show()
            self.recommended_row = current
        if current is not None:
            self._row_state(current)
        note = ""
        if m.catalog_error:
            note = m.catalog_error
        elif m.hardware is None:
            note = self.tr("Checking what this PC can run…")
        elif fit is None:
            note = self.tr("None of the catalog's models fits this PC. You can still add a "
                           "smaller model from Hugging Face below.")
        elif fit.verdict == "cpu":
            note = self.tr("This PC has no GPU that can run these models, so the recommended "
                           "one runs on the CPU: replies come more slowly.")
        self.recommended_note.setText(note)
        self.recommended_note.setVisible(bool(note))

    def _sync_catalog(self) -> None:
        for row in self.catalog_rows.values():
            self._row_state(row)
        if self.manager.catalog_error:
            self.available_note.setText(self.manager.catalog_error)

    def _sync_installed(self) -> None:
        m = self.manager
        models = list(m.models)
        ids = {model.id for model in models}
        for model_id in list(self.installed_rows):
            if model_id not in ids:
                gone = self.installed_rows.pop(model_id)
                gone.setParent(None)
                gone.deleteLater()
        loading = self._load_state == "loading"
        for index, model in enumerate(models):
            row = self.installed_rows.get(model.id)
            if row is None:
                row = InstalledRow(model)
                row.use_requested.connect(self._on_row_use_requested)
                row.unload_requested.connect(self.unload_requested)
                row.default_requested.connect(self._on_row_default_requested)
                row.open_folder_requested.connect(self._on_row_open_folder_requested)
                row.verify_requested.connect(self._on_row_verify_requested)
                row.remove_requested.connect(self._on_row_remove_requested)
                row.cpu_build_requested.connect(self._on_row_cpu_build_requested)
                self.installed_rows[model.id] = row
            if self._installed_box.indexOf(row) != index:
                self._installed_box.insertWidget(index, row)
                row.show()  # now, not at the layout's queued show: the state is drawn at once
            row.update_state(model, default=same_folder(model.path, self._default_model),
                             loaded=same_folder(model.path, self._loaded_path), busy=loading,
                             cpu_build=m.cpu_alternative(model))
        self.installed_empty.setVisible(not models)

    def _sync_downloads(self) -> None:
        infos = self.manager.downloads()
        keys = {info.key for info in infos}
        for key in list(self.download_rows):
            if key not in keys:
                ended = self.download_rows.pop(key)
                ended.setParent(None)
                ended.deleteLater()
        for info in infos:
            row = self.download_rows.get(info.key)
            if row is None:
                row = DownloadRow(info)
                row.pause_requested.connect(self.manager.pause)
                row.resume_requested.connect(self.manager.resume)
                row.cancel_requested.connect(self.manager.cancel)
                row.settings_requested.connect(self.settings_requested)
                self._downloads_box.addWidget(row)
                row.show()
                self.download_rows[info.key] = row
            row.set_info(info, self.manager.offline)
        self.sections["downloads"].setVisible(bool(infos))

    @Slot()
    def _sync_embedders(self) -> None:
        m = self.manager
        for embedder in m.catalog.embedders:
            description, status, button = self._embedder_widgets[embedder.id]
            description.setText(embedder.description(self.language()))
            folder = m.embedder_folder(embedder.id)
            download = m.download_for_embedder(embedder.id)
            button.setToolTip("")
            if folder is not None:
                status.setText(self.tr("Downloaded to {folder}").format(folder=str(folder)))
                button.setText(self.tr("Remove"))
                button.setEnabled(True)
            elif download is not None:
                status.setText(self.tr("Downloading: see Downloads above."))
                button.setText(self.tr("Downloading…"))
                button.setEnabled(False)
            else:
                status.setText(self.tr("Not downloaded yet."))
                button.setText(self.tr("Download"))
                button.setEnabled(not m.offline)
                if m.offline:
                    button.setToolTip(self._offline_tip())
            button.setAccessibleName(f"{button.text()}: {embedder.name}")

    def _offline_tip(self) -> str:
        return self.tr("Offline mode is on: turn it off in Settings to download.")

    def _apply_offline(self) -> None:
        offline = self.manager.offline
        if offline:
            self.offline_banner.setText(
                self.tr("Offline mode is on: Hearth does not connect to the internet, so "
                        "downloads and search are off.")
                + ' <a href="settings">' + self.tr("Change it in Settings") + "</a>")
        self.offline_banner.setVisible(offline)
        tip = self._offline_tip() if offline else ""
        for widget in (self.search_edit, self.search_button, self.repo_edit,
                       self.subfolder_edit, self.repo_download_button):
            widget.setEnabled(not offline)
            widget.setToolTip(tip)

    def _update_load_panel(self) -> None:
        state = self._load_state
        self.load_panel.setVisible(state != "idle")
        self.load_busy.setVisible(state == "loading")
        self.chat_button.setVisible(state == "loaded")
        self.load_panel.setProperty("state", state)
        repolish(self.load_panel)
        cpu = self._failed_cpu_build()
        self.load_cpu_button.setVisible(state == "failed" and cpu is not None)
        if cpu is not None:
            self.load_cpu_button.setText(self.tr("Download the CPU build ({size})").format(
                size=format_size(cpu[1].size_bytes)))
        name = self._name_for(self._load_path)
        if state == "loading":
            text = self.tr("Loading {name}…").format(name=name)
        elif state == "loaded" and self._load_status is not None:
            status = self._load_status
            text = self.tr("{name} is loaded on {provider} in {seconds} s").format(
                name=name, provider=status.provider_label,
                seconds=f"{status.load_seconds:.2f}" if status.load_seconds < 1
                else f"{status.load_seconds:.1f}")
            if status.memory_bytes is not None:
                text += self.tr(", using {memory} of memory").format(
                    memory=format_size(status.memory_bytes))
            text += self.tr(". You can chat now.")
            if status.fallbacks:
                text += "\n" + "; ".join(status.fallbacks)
        elif state == "failed":
            text = self.tr("{name} could not be loaded: {reason}").format(
                name=name, reason=self._load_error)
        else:
            text = ""
        self.load_label.setText(text)
        self.load_label.setProperty("error", state == "failed")
        repolish(self.load_label)

    def _name_for(self, path: str) -> str:
        model = self._model_at(path)
        if model is not None:
            return model.name
        if self._load_status is not None and same_folder(self._load_status.path, path):
            return self._load_status.name
        return Path(path).name if path else ""

    def _model_at(self, path: str) -> InstalledModel | None:
        return next((m for m in self.manager.models if same_folder(m.path, path)), None)

    def _failed_cpu_build(self) -> tuple[CatalogEntry, Variant] | None:
        if self._load_state != "failed":
            return None
        model = self._model_at(self._load_path)
        if model is None:
            return None
        return self.manager.cpu_alternative(model, gpu_failed=True)

    def _set_message(self, text: str | None, *, error: bool = False) -> None:
        self._message = None if not text else (text, error)
        self._update_message()

    def _update_message(self) -> None:
        if self._message is None:
            self.message_label.hide()
            return
        text, error = self._message
        self.message_label.setText(text)
        self.message_label.setProperty("error", error)
        repolish(self.message_label)
        self.message_label.show()

    def _set_import_note(self, text: str | None, error: bool) -> None:
        self._import_note = None if not text else (text, error)
        self._update_import_note()

    def _update_import_note(self) -> None:
        if self._import_note is None:
            self.import_note.hide()
            return
        text, error = self._import_note
        self.import_note.setText(text)
        self.import_note.setProperty("error", error)
        repolish(self.import_note)
        self.import_note.show()

    def _set_search_note(self, text: str | None, error: bool = False) -> None:
        self._search_note = None if not text else (text, error)
        self._update_search_note()

    def _update_search_note(self) -> None:
        if self._search_note is None:
            self.search_note.hide()
            return
        text, error = self._search_note
        self.search_note.setText(text)
        self.search_note.setProperty("error", error)
        repolish(self.search_note)
        self.search_note.show()

    # -- clicks ---------------------------------------------------------------------------------
    @Slot()
    def _on_recheck_button_clicked(self) -> None:
        self.manager.detect_hardware()
        self.recheck_button.setEnabled(False)

    @Slot(str)
    def _on_banner_link_activated(self, _link: str) -> None:
        self.settings_requested.emit()

    @Slot(str)
    def _on_row_download_requested(self, entry_id: str) -> None:
        self._set_message(None)
        self.manager.download_entry(entry_id)

    @Slot(str)
    def _on_row_use_requested(self, model_id: str) -> None:
        model = next((m for m in self.manager.models if m.id == model_id), None)
        if model is None or model.missing:
            return
        self._set_message(None)
        self.use_requested.emit(str(model.path))

    @Slot(str)
    def _on_row_default_requested(self, model_id: str) -> None:
        model = next((m for m in self.manager.models if m.id == model_id), None)
        if model is not None:
            self.default_requested.emit(str(model.path))

    @Slot(str)
    def _on_row_open_folder_requested(self, model_id: str) -> None:
        model = next((m for m in self.manager.models if m.id == model_id), None)
        if model is None:
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(model.path))):
            self._set_message(self.tr("The folder {folder} could not be opened.").format(
                folder=str(model.path)), error=True)

    @Slot(str)
    def _on_row_verify_requested(self, model_id: str) -> None:
        row = self.installed_rows.get(model_id)
        if row is not None:
            row.set_note(self.tr("Checking the files…"))
        self.manager.verify(model_id)

    @Slot(str)
    def _on_row_remove_requested(self, model_id: str) -> None:
        model = next((m for m in self.manager.models if m.id == model_id), None)
        if model is None or not self.confirm_remove(model):
            return
        if same_folder(model.path, self._loaded_path):
            self.unload_requested.emit()
        row = self.installed_rows.get(model_id)
        if row is not None:
            row.set_note(self.tr("Removing…"))
        self.manager.remove(model_id)

    @Slot(str, str)
    def _on_row_cpu_build_requested(self, entry_id: str, subfolder: str) -> None:
        self._set_message(None)
        self.manager.download_variant(entry_id, subfolder)

    @Slot()
    def _on_load_cpu_button_clicked(self) -> None:
        cpu = self._failed_cpu_build()
        if cpu is not None:
            entry, variant = cpu
            self.manager.download_variant(entry.id, variant.subfolder)

    @Slot()
    def _on_import_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose a model folder (the one that holds genai_config.json)"))
        if folder:
            self.import_folder(folder, link=self.link_check.isChecked())

    @Slot()
    def _on_search_button_clicked(self) -> None:
        query = self.search_edit.text().strip()
        if not query or not self.manager.search(query):
            return
        self.search_button.setEnabled(False)
        self._set_search_note(self.tr("Searching…"))

    @Slot(QListWidgetItem)
    def _on_search_results_item_clicked(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.ItemDataRole.UserRole)
        if not data:
            return
        repo, subfolder = data
        self.repo_edit.setText(repo)
        self.subfolder_edit.setText(subfolder)

    @Slot()
    def _on_repo_download_button_clicked(self) -> None:
        repo = self.repo_edit.text().strip().removeprefix("https://huggingface.co/").strip("/")
        if repo.count("/") != 1 or " " in repo:
            self._set_search_note(self.tr(
                "Enter the repository as owner/name, e.g. microsoft/Phi-4-mini-instruct-onnx."),
                error=True)
            return
        self._set_search_note(None)
        self._set_message(None)
        self.manager.download_repo(repo, self.subfolder_edit.text())

    def _on_embedder_button_clicked(self, embedder_id: str) -> None:
        if self.manager.embedder_folder(embedder_id) is not None:
            self.manager.remove_embedder(embedder_id)
        else:
            self.manager.download_embedder(embedder_id)

    # -- manager signals ------------------------------------------------------------------------
    @Slot(object)
    def _on_manager_hardware_detected(self, _hardware: Hardware) -> None:
        self._show_hardware()
        self._sync_recommended()
        self._sync_catalog()
        self._sync_installed()

    @Slot(object)
    def _on_manager_library_changed(self, _models: list[InstalledModel]) -> None:
        self._sync_installed()
        self._sync_recommended()
        self._sync_catalog()
        self._update_load_panel()
        warnings = self.manager.warnings
        if warnings and warnings != self._shown_warnings:
            # Once: they stay in the library's list, and a later success must not bring them back.
            self._shown_warnings = warnings
            self._set_message("\n".join(warnings), error=True)

    @Slot()
    def _on_manager_downloads_changed(self) -> None:
        self._sync_downloads()
        self._sync_recommended()
        self._sync_catalog()
        self._sync_embedders()

    @Slot(str, object)
    def _on_manager_download_progressed(self, key: str, info: DownloadInfo) -> None:
        row = self.download_rows.get(key)
        if row is not None:
            row.set_info(info)

    @Slot(str, object)
    def _on_manager_download_finished(self, _key: str, result: object) -> None:
        if isinstance(result, InstalledModel):
            self._set_message(self.tr("{name} is downloaded and ready: press Use to load "
                                      "it.").format(name=result.name))
        else:
            self._set_message(self.tr("The document-search model is downloaded."))
            self._sync_embedders()

    @Slot(str)
    def _on_manager_download_cancelled(self, _key: str) -> None:
        self._set_message(self.tr("The download was cancelled and its data deleted."))

    @Slot(object, object)
    def _on_manager_import_progressed(self, done: int, total: int) -> None:
        self.import_progress.setRange(0, PROGRESS_STEPS)
        self.import_progress.setValue(int(PROGRESS_STEPS * done / total) if total else 0)
        self._set_import_note(self.tr("Copying: {done} of {total}").format(
            done=format_size(done), total=format_size(total)), False)

    def _end_import(self) -> None:
        self.import_progress.hide()
        self.import_cancel_button.hide()
        self.import_button.setEnabled(True)

    @Slot(object)
    def _on_manager_import_finished(self, model: InstalledModel) -> None:
        self._end_import()
        self._set_import_note(self.tr("{name} was added.").format(name=model.name), False)

    @Slot(str)
    def _on_manager_import_failed(self, message: str) -> None:
        self._end_import()
        self._set_import_note(message, True)

    @Slot()
    def _on_manager_import_cancelled(self) -> None:
        self._end_import()
        self._set_import_note(self.tr("The import was cancelled; nothing was added."), False)

    @Slot(str, object)
    def _on_manager_model_removed(self, model_id: str, freed: int) -> None:
        removed = next((m for m in self.manager.models if m.id == model_id), None)
        name = removed.name if removed is not None else model_id
        self._set_message(self.tr("{name} was removed; {size} of disk space was freed.").format(
            name=name, size=format_size(freed)) if freed else
            self.tr("{name} was removed from the list.").format(name=name))
        if removed is not None and same_folder(removed.path, self._default_model):
            self.default_requested.emit("")

    @Slot(str, object)
    def _on_manager_verified(self, model_id: str, report: VerifyReport | None) -> None:
        row = self.installed_rows.get(model_id)
        if row is None:
            return
        if report is None:
            row.set_note("")
        elif report.ok:
            row.set_note(self.tr("All {n} files are intact.").format(n=report.checked_files))
        else:
            row.set_note(" ".join(report.problems), error=True)

    @Slot(str, object)
    def _on_manager_search_finished(self, query: str, results: list[RemoteModel]) -> None:
        self.search_button.setEnabled(not self.manager.offline)
        self._search_results = results
        self.search_results.clear()
        for result in results:
            builds = result.genai_subfolders
            if not builds:
                item = QListWidgetItem(self.tr("{repo} (no ONNX Runtime GenAI model)").format(
                    repo=result.repo))
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                self.search_results.addItem(item)
                continue
            for build in builds:
                where = f"{result.repo} / {build}" if build else result.repo
                text = self.tr("{where} · {downloads} downloads").format(
                    where=where, downloads=f"{result.downloads:,}")
                if result.gated:
                    text += " · " + self.tr("needs a token")
                item = QListWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, (result.repo, build))
                self.search_results.addItem(item)
        # As tall as its rows, up to a few: an empty box under two results looks broken.
        rows = min(self.search_results.count(), 6)
        row_height = self.search_results.sizeHintForRow(0) if rows else 0
        self.search_results.setFixedHeight(rows * row_height
                                           + 2 * self.search_results.frameWidth() + 4)
        self.search_results.setVisible(bool(results))
        self._set_search_note(None if results else self.tr("Nothing found for “{query}”.").format(
            query=query))

    @Slot(str)
    def _on_manager_search_failed(self, message: str) -> None:
        self.search_button.setEnabled(not self.manager.offline)
        self._set_search_note(message, error=True)

    @Slot(bool)
    def _on_manager_offline_changed(self, _offline: bool) -> None:
        self._apply_offline()
        self._sync_catalog()
        self._sync_recommended()
        self._sync_downloads()
        self._sync_embedders()

    @Slot(str)
    def _on_manager_error_occurred(self, message: str) -> None:
        self._set_message(message, error=True)

    # -- the generation service -----------------------------------------------------------------
    @Slot(str)
    def _on_service_model_loading(self, path: str) -> None:
        self._load_state, self._load_path, self._load_error = "loading", path, ""
        self._update_load_panel()
        self._sync_installed()

    @Slot(object)
    def _on_service_model_loaded(self, status: ModelStatus) -> None:
        self._load_state, self._load_status = "loaded", status
        self._load_path = self._loaded_path = status.path
        self._update_load_panel()
        self._sync_installed()
        self._sync_recommended()
        self._sync_catalog()
        model = self._model_at(status.path)
        if model is not None:
            self.manager.mark_used(model.id)

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._load_state, self._load_error, self._loaded_path = "failed", message, ""
        self._update_load_panel()
        self._sync_installed()
        self._sync_recommended()
        self._sync_catalog()

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._load_state, self._loaded_path, self._load_status = "idle", "", None
        self._update_load_panel()
        self._sync_installed()
        self._sync_recommended()
        self._sync_catalog()
