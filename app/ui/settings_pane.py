"""The settings pane: every setting of `app.core.settings`, edited as a draft and applied once.

As in Anki's preferences, the controls edit a copy: nothing changes until Apply, which
validates the whole draft (`update`), saves it once (`SettingsStore.save`) and emits
`settings_applied` for the app to react to; Revert puts the controls back. Ranges and choices
come from the schema (`describe_settings`), so the pane cannot offer what the file would reject.

Two things take effect at once, because they are not settings in the file: the Hugging Face
token (saved to or removed from the OS keyring, `app.core.secrets`) and moving the data folder
(a verified copy made on a worker thread, then recorded in the settings).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import CancelToken
from app.core.secrets import (
    TOKEN_ENV,
    SecretsError,
    delete_token,
    describe_backend,
    get_token,
    set_token,
)
from app.core.settings import (
    DataCopy,
    GenerationSettings,
    InvalidSettingError,
    SettingInfo,
    Settings,
    SettingsError,
    SettingsStore,
    apply_preset,
    copy_data_dir,
    delete_preset,
    describe_settings,
    get_value,
    save_preset,
    update,
)
from app.ui.i18n import EFFORT_LABELS, PROVIDER_LABELS, Retranslating, choice_text
from app.ui.page_layout import centred_column, section_card

log = logging.getLogger(__name__)

THEME_LABELS = {
    "light": QT_TRANSLATE_NOOP("Choices", "Light"),
    "dark": QT_TRANSLATE_NOOP("Choices", "Dark"),
    "system": QT_TRANSLATE_NOOP("Choices", "Follow the system"),
}
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
"""Each language in its own words (never translated), so anyone can find theirs."""

SECTIONS = ("appearance", "language", "model", "generation", "data", "privacy", "token")

_PROGRESS_INTERVAL_S = 0.1
_PROGRESS_STEPS = 1000


def _format_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


class _CopySignals(QObject):
    """What the data-folder copy reports, from the pool thread to the pane.

    Signals:
        progressed(int, int): bytes copied, bytes in all (objects: they exceed 32 bits)
        completed(DataCopy): done or cancelled (`completed` says which)
        failed(str): a message for the user
    """

    progressed = Signal(object, object)
    completed = Signal(object)
    failed = Signal(str)


class _CopyDataTask(QRunnable):
    """Runs `copy_data_dir` on a QThreadPool thread; `cancel` stops it between chunks.

    Only the copy runs here: recording the new folder (`SettingsStore.save`) happens back on
    the GUI thread, because the store is not thread-safe.
    """

    def __init__(self, source: Path, destination: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the pane keeps it until it reports
        self.signals = _CopySignals()  # created here, so it lives on the GUI thread
        self.cancel = CancelToken()
        self._source = source
        self._destination = destination
        self._last_report = 0.0

    def run(self) -> None:
        try:
            report = copy_data_dir(self._source, self._destination, self._on_progress,
                                   self.cancel)
        except SettingsError as exc:
            self.signals.failed.emit(exc.user_message)
        except Exception as exc:
            # An edge: a bug here must not take the app down; it is logged in full.
            log.exception("copying the data folder failed")
            self.signals.failed.emit(QCoreApplication.translate(
                "SettingsPane", "Unexpected error while moving the data folder: {error}").format(
                error=exc))
        else:
            self.signals.completed.emit(report)

    def _on_progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_report >= _PROGRESS_INTERVAL_S:
            self._last_report = now
            self.signals.progressed.emit(done, total)


class SettingsPane(Retranslating, QWidget):
    """Edits a draft of the settings; Apply validates, saves once and announces the result.

    `data_dir` is the data folder in use; `data_dir_locked` says a --data-dir or
    $HEARTH_DATA_DIR override chose it, so it cannot be moved from here. `warnings` are
    `SettingsStore.load()`'s, shown in a banner.

    Signals:
        settings_applied(Settings): the new settings, validated and saved (or, when saving
            failed, in effect until Hearth closes; the pane says so)
        data_dir_moved(str): the data was copied to this folder and recorded; Hearth uses it
            from its next start
    """

    settings_applied = Signal(object)
    data_dir_moved = Signal(str)

    def __init__(self, store: SettingsStore, settings: Settings, *, data_dir: Path,
                 data_dir_locked: bool = False, warnings: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPane")
        self._store = store
        self._applied = settings
        self._presets = settings.presets
        self._unsaved = False  # applied, but the file could not be written
        self._loading = False
        self._data_dir = data_dir
        self._data_dir_locked = data_dir_locked
        self._warnings = list(warnings)
        self._info: dict[str, SettingInfo] = {i.key: i for i in describe_settings()}
        self._labels: dict[str, QLabel] = {}
        self.section_titles: dict[str, QLabel] = {}
        self._message_key: tuple[str, dict[str, Any]] | None = None
        self._message_error = False
        self._data_note: tuple[str, dict[str, Any], bool] | None = None
        self._token_note: tuple[str, dict[str, Any], bool] | None = None
        self._keyring_checked = False
        self._keyring_usable = False
        self._keyring_name = ""
        self._token_saved = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._copy: _CopyDataTask | None = None
        self._build()
        self.retranslate()
        self._load(settings)

    # -- public --------------------------------------------------------------------------------
    @property
    def applied_settings(self) -> Settings:
        """The settings in effect (what Apply last produced)."""
        return self._applied

    def draft(self) -> Settings:
        """The settings as the controls show them; raises InvalidSettingError if invalid."""
        return update(self._applied, self._changes())

    def is_modified(self) -> bool:
        """Whether the controls differ from the settings in effect."""
        try:
            return self.draft() != self._applied
        except InvalidSettingError:
            return True

    @Slot()
    def apply(self) -> bool:
        """Validate the draft, save it once and emit `settings_applied`; False if invalid."""
        try:
            new = self.draft()
        except InvalidSettingError as exc:
            self._set_message(self._explain(exc.user_message), error=True, translate=False)
            return False
        if new == self._applied and not self._unsaved:
            return True
        error = ""
        try:
            self._store.save(new)
        except SettingsError as exc:
            error = exc.user_message
        self._unsaved = bool(error)
        self._applied = new
        self._presets = new.presets
        if error:
            self._set_message(error, error=True, translate=False)
        else:
            self._set_message(QT_TRANSLATE_NOOP("SettingsPane", "Settings saved."))
        self._update_buttons()
        log.info("settings applied")
        self.settings_applied.emit(new)
        return True

    @Slot()
    def revert(self) -> None:
        """Put the controls back to the settings in effect."""
        self._load(self._applied)
        self._set_message(None)

    def set_warnings(self, warnings: Sequence[str]) -> None:
        """Show these (from `SettingsStore.load()` or `resolve_paths`) in the banner."""
        self._warnings = list(warnings)
        self._update_banner()

    def start_data_move(self, destination: str) -> bool:
        """Copy the data folder to `destination` in the background; False if not possible."""
        if self._data_dir_locked or self._copy is not None or not destination:
            return False
        task = _CopyDataTask(self._data_dir, destination)
        task.signals.progressed.connect(self._on_copy_progressed)
        task.signals.completed.connect(self._on_copy_completed)
        task.signals.failed.connect(self._on_copy_failed)
        self._copy = task
        self.move_progress.setValue(0)
        self.move_progress.setFormat("")
        self.move_progress.show()
        self.move_cancel_button.show()
        self.move_cancel_button.setEnabled(True)
        self.move_data_button.setEnabled(False)
        self._set_data_note(QT_TRANSLATE_NOOP("SettingsPane", "Copying to {folder}…"),
                            folder=destination)
        self._pool.start(task)
        return True

    @Slot()
    def cancel_data_move(self) -> None:
        """Stop the copy; what was copied is removed and nothing changes."""
        if self._copy is not None:
            self._copy.cancel.cancel()
            self.move_cancel_button.setEnabled(False)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel a running copy and wait for its thread (call before the app quits)."""
        self.cancel_data_move()
        if not self._pool.waitForDone(timeout_ms):
            log.error("the data folder copy did not stop within %d ms", timeout_ms)

    def refresh_token_state(self) -> None:
        """Ask the keyring whether it works and holds a token (it may take a moment)."""
        self._keyring_checked = True
        info = describe_backend()
        self._keyring_usable, self._keyring_name = info.usable, info.name
        self._token_saved = False
        if info.usable:
            try:
                self._token_saved = get_token() is not None
            except SecretsError as exc:
                self._set_token_note(exc.user_message, error=True, translate=False)
        self._update_token_controls()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        self.warning_banner = QLabel()
        self.warning_banner.setObjectName("warningBanner")
        self.warning_banner.setWordWrap(True)
        self.warning_banner.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_banner.hide()
        outer.addWidget(self.warning_banner)

        scroll, column = centred_column("settings", 820)
        self.heading = QLabel()
        self.heading.setObjectName("settingsHeading")
        column.addWidget(self.heading)
        column.addWidget(self._build_appearance())
        column.addWidget(self._build_language())
        column.addWidget(self._build_model())
        column.addWidget(self._build_generation())
        column.addWidget(self._build_data())
        column.addWidget(self._build_privacy())
        column.addWidget(self._build_token())
        column.addStretch(1)
        outer.addWidget(scroll, 1)
        outer.addWidget(self._build_footer())

    def _section(self, key: str) -> tuple[QFrame, QFormLayout]:
        frame, box, title = section_card("settings")
        box.addWidget(title)
        self.section_titles[key] = title
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        box.addLayout(form)
        return frame, form

    def _row(self, form: QFormLayout, key: str, field: QWidget | QHBoxLayout) -> None:
        label = QLabel()
        label.setObjectName("settingsLabel")
        self._labels[key] = label
        if isinstance(field, QWidget):
            label.setBuddy(field)
            form.addRow(label, field)
        else:
            form.addRow(label, field)

    def _hint(self, form: QFormLayout | QVBoxLayout, key: str) -> QLabel:
        hint = QLabel()
        hint.setObjectName("settingsHint")
        hint.setWordWrap(True)
        self._labels[key] = hint
        if isinstance(form, QFormLayout):
            form.addRow(hint)
        else:
            form.addWidget(hint)
        return hint

    def _combo(self, key: str) -> QComboBox:
        combo = QComboBox()
        for choice in self._info[key].choices:
            combo.addItem(choice, choice)  # labels come in retranslate()
        combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # Follows its labels, which change length with the language.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.currentIndexChanged.connect(self._on_field_changed)
        return combo

    def _spin(self, key: str, step: int = 1) -> QSpinBox:
        spec = self._info[key].spec
        spin = QSpinBox()
        spin.setRange(int(spec.minimum or 0), int(spec.maximum or 2**31 - 1))
        spin.setSingleStep(step)
        spin.setMinimumWidth(140)
        spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        spin.valueChanged.connect(self._on_field_changed)
        return spin

    def _double_spin(self, key: str, step: float, decimals: int = 2) -> QDoubleSpinBox:
        spec = self._info[key].spec
        spin = QDoubleSpinBox()
        spin.setDecimals(decimals)
        spin.setRange(spec.minimum or 0.0, spec.maximum or 1.0)
        spin.setSingleStep(step)
        spin.setMinimumWidth(140)
        spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        spin.valueChanged.connect(self._on_field_changed)
        return spin

    def _build_appearance(self) -> QFrame:
        frame, form = self._section("appearance")
        self.theme_combo = self._combo("appearance.theme")
        self._row(form, "appearance.theme", self.theme_combo)
        self.font_size_spin = self._spin("appearance.font_size")
        self._row(form, "appearance.font_size", self.font_size_spin)
        return frame

    def _build_language(self) -> QFrame:
        frame, form = self._section("language")
        self.language_combo = self._combo("appearance.language")
        self._row(form, "appearance.language", self.language_combo)
        self._hint(form, "language.hint")
        return frame

    def _build_model(self) -> QFrame:
        frame, form = self._section("model")
        row = QHBoxLayout()
        row.setSpacing(8)
        self.model_path_edit = QLineEdit()
        self.model_path_edit.setObjectName("modelPathEdit")
        self.model_path_edit.setClearButtonEnabled(True)
        self.model_path_edit.textChanged.connect(self._on_field_changed)
        row.addWidget(self.model_path_edit, 1)
        self.browse_model_button = QPushButton()
        self.browse_model_button.clicked.connect(self._on_browse_model_button_clicked)
        row.addWidget(self.browse_model_button)
        self._row(form, "model.default_model", row)
        self._labels["model.default_model"].setBuddy(self.model_path_edit)
        self.provider_combo = self._combo("model.provider")
        self._row(form, "model.provider", self.provider_combo)
        self.context_cap_spin = self._spin("model.context_cap", step=1024)
        self._row(form, "model.context_cap", self.context_cap_spin)
        self._hint(form, "model.hint")
        return frame

    def _build_generation(self) -> QFrame:
        frame, form = self._section("generation")
        self.system_prompt_edit = QPlainTextEdit()
        self.system_prompt_edit.setObjectName("systemPromptEdit")
        self.system_prompt_edit.setFixedHeight(84)
        self.system_prompt_edit.setTabChangesFocus(True)
        self.system_prompt_edit.textChanged.connect(self._on_field_changed)
        self._row(form, "generation.system_prompt", self.system_prompt_edit)
        self.temperature_spin = self._double_spin("generation.temperature", 0.05)
        self._row(form, "generation.temperature", self.temperature_spin)
        self.top_p_spin = self._double_spin("generation.top_p", 0.01)
        self._row(form, "generation.top_p", self.top_p_spin)
        self.top_k_spin = self._spin("generation.top_k")
        self._row(form, "generation.top_k", self.top_k_spin)
        self.max_tokens_spin = self._spin("generation.max_new_tokens", step=256)
        self._row(form, "generation.max_new_tokens", self.max_tokens_spin)
        self.effort_combo = self._combo("generation.reasoning_effort")
        self._row(form, "generation.reasoning_effort", self.effort_combo)

        presets = QHBoxLayout()
        presets.setSpacing(8)
        self.preset_combo = QComboBox()
        self.preset_combo.setMinimumWidth(180)
        self.preset_combo.currentIndexChanged.connect(self._on_preset_combo_current_index_changed)
        presets.addWidget(self.preset_combo)
        self.preset_use_button = QPushButton()
        self.preset_use_button.clicked.connect(self._on_preset_use_button_clicked)
        presets.addWidget(self.preset_use_button)
        self.preset_delete_button = QPushButton()
        self.preset_delete_button.clicked.connect(self._on_preset_delete_button_clicked)
        presets.addWidget(self.preset_delete_button)
        presets.addStretch(1)
        self._row(form, "presets", presets)
        self._labels["presets"].setBuddy(self.preset_combo)
        save = QHBoxLayout()
        save.setSpacing(8)
        self.preset_name_edit = QLineEdit()
        self.preset_name_edit.setMaxLength(60)
        self.preset_name_edit.returnPressed.connect(self._on_preset_save_button_clicked)
        self.preset_name_edit.textChanged.connect(self._update_preset_controls)
        save.addWidget(self.preset_name_edit, 1)
        self.preset_save_button = QPushButton()
        self.preset_save_button.clicked.connect(self._on_preset_save_button_clicked)
        save.addWidget(self.preset_save_button)
        self._row(form, "presets.save", save)
        self._labels["presets.save"].setBuddy(self.preset_name_edit)
        self._hint(form, "generation.hint")
        return frame

    def _build_data(self) -> QFrame:
        frame, form = self._section("data")
        self.data_dir_label = QLabel(str(self._data_dir))
        self.data_dir_label.setObjectName("dataDirLabel")
        self.data_dir_label.setWordWrap(True)
        self.data_dir_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._row(form, "data.data_dir", self.data_dir_label)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.move_data_button = QPushButton()
        self.move_data_button.clicked.connect(self._on_move_data_button_clicked)
        self.move_data_button.setEnabled(not self._data_dir_locked)
        row.addWidget(self.move_data_button)
        self.move_progress = QProgressBar()
        self.move_progress.setRange(0, _PROGRESS_STEPS)
        self.move_progress.setTextVisible(True)
        self.move_progress.hide()
        row.addWidget(self.move_progress, 1)
        self.move_cancel_button = QPushButton()
        self.move_cancel_button.clicked.connect(self.cancel_data_move)
        self.move_cancel_button.hide()
        row.addWidget(self.move_cancel_button)
        row.addStretch(0)
        form.addRow(row)
        self.data_note = self._hint(form, "data.note")
        self.data_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return frame

    def _build_privacy(self) -> QFrame:
        frame, form = self._section("privacy")
        self.offline_check = QCheckBox()
        self.offline_check.toggled.connect(self._on_field_changed)
        form.addRow(self.offline_check)
        self.privacy_statement = self._hint(form, "privacy.statement")
        self.privacy_statement.setObjectName("privacyStatement")
        return frame

    def _build_token(self) -> QFrame:
        frame, form = self._section("token")
        self._hint(form, "token.hint")
        row = QHBoxLayout()
        row.setSpacing(8)
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setObjectName("tokenEdit")
        self.token_edit.textChanged.connect(self._update_token_controls)
        self.token_edit.returnPressed.connect(self._on_token_save_button_clicked)
        row.addWidget(self.token_edit, 1)
        self.token_save_button = QPushButton()
        self.token_save_button.clicked.connect(self._on_token_save_button_clicked)
        row.addWidget(self.token_save_button)
        self.token_remove_button = QPushButton()
        self.token_remove_button.clicked.connect(self._on_token_remove_button_clicked)
        row.addWidget(self.token_remove_button)
        self._row(form, "token", row)
        self._labels["token"].setBuddy(self.token_edit)
        self.token_status = QLabel()
        self.token_status.setObjectName("tokenStatus")
        self.token_status.setWordWrap(True)
        form.addRow(self.token_status)
        self._update_token_controls()
        return frame

    def _build_footer(self) -> QFrame:
        footer = QFrame()
        footer.setObjectName("settingsFooter")
        row = QHBoxLayout(footer)
        row.setContentsMargins(24, 10, 24, 10)
        row.setSpacing(8)
        self.message_label = QLabel()
        self.message_label.setObjectName("settingsMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.message_label, 1)
        self.revert_button = QPushButton()
        self.revert_button.clicked.connect(self.revert)
        row.addWidget(self.revert_button)
        self.apply_button = QPushButton()
        self.apply_button.setObjectName("primaryButton")
        self.apply_button.clicked.connect(self.apply)
        row.addWidget(self.apply_button)
        return footer

    # -- texts ---------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Set every text in the current language (at start and on LanguageChange)."""
        self.heading.setText(self.tr("Settings"))
        titles = {
            "appearance": self.tr("Appearance"),
            "language": self.tr("Language"),
            "model": self.tr("Model"),
            "generation": self.tr("Generation defaults"),
            "data": self.tr("Data"),
            "privacy": self.tr("Privacy"),
            "token": self.tr("Hugging Face token"),
        }
        for key, title in titles.items():
            self.section_titles[key].setText(title)
        labels = {
            "appearance.theme": self.tr("Theme"),
            "appearance.font_size": self.tr("Font size"),
            "appearance.language": self.tr("Interface language"),
            "language.hint": self.tr("The window switches as soon as you apply."),
            "model.default_model": self.tr("Model at start"),
            "model.provider": self.tr("Runs on"),
            "model.context_cap": self.tr("Context limit"),
            "model.hint": self.tr(
                "The context limit is the longest conversation the model keeps in memory; a "
                "higher limit reserves more memory. Changes apply to the next model you load."),
            "generation.system_prompt": self.tr("System prompt"),
            "generation.temperature": self.tr("Temperature"),
            "generation.top_p": self.tr("Top-p"),
            "generation.top_k": self.tr("Top-k"),
            "generation.max_new_tokens": self.tr("Longest reply"),
            "generation.reasoning_effort": self.tr("Reasoning effort"),
            "presets": self.tr("Presets"),
            "presets.save": self.tr("Save as preset"),
            "generation.hint": self.tr(
                "These apply to the next reply. Presets are kept when you apply."),
            "data.data_dir": self.tr("Data folder"),
            "token": self.tr("Access token"),
            "token.hint": self.tr(
                "Only needed to download gated or private models. The token is kept in your "
                "system's keyring, never in a file."),
            "privacy.statement": self.tr(
                "Hearth has no telemetry: nothing about you or your conversations is sent "
                "anywhere. It connects to the internet only when you download a model."),
        }
        for key, text in labels.items():
            self._labels[key].setText(text)
        self._align_labels()

        self._label_items(self.theme_combo, THEME_LABELS)
        self._label_items(self.language_combo, {"system": self.tr("System language"),
                                                **LANGUAGE_NAMES}, translate=False)
        self._label_items(self.provider_combo, PROVIDER_LABELS)
        self._label_items(self.effort_combo, EFFORT_LABELS)
        tokens = " " + self.tr("tokens")
        self.font_size_spin.setSuffix(" " + self.tr("pt"))
        self.context_cap_spin.setSuffix(tokens)
        self.max_tokens_spin.setSuffix(tokens)

        self.theme_combo.setAccessibleName(self.tr("Theme"))
        self.font_size_spin.setAccessibleName(self.tr("Font size"))
        self.language_combo.setAccessibleName(self.tr("Interface language"))
        self.model_path_edit.setAccessibleName(self.tr("Model folder loaded at start"))
        self.model_path_edit.setPlaceholderText(self.tr("None: open a model when you need one"))
        self.browse_model_button.setText(self.tr("Browse…"))
        self.browse_model_button.setAccessibleName(self.tr("Choose the model loaded at start"))
        self.provider_combo.setAccessibleName(self.tr("Where the model runs"))
        self.provider_combo.setToolTip(self.tr("Auto tries the GPU first, then the CPU"))
        self.context_cap_spin.setAccessibleName(self.tr("Context limit"))
        self.system_prompt_edit.setAccessibleName(self.tr("System prompt"))
        self.system_prompt_edit.setPlaceholderText(self.tr(
            "Instructions given to the model at the start of every conversation"))
        self.temperature_spin.setAccessibleName(self.tr("Temperature"))
        self.temperature_spin.setToolTip(self.tr(
            "Randomness of replies; 0 always picks the likeliest word"))
        self.top_p_spin.setAccessibleName(self.tr("Top-p"))
        self.top_p_spin.setToolTip(self.tr(
            "Sample only from the likeliest words that together reach this probability"))
        self.top_k_spin.setAccessibleName(self.tr("Top-k"))
        self.top_k_spin.setToolTip(self.tr("Sample only from this many likeliest words"))
        self.max_tokens_spin.setAccessibleName(self.tr("Longest reply"))
        self.effort_combo.setAccessibleName(self.tr("Reasoning effort"))
        self.effort_combo.setToolTip(self.tr(
            "How long reasoning models such as gpt-oss think before answering"))
        self.preset_combo.setAccessibleName(self.tr("Presets"))
        self.preset_combo.setPlaceholderText(self.tr("No presets yet"))
        self.preset_use_button.setText(self.tr("Use"))
        self.preset_use_button.setAccessibleName(self.tr("Use the chosen preset"))
        self.preset_delete_button.setText(self.tr("Delete"))
        self.preset_delete_button.setAccessibleName(self.tr("Delete the chosen preset"))
        self.preset_name_edit.setAccessibleName(self.tr("Preset name"))
        self.preset_name_edit.setPlaceholderText(self.tr("Preset name"))
        self.preset_save_button.setText(self.tr("Save preset"))
        self.preset_save_button.setAccessibleName(self.tr(
            "Save the generation settings above as a preset"))
        self.move_data_button.setText(self.tr("Move data folder…"))
        self.move_data_button.setAccessibleName(self.tr("Move the data folder"))
        self.move_progress.setAccessibleName(self.tr("Progress of the data folder move"))
        self.move_cancel_button.setText(self.tr("Cancel"))
        self.move_cancel_button.setAccessibleName(self.tr("Cancel moving the data folder"))
        self.data_dir_label.setAccessibleName(self.tr("Data folder in use"))
        self.offline_check.setText(self.tr(
            "Offline mode: never connect to the internet, not even for downloads you start"))
        self.offline_check.setAccessibleName(self.tr("Offline mode"))
        self.token_edit.setAccessibleName(self.tr("Hugging Face access token"))
        self.token_edit.setPlaceholderText(self.tr("Paste a token (hf_…)"))
        self.token_save_button.setText(self.tr("Save"))
        self.token_save_button.setAccessibleName(self.tr("Save the token in the keyring"))
        self.token_remove_button.setText(self.tr("Remove"))
        self.token_remove_button.setAccessibleName(self.tr("Remove the token from the keyring"))
        self.token_status.setAccessibleName(self.tr("Token status"))
        self.revert_button.setText(self.tr("Revert"))
        self.revert_button.setAccessibleName(self.tr("Revert the unapplied changes"))
        self.apply_button.setText(self.tr("Apply"))
        self.apply_button.setAccessibleName(self.tr("Apply and save the settings"))
        self.message_label.setAccessibleName(self.tr("Settings message"))
        self.warning_banner.setAccessibleName(self.tr("Settings warnings"))
        self._update_banner()
        self._update_data_note()
        self._update_token_controls()
        self._update_message()

    def _align_labels(self) -> None:
        # One label column for all sections (each has its own form), wide enough for the
        # longest label in the current language.
        rows = [label for label in self._labels.values() if label.objectName() == "settingsLabel"]
        for label in rows:
            label.setMinimumWidth(0)
        width = max(label.sizeHint().width() for label in rows)
        for label in rows:
            label.setMinimumWidth(width)

    def _label_items(self, combo: QComboBox, labels: Mapping[str, object],
                     translate: bool = True) -> None:
        for i in range(combo.count()):
            label = str(labels[str(combo.itemData(i))])
            combo.setItemText(i, choice_text(label) if translate else label)

    def _explain(self, message: str) -> str:
        """A schema error with the setting's label in place of its dotted key."""
        key, sep, rest = message.partition(":")
        label = self._labels.get(key.split("[")[0])
        if sep and label is not None:
            return f"{label.text()}:{rest}"
        return message

    # -- draft <-> controls --------------------------------------------------------------------
    def _load(self, settings: Settings) -> None:
        self._loading = True
        try:
            self.theme_combo.setCurrentIndex(self.theme_combo.findData(settings.appearance.theme))
            self.font_size_spin.setValue(settings.appearance.font_size)
            self.language_combo.setCurrentIndex(
                self.language_combo.findData(settings.appearance.language))
            self.model_path_edit.setText(settings.model.default_model)
            self.provider_combo.setCurrentIndex(
                self.provider_combo.findData(settings.model.provider))
            self.context_cap_spin.setValue(settings.model.context_cap)
            self._load_generation(settings.generation)
            self.offline_check.setChecked(settings.privacy.offline_mode)
            self._presets = settings.presets
            self._fill_presets()
        finally:
            self._loading = False
        self._update_buttons()

    def _load_generation(self, generation: GenerationSettings) -> None:
        if self.system_prompt_edit.toPlainText() != generation.system_prompt:
            self.system_prompt_edit.setPlainText(generation.system_prompt)
        self.temperature_spin.setValue(generation.temperature)
        self.top_p_spin.setValue(generation.top_p)
        self.top_k_spin.setValue(generation.top_k)
        self.max_tokens_spin.setValue(generation.max_new_tokens)
        self.effort_combo.setCurrentIndex(self.effort_combo.findData(generation.reasoning_effort))

    def _float(self, spin: QDoubleSpinBox, key: str) -> float:
        # A value with more decimals than the box shows (a hand-edited file) stays as it was
        # unless the user changes it, so opening the pane does not count as a change.
        current = float(get_value(self._applied, key))
        return current if abs(spin.value() - current) < 0.5 * 10 ** -spin.decimals() \
            else spin.value()

    def _generation_changes(self) -> dict[str, object]:
        return {
            "generation.system_prompt": self.system_prompt_edit.toPlainText(),
            "generation.temperature": self._float(self.temperature_spin,
                                                  "generation.temperature"),
            "generation.top_p": self._float(self.top_p_spin, "generation.top_p"),
            "generation.top_k": self.top_k_spin.value(),
            "generation.max_new_tokens": self.max_tokens_spin.value(),
            "generation.reasoning_effort": str(self.effort_combo.currentData()),
        }

    def _changes(self) -> dict[str, object]:
        return {
            "appearance.theme": str(self.theme_combo.currentData()),
            "appearance.font_size": self.font_size_spin.value(),
            "appearance.language": str(self.language_combo.currentData()),
            "model.default_model": self.model_path_edit.text().strip(),
            "model.provider": str(self.provider_combo.currentData()),
            "model.context_cap": self.context_cap_spin.value(),
            **self._generation_changes(),
            "privacy.offline_mode": self.offline_check.isChecked(),
            "presets": self._presets,
        }

    @Slot()
    def _on_field_changed(self) -> None:
        if not self._loading:
            if not self._unsaved:
                # "Settings saved." or an error about an earlier value no longer describes the
                # controls; a failed save stays until it succeeds.
                self._set_message(None)
            self._update_buttons()

    def _update_buttons(self) -> None:
        modified = self.is_modified()
        self.apply_button.setEnabled(modified or self._unsaved)
        self.revert_button.setEnabled(modified)
        if modified and (self._message_key is None or not self._message_error):
            self._set_message(QT_TRANSLATE_NOOP("SettingsPane", "You have unapplied changes."))
        elif not modified and self._message_key is not None and self._message_key[0] == \
                "You have unapplied changes.":
            self._set_message(None)

    # -- messages --------------------------------------------------------------------------------
    def _set_message(self, text: object, *, error: bool = False, translate: bool = True,
                     **values: Any) -> None:
        """Show `text` (an English source string, translated now and on LanguageChange).

        `text` is an object because QT_TRANSLATE_NOOP is typed to return one; None clears.
        """
        self._message_key = None if text is None else (str(text),
                                                       {"translate": translate, **values})
        self._message_error = error
        self._update_message()

    def _update_message(self) -> None:
        if self._message_key is None:
            self.message_label.clear()
        else:
            text, values = self._message_key
            self.message_label.setText(self._text(text, values))
        self.message_label.setProperty("error", self._message_error)
        _repolish(self.message_label)

    def _text(self, text: str, values: dict[str, Any]) -> str:
        values = dict(values)
        if not values.pop("translate", True):
            return text
        return self.tr(text).format(**values) if values else self.tr(text)

    def _update_banner(self) -> None:
        if not self._warnings:
            self.warning_banner.hide()
            return
        lines = "\n".join(f"• {w}" for w in self._warnings)
        self.warning_banner.setText(self.tr(
            "Some settings could not be used and the defaults were taken instead:") + "\n" + lines)
        self.warning_banner.show()

    # -- presets -------------------------------------------------------------------------------
    def _fill_presets(self) -> None:
        current = self.preset_combo.currentText()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for preset in self._presets:
            self.preset_combo.addItem(preset.name, preset.name)
        index = self.preset_combo.findData(current)
        self.preset_combo.setCurrentIndex(index if index >= 0 else (0 if self._presets else -1))
        self.preset_combo.blockSignals(False)
        self._update_preset_controls()

    @Slot()
    def _update_preset_controls(self) -> None:
        chosen = self.preset_combo.currentIndex() >= 0
        self.preset_combo.setEnabled(bool(self._presets))
        self.preset_use_button.setEnabled(chosen)
        self.preset_delete_button.setEnabled(chosen)
        self.preset_save_button.setEnabled(bool(self.preset_name_edit.text().strip()))

    @Slot(int)
    def _on_preset_combo_current_index_changed(self, _index: int) -> None:
        self._update_preset_controls()

    @Slot()
    def _on_preset_use_button_clicked(self) -> None:
        name = self.preset_combo.currentData()
        if name is None:
            return
        try:
            chosen = apply_preset(update(self._applied, {"presets": self._presets}), str(name))
        except InvalidSettingError as exc:
            self._set_message(exc.user_message, error=True, translate=False)
            return
        self._load_generation(chosen.generation)
        self._set_message(QT_TRANSLATE_NOOP("SettingsPane",
                                            "Preset “{name}” is in the controls above; apply to "
                                            "use it."), name=name)

    @Slot()
    def _on_preset_delete_button_clicked(self) -> None:
        name = self.preset_combo.currentData()
        if name is None:
            return
        self._presets = delete_preset(update(self._applied, {"presets": self._presets}),
                                      str(name)).presets
        self._fill_presets()
        self._update_buttons()

    @Slot()
    def _on_preset_save_button_clicked(self) -> None:
        name = self.preset_name_edit.text().strip()
        if not name:
            return
        try:
            draft = update(self._applied, {**self._generation_changes(),
                                           "presets": self._presets})
            self._presets = save_preset(draft, name).presets
        except InvalidSettingError as exc:
            self._set_message(self._explain(exc.user_message), error=True, translate=False)
            return
        self.preset_name_edit.clear()
        self._fill_presets()
        self.preset_combo.setCurrentIndex(self.preset_combo.findText(name))
        self._update_buttons()

    # -- model folder ----------------------------------------------------------------------------
    @Slot()
    def _on_browse_model_button_clicked(self) -> None:
        start = self.model_path_edit.text().strip() or str(self._data_dir / "models")
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose the model loaded at start"), start)
        if folder:
            self.model_path_edit.setText(folder)

    # -- data folder -----------------------------------------------------------------------------
    @Slot()
    def _on_move_data_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose an empty folder for Hearth's data"),
            str(self._data_dir.parent))
        if folder:
            self.start_data_move(folder)

    def _set_data_note(self, text: object, *, error: bool = False, **values: Any) -> None:
        self._data_note = None if text is None else (str(text), values, error)
        self._update_data_note()

    def _update_data_note(self) -> None:
        if self._data_note is not None:
            text, values, error = self._data_note
            shown = self._text(text, values)
        elif self._data_dir_locked:
            shown, error = self.tr(
                "This session's data folder was chosen with --data-dir or HEARTH_DATA_DIR, so it "
                "cannot be moved from here. Start Hearth without them to move it."), False
        else:
            shown, error = self.tr(
                "Moving copies your conversations and models to an empty folder and checks "
                "every file. Hearth uses the new folder from its next start; the old one stays "
                "until you delete it."), False
        self.data_note.setText(shown)
        self.data_note.setProperty("error", error)
        _repolish(self.data_note)

    @Slot(object, object)
    def _on_copy_progressed(self, done: int, total: int) -> None:
        self.move_progress.setValue(int(_PROGRESS_STEPS * done / total) if total else 0)
        self.move_progress.setFormat(self.tr("{done} of {total}").format(
            done=_format_bytes(done), total=_format_bytes(total)))

    @Slot(object)
    def _on_copy_completed(self, report: DataCopy) -> None:
        self._end_copy()
        if not report.completed:
            self._set_data_note(QT_TRANSLATE_NOOP(
                "SettingsPane", "Moving was cancelled; nothing was changed."))
            return
        new = update(self._applied, {"data.data_dir": str(report.destination)})
        try:
            self._store.save(new)
        except SettingsError as exc:
            self._set_data_note(QT_TRANSLATE_NOOP(
                "SettingsPane", "The data was copied to {folder}, but the new location could "
                "not be recorded: {reason}"), error=True, folder=str(report.destination),
                reason=exc.user_message)
            return
        self._applied = new
        self._set_data_note(QT_TRANSLATE_NOOP(
            "SettingsPane", "Copied {files} files to {folder}. Hearth uses it from its next "
            "start; the old folder, {old}, is unchanged: delete it once you no longer need it."),
            files=report.files, folder=str(report.destination), old=str(report.source))
        self._update_buttons()
        self.data_dir_moved.emit(str(report.destination))
        self.settings_applied.emit(new)

    @Slot(str)
    def _on_copy_failed(self, message: str) -> None:
        self._end_copy()
        self._data_note = (message, {"translate": False}, True)
        self._update_data_note()

    def _end_copy(self) -> None:
        self._copy = None
        self.move_progress.hide()
        self.move_cancel_button.hide()
        self.move_data_button.setEnabled(not self._data_dir_locked)

    # -- Hugging Face token ----------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        # Only now: finding the keyring can take a moment (D-Bus), which start-up should not.
        if not self._keyring_checked:
            self.refresh_token_state()
        super().showEvent(event)

    def _set_token_note(self, text: object, *, error: bool = False, translate: bool = True,
                        **values: Any) -> None:
        self._token_note = None if text is None else (str(text),
                                                      {"translate": translate, **values}, error)
        self._update_token_controls()

    @Slot()
    def _update_token_controls(self) -> None:
        usable = self._keyring_usable
        self.token_edit.setEnabled(usable)
        self.token_save_button.setEnabled(usable and bool(self.token_edit.text().strip()))
        self.token_remove_button.setEnabled(usable and self._token_saved)
        error = False
        if self._token_note is not None:
            text, values, error = self._token_note
            status = self._text(text, values)
        elif not self._keyring_checked:
            status = ""
        elif not usable:
            # The same advice as app.core.secrets gives, in the interface's language.
            status, error = self.tr(
                "No system keyring is available, so the token cannot be saved. On Linux, "
                "install and unlock a Secret Service such as GNOME Keyring or KWallet, or set "
                "{env} in the environment for this session instead.").format(env=TOKEN_ENV), True
        elif self._token_saved:
            status = self.tr("A token is saved in {keyring}.").format(keyring=self._keyring_name)
        else:
            status = self.tr("No token is saved. A token you save is kept in {keyring}.").format(
                keyring=self._keyring_name)
        if os.environ.get(TOKEN_ENV, "").strip():
            status += " " + self.tr("{env} is set in the environment, so this session's "
                                    "downloads use that token.").format(env=TOKEN_ENV)
        self.token_status.setText(status.strip())
        self.token_status.setProperty("error", error)
        _repolish(self.token_status)

    @Slot()
    def _on_token_save_button_clicked(self) -> None:
        if not self.token_save_button.isEnabled():
            return
        try:
            set_token(self.token_edit.text())
        except SecretsError as exc:
            # The message never quotes the token (app.core.secrets makes sure of it).
            self._set_token_note(exc.user_message, error=True, translate=False)
            return
        finally:
            # The token lives in the keyring only, not in this widget's memory.
            self.token_edit.clear()
        self._token_saved = True
        saved = QT_TRANSLATE_NOOP("SettingsPane", "The token was saved in {keyring}.")
        self._set_token_note(saved, keyring=self._keyring_name)

    @Slot()
    def _on_token_remove_button_clicked(self) -> None:
        try:
            removed = delete_token()
        except SecretsError as exc:
            self._set_token_note(exc.user_message, error=True, translate=False)
            return
        self._token_saved = False
        self._set_token_note(QT_TRANSLATE_NOOP("SettingsPane", "The token was removed.")
                             if removed else
                             QT_TRANSLATE_NOOP("SettingsPane", "No token was saved."))


def _repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property used in it changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
