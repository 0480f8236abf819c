"""The chat pane: the conversation, the input box, Send/Stop, Regenerate and a status line.

With a `Store`, every conversation is saved as it happens: the first message creates it, with a
snapshot of the settings it is held with; each reply is written while it streams (`begin_reply`
before the request, `append_reply` per batch of text, `finish_reply` or `fail_reply` at the end),
so a crash loses at most about a second of text. `load_conversation` shows a saved conversation
and goes on with it: replies carry the exact token ids the model generated, so the engine reuses
its cache instead of re-reading the conversation. Edits and regenerations add versions
(branches) instead of overwriting; a "< 2/3 >" switcher under a message flips between them.

A failed save (a full disk) is said above the conversation and never stops a reply or takes
text off the screen. Without a store the pane keeps its conversation in memory only.

With a `DocumentService` (`set_documents`), files dropped on the chat, attached with the Attach
button or pasted as paths are read in the background and shown as chips above the input; the
first one creates the conversation, which owns them. A question then goes with
`documents=DocumentQuery`; the excerpts the worker finds (`context_built`) are saved with the
question, so later turns send the model the same prompt, and the reply lists its sources. Send
waits while a document of the chat is still being read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QMimeData,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import (
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    with_context,
)
from app.core.documents.answer import DocumentContext, Source
from app.core.documents.context import DocumentQuery
from app.core.documents.extract import SUPPORTED_SUFFIXES
from app.core.documents.index import Collection
from app.core.errors import StorageError
from app.core.store import Conversation, ConversationSettings, Message, Store
from app.ui.conversation_settings import ConversationSettingsDialog
from app.ui.document_chips import (
    AttachButton,
    DocumentChipRow,
    DropOverlay,
    local_paths,
    open_document,
)
from app.ui.i18n import Retranslating
from app.ui.message_widget import MessageWidget
from app.workers.documents import DocumentItem, DocumentService
from app.workers.generation import GenerationService, ModelStatus

log = logging.getLogger(__name__)

STICKY_BOTTOM_PX = 24
"""Follow new text only while the user is this close to the bottom; otherwise leave them be."""

TITLE_PROMPT = (
    "Write a title of at most six words for this conversation, in the language of the "
    "question. Reply with the title only.\n\nQuestion: {question}\n\nAnswer: {answer}")
"""Asked of the model after a new conversation's first exchange (see ChatPane._start_title)."""


def clean_title(text: str, limit: int = 60) -> str:
    """A model's title reply as a title: its first line, without quotes, labels or Markdown."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = re.sub(r"^(title|タイトル)\s*[:\uff1a]\s*", "", line, flags=re.IGNORECASE)
    quotes = " #*_`\"'「」『』"
    line = line.strip(quotes).rstrip(".。").strip(quotes)
    return line[:limit].rstrip()

REASONING_EFFORTS = (("low", QT_TRANSLATE_NOOP("ChatPane", "Low")),
                     ("medium", QT_TRANSLATE_NOOP("ChatPane", "Medium")),
                     ("high", QT_TRANSLATE_NOOP("ChatPane", "High")))
"""gpt-oss reasoning efforts: the value sent, and the label (translated where it is shown)."""
DEFAULT_REASONING_EFFORT = "medium"

_OWN_KEY = "hearthOwnKey"
"""Dynamic property of the shortcuts made by `add_shortcut`: the key they want."""


def add_shortcut(owner: QWidget, key: QKeySequence | str, slot: Callable[[], Any],
                 context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QShortcut:
    """A keyboard shortcut that belongs to `owner` and gives way to its window's own.

    Two live QShortcuts for one key are ambiguous in Qt, and then neither fires. A window that
    binds a key itself (MainWindow binds Esc, Ctrl+N and Ctrl+L) therefore keeps it: owners call
    `yield_to_window_shortcuts` when shown, which switches theirs off for such keys.
    """
    sequence = QKeySequence(key)
    shortcut = QShortcut(sequence, owner)
    shortcut.setContext(context)
    shortcut.setProperty(_OWN_KEY, sequence.toString())
    shortcut.activated.connect(slot)
    return shortcut


def yield_to_window_shortcuts(owner: QWidget) -> None:
    """Switch off `owner`'s shortcuts (`add_shortcut`) whose key another shortcut of its window
    binds, and back on where none does any more."""
    window = owner.window()
    theirs = {s.key().toString() for s in window.findChildren(QShortcut)
              if s.property(_OWN_KEY) is None and not s.key().isEmpty()}
    for shortcut in owner.findChildren(QShortcut,
                                       options=Qt.FindChildOption.FindDirectChildrenOnly):
        own = shortcut.property(_OWN_KEY)
        if isinstance(own, str):
            shortcut.setKey(QKeySequence() if own in theirs else QKeySequence(own))


class _InputBox(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter starts a new line. Once the chat takes
    documents (`accepts_paths`), files pasted into it are attached rather than pasted as
    their paths, and files dragged onto it go to the chat under it.

    Signals:
        submitted()
        paths_pasted(list): the local paths pasted
    """

    submitted = Signal()
    paths_pasted = Signal(list)
    accepts_paths = False

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        if self.accepts_paths and local_paths(source):
            return False  # a drop of files: the chat pane attaches them
        return super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        paths = local_paths(source) if self.accepts_paths else []
        if paths:
            self.paths_pasted.emit(paths)
            return
        super().insertFromMimeData(source)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def _sources(data: Sequence[dict[str, Any]]) -> list[Source]:
    """A saved message's sources (entries that no longer parse are left out)."""
    out = []
    for item in data:
        try:
            out.append(Source.from_dict(item))
        except (KeyError, TypeError, ValueError):
            log.warning("a saved source could not be read: %r", item)
    return out


def _file_filter() -> str:
    """The file dialog's filter: every kind of document Hearth reads."""
    patterns = " ".join(f"*{suffix}" for suffix in SUPPORTED_SUFFIXES)
    documents = QCoreApplication.translate("ChatPane", "Documents")
    everything = QCoreApplication.translate("ChatPane", "All files")
    return f"{documents} ({patterns});;{everything} (*)"


def _is_empty_reply(message: Message) -> bool:
    """A reply that ended before it wrote anything (stopped at once, failed at the start):
    not worth showing, nor counting as a version."""
    return (message.role == "assistant" and message.status != "complete"
            and not message.content.strip() and not message.reasoning.strip())


class ChatPane(Retranslating, QWidget):
    """One conversation with the loaded model.

    Each message is a `MessageWidget` that also records what the model is sent next turn
    (assistant replies with their exact token ids, so the engine can reuse its cache, and their
    reasoning apart from the answer) and, with a store, the message's id there. `options` holds
    the sampling settings; each request gets them with this conversation's reasoning effort
    (gpt-oss) and the date it began, which stays fixed so the prompt's prefix, and the model's
    cache, stay valid past midnight. For the same reason a conversation keeps the system prompt
    it began with; `set_system_prompt` changes it for new conversations.

    Signals:
        open_model_requested()
        error_occurred(str): a message for the error presenter
        conversation_changed(int): the conversation shown was saved (created, a message or a
            reply written) or another one is shown: its id; 0 for a new chat not saved yet
    """

    open_model_requested = Signal()
    error_occurred = Signal(str)
    conversation_changed = Signal(int)

    def __init__(self, service: GenerationService, store: Store | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._store = store
        self._widgets: list[MessageWidget] = []
        self._streaming: MessageWidget | None = None
        self._request_id: int | None = None
        # Request id -> stored reply id until the reply ends; kept for replies the pane no
        # longer shows (New chat mid-reply), whose rows must still be finished.
        self._saving: dict[int, int] = {}
        # Naming a new conversation with the model: (request id, conversation id, auto title).
        self._title_job: tuple[int, int, str] | None = None
        self._untitled: tuple[int, str, str] | None = None  # (conversation, auto title, question)
        self._pending_action: Callable[[], None] | None = None
        self._save_failed: set[int] = set()  # stored replies whose streaming save failed
        self._conversation_id: int | None = None
        self._saved_settings: ConversationSettings | None = None
        self._saved_model = ""
        self._default_system_prompt = ""
        self._system_prompt = ""
        self._conversation_date = ""  # set by the first request of a conversation
        self.options = GenerationOptions()
        """The defaults (from the settings) for conversations that have no settings of their own."""
        self._conversation_options: GenerationOptions | None = None
        self._models_pane = False  # the empty state's button opens a folder, or the Models pane
        self._documents: DocumentService | None = None
        self._waiting_for_documents = False  # Send pressed while a document is being read
        # Request id -> (user message id, its text, its widget, the reply's widget) until the
        # worker reports the document excerpts it sent with the question.
        self._context_targets: dict[int, tuple[int | None, str, MessageWidget,
                                               MessageWidget]] = {}
        self._build()
        self._add_shortcuts()
        self.retranslate()
        service.model_loading.connect(self._on_service_model_loading)
        service.model_loaded.connect(self._on_service_model_loaded)
        service.model_load_failed.connect(self._on_service_model_load_failed)
        service.model_unloaded.connect(self._on_service_model_unloaded)
        service.text_generated.connect(self._on_service_text_generated)
        service.finished.connect(self._on_service_finished)
        service.failed.connect(self._on_service_failed)
        service.background_finished.connect(self._on_service_background_finished)
        service.context_built.connect(self._on_service_context_built)
        service.busy_changed.connect(self._update_controls)
        if service.model is not None:  # a pane made after the model was loaded
            self._on_service_model_loaded(service.model)
        self._update_controls()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        self._banner = QLabel()
        self._banner.setObjectName("errorBanner")
        self._banner.setWordWrap(True)
        self._banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._banner.hide()
        layout.addWidget(self._banner)

        self._stack = QStackedWidget()
        layout.addWidget(self._stack, 1)
        self._stack.addWidget(self._build_empty_state())

        self._scroll = QScrollArea()
        self._scroll.setObjectName("conversation")
        self._scroll.setWidgetResizable(True)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always on: a scroll bar that comes and goes makes the layout probe every message at a
        # second width while a reply streams, re-laying out the text for nothing.
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        container = QWidget()
        container.setObjectName("conversationContent")
        self._list = QVBoxLayout(container)
        self._list.setContentsMargins(24, 16, 24, 16)
        self._list.setSpacing(12)
        self._list.addStretch(1)
        self._scroll.setWidget(container)
        self._stick_to_bottom = True
        bar = self._scroll.verticalScrollBar()
        bar.rangeChanged.connect(self._on_scrollbar_range_changed)
        bar.valueChanged.connect(self._on_scrollbar_value_changed)
        self._stack.addWidget(self._scroll)

        self._jump = QPushButton(self._scroll)
        self._jump.setObjectName("jumpButton")
        self._jump.hide()
        self._jump.clicked.connect(self.scroll_to_bottom)

        composer = QFrame()
        composer.setObjectName("composer")
        column = QVBoxLayout(composer)
        column.setContentsMargins(16, 10, 16, 10)
        column.setSpacing(8)
        # The chat's documents, across the composer above the message box and its buttons.
        self.document_chips = DocumentChipRow()
        self.document_chips.open_requested.connect(self._on_document_chips_open_requested)
        self.document_chips.remove_requested.connect(self._on_document_chips_remove_requested)
        self.document_chips.library_remove_requested.connect(
            self._on_document_chips_library_remove_requested)
        self.document_chips.stop_requested.connect(self._on_document_chips_stop_requested)
        column.addWidget(self.document_chips)
        row = QHBoxLayout()
        column.addLayout(row)
        editor = QVBoxLayout()
        editor.setSpacing(6)
        input_row = QHBoxLayout()
        input_row.setSpacing(6)
        self.attach_button = AttachButton(self._libraries)
        self.attach_button.files_requested.connect(self.choose_files)
        self.attach_button.folder_requested.connect(self.choose_folder)
        self.attach_button.library_requested.connect(self.attach_library)
        self.attach_button.save_library_requested.connect(self.save_library)
        self.attach_button.hide()  # until the pane has a document service
        input_row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignTop)
        self.input = _InputBox()
        self.input.setObjectName("messageInput")
        self.input.setTabChangesFocus(True)
        self.input.setFixedHeight(72)
        self.input.submitted.connect(self.send_or_stop)
        self.input.textChanged.connect(self._update_controls)
        self.input.paths_pasted.connect(self.attach_paths)
        input_row.addWidget(self.input, 1)
        editor.addLayout(input_row)
        editor.addWidget(self._build_effort_row())
        row.addLayout(editor, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton()
        self.send_button.setObjectName("primaryButton")
        self.send_button.clicked.connect(self.send_or_stop)
        buttons.addWidget(self.send_button)
        self.new_chat_button = QPushButton()
        self.new_chat_button.clicked.connect(self.new_chat)
        buttons.addWidget(self.new_chat_button)
        self.chat_settings_button = QPushButton()
        self.chat_settings_button.setObjectName("flatButton")
        self.chat_settings_button.clicked.connect(self.edit_conversation_settings)
        buttons.addWidget(self.chat_settings_button)
        row.addLayout(buttons)
        layout.addWidget(composer)

        self.status = QLabel()
        self.status.setObjectName("statusLine")
        layout.addWidget(self.status)

        self._drop_overlay = DropOverlay(self)

    def _build_effort_row(self) -> QWidget:
        # Shown only for models whose prompt takes an effort (gpt-oss: reply_format "harmony").
        self._effort_row = QWidget()
        self._effort_row.setObjectName("effortRow")
        line = QHBoxLayout(self._effort_row)
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(6)
        self._effort_label = QLabel()
        self._effort_label.setObjectName("effortLabel")
        line.addWidget(self._effort_label)
        self.effort_combo = QComboBox()
        self.effort_combo.setObjectName("effortCombo")
        for key, text in REASONING_EFFORTS:
            self.effort_combo.addItem(str(text), key)
        self._effort_label.setBuddy(self.effort_combo)
        self.effort_combo.setCurrentIndex(self.effort_combo.findData(DEFAULT_REASONING_EFFORT))
        line.addWidget(self.effort_combo)
        line.addStretch(1)
        self._effort_row.hide()
        return self._effort_row

    def _build_empty_state(self) -> QWidget:
        page = QWidget()
        page.setObjectName("emptyState")
        box = QVBoxLayout(page)
        box.addStretch(1)
        self._empty_title = QLabel()
        self._empty_title.setObjectName("emptyTitle")
        self._empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self._empty_title)
        self._empty_text = QLabel()
        self._empty_text.setObjectName("emptyText")
        self._empty_text.setWordWrap(True)
        self._empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self._empty_text)
        self.open_model_button = QPushButton()
        self.open_model_button.setObjectName("primaryButton")
        self.open_model_button.clicked.connect(self.open_model_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_model_button)
        row.addStretch(1)
        box.addLayout(row)
        box.addStretch(2)
        return page

    def _add_shortcuts(self) -> None:
        # MainWindow binds these keys too (and also switches to the chat page); while it does,
        # the pane's give way to its (see add_shortcut).
        add_shortcut(self, "Ctrl+N", self.new_chat)
        add_shortcut(self, "Ctrl+L", self.focus_input)
        add_shortcut(self, QKeySequence(Qt.Key.Key_Escape), self.stop,
                     Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # -- texts -------------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Set the pane's own texts in the current language (messages do theirs)."""
        self._jump.setText(self.tr("Jump to latest"))
        self.input.setPlaceholderText(self.tr("Message the model (Enter to send, Shift+Enter "
                                              "for a new line)"))
        self.input.setAccessibleName(self.tr("Message"))
        self.send_button.setAccessibleName(self.tr("Send or stop"))
        self.new_chat_button.setText(self.tr("New chat"))
        self.new_chat_button.setAccessibleName(self.tr("New chat"))
        self.new_chat_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.chat_settings_button.setText(self.tr("Chat settings..."))
        self.chat_settings_button.setAccessibleName(self.tr("Settings of this conversation"))
        self.chat_settings_button.setToolTip(self.tr(
            "Instructions, temperature and reply length for this conversation only"))
        self.status.setAccessibleName(self.tr("Status"))
        tip = self.tr("How long the model thinks before it answers. More effort means longer "
                      "thinking and usually better answers to hard questions; less is faster.")
        self._effort_label.setText(self.tr("Reasoning effort"))
        self._effort_label.setToolTip(tip)
        self.effort_combo.setAccessibleName(self.tr("Reasoning effort"))
        self.effort_combo.setToolTip(tip)
        for i, (_key, text) in enumerate(REASONING_EFFORTS):
            self.effort_combo.setItemText(i, self.tr(str(text)))
        self._empty_title.setText(self.tr("Welcome to Hearth"))
        if self._models_pane:
            self._empty_text.setText(self.tr(
                "Chat with language models on this computer: nothing leaves it.\n"
                "To start, get a model: Models recommends one that suits this PC."))
            self.open_model_button.setText(self.tr("Get a model..."))
            self.open_model_button.setAccessibleName(self.tr("Show the models"))
        else:
            self._empty_text.setText(self.tr(
                "Chat with language models on this computer: nothing leaves it.\n"
                "To start, open a model folder (an ONNX Runtime GenAI model, the folder that "
                "holds genai_config.json)."))
            self.open_model_button.setText(self.tr("Open model folder..."))
            self.open_model_button.setAccessibleName(self.tr("Open model folder"))
        if self._service.model is None and not self._service.busy:
            self._set_status(self.tr("No model loaded"))
        self._update_controls()

    # -- public ----------------------------------------------------------------------------------
    def point_to_models_pane(self) -> None:
        """Make the empty state's button lead to the Models pane (`open_model_requested`)."""
        self._models_pane = True
        self.retranslate()

    @property
    def messages(self) -> tuple[ChatMessage, ...]:
        """The conversation as the model gets it next turn (without the reply being streamed,
        failed replies or the system prompt)."""
        return tuple(w.chat_message for w in self._widgets if w.chat_message is not None)

    @property
    def message_widgets(self) -> tuple[MessageWidget, ...]:
        """The message widgets, oldest first."""
        return tuple(self._widgets)

    @property
    def conversation_id(self) -> int | None:
        """The saved conversation shown, or None (no store, or nothing sent yet)."""
        return self._conversation_id

    @property
    def store(self) -> Store | None:
        """Where conversations are saved (None: in memory only)."""
        return self._store

    @property
    def reasoning_effort(self) -> str:
        """This conversation's reasoning effort: low, medium or high (gpt-oss only)."""
        return str(self.effort_combo.currentData())

    @property
    def effort_available(self) -> bool:
        """Whether the loaded model takes a reasoning effort (the control is offered)."""
        return not self._effort_row.isHidden()

    def set_system_prompt(self, text: str) -> None:
        """Instructions for new conversations, and for this one while nothing is sent yet.

        A conversation keeps the prompt it began with: it opens every prompt, so changing it
        midway would make the model re-read the whole conversation.
        """
        self._default_system_prompt = text
        if not self._widgets:
            self._system_prompt = text

    @Slot()
    def send_or_stop(self) -> None:
        """Send the typed message, or stop the reply that is streaming."""
        if self._request_id is not None:
            self.stop()
            return
        text = self.input.toPlainText().strip()
        if text and self._defer_until_free(self.send_or_stop):
            return
        if not text or self._service.model is None or self._service.busy:
            return
        if self._documents_reading():
            # Answering now would leave the document out: send once it has been read.
            self._waiting_for_documents = True
            self._set_status(self.tr("Your message will be sent when the documents have been "
                                     "read."))
            self._update_controls()
            return
        self._waiting_for_documents = False
        self.input.clear()
        self._banner.hide()
        parent = self._last_message_id()
        widget = self._add_user_widget(text)
        self._save_user_message(widget, parent)
        self._start_reply()

    @Slot()
    def stop(self) -> None:
        """Stop the streaming reply (any number of presses)."""
        self._service.stop()

    @Slot()
    def regenerate(self) -> None:
        """Write the last reply again. With a store the old one stays as another version."""
        if self._defer_until_free(self.regenerate):
            return
        if not self._can_reply() or not self._widgets or self._widgets[-1].role != "assistant":
            return
        widget = self._widgets.pop()
        widget.deleteLater()
        self._banner.hide()
        self._start_reply()

    @Slot()
    def continue_reply(self) -> None:
        """Go on with a reply that was cut off (Hearth was closed or killed mid-reply).

        The model is fed the cut-off text as the start of its reply and writes the rest; the
        whole reply is saved as a new version, so the cut-off one stays reachable.
        """
        if self._defer_until_free(self.continue_reply):
            return
        if not self._can_reply() or not self._widgets or self._widgets[-1].role != "assistant":
            return
        cut = self._widgets[-1].chat_message
        if cut is None or not (cut.content or cut.reasoning):
            self.regenerate()
            return
        widget = self._widgets.pop()
        widget.deleteLater()
        self._banner.hide()
        self._start_reply(continue_from=ChatMessage("assistant", cut.content,
                                                    reasoning=cut.reasoning))

    @Slot()
    def new_chat(self) -> None:
        """Start an empty conversation (stopping a reply in progress)."""
        self._close_conversation()
        self._system_prompt = self._default_system_prompt
        self._conversation_options = None
        # A new conversation starts from the defaults in the settings.
        effort = self.effort_combo.findData(self.options.reasoning_effort)
        self.effort_combo.setCurrentIndex(
            effort if effort >= 0 else self.effort_combo.findData(DEFAULT_REASONING_EFFORT))
        self._refresh_documents()
        self._update_controls()
        self.conversation_changed.emit(0)

    @Slot(int)
    def load_conversation(self, conversation_id: int) -> None:
        """Show a saved conversation and go on with it where it ended.

        Its system prompt, reasoning effort and date come back with it, and the replies their
        token ids, so the next turn reuses the model's cache when the same model is loaded.
        """
        if self._store is None:
            return
        if conversation_id == self._conversation_id and self._request_id is not None:
            return  # it is on screen, with a reply streaming into it
        try:
            conv = self._store.get_conversation(conversation_id)
            path = self._store.path(conversation_id)
        except StorageError as exc:
            log.warning("conversation %d not opened: %s (%s)", conversation_id, exc,
                        exc.detail)
            self.show_error(self.tr("This conversation could not be opened. {reason}").format(
                reason=exc.user_message))
            return
        self._close_conversation()
        self._conversation_id = conv.id
        self._saved_settings = conv.settings
        self._saved_model = conv.model_name
        self._system_prompt = conv.settings.system_prompt
        self._conversation_date = conv.settings.conversation_date
        self._conversation_options = conv.settings.to_options()
        index = self.effort_combo.findData(conv.settings.reasoning_effort)
        if index >= 0:
            self.effort_combo.setCurrentIndex(index)
        self._render_path(conv, path)
        self._stack.setCurrentWidget(self._scroll)
        self._refresh_documents()
        self._update_controls()
        self.conversation_changed.emit(conv.id)

    @Slot()
    def focus_input(self) -> None:
        """Put the keyboard focus in the message box."""
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    @Slot()
    def scroll_to_bottom(self) -> None:
        """Show the newest text and follow it again."""
        self._stick_to_bottom = True
        bar = self._scroll.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._jump.hide()

    def show_error(self, message: str) -> None:
        """Show an actionable error above the conversation."""
        self._banner.setText(message)
        self._banner.show()

    # -- documents ---------------------------------------------------------------------------------
    def set_documents(self, documents: DocumentService) -> None:
        """Take documents: drops, the Attach button and pasted paths attach files to the chat,
        and questions are answered from them."""
        self._documents = documents
        documents.document_added.connect(self._on_documents_document_changed)
        documents.document_state_changed.connect(self._on_documents_document_changed)
        documents.document_removed.connect(self._on_documents_document_removed)
        documents.indexing_finished.connect(self._on_documents_indexing_finished)
        documents.collections_changed.connect(self._on_documents_collections_changed)
        documents.error_occurred.connect(self.show_error)
        self.setAcceptDrops(True)
        self.input.accepts_paths = True
        self.attach_button.show()
        self._refresh_documents()

    @property
    def documents(self) -> DocumentService | None:
        """The document service, if the pane takes documents."""
        return self._documents

    @Slot(list)
    def attach_paths(self, paths: Sequence[str]) -> bool:
        """Read files (and the files in folders) for this conversation, creating it if the
        chat is new. False when the chat takes no documents."""
        if self._documents is None or not paths:
            return False
        cid = self._ensure_conversation()
        if cid is None:
            return False
        self._banner.hide()
        self._documents.add_paths(cid, paths)
        return True

    @Slot()
    def choose_files(self) -> None:
        """Ask for files to attach."""
        paths, _filter = QFileDialog.getOpenFileNames(
            self, self.tr("Attach documents"), "", _file_filter())
        if paths:
            self.attach_paths(paths)

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder whose documents to attach."""
        folder = QFileDialog.getExistingDirectory(self, self.tr("Attach a folder"))
        if folder:
            self.attach_paths([folder])

    @Slot(int)
    def attach_library(self, collection_id: int) -> None:
        """Attach a saved library to this conversation."""
        if self._documents is None:
            return
        cid = self._ensure_conversation()
        if cid is not None:
            self._documents.attach_collection(cid, collection_id)

    @Slot()
    def save_library(self) -> None:
        """Save this conversation's documents as a library, under a name the user gives."""
        if self._documents is None or self._conversation_id is None:
            return
        name, ok = QInputDialog.getText(
            self, self.tr("Save as a library"),
            self.tr("A library can be attached to other chats. Name:"))
        if ok and name.strip():
            self.save_library_as(name)

    def save_library_as(self, name: str) -> bool:
        """Save this conversation's readable documents as the library `name`."""
        if self._documents is None or self._conversation_id is None:
            return False
        library = self._documents.save_collection(self._conversation_id, name)
        if library is None:
            return False
        self._set_status(self.tr("Saved {n} documents as the library “{name}”.").format(
            n=library.document_count, name=library.name))
        return True

    def _libraries(self) -> list[Collection]:
        return self._documents.collections() if self._documents is not None else []

    def _ensure_conversation(self) -> int | None:
        """The conversation shown, created now if the chat is new: documents need an owner."""
        if self._conversation_id is not None:
            return self._conversation_id
        if self._store is None:
            self.show_error(self.tr("Documents cannot be attached: the conversation history "
                                    "could not be opened."))
            return None
        model = self._service.model
        conv = self._save(self._store.create_conversation,
                          model_name=model.name if model else "",
                          model_path=model.path if model else "",
                          settings=self._settings_snapshot(self._request_options()))
        if conv is None:
            return None
        self._conversation_id = conv.id
        self._saved_settings = conv.settings
        self._saved_model = conv.model_name
        self._conversation_date = conv.settings.conversation_date
        self.conversation_changed.emit(conv.id)
        return conv.id

    def _refresh_documents(self) -> None:
        """Show the chips of the conversation shown."""
        documents, cid = self._documents, self._conversation_id
        if documents is None or cid is None:
            self.document_chips.set_contents([])
        else:
            self.document_chips.set_contents(documents.items(cid),
                                             documents.conversation_collections(cid))
        self._update_attach_menu()

    def _update_attach_menu(self) -> None:
        self.attach_button.can_save = any(
            item.state == "indexed" for item in self.document_chips.items())

    def _documents_reading(self) -> bool:
        documents, cid = self._documents, self._conversation_id
        return documents is not None and cid is not None and documents.is_busy(cid)

    def _document_query(self) -> DocumentQuery | None:
        """The DocumentQuery for the next question, or None when the chat has no documents."""
        documents, cid = self._documents, self._conversation_id
        if documents is None or cid is None or not documents.has_documents(cid):
            return None
        return documents.query(cid)

    def _open_document(self, path: str, page: int = 0) -> None:
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        if open_document(path):
            self._set_status(self.tr("Opened {name} (the passage is on page {page}).").format(
                name=name, page=page) if page else self.tr("Opened {name}.").format(name=name))
        else:
            self.show_error(self.tr("{name} could not be opened: it is no longer at {path}, or "
                                    "no program on this computer opens it.").format(
                name=name, path=path))

    @Slot(str)
    def _on_document_chips_open_requested(self, path: str) -> None:
        self._open_document(path)

    @Slot(str)
    def _on_document_chips_remove_requested(self, path: str) -> None:
        if self._documents is not None and self._conversation_id is not None:
            self._documents.detach(self._conversation_id, path)

    @Slot(int)
    def _on_document_chips_library_remove_requested(self, collection_id: int) -> None:
        if self._documents is not None and self._conversation_id is not None:
            self._documents.detach_collection(self._conversation_id, collection_id)

    @Slot()
    def _on_document_chips_stop_requested(self) -> None:
        if self._documents is not None and self._conversation_id is not None:
            self._documents.cancel_all(self._conversation_id)

    @Slot(object, int)
    def _on_message_source_activated(self, source: Source, page: int) -> None:
        self._open_document(source.path, page)

    @Slot(int, object)
    def _on_documents_document_changed(self, cid: int, item: DocumentItem) -> None:
        if cid == self._conversation_id:
            self.document_chips.update_item(item)
            self._update_attach_menu()

    @Slot(int, str)
    def _on_documents_document_removed(self, cid: int, path: str) -> None:
        if cid == self._conversation_id:
            self.document_chips.remove_item(path)
            self._update_attach_menu()

    @Slot(int)
    def _on_documents_collections_changed(self, cid: int) -> None:
        if cid in (0, self._conversation_id):
            self._refresh_documents()

    @Slot(int)
    def _on_documents_indexing_finished(self, cid: int) -> None:
        if cid != self._conversation_id or not self._waiting_for_documents:
            return
        self._waiting_for_documents = False
        self._update_controls()
        self.send_or_stop()

    @Slot(int, object)
    def _kept_sources(self, asked: MessageWidget | None) -> list[Source] | None:
        """The sources saved with an already-answered question, None if it has no excerpts."""
        if asked is None or asked.message_id is None or self._store is None:
            return None
        saved = self._save(self._store.get_message, asked.message_id)
        if saved is None or not saved.context:
            return None
        return _sources(saved.sources)

    def _on_service_context_built(self, rid: int, context: DocumentContext) -> None:
        """Save the excerpts with the question, so later turns send the same prompt, and give
        the reply its sources."""
        target = self._context_targets.pop(rid, None)
        if target is None:
            return
        message_id, question, asked, reply = target
        if self._store is not None and message_id is not None:
            self._save(self._store.set_context, message_id, context.text,
                       [source.as_dict() for source in context.sources])
        if asked in self._widgets:
            asked.chat_message = ChatMessage("user", with_context(context.text, question))
        if reply in self._widgets:
            reply.set_sources(context.sources)

    # -- dropping files ----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._documents is not None and local_paths(event.mimeData()):
            event.acceptProposedAction()
            self._drop_overlay.cover()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._documents is not None and local_paths(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._drop_overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drop_overlay.hide()
        paths = local_paths(event.mimeData()) if self._documents is not None else []
        if not paths:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.attach_paths(paths)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._drop_overlay.isVisible():
            self._drop_overlay.cover()

    # -- saving ------------------------------------------------------------------------------------
    def _save[**P, T](self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """Run a store call; a StorageError is said to the user and gives None."""
        try:
            return call(*args, **kwargs)
        except StorageError as exc:
            self._show_storage_error(exc)
            return None

    def _show_storage_error(self, exc: StorageError) -> None:
        log.warning("conversation not saved: %s (%s)", exc, exc.detail)
        self.show_error(self.tr(
            "This conversation could not be saved. {reason} What is on screen stays; Hearth "
            "tries again as the conversation goes on.").format(reason=exc.user_message))

    def _settings_snapshot(self, options: GenerationOptions) -> ConversationSettings:
        return ConversationSettings.from_options(options, self._system_prompt)

    def _save_user_message(self, widget: MessageWidget, parent: int | None,
                           edit_of: int | None = None) -> None:
        """Save a message just added (or an edit of `edit_of`), creating the conversation with
        the first one."""
        store, message = self._store, widget.chat_message
        if store is None or message is None:
            return
        model = self._service.model
        if self._conversation_id is None:
            conv = self._save(
                store.create_conversation, model_name=model.name if model else "",
                model_path=model.path if model else "",
                settings=self._settings_snapshot(self._request_options()),
                first_message=message.content)
            if conv is None:
                return
            self._conversation_id = conv.id
            self._saved_settings = conv.settings
            self._saved_model = conv.model_name
            self._conversation_date = conv.settings.conversation_date
            widget.message_id = conv.active_leaf_id
            self._untitled = (conv.id, conv.title, message.content)
        elif edit_of is not None:
            edited = self._save(store.edit_message, edit_of, message.content)
            widget.message_id = edited.id if edited else None
        else:
            added = self._save(store.add_message, self._conversation_id, "user",
                               message.content, parent_id="leaf" if parent is None else parent)
            widget.message_id = added.id if added else None
            if added is not None and self._widgets == [widget]:
                # The first question of a conversation that documents created: the store
                # titled it with the question's words; the model may name it better.
                conv = self._save(store.get_conversation, self._conversation_id)
                if conv is not None:
                    self._untitled = (conv.id, conv.title, message.content)
        if widget.message_id is not None:
            self.conversation_changed.emit(self._conversation_id)

    def _record_settings(self, options: GenerationOptions) -> None:
        """Keep the saved snapshot and model in step with what the next reply is held with."""
        store, cid = self._store, self._conversation_id
        if store is None or cid is None:
            return
        snapshot = self._settings_snapshot(options)
        if snapshot != self._saved_settings:
            try:
                store.set_settings(cid, snapshot)
                self._saved_settings = snapshot
            except StorageError as exc:
                self._show_storage_error(exc)
        model = self._service.model
        if model is not None and model.name != self._saved_model:
            try:
                store.set_model(cid, model.name, model.path)
                self._saved_model = model.name
            except StorageError as exc:
                self._show_storage_error(exc)

    def _versions(self, message_id: int) -> list[Message] | None:
        """The versions of a message the switcher counts: same role, leaving out replies that
        ended before they wrote anything."""
        if self._store is None:
            return None
        siblings = self._save(self._store.siblings, message_id)
        if not siblings:
            return None
        role = next(m.role for m in siblings if m.id == message_id)
        return [m for m in siblings
                if m.role == role and (m.id == message_id or not _is_empty_reply(m))]

    def _update_branch(self, widget: MessageWidget) -> None:
        if widget.message_id is None:
            return
        versions = self._versions(widget.message_id)
        if versions:
            ids = [m.id for m in versions]
            widget.set_branch(ids.index(widget.message_id) + 1, len(ids))

    # -- internals ---------------------------------------------------------------------------------
    def _conversation(self) -> tuple[ChatMessage, ...]:
        head = (ChatMessage("system", self._system_prompt),) if self._system_prompt else ()
        model = self._service.model
        current = model.name if model else ""
        body = []
        for widget in self._widgets:
            message = widget.chat_message
            if message is None:
                continue
            if message.token_ids is not None and widget.model_name != current:
                # Token ids are a model's own vocabulary: another model gets the text.
                message = replace(message, token_ids=None)
            body.append(message)
        return head + tuple(body)

    def _request_options(self) -> GenerationOptions:
        if not self._conversation_date:
            self._conversation_date = date.today().isoformat()
        return replace(self._conversation_options or self.options,
                       reasoning_effort=self.reasoning_effort,
                       conversation_date=self._conversation_date)

    @Slot()
    def edit_conversation_settings(self) -> None:
        """Edit this conversation's instructions and sampling (the defaults stay as they are)."""
        dialog = ConversationSettingsDialog(
            self._conversation_options or self.options, self._system_prompt,
            started=bool(self._widgets), parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.set_conversation_settings(dialog.options(), dialog.instructions())

    def set_conversation_settings(self, options: GenerationOptions, system_prompt: str) -> None:
        """Hold this conversation with `options` and instructions from now on, and save them."""
        self._conversation_options = options
        self._system_prompt = system_prompt
        if self._conversation_id is not None:
            self._record_settings(self._request_options())

    def _can_reply(self) -> bool:
        if self._request_id is not None or self._service.busy:
            return False
        if self._service.model is None:
            self.show_error(self.tr("Open a model to go on with this conversation."))
            return False
        return True

    def _last_message_id(self) -> int | None:
        return self._widgets[-1].message_id if self._widgets else None

    def _start_reply(self, continue_from: ChatMessage | None = None) -> None:
        model = self._service.model
        parent = self._last_message_id()
        options = self._request_options()
        messages = self._conversation()
        self._record_settings(options)
        widget = self._add_widget("assistant", model.name if model else None)
        widget.model_name = model.name if model else ""
        reply_id = None
        if self._store is not None and self._conversation_id is not None:
            reply_id = self._save(self._store.begin_reply, self._conversation_id,
                                  "leaf" if parent is None else parent,
                                  model_name=widget.model_name)
        widget.message_id = reply_id
        if continue_from is not None:
            # The new version starts with the cut-off text; the model writes the rest.
            if continue_from.reasoning:
                widget.append_reasoning(continue_from.reasoning)
            if continue_from.content:
                widget.append(continue_from.content)
            if reply_id is not None and self._store is not None:
                if continue_from.reasoning:
                    self._save(self._store.append_reply, reply_id, continue_from.reasoning, True)
                if continue_from.content:
                    self._save(self._store.append_reply, reply_id, continue_from.content, False)
        self._streaming = widget
        documents = self._document_query() if continue_from is None else None
        asked = next((w for w in reversed(self._widgets) if w.role == "user"), None)
        kept = self._kept_sources(asked) if documents is not None else None
        if kept is not None:
            # Regenerating: the question keeps the excerpts it was asked with (they are in
            # `messages` already), so every version of the reply cites the same sources and the
            # model's cache of the prompt stays valid.
            documents = None
            widget.set_sources(kept)
        if documents is not None and asked is not None and messages \
                and messages[-1].role == "user":
            # The question as typed: the worker puts the excerpts it finds now before it
            # (a regenerated reply must not get them twice).
            messages = (*messages[:-1], ChatMessage("user", asked.markdown()))
            self._request_id = self._service.send(messages, options, documents=documents)
            if self._request_id is not None:
                self._context_targets[self._request_id] = (
                    asked.message_id, asked.markdown(), asked, widget)
        else:
            self._request_id = self._service.send(messages, options,
                                                  continue_from=continue_from)
        if self._request_id is None:
            busy = self.tr("The model is busy; try again.")
            widget.finish(note=busy)
            self._streaming = None
            if self._store is not None and reply_id is not None:
                self._save(self._store.fail_reply, reply_id, busy)
        elif reply_id is not None:
            self._saving[self._request_id] = reply_id
        self.scroll_to_bottom()
        self._update_controls()

    def _add_user_widget(self, text: str) -> MessageWidget:
        widget = self._add_widget("user")
        widget.set_text(text)
        widget.chat_message = ChatMessage("user", text)
        return widget

    def _add_widget(self, role: str, title: str | None = None) -> MessageWidget:
        widget = MessageWidget(role, title)
        widget.regenerate_requested.connect(self.regenerate)
        widget.continue_requested.connect(self.continue_reply)
        widget.edit_submitted.connect(partial(self._on_message_edit_submitted, widget))
        widget.branch_switch_requested.connect(
            partial(self._on_message_branch_switch_requested, widget))
        widget.link_activated.connect(self._open_link)
        widget.source_activated.connect(self._on_message_source_activated)
        # Before the trailing stretch, which keeps short conversations at the top.
        self._list.insertWidget(self._list.count() - 1, widget)
        if role == "user":
            self._list.setAlignment(widget, Qt.AlignmentFlag.AlignRight)
        self._widgets.append(widget)
        for w in self._widgets:
            w.set_regenerate_visible(False)
        return widget

    def _clear_widgets(self) -> None:
        for widget in self._widgets:
            widget.deleteLater()
        self._widgets.clear()

    def _close_conversation(self) -> None:
        """Leave the conversation shown: stop its reply (its row is still finished when the
        reply ends) and clear the screen."""
        self.stop()
        self._request_id = None
        self._streaming = None
        self._clear_widgets()
        self._conversation_id = None
        self._saved_settings = None
        self._saved_model = ""
        self._conversation_date = ""
        self._waiting_for_documents = False
        self._banner.hide()

    def _render_path(self, conv: Conversation, path: list[Message],
                     focus_id: int | None = None) -> None:
        """Show a saved branch: answers, thinking folded, figures and notes; a reply cut off
        when Hearth stopped offers Continue and Regenerate if it is the last one."""
        self._clear_widgets()
        shown = [m for m in path
                 if m.role in ("user", "assistant") and not _is_empty_reply(m)]
        sources: list[Source] = []
        for n, message in enumerate(shown):
            if message.role == "user":
                widget = self._add_user_widget(message.content)
                # With the excerpts it was sent with: the next turn's prompt stays the same.
                widget.chat_message = message.as_chat_message()
                sources = _sources(message.sources)
            else:
                widget = self._add_saved_reply(conv, message, last=n == len(shown) - 1,
                                               sources=sources)
            widget.message_id = message.id
        for widget in self._widgets:
            self._update_branch(widget)
        self._update_regenerate()
        focus = next((w for w in self._widgets if w.message_id == focus_id), None)
        if focus is None:
            self.scroll_to_bottom()
        else:
            # Keep the switched message in view rather than jumping to the end.
            self._stick_to_bottom = False
            QTimer.singleShot(0, partial(self._scroll_to_message, focus_id))

    def _add_saved_reply(self, conv: Conversation, message: Message, last: bool,
                         sources: Sequence[Source] = ()) -> MessageWidget:
        figures = message.figures
        model_name = str(figures.get("model") or conv.model_name)
        widget = self._add_widget("assistant", model_name or None)
        widget.model_name = model_name
        widget.set_sources(sources)  # before the text: its citations are linked as it renders
        widget.set_text(message.content, message.reasoning)
        stats = ""
        if "generated_tokens" in figures:
            stats = self._stats_text(int(figures.get("generated_tokens") or 0),
                                     float(figures.get("tok_s") or 0.0),
                                     float(figures.get("ttft_ms") or 0.0))
        if message.status == "streaming":
            note = self.tr("This reply is still being written (by another Hearth window or "
                           "command).")
        else:
            note = self._finish_note(message.finish_reason,
                                     bool(figures.get("context_full")), message.error,
                                     int(figures.get("dropped_messages") or 0))
        widget.finish(stats, note, reasoning_ms=float(figures.get("reasoning_ms") or 0.0))
        if message.status == "error":
            widget.set_note(widget.note(), error=True)
        elif message.status == "interrupted":
            widget.set_interrupted(True, offer_resume=last)
        # As Store.history: failed and unfinished replies are not sent back to the model.
        if message.status not in ("error", "streaming"):
            widget.chat_message = message.as_chat_message()
        return widget

    def _scroll_to_message(self, message_id: int | None) -> None:
        widget = next((w for w in self._widgets if w.message_id == message_id), None)
        if widget is not None:
            self._scroll.ensureWidgetVisible(widget, 0, 48)

    def _update_regenerate(self) -> None:
        for w in self._widgets:
            w.set_regenerate_visible(False)
        if self._widgets and self._widgets[-1].role == "assistant" \
                and self._widgets[-1] is not self._streaming:
            self._widgets[-1].set_regenerate_visible(True)

    def _stats_text(self, tokens: int, tok_s: float, ttft_ms: float) -> str:
        return self.tr("{n} tokens · {tps:.1f} tok/s · first token {ttft:.0f} ms").format(
            n=tokens, tps=tok_s, ttft=ttft_ms)

    def _finish_note(self, reason: str, context_full: bool, error: str, dropped: int) -> str:
        """Why a reply ended, if that is worth a line under it."""
        note = ""
        if reason == "cancelled":
            note = self.tr("Stopped.")
        elif reason == "length":
            note = (self.tr("The context window is full; the reply was cut off.")
                    if context_full else self.tr("Reached the reply length limit."))
        elif error:
            note = error
        if dropped:
            note = (note + " " if note else "") + self.tr(
                "The {n} oldest messages no longer fit the context window and were left out."
            ).format(n=dropped)
        return note

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

    def _model_status(self) -> str:
        model = self._service.model
        if model is None:
            return self.tr("No model loaded")
        return f"{model.name} · {model.provider_label}"

    @Slot(str)
    def _open_link(self, url: str) -> None:
        # Only after an explicit click, and only web or file links.
        qurl = QUrl(url)
        if qurl.scheme() in ("http", "https", "file"):
            QDesktopServices.openUrl(qurl)

    def showEvent(self, event: QShowEvent) -> None:
        yield_to_window_shortcuts(self)
        super().showEvent(event)

    # -- message signals ---------------------------------------------------------------------------
    def _on_message_edit_submitted(self, widget: MessageWidget, text: str) -> None:
        if self._defer_until_free(lambda: self._on_message_edit_submitted(widget, text)):
            return
        if widget not in self._widgets or not self._can_reply():
            return
        index = self._widgets.index(widget)
        edit_of = widget.message_id
        parent = self._widgets[index - 1].message_id if index > 0 else None
        for old in self._widgets[index:]:
            old.deleteLater()
        del self._widgets[index:]
        self._banner.hide()
        edited = self._add_user_widget(text)
        self._save_user_message(edited, parent, edit_of=edit_of)
        self._update_branch(edited)
        self._start_reply()

    def _on_message_branch_switch_requested(self, widget: MessageWidget, step: int) -> None:
        store, cid = self._store, self._conversation_id
        if store is None or cid is None or widget.message_id is None \
                or self._request_id is not None:
            return
        versions = self._versions(widget.message_id)
        if not versions:
            return
        ids = [m.id for m in versions]
        target = ids.index(widget.message_id) + step
        if not 0 <= target < len(ids):
            return
        path = self._save(store.switch_branch, ids[target])
        conv = self._save(store.get_conversation, cid)
        if path is None or conv is None:
            return
        self._render_path(conv, path, focus_id=ids[target])
        self._update_controls()
        self.conversation_changed.emit(cid)

    # -- service signals ---------------------------------------------------------------------------
    @Slot(str)
    def _on_service_model_loading(self, path: str) -> None:
        self._set_status(self.tr("Loading {path}...").format(path=path))
        self._banner.hide()

    @Slot(object)
    def _on_service_model_loaded(self, status: ModelStatus) -> None:
        self._stack.setCurrentWidget(self._scroll)
        line = self.tr("{model} · {provider} · loaded in {s:.1f} s · context {ctx} tokens").format(
            model=status.name, provider=status.provider_label, s=status.load_seconds,
            ctx=status.context_tokens)
        self._set_status(line)
        self._effort_row.setVisible(status.reply_format == "harmony")
        if status.fallbacks:
            self.show_error(self.tr("Running on {provider}. {reasons}").format(
                provider=status.provider_label, reasons="; ".join(status.fallbacks)))
        self.input.setFocus()

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._set_status(self.tr("No model loaded"))
        self._effort_row.hide()
        self._update_controls()

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._set_status(self.tr("No model loaded"))
        self._effort_row.hide()
        self.show_error(message)
        self.error_occurred.emit(message)

    @Slot(int, str, int, bool)
    def _on_service_text_generated(self, rid: int, text: str, tokens: int,
                                   reasoning: bool) -> None:
        reply_id = self._saving.get(rid)
        if reply_id is not None and self._store is not None:
            try:
                self._store.append_reply(reply_id, text, reasoning)
            except StorageError as exc:
                # The store retries at its next write; say it once per reply.
                if reply_id not in self._save_failed:
                    self._save_failed.add(reply_id)
                    self._show_storage_error(exc)
        if rid != self._request_id or self._streaming is None:
            return  # a stale reply (e.g. after New chat)
        if reasoning:
            self._streaming.append_reasoning(text)
            line = self.tr("{model} · thinking · {n} tokens")
        else:
            self._streaming.append(text)
            line = self.tr("{model} · generating · {n} tokens")
        self._set_status(line.format(model=self._model_status(), n=tokens))

    @Slot(int, object)
    def _on_service_finished(self, rid: int, result: GenerationResult) -> None:
        self._context_targets.pop(rid, None)
        reply_id = self._saving.pop(rid, None)
        saved = None
        if reply_id is not None and self._store is not None:
            self._save_failed.discard(reply_id)
            saved = self._save(self._store.finish_reply, reply_id, result)
        if rid != self._request_id or self._streaming is None:
            if saved is not None:
                self.conversation_changed.emit(self._conversation_id or 0)
            return
        widget, self._streaming, self._request_id = self._streaming, None, None
        note = self._finish_note(result.finish_reason, result.context_full, result.error,
                                 result.dropped_messages)
        stats = self._stats_text(result.generated_tokens, result.tok_s, result.ttft_ms)
        widget.finish(stats, note, reasoning_ms=result.reasoning_ms)
        if result.finish_reason is FinishReason.ERROR:
            widget.set_note(widget.note(), error=True)
        if result.token_ids or result.text or result.reasoning:
            widget.chat_message = result.as_message()
        else:
            # Nothing was generated (stopped at once): drop the empty bubble, keep the question.
            self._widgets.remove(widget)
            widget.deleteLater()
        self._set_status(self.tr("{model} · {tps:.1f} tok/s · {n} tokens").format(
            model=self._model_status(), tps=result.tok_s, n=result.generated_tokens))
        if saved is not None and widget in self._widgets:
            self._update_branch(widget)
        self._update_regenerate()
        self._update_controls()
        if saved is not None:
            self.conversation_changed.emit(self._conversation_id or 0)
        if saved is not None and result.text.strip() and \
                result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH):
            self._start_title(result.text)

    # -- titles --------------------------------------------------------------------------------
    def _start_title(self, answer: str) -> None:
        """After the first exchange of a new conversation, ask the model for a short title.

        The store already holds the first words of the question as the title; this replaces
        it unless the user renamed the conversation meanwhile. It costs one short generation,
        and the next turn re-reads the (one-exchange) conversation once: the title prompt
        displaced it from the model's cache.
        """
        untitled, self._untitled = self._untitled, None
        if untitled is None or untitled[0] != self._conversation_id:
            return
        cid, auto_title, question = untitled
        harmony = self._service.model is not None and \
            self._service.model.reply_format == "harmony"
        prompt = TITLE_PROMPT.format(question=question[:600], answer=answer[:600])
        options = GenerationOptions(max_new_tokens=96 if harmony else 24, temperature=0.0,
                                    reasoning_effort="low",
                                    conversation_date=self._conversation_date)
        rid = self._service.send((ChatMessage("user", prompt),), options, background=True)
        if rid is not None:
            self._title_job = (rid, cid, auto_title)
            self._update_controls()

    @Slot(int, object)
    def _on_service_background_finished(self, rid: int, result: GenerationResult | None) -> None:
        if self._title_job is None or rid != self._title_job[0]:
            return
        _rid, cid, auto_title = self._title_job
        self._title_job = None
        # Stopped, failed or empty: the first words of the question stay the title.
        title = clean_title(result.text) if result is not None and \
            result.finish_reason in (FinishReason.STOP, FinishReason.LENGTH) else ""
        if title and self._store is not None:
            try:
                if self._store.get_conversation(cid).title == auto_title:
                    self._store.rename(cid, title)
                    self.conversation_changed.emit(self._conversation_id or 0)
            except StorageError as exc:
                log.warning("title not saved: %s", exc.detail or exc)
        self._update_controls()
        action, self._pending_action = self._pending_action, None
        if action is not None:
            action()

    def _defer_until_free(self, action: Callable[[], None]) -> bool:
        """The user comes first: if the model is naming the conversation, stop that and run
        `action` once it has stopped (within a step). False when nothing was in the way."""
        if self._title_job is None:
            return False
        self._pending_action = action
        self._service.stop()
        return True

    @Slot(int, str)
    def _on_service_failed(self, rid: int, message: str) -> None:
        self._context_targets.pop(rid, None)
        reply_id = self._saving.pop(rid, None)
        if reply_id is not None and self._store is not None:
            self._save_failed.discard(reply_id)
            self._save(self._store.fail_reply, reply_id, message)
        if rid != self._request_id:
            return
        if self._streaming is not None:
            self._streaming.finish()
            self._streaming.set_note(message, error=True)
        self._streaming, self._request_id = None, None
        self.show_error(message)
        self.error_occurred.emit(message)
        self._set_status(self._model_status())
        self._update_regenerate()
        self._update_controls()

    @Slot()
    def _update_controls(self) -> None:
        streaming = self._request_id is not None
        has_model = self._service.model is not None
        waiting = self._waiting_for_documents and not streaming
        self.send_button.setText(self.tr("Stop") if streaming else (
            self.tr("Waiting…") if waiting else self.tr("Send")))
        free = not self._service.busy or self._title_job is not None
        self.send_button.setEnabled(streaming or (
            has_model and free and not waiting and bool(self.input.toPlainText().strip())))
        self.input.setEnabled(has_model)
        self.new_chat_button.setEnabled(bool(self._widgets))
        # Naming a conversation in the background gives way to whatever the user does.
        busy = streaming or (self._service.busy and self._title_job is None)
        for widget in self._widgets:
            widget.set_busy(busy)
        if not has_model and not self._widgets:
            self._stack.setCurrentIndex(0)

    # -- sticky scrolling --------------------------------------------------------------------------
    @Slot(int, int)
    def _on_scrollbar_range_changed(self, _low: int, high: int) -> None:
        if self._stick_to_bottom:
            self._scroll.verticalScrollBar().setValue(high)
        self._place_jump_button()

    @Slot(int)
    def _on_scrollbar_value_changed(self, value: int) -> None:
        bar = self._scroll.verticalScrollBar()
        self._stick_to_bottom = bar.maximum() - value <= STICKY_BOTTOM_PX
        self._jump.setVisible(not self._stick_to_bottom)
        self._place_jump_button()

    def _place_jump_button(self) -> None:
        self._jump.adjustSize()
        area = self._scroll.viewport().geometry()
        self._jump.move(area.center().x() - self._jump.width() // 2,
                        area.bottom() - self._jump.height() - 12)
        self._jump.raise_()
