"""The rows of the models pane: a catalog model with its fit, an installed model, a download.

Each row is built once and updated in place (`update_state`, `set_info`), so a download's
progress never rebuilds the pane, and re-sets its texts on `QEvent.LanguageChange`. Rows do not
act: they emit requests (`download_requested`, `use_requested`...) that the pane carries out.

Also here: sizes, speeds, durations and "last used" in words, and the sentence that says how a
catalog model fits this PC, composed from the facts (memory needed and available) so that it
reads naturally in every language; the core's own English reason is the tooltip.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QDateTime, QEvent, QLocale, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import CatalogEntry, Variant
from app.core.engine import PROVIDER_LABELS
from app.core.hardware import Fit, Hardware
from app.core.library import InstalledModel
from app.ui.i18n import Retranslating
from app.workers.models import DownloadInfo

PROGRESS_STEPS = 1000


# -- words for numbers ----------------------------------------------------------------------------

def format_size(n: float) -> str:
    """Bytes in decimal units, as the catalog and the hub count them ("1.2 GB", "850 KB")."""
    if n < 1000:
        return QCoreApplication.translate("ModelRows", "{n} bytes").format(n=int(n))
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if n < 100 else f"{n:.0f} {unit}"
    raise AssertionError("unreachable")


def format_speed(bytes_per_s: float) -> str:
    """A transfer speed ("2.4 MB/s")."""
    return QCoreApplication.translate("ModelRows", "{size}/s").format(size=format_size(bytes_per_s))


def format_duration(seconds: float) -> str:
    """A rough time left ("45 s", "3 min", "1 h 20 min")."""
    s = max(0, round(seconds))
    if s < 60:
        return QCoreApplication.translate("ModelRows", "{n} s").format(n=s)
    minutes = round(s / 60)
    if minutes < 60:
        return QCoreApplication.translate("ModelRows", "{n} min").format(n=minutes)
    return QCoreApplication.translate("ModelRows", "{h} h {m} min").format(h=minutes // 60,
                                                                       m=minutes % 60)


def format_ago(timestamp: float | None, now: float | None = None) -> str:
    """When a model was last used, in words ("never", "5 min ago", a date)."""
    if timestamp is None:
        return QCoreApplication.translate("ModelRows", "never used")
    now = time.time() if now is None else now
    age = max(0.0, now - timestamp)
    if age < 60:
        return QCoreApplication.translate("ModelRows", "used just now")
    if age < 3600:
        return QCoreApplication.translate("ModelRows", "used {n} min ago").format(n=int(age // 60))
    if age < 86400:
        return QCoreApplication.translate("ModelRows", "used {n} h ago").format(n=int(age // 3600))
    date = QDateTime.fromSecsSinceEpoch(int(timestamp)).date()
    return QCoreApplication.translate("ModelRows", "last used {date}").format(
        date=QLocale().toString(date, QLocale.FormatType.ShortFormat))


def build_label(providers: tuple[str, ...] | list[str]) -> str:
    """"CPU build", "CUDA build": which build of a model this is."""
    names = ", ".join(PROVIDER_LABELS.get(p, p) for p in providers)
    return QCoreApplication.translate("ModelRows", "{providers} build").format(providers=names)


def verdict_text(verdict: str) -> str:
    """The badge of a fit: gpu, cpu or no."""
    if verdict == "gpu":
        return QCoreApplication.translate("ModelRows", "Runs on your GPU")
    if verdict == "cpu":
        return QCoreApplication.translate("ModelRows", "Runs on CPU (slow)")
    return QCoreApplication.translate("ModelRows", "Does not fit")


def fit_detail(fit: Fit, hardware: Hardware) -> str:
    """Why a model fits or not, from the figures: the memory it needs and what there is."""
    variant = fit.variant
    if variant is None:
        return QCoreApplication.translate("ModelRows", "No build of this model can run here.")
    if fit.verdict == "gpu":
        return QCoreApplication.translate(
            "ModelRows", "Needs {need} of GPU memory; your GPU has {have}.").format(
            need=format_size(variant.vram_bytes),
            have=format_size(hardware.vram_for(fit.provider or "")))
    if fit.verdict == "cpu":
        text = QCoreApplication.translate(
            "ModelRows", "Needs {need} of memory; {free} is free.").format(
            need=format_size(variant.ram_bytes), free=format_size(hardware.ram_available_bytes))
        if any(p != "cpu" for v in fit.entry.variants for p in v.providers) and hardware.gpus:
            text += " " + QCoreApplication.translate(
                "ModelRows", "Your GPU cannot run it (details in the tooltip).")
        return text
    if "cpu" in variant.providers:
        return QCoreApplication.translate(
            "ModelRows", "Needs {need} of free memory; {free} is free.").format(
            need=format_size(variant.ram_bytes), free=format_size(hardware.ram_available_bytes))
    return QCoreApplication.translate(
        "ModelRows", "Needs a GPU with {need} of memory.").format(
        need=format_size(variant.vram_bytes))


def _label(name: str, *, wrap: bool = False, selectable: bool = False) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property used in it changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class FitBadge(QLabel):
    """A coloured badge for a fit verdict (styled by the `verdict` property)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fitBadge")
        self._verdict = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.hide()

    @property
    def verdict(self) -> str:
        return self._verdict

    def set_verdict(self, verdict: str) -> None:
        """Show gpu, cpu or no; "" hides the badge."""
        self._verdict = verdict
        self.setProperty("verdict", verdict)
        self.setText(verdict_text(verdict) if verdict else "")
        self.setVisible(bool(verdict))
        repolish(self)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange and self._verdict:
            self.setText(verdict_text(self._verdict))
        super().changeEvent(event)


class CatalogRow(Retranslating, QFrame):
    """A catalog model: name, fit badge, description, the build it will get, and one action.

    `featured` makes it the "Recommended for this PC" card, with a primary button.

    Signals:
        download_requested(str): catalog id
        resume_requested(str): download key
        use_requested(str): model id of the installed build
    """

    download_requested = Signal(str)
    resume_requested = Signal(str)
    use_requested = Signal(str)

    def __init__(self, entry: CatalogEntry, *, featured: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.featured = featured
        self.setObjectName("recommendedCard" if featured else "modelRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._fit: Fit | None = None
        self._hardware: Hardware | None = None
        self._installed: InstalledModel | None = None
        self._download: DownloadInfo | None = None
        self._offline = False
        self._loaded = False
        self._language = "en"
        box = QVBoxLayout(self)
        margin = (16, 14, 16, 14) if featured else (12, 10, 12, 10)
        box.setContentsMargins(*margin)
        box.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(10)
        self.name_label = _label("recommendedName" if featured else "modelName")
        self.name_label.setText(entry.name)
        top.addWidget(self.name_label)
        self.badge = FitBadge()
        top.addWidget(self.badge)
        top.addStretch(1)
        self.size_label = _label("modelMeta")
        top.addWidget(self.size_label)
        self.action_button = QPushButton()
        self.action_button.setObjectName("primaryButton" if featured else "rowButton")
        self.action_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.action_button.clicked.connect(self._on_action_button_clicked)
        top.addWidget(self.action_button)
        box.addLayout(top)
        self.description_label = _label("modelDescription", wrap=True)
        box.addWidget(self.description_label)
        self.detail_label = _label("modelDetail", wrap=True)
        box.addWidget(self.detail_label)
        self.retranslate()

    @property
    def fit(self) -> Fit | None:
        return self._fit

    def update_state(self, *, fit: Fit | None, hardware: Hardware | None,
                     installed: InstalledModel | None, download: DownloadInfo | None,
                     offline: bool, loaded: bool, language: str) -> None:
        """Show the latest fit, install and download state."""
        self._fit, self._hardware = fit, hardware
        self._installed, self._download = installed, download
        self._offline, self._loaded, self._language = offline, loaded, language
        self.retranslate()

    def retranslate(self) -> None:
        """Set the texts for the current state and language."""
        entry, fit = self.entry, self._fit
        self.description_label.setText(entry.description(self._language))
        self.badge.set_verdict(fit.verdict if fit is not None else "")
        variant: Variant | None = fit.variant if fit is not None else (
            entry.variant_for("cpu") or entry.variants[0])
        size = format_size(variant.size_bytes) if variant is not None else ""
        self.size_label.setText(size)
        if fit is not None and self._hardware is not None:
            parts = [fit_detail(fit, self._hardware)]
            if variant is not None and fit.verdict != "no":
                parts.append(QCoreApplication.translate(
                    "ModelRows", "Downloads the {build} ({folder}).").format(
                    build=build_label(variant.providers), folder=variant.subfolder))
            self.detail_label.setText(" ".join(parts))
            self.detail_label.setToolTip(fit.reason)
            self.detail_label.setProperty("verdict", fit.verdict)
        else:
            self.detail_label.setText(QCoreApplication.translate("ModelRows", "Checking this PC…"))
            self.detail_label.setToolTip("")
            self.detail_label.setProperty("verdict", "")
        repolish(self.detail_label)
        self._update_action()

    def _update_action(self) -> None:
        button = self.action_button
        tip = ""
        enabled = True
        if self._installed is not None:
            if self._loaded:
                text, enabled = QCoreApplication.translate("ModelRows", "In use"), False
            else:
                text = QCoreApplication.translate("ModelRows", "Use")
                tip = QCoreApplication.translate("ModelRows", "Load this model for chatting")
        elif self._download is not None:
            state = self._download.state
            if state in ("paused", "failed") and self._download.resumable:
                text = QCoreApplication.translate("ModelRows", "Resume")
                enabled = not self._offline
            else:
                text = QCoreApplication.translate("ModelRows", "Downloading…")
                enabled = False
        else:
            text = QCoreApplication.translate("ModelRows", "Download")
            if self._offline:
                enabled = False
                tip = QCoreApplication.translate(
                    "ModelRows", "Offline mode is on: turn it off in Settings to download.")
            elif self._fit is not None and self._fit.verdict == "no":
                enabled = False
                tip = QCoreApplication.translate(
                    "ModelRows", "This model does not fit this PC. To download it anyway, enter "
                    "its repository under Add from Hugging Face.")
        button.setText(text)
        button.setEnabled(enabled)
        button.setToolTip(tip)
        button.setAccessibleName(f"{text}: {self.entry.name}")

    @Slot()
    def _on_action_button_clicked(self) -> None:
        if self._installed is not None:
            self.use_requested.emit(self._installed.id)
        elif self._download is not None:
            self.resume_requested.emit(self._download.key)
        else:
            self.download_requested.emit(self.entry.id)


class InstalledRow(Retranslating, QFrame):
    """An installed model: its build, size, last use, tags, and what can be done with it.

    Signals:
        use_requested(str): model id
        unload_requested()
        default_requested(str): model id
        open_folder_requested(str): model id
        verify_requested(str): model id
        remove_requested(str): model id
        cpu_build_requested(str, str): catalog id and sub-folder of the CPU build to download
    """

    use_requested = Signal(str)
    unload_requested = Signal()
    default_requested = Signal(str)
    open_folder_requested = Signal(str)
    verify_requested = Signal(str)
    remove_requested = Signal(str)
    cpu_build_requested = Signal(str, str)

    def __init__(self, model: InstalledModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.model = model
        self._default = False
        self._loaded = False
        self._busy = False
        self._note = ""
        self._note_error = False
        self._cpu_build: tuple[CatalogEntry, Variant] | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 10, 12, 10)
        box.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.name_label = _label("modelName")
        top.addWidget(self.name_label)
        self.loaded_tag = _label("modelTag")
        self.loaded_tag.setProperty("kind", "loaded")
        top.addWidget(self.loaded_tag)
        self.default_tag = _label("modelTag")
        self.default_tag.setProperty("kind", "default")
        top.addWidget(self.default_tag)
        self.missing_tag = _label("modelTag")
        self.missing_tag.setProperty("kind", "missing")
        top.addWidget(self.missing_tag)
        top.addStretch(1)
        self.use_button = QPushButton()
        self.use_button.setObjectName("rowButton")
        self.use_button.clicked.connect(self._on_use_button_clicked)
        top.addWidget(self.use_button)
        self.default_button = QPushButton()
        self.default_button.setObjectName("rowButton")
        self.default_button.clicked.connect(self._on_default_button_clicked)
        top.addWidget(self.default_button)
        self.more_button = QPushButton()
        self.more_button.setObjectName("rowButton")
        self.more_menu = QMenu(self)
        self.open_action = self.more_menu.addAction("")
        self.open_action.triggered.connect(
            lambda: self.open_folder_requested.emit(self.model.id))
        self.verify_action = self.more_menu.addAction("")
        self.verify_action.triggered.connect(lambda: self.verify_requested.emit(self.model.id))
        self.more_menu.addSeparator()
        self.remove_action = self.more_menu.addAction("")
        self.remove_action.triggered.connect(lambda: self.remove_requested.emit(self.model.id))
        self.more_button.setMenu(self.more_menu)
        top.addWidget(self.more_button)
        box.addLayout(top)
        self.meta_label = _label("modelDetail", wrap=True)
        box.addWidget(self.meta_label)
        self.path_label = _label("modelPath", wrap=True, selectable=True)
        box.addWidget(self.path_label)
        note_row = QHBoxLayout()
        note_row.setSpacing(8)
        self.note_label = _label("modelNote", wrap=True, selectable=True)
        note_row.addWidget(self.note_label, 1)
        self.cpu_button = QPushButton()
        self.cpu_button.setObjectName("rowButton")
        self.cpu_button.clicked.connect(self._on_cpu_button_clicked)
        note_row.addWidget(self.cpu_button, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(note_row)
        self.retranslate()

    def update_state(self, model: InstalledModel, *, default: bool, loaded: bool, busy: bool,
                     cpu_build: tuple[CatalogEntry, Variant] | None = None) -> None:
        """Show the model as it is now (a fresh record, the default, loaded, loading)."""
        self.model = model
        self._default, self._loaded, self._busy = default, loaded, busy
        self._cpu_build = cpu_build
        self.retranslate()

    def set_note(self, text: str, *, error: bool = False) -> None:
        """A line under the model: a check's result, a load failure."""
        self._note, self._note_error = text, error
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))
        self.note_label.setProperty("error", error)
        repolish(self.note_label)

    def retranslate(self) -> None:
        """Set the texts for the current state and language."""
        m = self.model
        self.name_label.setText(m.name)
        self.loaded_tag.setText(QCoreApplication.translate("ModelRows", "In use"))
        self.loaded_tag.setVisible(self._loaded)
        self.default_tag.setText(QCoreApplication.translate("ModelRows", "Default"))
        self.default_tag.setToolTip(QCoreApplication.translate(
            "ModelRows", "Loaded when Hearth starts"))
        self.default_tag.setVisible(self._default)
        self.missing_tag.setText(QCoreApplication.translate("ModelRows", "Missing"))
        self.missing_tag.setVisible(m.missing)
        parts = [build_label([m.provider]), format_size(m.size_bytes)]
        if m.linked:
            parts.append(QCoreApplication.translate("ModelRows", "used where it is"))
        parts.append(format_ago(m.last_used_at))
        if m.missing:
            self.meta_label.setText(QCoreApplication.translate(
                "ModelRows", "The folder is missing (a removed drive?). Reconnect it, or remove "
                "the model from the list."))
            self.meta_label.setProperty("error", True)
        else:
            self.meta_label.setText(" · ".join(parts))
            self.meta_label.setProperty("error", False)
        repolish(self.meta_label)
        self.path_label.setText(str(m.path))
        if self._loaded:
            self.use_button.setText(QCoreApplication.translate("ModelRows", "Unload"))
            self.use_button.setToolTip(QCoreApplication.translate(
                "ModelRows", "Free the memory this model takes"))
        else:
            self.use_button.setText(QCoreApplication.translate("ModelRows", "Use"))
            self.use_button.setToolTip(QCoreApplication.translate(
                "ModelRows", "Load this model for chatting"))
        self.use_button.setEnabled(not m.missing and not self._busy)
        self.use_button.setAccessibleName(f"{self.use_button.text()}: {m.name}")
        self.default_button.setText(QCoreApplication.translate("ModelRows", "Set as default"))
        self.default_button.setToolTip(QCoreApplication.translate(
            "ModelRows", "Load this model when Hearth starts"))
        self.default_button.setEnabled(not m.missing and not self._default)
        self.default_button.setAccessibleName(f"{self.default_button.text()}: {m.name}")
        self.more_button.setText(QCoreApplication.translate("ModelRows", "More"))
        self.more_button.setAccessibleName(QCoreApplication.translate(
            "ModelRows", "More actions for {name}").format(name=m.name))
        self.open_action.setText(QCoreApplication.translate("ModelRows", "Open folder"))
        self.open_action.setEnabled(not m.missing)
        self.verify_action.setText(QCoreApplication.translate("ModelRows", "Check files"))
        self.verify_action.setEnabled(not m.missing)
        self.remove_action.setText(
            QCoreApplication.translate("ModelRows", "Remove from list…")
            if m.linked or m.missing else QCoreApplication.translate("ModelRows", "Remove…"))
        if self._cpu_build is not None and not m.missing:
            entry, variant = self._cpu_build
            self.cpu_button.setText(QCoreApplication.translate(
                "ModelRows", "Download the CPU build ({size})").format(
                size=format_size(variant.size_bytes)))
            self.cpu_button.setToolTip(QCoreApplication.translate(
                "ModelRows", "This build needs more GPU memory than this PC has; {name}'s CPU "
                "build fits in memory.").format(name=entry.name))
            self.cpu_button.show()
        else:
            self.cpu_button.hide()
        self.set_note(self._note, error=self._note_error)

    @Slot()
    def _on_use_button_clicked(self) -> None:
        if self._loaded:
            self.unload_requested.emit()
        else:
            self.use_requested.emit(self.model.id)

    @Slot()
    def _on_default_button_clicked(self) -> None:
        self.default_requested.emit(self.model.id)

    @Slot()
    def _on_cpu_button_clicked(self) -> None:
        if self._cpu_build is not None:
            entry, variant = self._cpu_build
            self.cpu_build_requested.emit(entry.id, variant.subfolder)


class DownloadRow(Retranslating, QFrame):
    """A download: progress bar, bytes, speed and time left, Pause/Resume and Cancel.

    Signals:
        pause_requested(str): key
        resume_requested(str): key
        cancel_requested(str): key
        settings_requested(): the token is missing or refused: show Settings
    """

    pause_requested = Signal(str)
    resume_requested = Signal(str)
    cancel_requested = Signal(str)
    settings_requested = Signal()

    def __init__(self, info: DownloadInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadRow")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.info = info
        self._offline = False
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 10, 12, 10)
        box.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.name_label = _label("modelName")
        top.addWidget(self.name_label, 1)
        self.pause_button = QPushButton()
        self.pause_button.setObjectName("rowButton")
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        top.addWidget(self.pause_button)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("rowButton")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        top.addWidget(self.cancel_button)
        box.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        box.addWidget(self.progress)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        self.status_label = _label("downloadStatus", wrap=True, selectable=True)
        bottom.addWidget(self.status_label, 1)
        self.settings_button = QPushButton()
        self.settings_button.setObjectName("rowButton")
        self.settings_button.clicked.connect(self.settings_requested)
        bottom.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(bottom)
        self.retranslate()

    def set_info(self, info: DownloadInfo, offline: bool | None = None) -> None:
        """Show the download's latest state."""
        self.info = info
        if offline is not None:
            self._offline = offline
        self.retranslate()

    def retranslate(self) -> None:
        """Set the texts for the current state and language."""
        info = self.info
        self.name_label.setText(info.name)
        if info.total_bytes:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(int(PROGRESS_STEPS * min(1.0, info.fraction)))
        elif info.state in ("starting", "downloading"):
            self.progress.setRange(0, 0)  # busy: the hub has not said the size yet
        else:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(0)
        self.progress.setProperty("state", info.state)
        repolish(self.progress)
        self.progress.setAccessibleName(QCoreApplication.translate(
            "ModelRows", "Progress of {name}").format(name=info.name))
        amount = QCoreApplication.translate("ModelRows", "{done} of {total}").format(
            done=format_size(info.done_bytes), total=format_size(info.total_bytes)) \
            if info.total_bytes else format_size(info.done_bytes)
        error = False
        if info.state == "starting":
            status = QCoreApplication.translate("ModelRows", "Asking Hugging Face for the files…")
        elif info.state == "downloading":
            parts = [amount]
            if info.bytes_per_s > 0:
                parts.append(format_speed(info.bytes_per_s))
            if info.eta_s is not None and info.done_bytes < info.total_bytes:
                parts.append(QCoreApplication.translate("ModelRows", "{time} left").format(
                    time=format_duration(info.eta_s)))
            status = " · ".join(parts)
        elif info.state == "stopping":
            status = QCoreApplication.translate("ModelRows", "Stopping…")
        elif info.state == "paused":
            status = QCoreApplication.translate("ModelRows", "Paused at {amount}.").format(
                amount=amount) if info.done_bytes else QCoreApplication.translate(
                "ModelRows", "Paused before any data arrived.")
            if not info.resumable:
                status += " " + QCoreApplication.translate(
                    "ModelRows", "Hearth does not know where it came from: discard it and download "
                    "the model again.")
        else:
            status, error = info.error, True
        self.status_label.setText(status)
        self.status_label.setProperty("error", error)
        repolish(self.status_label)
        running = info.state in ("starting", "downloading")
        if running:
            self.pause_button.setText(QCoreApplication.translate("ModelRows", "Pause"))
            self.pause_button.setEnabled(True)
            self.pause_button.setToolTip("")
        else:
            self.pause_button.setText(QCoreApplication.translate("ModelRows", "Retry")
                                      if info.state == "failed" else
                                      QCoreApplication.translate("ModelRows", "Resume"))
            self.pause_button.setEnabled(info.state != "stopping" and info.resumable
                                         and not self._offline)
            self.pause_button.setToolTip(QCoreApplication.translate(
                "ModelRows", "Offline mode is on: turn it off in Settings to download.")
                if self._offline else "")
        self.pause_button.setVisible(info.resumable)
        self.pause_button.setAccessibleName(f"{self.pause_button.text()}: {info.name}")
        self.cancel_button.setText(
            QCoreApplication.translate("ModelRows", "Cancel") if running or info.state == "stopping"
            else QCoreApplication.translate("ModelRows", "Discard"))
        self.cancel_button.setEnabled(info.state != "stopping")
        self.cancel_button.setToolTip(QCoreApplication.translate(
            "ModelRows", "Stop and delete what was downloaded"))
        self.cancel_button.setAccessibleName(f"{self.cancel_button.text()}: {info.name}")
        self.settings_button.setText(QCoreApplication.translate("ModelRows", "Token settings"))
        self.settings_button.setToolTip(QCoreApplication.translate(
            "ModelRows", "Settings keeps your Hugging Face token in the system keyring"))
        self.settings_button.setVisible(info.state == "failed" and info.needs_token)

    @Slot()
    def _on_pause_button_clicked(self) -> None:
        if self.info.state in ("starting", "downloading"):
            self.pause_requested.emit(self.info.key)
        else:
            self.resume_requested.emit(self.info.key)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel_requested.emit(self.info.key)
