"""The conversation history beside the chat: New chat, search, and the saved conversations by date.

`HistorySidebar` lists what the conversation store holds, grouped under Pinned, Today,
Yesterday, Previous 7 days, Previous 30 days and then by month, newest first; typing in the
search box lists matching conversations instead (English, Japanese, ...), each with a snippet of
the best matching message. A row's context menu renames it in place, pins it, exports it
(Markdown or JSON, with or without the model's thinking) or deletes it, with an Undo bar for a
while afterwards (the store keeps deleted conversations in its trash).

The sidebar does not show conversations itself: it asks the chat pane (`conversation_selected`,
`new_chat_requested`) and follows it (`set_current_conversation`, wired to
`ChatPane.conversation_changed`); `connect_sidebar` makes both connections.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractItemModel,
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QShortcut,
    QShowEvent,
    QTextCharFormat,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.core import export as exporting
from app.core.errors import StorageError
from app.core.store import (
    GROUP_7_DAYS,
    GROUP_30_DAYS,
    GROUP_PINNED,
    GROUP_TODAY,
    GROUP_YESTERDAY,
    ConversationEntry,
    SearchHit,
    Store,
)
from app.ui.chat_pane import ChatPane, add_shortcut, yield_to_window_shortcuts
from app.ui.i18n import Retranslating

log = logging.getLogger(__name__)

GROUP_NAMES = {
    GROUP_PINNED: QT_TRANSLATE_NOOP("ConversationListModel", "Pinned"),
    GROUP_TODAY: QT_TRANSLATE_NOOP("ConversationListModel", "Today"),
    GROUP_YESTERDAY: QT_TRANSLATE_NOOP("ConversationListModel", "Yesterday"),
    GROUP_7_DAYS: QT_TRANSLATE_NOOP("ConversationListModel", "Previous 7 days"),
    GROUP_30_DAYS: QT_TRANSLATE_NOOP("ConversationListModel", "Previous 30 days"),
}
"""The store's group keys and their labels (translated where shown); a "YYYY-MM" month is
shown as it is."""

SEARCH_DELAY_MS = 150
"""Search once typing pauses this long, not per key."""
UNDO_SECONDS = 10
"""How long the Undo bar stays after a delete."""
NOTICE_SECONDS = 6
"""How long other notices (an export written or failed) stay."""
TOAST_TITLE_PX = 140
"""Longer titles are cut in the Undo bar, which is as narrow as the sidebar."""

_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def export_file_name(title: str, suffix: str) -> str:
    """A file name for an exported conversation: its title without characters that Windows,
    macOS or Linux refuse, or "conversation"."""
    name = _UNSAFE_FILE_CHARS.sub(" ", title)
    name = " ".join(name.split()).strip(" .")[:80].rstrip(" .")
    return f"{name or 'conversation'}.{suffix}"


# --- The item model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    kind: str
    conversation_id: int = 0
    title: str = ""
    group: str = ""
    pinned: bool = False
    snippet: str = ""
    highlights: tuple[tuple[int, int], ...] = ()


class ConversationListModel(QAbstractListModel):
    """The sidebar's rows: date-group headings with the conversations under them, or search
    results (a conversation with a snippet of its best matching message).

    Headings are neither selectable nor enabled, so the keyboard skips them. Titles are
    editable in place; an edit is reported, not saved, here.

    Signals:
        title_edited(int, str): the user renamed a conversation in place (id, new title)
    """

    title_edited = Signal(int, str)

    IdRole = Qt.ItemDataRole.UserRole + 1
    KindRole = Qt.ItemDataRole.UserRole + 2
    GroupRole = Qt.ItemDataRole.UserRole + 3
    PinnedRole = Qt.ItemDataRole.UserRole + 4
    SnippetRole = Qt.ItemDataRole.UserRole + 5
    HighlightsRole = Qt.ItemDataRole.UserRole + 6

    HEADING = "heading"
    CONVERSATION = "conversation"
    HIT = "hit"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []

    # -- filling -----------------------------------------------------------------------------
    def set_conversations(self, entries: list[ConversationEntry]) -> None:
        """Show the conversation list, a heading before each group (entries come grouped)."""
        rows: list[_Row] = []
        group: str | None = None
        for entry in entries:
            if entry.group != group:
                group = entry.group
                rows.append(_Row(self.HEADING, group=group))
            rows.append(_Row(self.CONVERSATION, entry.id, entry.title, entry.group,
                             entry.pinned))
        self._set_rows(rows)

    def set_hits(self, hits: list[SearchHit]) -> None:
        """Show search results, best first."""
        self._set_rows([_Row(self.HIT, h.conversation_id, h.title, snippet=h.snippet,
                             highlights=h.highlights) for h in hits])

    def _set_rows(self, rows: list[_Row]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    # -- reading -----------------------------------------------------------------------------
    def row_of(self, conversation_id: int | None) -> int:
        """The row of a conversation, or -1."""
        for n, row in enumerate(self._rows):
            if row.kind != self.HEADING and row.conversation_id == conversation_id:
                return n
        return -1

    def conversation_ids(self) -> list[int]:
        """The conversations listed, in order."""
        return [r.conversation_id for r in self._rows if r.kind != self.HEADING]

    def headings(self) -> list[str]:
        """The group headings shown, as displayed."""
        return [self.group_name(r.group) for r in self._rows if r.kind == self.HEADING]

    def group_name(self, key: str) -> str:
        """A group key as shown: translated, or a "YYYY-MM" month as it is."""
        return self.tr(str(GROUP_NAMES[key])) if key in GROUP_NAMES else key

    def retranslate(self) -> None:
        """Headings and placeholders in the current language."""
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    # -- QAbstractListModel ------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid() or self._rows[index.row()].kind == self.HEADING:
            return Qt.ItemFlag.ItemNeverHasChildren
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemNeverHasChildren)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        title = row.title or self.tr("Untitled conversation")
        match role:
            case Qt.ItemDataRole.DisplayRole:
                return self.group_name(row.group) if row.kind == self.HEADING else title
            case Qt.ItemDataRole.EditRole:
                return row.title
            case Qt.ItemDataRole.ToolTipRole:
                return None if row.kind == self.HEADING else title
            case Qt.ItemDataRole.AccessibleTextRole:
                if row.kind == self.HIT:
                    return f"{title}: {row.snippet}"
                return self.group_name(row.group) if row.kind == self.HEADING else title
            case self.IdRole:
                return None if row.kind == self.HEADING else row.conversation_id
            case self.KindRole:
                return row.kind
            case self.GroupRole:
                return row.group
            case self.PinnedRole:
                return row.pinned
            case self.SnippetRole:
                return row.snippet
            case self.HighlightsRole:
                return row.highlights
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        row = self._rows[index.row()]
        title = " ".join(str(value).split())
        if row.kind == self.HEADING or not title or title == row.title:
            return False
        self._rows[index.row()] = replace(row, title=title)
        self.dataChanged.emit(index, index)
        self.title_edited.emit(row.conversation_id, title)
        return True


# --- Drawing the rows -----------------------------------------------------------------------------

class _RenameEditor(QLineEdit):
    """The in-place title editor; it keeps Esc (cancel) from the window's Esc shortcut."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)


class _ConversationDelegate(QStyledItemDelegate):
    """Draws headings as small muted labels and conversations as rounded rows, from the palette
    (so both themes work without stylesheet rules); search results get a two-line snippet with
    the matched words in bold."""

    PAD_X = 10
    SNIPPET_LINES = 2

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        line = option.fontMetrics.height()
        kind = index.data(ConversationListModel.KindRole)
        if kind == ConversationListModel.HEADING:
            return QSize(0, QFontMetrics(self._heading_font(option)).height() + 18)
        if kind == ConversationListModel.HIT:
            small = QFontMetrics(self._snippet_font(option)).lineSpacing()
            return QSize(0, line + small * self.SNIPPET_LINES + 18)
        return QSize(0, line + 16)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        palette: QPalette = option.palette
        rect: QRect = option.rect
        state = option.state
        kind = index.data(ConversationListModel.KindRole)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if kind == ConversationListModel.HEADING:
            painter.setFont(self._heading_font(option))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            area = rect.adjusted(self.PAD_X + 2, 10, -self.PAD_X, -2)
            painter.drawText(area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             painter.fontMetrics().elidedText(
                                 text, Qt.TextElideMode.ElideRight, area.width()))
            painter.restore()
            return
        card = rect.adjusted(4, 1, -4, -1)
        fill: QColor | None = None
        if state & QStyle.StateFlag.State_Selected:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(44)
        elif state & QStyle.StateFlag.State_MouseOver:
            fill = palette.color(QPalette.ColorRole.Midlight)
        if fill is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(card, 6, 6)
        inner = card.adjusted(self.PAD_X - 4, 0, -(self.PAD_X - 4), 0)
        font = QFont(option.font)
        if kind == ConversationListModel.HIT:
            font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        metrics = painter.fontMetrics()
        title_rect = QRect(inner.left(), inner.top() + 7, inner.width(), metrics.height())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner.width()))
        if kind == ConversationListModel.HIT:
            self._paint_snippet(painter, option, index, inner, title_rect.bottom() + 3)
        painter.restore()

    def _paint_snippet(self, painter: QPainter, option: QStyleOptionViewItem,
                       index: QModelIndex | QPersistentModelIndex, inner: QRect,
                       top: int) -> None:
        palette: QPalette = option.palette
        snippet = str(index.data(ConversationListModel.SnippetRole) or "")
        spans = index.data(ConversationListModel.HighlightsRole) or ()
        font = self._snippet_font(option)
        layout = QTextLayout(snippet, font)
        formats = []
        for start, end in spans:
            fmt = QTextLayout.FormatRange()
            fmt.start, fmt.length = start, end - start
            char = QTextCharFormat()
            char.setFontWeight(QFont.Weight.Bold)
            char.setForeground(palette.color(QPalette.ColorRole.Text))
            fmt.format = char
            formats.append(fmt)
        layout.setFormats(formats)
        layout.beginLayout()
        y = 0.0
        for _ in range(self.SNIPPET_LINES):
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(inner.width())
            line.setPosition(QPoint(0, round(y)))
            y += line.height()
        layout.endLayout()
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.setClipRect(QRect(inner.left(), top, inner.width(), round(y) + 1))
        layout.draw(painter, QPoint(inner.left(), top))

    @staticmethod
    def _heading_font(option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setWeight(QFont.Weight.DemiBold)
        return font

    @staticmethod
    def _snippet_font(option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        return font

    # -- renaming in place -------------------------------------------------------------------
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = _RenameEditor(parent)
        editor.setObjectName("renameEditor")
        editor.setAccessibleName(self.tr("Conversation title"))
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QLineEdit):
            editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,
                             index: QModelIndex | QPersistentModelIndex) -> None:
        rect: QRect = option.rect
        editor.setGeometry(rect.adjusted(4, 2, -4, -2))


# --- The sidebar ----------------------------------------------------------------------------------

class _SearchBox(QLineEdit):
    """The search field: Esc clears it (and only then leaves Esc to the window: Stop)."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape and self.text():
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class HistorySidebar(Retranslating, QWidget):
    """New chat, search and the saved conversations, beside the chat pane.

    Keyboard: Ctrl+F focuses the search (window-wide), Esc in it clears it, Enter on a row opens
    it, F2 renames it, Delete deletes it, the context-menu key opens its menu.

    Signals:
        conversation_selected(int): the user picked a conversation to show
        new_chat_requested(): the user wants a new conversation (also sent when the
            conversation on screen is deleted)
    """

    conversation_selected = Signal(int)
    new_chat_requested = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historySidebar")
        self._store = store
        self._current: int | None = None
        self._deleted: list[int] = []
        self._refresh_pending = False
        self.export_thinking = False
        """Whether exports include the model's thinking (the Export menu's check box)."""
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self._build()
        add_shortcut(self, "Ctrl+F", self.focus_search)
        self.retranslate()
        self.refresh()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 12, 9, 8)
        column.setSpacing(8)

        self.new_chat_button = QPushButton()
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        column.addWidget(self.new_chat_button)

        self.search_box = _SearchBox()
        self.search_box.setObjectName("historySearch")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._on_search_box_text_changed)
        self.search_box.returnPressed.connect(self._on_search_box_return_pressed)
        column.addWidget(self.search_box)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)

        self.model = ConversationListModel(self)
        self.model.title_edited.connect(self._on_model_title_edited)
        self.list_view = QListView()
        self.list_view.setObjectName("historyList")
        self.list_view.setModel(self.model)
        self._delegate = _ConversationDelegate(self.list_view)
        self._delegate.closeEditor.connect(self._on_delegate_close_editor)
        self.list_view.setItemDelegate(self._delegate)
        self.list_view.setFrameShape(QFrame.Shape.NoFrame)
        self.list_view.setAutoFillBackground(False)
        self.list_view.viewport().setAutoFillBackground(False)
        self.list_view.setMouseTracking(True)
        self.list_view.setUniformItemSizes(False)
        self.list_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(
            self._on_list_view_custom_context_menu_requested)
        self.list_view.clicked.connect(self._on_list_view_clicked)
        self.list_view.activated.connect(self._on_list_view_clicked)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list_view)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._on_delete_shortcut_activated)
        column.addWidget(self.list_view, 1)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("historyEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_label.hide()
        column.addWidget(self.empty_label, 1)

        column.addWidget(self._build_toast())

    def _build_toast(self) -> QWidget:
        # The Undo bar after a delete; also says where an export went, or why it failed.
        self.toast = QFrame()
        self.toast.setObjectName("historyToast")
        self.toast.setFrameShape(QFrame.Shape.StyledPanel)
        self.toast.setAutoFillBackground(True)
        self.toast.setBackgroundRole(QPalette.ColorRole.Base)
        row = QHBoxLayout(self.toast)
        row.setContentsMargins(10, 6, 6, 6)
        row.setSpacing(6)
        self.toast_label = QLabel()
        self.toast_label.setObjectName("historyToastText")
        self.toast_label.setWordWrap(True)
        row.addWidget(self.toast_label, 1)
        self.undo_button = QPushButton()
        self.undo_button.setObjectName("undoButton")
        self.undo_button.clicked.connect(self.undo_delete)
        row.addWidget(self.undo_button)
        self._toast_timer = QTimer(self)
        self._toast_timer.setSingleShot(True)
        self._toast_timer.timeout.connect(self.toast.hide)
        self.toast.hide()
        return self.toast

    # -- texts -------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Set the sidebar's texts in the current language."""
        self.setAccessibleName(self.tr("Conversation history"))
        self.new_chat_button.setText(self.tr("New chat"))
        self.new_chat_button.setAccessibleName(self.tr("New chat"))
        self.new_chat_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.search_box.setPlaceholderText(self.tr("Search (Ctrl+F)"))
        self.search_box.setAccessibleName(self.tr("Search conversations"))
        self.search_box.setToolTip(self.tr("Find conversations by the words in them "
                                           "(Ctrl+F; Esc clears)"))
        self.list_view.setAccessibleName(self.tr("Conversations"))
        self.undo_button.setText(self.tr("Undo"))
        self.undo_button.setAccessibleName(self.tr("Undo delete"))
        self.toast.setAccessibleName(self.tr("Notice"))
        self.model.retranslate()
        self._update_empty_label()

    # -- public ------------------------------------------------------------------------------
    @property
    def current_conversation(self) -> int | None:
        """The conversation the chat pane shows (highlighted in the list), if saved."""
        return self._current

    @Slot()
    def refresh(self) -> None:
        """Read the list, or the search results, from the store again."""
        if self.list_view.state() == QAbstractItemView.State.EditingState:
            self._refresh_pending = True  # after the rename: a reset would close the editor
            return
        self._refresh_pending = False
        query = self.search_box.text().strip()
        try:
            hits = self._store.search(query) if query else None
            entries = [] if query else self._store.list_conversations()
        except StorageError as exc:
            log.warning("history not read: %s (%s)", exc, exc.detail)
            self._show_notice(exc.user_message)
            return
        # Refreshing follows every save: keep the list where the user scrolled it.
        bar = self.list_view.verticalScrollBar()
        scrolled = bar.value()
        if hits is not None:
            self.model.set_hits(hits)
        else:
            self.model.set_conversations(entries)
        self.list_view.doItemsLayout()
        self._select_current()
        bar.setValue(scrolled)
        self._update_empty_label()

    @Slot(int)
    def set_current_conversation(self, conversation_id: int) -> None:
        """Highlight the conversation the chat shows (0: a new one) and refresh the list;
        connect `ChatPane.conversation_changed` here."""
        self._current = conversation_id or None
        self.refresh()

    @Slot()
    def focus_search(self) -> None:
        """Put the focus in the search box, its text selected."""
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def context_menu(self, conversation_id: int) -> QMenu:
        """The menu of a conversation's row: Rename, Pin/Unpin, Export, Delete."""
        menu = QMenu(self)
        menu.setObjectName("historyMenu")
        rename = menu.addAction(self.tr("Rename"))
        rename.setObjectName("renameAction")
        rename.triggered.connect(partial(self.rename_conversation, conversation_id))
        try:
            pinned = self._store.get_conversation(conversation_id).pinned
        except StorageError:
            pinned = False
        pin = menu.addAction(self.tr("Unpin") if pinned else self.tr("Pin"))
        pin.setObjectName("pinAction")
        pin.triggered.connect(partial(self.set_pinned, conversation_id, not pinned))
        export = menu.addMenu(self.tr("Export"))
        export.setObjectName("exportMenu")
        markdown = export.addAction(self.tr("Markdown..."))
        markdown.setObjectName("exportMarkdownAction")
        markdown.triggered.connect(partial(self.export_conversation, conversation_id, "md"))
        json_action = export.addAction(self.tr("JSON..."))
        json_action.setObjectName("exportJsonAction")
        json_action.triggered.connect(partial(self.export_conversation, conversation_id, "json"))
        export.addSeparator()
        thinking = export.addAction(self.tr("Include the model's thinking"))
        thinking.setObjectName("exportThinkingAction")
        thinking.setCheckable(True)
        thinking.setChecked(self.export_thinking)
        thinking.toggled.connect(self._on_export_thinking_toggled)
        every = menu.addMenu(self.tr("Export all conversations"))
        every.setObjectName("exportAllMenu")
        every.addAction(self.tr("Markdown...")).triggered.connect(
            partial(self.export_conversation, None, "md"))
        every.addAction(self.tr("JSON...")).triggered.connect(
            partial(self.export_conversation, None, "json"))
        menu.addSeparator()
        delete = menu.addAction(self.tr("Delete"))
        delete.setObjectName("deleteAction")
        delete.triggered.connect(partial(self.delete_conversation, conversation_id))
        return menu

    @Slot(int)
    def rename_conversation(self, conversation_id: int) -> None:
        """Open the title editor on the conversation's row (Enter saves, Esc cancels)."""
        row = self.model.row_of(conversation_id)
        if row < 0:
            return
        index = self.model.index(row)
        self.list_view.scrollTo(index)
        self.list_view.edit(index)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin a conversation to the top of the list, or unpin it."""
        try:
            self._store.set_pinned(conversation_id, pinned)
        except StorageError as exc:
            self._show_notice(exc.user_message)
        self.refresh()

    @Slot(int)
    def delete_conversation(self, conversation_id: int) -> None:
        """Move a conversation to the trash, with Undo offered for a while."""
        try:
            title = self._store.get_conversation(conversation_id).title
            self._store.delete(conversation_id)
        except StorageError as exc:
            self._show_notice(exc.user_message)
            return
        self._deleted.append(conversation_id)
        title = QFontMetrics(self.toast_label.font()).elidedText(
            title or self.tr("Untitled conversation"), Qt.TextElideMode.ElideRight,
            TOAST_TITLE_PX)
        self._show_notice(self.tr("Deleted “{title}”.").format(title=title), undo=True)
        if conversation_id == self._current:
            self._current = None
            self.new_chat_requested.emit()
        self.refresh()

    @Slot()
    def undo_delete(self) -> None:
        """Bring back the conversation deleted last."""
        self.toast.hide()
        if not self._deleted:
            return
        conversation_id = self._deleted.pop()
        try:
            self._store.restore(conversation_id)
        except StorageError as exc:
            self._show_notice(exc.user_message)
        self.refresh()

    def export_conversation(self, conversation_id: int | None,
                            fmt: exporting.ExportFormat) -> None:
        """Ask where to save, then write the conversation (None: all of them) as Markdown
        ("md") or JSON."""
        try:
            title = (self._store.get_conversation(conversation_id).title
                     if conversation_id is not None else "Hearth conversations")
        except StorageError as exc:
            self._show_notice(exc.user_message)
            return
        folder = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        suggested = str(Path(folder) / export_file_name(title, fmt))
        kind = self.tr("Markdown (*.md)") if fmt == "md" else self.tr("JSON (*.json)")
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Export conversation"),
                                                    suggested, kind)
        if path:
            self.write_export(conversation_id, Path(path), fmt)

    def write_export(self, conversation_id: int | None, path: Path,
                     fmt: exporting.ExportFormat) -> bool:
        """Write the conversation (None: all) to `path`; says how it went in the notice bar."""
        try:
            text = (exporting.export_conversation(self._store, conversation_id, fmt,
                                                  reasoning=self.export_thinking)
                    if conversation_id is not None else
                    exporting.export_all(self._store, fmt, reasoning=self.export_thinking))
            path.write_text(text, encoding="utf-8")
        except StorageError as exc:
            self._show_notice(exc.user_message)
            return False
        except OSError as exc:
            log.warning("export to %s failed: %s", path, exc)
            self._show_notice(self.tr("The conversation could not be saved to {path}: "
                                      "{reason}").format(path=path,
                                                         reason=exc.strerror or exc))
            return False
        self._show_notice(self.tr("Exported to {name}.").format(name=path.name))
        return True

    # -- internals ---------------------------------------------------------------------------
    def _select_current(self) -> None:
        selection = self.list_view.selectionModel()
        row = self.model.row_of(self._current)
        if row < 0:
            selection.clearSelection()
            return
        index = self.model.index(row)
        selection.setCurrentIndex(index, selection.SelectionFlag.ClearAndSelect)

    def _update_empty_label(self) -> None:
        empty = self.model.rowCount() == 0
        if self.search_box.text().strip():
            self.empty_label.setText(self.tr("No conversation contains these words."))
        else:
            self.empty_label.setText(self.tr("No conversations yet. What you write is saved "
                                             "here, on this computer only."))
        self.empty_label.setVisible(empty)
        self.list_view.setVisible(not empty)

    def _show_notice(self, text: str, undo: bool = False) -> None:
        self.toast_label.setText(text)
        self.undo_button.setVisible(undo)
        self.toast.show()
        self._toast_timer.start((UNDO_SECONDS if undo else NOTICE_SECONDS) * 1000)

    def _conversation_at(self, index: QModelIndex) -> int | None:
        value = index.data(ConversationListModel.IdRole) if index.isValid() else None
        return int(value) if value is not None else None

    def showEvent(self, event: QShowEvent) -> None:
        yield_to_window_shortcuts(self)
        super().showEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        # A hairline on the side that meets the chat.
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawLine(self.width() - 1, 0, self.width() - 1, self.height())

    def sizeHint(self) -> QSize:
        return QSize(264, 480)

    # -- slots -------------------------------------------------------------------------------
    @Slot(QModelIndex)
    def _on_list_view_clicked(self, index: QModelIndex) -> None:
        conversation_id = self._conversation_at(index)
        if conversation_id is None or conversation_id == self._current:
            return
        self._current = conversation_id
        self.conversation_selected.emit(conversation_id)

    @Slot(QPoint)
    def _on_list_view_custom_context_menu_requested(self, pos: QPoint) -> None:
        index = self.list_view.indexAt(pos)
        if not index.isValid():
            index = self.list_view.currentIndex()
            pos = self.list_view.visualRect(index).center()
        conversation_id = self._conversation_at(index)
        if conversation_id is None:
            return
        menu = self.context_menu(conversation_id)
        menu.exec(self.list_view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    @Slot()
    def _on_delete_shortcut_activated(self) -> None:
        conversation_id = self._conversation_at(self.list_view.currentIndex())
        if conversation_id is not None:
            self.delete_conversation(conversation_id)

    @Slot(int, str)
    def _on_model_title_edited(self, conversation_id: int, title: str) -> None:
        try:
            self._store.rename(conversation_id, title)
        except StorageError as exc:
            self._show_notice(exc.user_message)
        self._refresh_pending = True

    @Slot(QWidget, QStyledItemDelegate.EndEditHint)
    def _on_delegate_close_editor(self, _editor: QWidget,
                                  _hint: QStyledItemDelegate.EndEditHint) -> None:
        # The view leaves its editing state after this signal: refresh once it has.
        QTimer.singleShot(0, self._on_rename_finished)

    @Slot()
    def _on_rename_finished(self) -> None:
        if self._refresh_pending:
            self.refresh()
        else:
            self._select_current()

    @Slot(str)
    def _on_search_box_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    @Slot()
    def _on_search_box_return_pressed(self) -> None:
        self._search_timer.stop()
        self.refresh()
        # Enter in the search box opens the best match.
        ids = self.model.conversation_ids()
        if ids and self.search_box.text().strip():
            self._on_list_view_clicked(self.model.index(self.model.row_of(ids[0])))

    @Slot(bool)
    def _on_export_thinking_toggled(self, checked: bool) -> None:
        self.export_thinking = checked


def connect_sidebar(sidebar: HistorySidebar, chat: ChatPane) -> None:
    """Wire the sidebar and the chat pane both ways: picking a conversation shows it, New chat
    starts one, and the list follows what the chat saves and shows."""
    sidebar.conversation_selected.connect(chat.load_conversation)
    sidebar.new_chat_requested.connect(chat.new_chat)
    chat.conversation_changed.connect(sidebar.set_current_conversation)
