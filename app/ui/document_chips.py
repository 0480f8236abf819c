"""The documents of a chat above its input: chips, the Attach button, the drop highlight.

A chip names a document and says where it is ("Reading 40%", "12 pages", "Failed: why" with the
whole reason in its tooltip); clicking it opens the file in the system's viewer, its remove
button takes it out of the chat (stopping its reading if it is still being read). A library
attached to the chat has a chip of its own. The widgets only ask (signals); the chat pane
talks to the `DocumentService`.

Opening a document at a page: files are opened with `QUrl.fromLocalFile(path)` and nothing
else, in the viewer the user chose for the file type. A `#page=N` fragment would make Qt hand
the URL to the web browser instead of the file's own application on Windows (QDesktopServices
uses openDocument only for local URLs without a fragment) and is ignored or misread by other
viewers, so the page is shown in the source's label instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontMetrics, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.core.documents.index import Collection
from app.ui.i18n import Retranslating
from app.workers.documents import DocumentItem, path_key

NAME_WIDTH_PX = 190
"""Longer file names are elided in the middle (the tooltip has the whole path)."""
DETAIL_WIDTH_PX = 240
LIBRARY_KEY = "library:"


def open_document(path: str | os.PathLike[str]) -> bool:
    """Open a file in the system's viewer for its type; False if it is gone or nothing opened
    it. (See the module docstring for why no page fragment is added.)"""
    if not Path(path).is_file():
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(path)))


def local_paths(mime: QMimeData) -> list[str]:
    """The local files and folders a drop or paste carries: file URLs, or text that is the
    path of an existing file (one per line, quotes allowed, as "Copy as path" on Windows makes
    them; a folder's path typed or pasted stays text: "/" must not attach a whole disk).
    [] when it carries anything else."""
    if mime.hasUrls():
        urls = [u for u in mime.urls() if u.isLocalFile()]
        if urls and len(urls) == len(mime.urls()):
            return [u.toLocalFile() for u in urls]
        return []
    if not mime.hasText():
        return []
    lines = [line.strip().strip('"').strip("'") for line in mime.text().splitlines()
             if line.strip()]
    if not lines or len(lines) > 200:
        return []
    paths = []
    for line in lines:
        if line.startswith("file://"):
            line = QUrl(line).toLocalFile()
        candidate = Path(line).expanduser()
        if not candidate.is_absolute() or not candidate.is_file():
            return []
        paths.append(str(candidate))
    return paths


class FlowLayout(QLayout):
    """Lays its items out left to right, wrapping onto more lines as the width requires
    (Qt's "Flow Layout" example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def insertWidget(self, index: int, widget: QWidget) -> None:
        """Put `widget` at `index` (as QBoxLayout.insertWidget)."""
        # Qt makes the item (addWidget calls addItem), so Qt owns and deletes it when the
        # widget is removed: an item made here would be Python's, and freed twice.
        self.addWidget(widget)
        self._items.insert(index, self._items.pop())
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_height > 0:
                x = area.x()
                y += line_height + self._spacing
                line_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + margins.bottom()


class DocumentChip(Retranslating, QFrame):
    """One document (or library) of the chat: its name, its state and a remove button.

    Signals:
        open_requested(): the chip was clicked
        remove_requested(): its remove button was clicked
    """

    open_requested = Signal()
    remove_requested = Signal()

    def __init__(self, item: DocumentItem | None = None, library: Collection | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentChip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.item = item
        self.library = library
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 3, 3, 3)
        row.setSpacing(6)
        self.name_label = QLabel(self)
        self.name_label.setObjectName("chipName")
        row.addWidget(self.name_label)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("chipState")
        row.addWidget(self.state_label)
        self.remove_button = QToolButton(self)
        self.remove_button.setObjectName("chipRemove")
        self.remove_button.setText("\u00d7")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.remove_button.clicked.connect(self.remove_requested)
        row.addWidget(self.remove_button)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        if item is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.retranslate()

    @property
    def key(self) -> str:
        """The row's key: the file's path key, or "library:<id>"."""
        if self.library is not None:
            return f"{LIBRARY_KEY}{self.library.id}"
        assert self.item is not None
        return path_key(self.item.path)

    def set_item(self, item: DocumentItem) -> None:
        """Show a new state of the document."""
        self.item = item
        self.retranslate()

    def retranslate(self) -> None:
        """Set the texts in the current language."""
        metrics = QFontMetrics(self.name_label.font())
        if self.library is not None:
            name = self.tr("Library: {name}").format(name=self.library.name)
            state = self.tr("{n} documents").format(n=self.library.document_count) \
                if self.library.document_count != 1 else self.tr("1 document")
            self.setProperty("state", "library")
            tip = self.tr("A library: its documents are attached to this chat as a whole.")
            self.remove_button.setToolTip(self.tr("Take this library out of the chat"))
            self.remove_button.setAccessibleName(self.tr("Remove {name}").format(name=name))
        else:
            assert self.item is not None
            item = self.item
            name = item.name
            state = self.state_text(item)
            self.setProperty("state", item.state)
            tip = "\n".join(part for part in (item.path, self.detail_text(item)) if part)
            self.remove_button.setToolTip(self.tr("Stop reading and remove") if item.busy
                                          else self.tr("Remove from this chat"))
            self.remove_button.setAccessibleName(self.tr("Remove {name}").format(name=name))
        self.name_label.setText(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                   NAME_WIDTH_PX))
        self.state_label.setText(QFontMetrics(self.state_label.font()).elidedText(
            state, Qt.TextElideMode.ElideRight, DETAIL_WIDTH_PX))
        self.state_label.setVisible(bool(state))
        self.setToolTip(tip)
        self.setAccessibleName(f"{name}: {state}")
        self.style().unpolish(self)
        self.style().polish(self)

    def state_text(self, item: DocumentItem) -> str:
        """What the chip says about the document's state."""
        percent = None if item.progress is None else int(item.progress * 100)
        if item.state == "queued":
            return self.tr("Waiting")
        if item.state == "reading":
            return self.tr("Reading…") if percent is None else \
                self.tr("Reading {percent}%").format(percent=percent)
        if item.state == "indexing":
            return self.tr("Indexing…") if percent is None else \
                self.tr("Indexing {percent}%").format(percent=percent)
        if item.state == "failed":
            return self.tr("Failed: {reason}").format(reason=_short_reason(item))
        n = item.page_count
        if n is None:
            return self.tr("Ready")
        if item.kind == "pptx":
            return self.tr("1 slide") if n == 1 else self.tr("{n} slides").format(n=n)
        if item.kind == "xlsx":
            return self.tr("1 sheet") if n == 1 else self.tr("{n} sheets").format(n=n)
        return self.tr("1 page") if n == 1 else self.tr("{n} pages").format(n=n)

    def detail_text(self, item: DocumentItem) -> str:
        """The tooltip's second part: why it failed, or what was skipped."""
        if item.state == "failed":
            return item.detail
        if item.state == "indexed":
            return "\n".join(item.warnings)
        return self.tr("Click to open it; the cross stops reading it and removes it.") \
            if item.busy else ""

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.item is not None \
                and self.rect().contains(event.position().toPoint()):
            self.open_requested.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)


def _short_reason(item: DocumentItem) -> str:
    """A failure's reason without the file's name at its start (the chip shows the name)."""
    reason = item.detail.strip()
    for quoted in (f"\u201c{item.name}\u201d", item.name):
        if reason.startswith(quoted):
            return reason[len(quoted):].strip()
    return reason


class DocumentChipRow(Retranslating, QWidget):
    """The chat's documents and libraries as chips that wrap onto more lines, with "Stop
    reading" while any is being read. Hidden while the chat has none.

    Signals:
        open_requested(str): path of the document to open
        remove_requested(str): path of the document to take out (or stop reading)
        library_remove_requested(int): collection id to take out
        stop_requested(): stop reading every document of the chat
    """

    open_requested = Signal(str)
    remove_requested = Signal(str)
    library_remove_requested = Signal(int)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("documentChips")
        self._chips: dict[str, DocumentChip] = {}
        self._flow = FlowLayout(self)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.stop_button = QPushButton(self)
        self.stop_button.setObjectName("flatButton")
        self.stop_button.clicked.connect(self.stop_requested)
        self._flow.addWidget(self.stop_button)
        self.stop_button.hide()
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        """Set the row's own texts (the chips set theirs)."""
        self.stop_button.setText(self.tr("Stop reading"))
        self.stop_button.setToolTip(self.tr("Stop reading the documents not read yet"))

    # -- contents ----------------------------------------------------------------------------
    def set_contents(self, items: Sequence[DocumentItem],
                     libraries: Sequence[Collection] = ()) -> None:
        """Show exactly these documents and libraries (another conversation is shown)."""
        for chip in self._chips.values():
            self._flow.removeWidget(chip)
            chip.deleteLater()
        self._chips.clear()
        for library in libraries:
            self._add(DocumentChip(library=library, parent=self))
        for item in items:
            self._add(DocumentChip(item, parent=self))
        self._update()

    def update_item(self, item: DocumentItem) -> None:
        """Show a document's new state (adding its chip if it has none)."""
        chip = self._chips.get(path_key(item.path))
        if chip is None:
            self._add(DocumentChip(item, parent=self))
        else:
            chip.set_item(item)
        self._update()

    def remove_item(self, path: str) -> None:
        """Take a document's chip away."""
        chip = self._chips.pop(path_key(path), None)
        if chip is not None:
            self._flow.removeWidget(chip)
            chip.deleteLater()
        self._update()

    def chip(self, path: str) -> DocumentChip | None:
        """The chip of a document, if it has one."""
        return self._chips.get(path_key(path))

    def chips(self) -> list[DocumentChip]:
        """Every chip, in the order shown."""
        return list(self._chips.values())

    def items(self) -> list[DocumentItem]:
        """The documents shown (libraries left out)."""
        return [c.item for c in self._chips.values() if c.item is not None]

    def busy(self) -> bool:
        """Whether any document shown is still being read."""
        return any(item.busy for item in self.items())

    def _add(self, chip: DocumentChip) -> None:
        self._chips[chip.key] = chip
        # Before the Stop button, which stays last.
        self._flow.insertWidget(self._flow.count() - 1, chip)
        chip.show()
        key = chip.key
        chip.remove_requested.connect(lambda: self._on_chip_remove_requested(key))
        chip.open_requested.connect(lambda: self._on_chip_open_requested(key))

    def _on_chip_remove_requested(self, key: str) -> None:
        chip = self._chips.get(key)
        if chip is None:
            return
        if chip.library is not None:
            self.library_remove_requested.emit(chip.library.id)
        elif chip.item is not None:
            self.remove_requested.emit(chip.item.path)

    def _on_chip_open_requested(self, key: str) -> None:
        chip = self._chips.get(key)
        if chip is not None and chip.item is not None:
            self.open_requested.emit(chip.item.path)

    def _update(self) -> None:
        self.stop_button.setVisible(self.busy())
        self.setVisible(bool(self._chips))
        self._flow.invalidate()
        self.updateGeometry()


class AttachButton(Retranslating, QToolButton):
    """"Attach" beside the message box: a click picks files; its menu also attaches a folder
    or a library, and saves the chat's documents as a library.

    Signals:
        files_requested()
        folder_requested()
        library_requested(int): collection id
        save_library_requested()
    """

    files_requested = Signal()
    folder_requested = Signal()
    library_requested = Signal(int)
    save_library_requested = Signal()

    def __init__(self, libraries: Callable[[], Sequence[Collection]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachButton")
        self._libraries = libraries
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.clicked.connect(self.files_requested)
        self._menu = QMenu(self)
        self.files_action = self._menu.addAction("")
        self.files_action.triggered.connect(self.files_requested)
        self.folder_action = self._menu.addAction("")
        self.folder_action.triggered.connect(self.folder_requested)
        self._menu.addSeparator()
        self.library_menu = self._menu.addMenu("")
        self.library_menu.setObjectName("libraryMenu")
        self.save_library_action = self._menu.addAction("")
        self.save_library_action.triggered.connect(self.save_library_requested)
        self._menu.aboutToShow.connect(self.refresh_libraries)
        self.setMenu(self._menu)
        self.can_save = False
        """Whether the chat has documents to save as a library (the pane keeps it current)."""
        self.retranslate()

    def retranslate(self) -> None:
        """Set the texts in the current language."""
        self.setText(self.tr("Attach"))
        self.setToolTip(self.tr("Attach documents to this chat: PDF, Word, PowerPoint, Excel, "
                                "CSV, text, Markdown, HTML or code. You can also drop files "
                                "or folders on the chat."))
        self.setAccessibleName(self.tr("Attach documents"))
        self.files_action.setText(self.tr("Files…"))
        self.folder_action.setText(self.tr("Folder…"))
        self.library_menu.setTitle(self.tr("Library"))
        self.save_library_action.setText(self.tr("Save these documents as a library…"))

    @Slot()
    def refresh_libraries(self) -> None:
        """Fill the Library menu with the libraries there are now."""
        self.library_menu.clear()
        libraries = list(self._libraries())
        for library in libraries:
            action = self.library_menu.addAction(self.tr("{name} ({n})").format(
                name=library.name, n=library.document_count))
            action.triggered.connect(
                lambda _checked=False, cid=library.id: self.library_requested.emit(cid))
        if not libraries:
            empty = self.library_menu.addAction(self.tr("No libraries yet"))
            empty.setEnabled(False)
        self.save_library_action.setEnabled(self.can_save)


class DropOverlay(Retranslating, QLabel):
    """The highlight over the chat while files are dragged over it. Transparent to the mouse,
    so the drag events reach the chat under it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("dropOverlay")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        """Set the text in the current language."""
        self.setText(self.tr("Drop files or folders to attach them to this chat"))

    def cover(self) -> None:
        """Show over the whole parent."""
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect().adjusted(8, 8, -8, -8))
        self.show()
        self.raise_()
