"""The chat pane: the conversation, the input box, Send/Stop, Regenerate and a status line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import ChatMessage, FinishReason, GenerationOptions, GenerationResult
from app.ui.message_widget import MessageWidget
from app.workers.generation import GenerationService, ModelStatus

STICKY_BOTTOM_PX = 24
"""Follow new text only while the user is this close to the bottom; otherwise leave them be."""

REASONING_EFFORTS = (("low", QT_TRANSLATE_NOOP("ChatPane", "Low")),
                     ("medium", QT_TRANSLATE_NOOP("ChatPane", "Medium")),
                     ("high", QT_TRANSLATE_NOOP("ChatPane", "High")))
"""gpt-oss reasoning efforts: the value sent, and the label (translated where it is shown)."""
DEFAULT_REASONING_EFFORT = "medium"


class _InputBox(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter starts a new line.

    Signals:
        submitted()
    """

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ChatPane(QWidget):
    """One conversation with the loaded model.

    It keeps the conversation as `ChatMessage`s (assistant replies with their exact token ids,
    so the engine can reuse its cache, and their reasoning apart from the answer) and a widget
    per message. `options` holds the sampling settings; each request gets them with this
    conversation's reasoning effort (gpt-oss) and the date it began, which stays fixed so the
    prompt's prefix, and the model's cache, stay valid past midnight.

    Signals:
        open_model_requested()
        error_occurred(str): a message for the error presenter
    """

    open_model_requested = Signal()
    error_occurred = Signal(str)

    def __init__(self, service: GenerationService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._messages: list[ChatMessage] = []
        self._widgets: list[MessageWidget] = []
        self._streaming: MessageWidget | None = None
        self._request_id: int | None = None
        self._system_prompt = ""
        self._conversation_date = ""  # set by the first request of a conversation
        self.options = GenerationOptions()
        self._build()
        service.model_loading.connect(self._on_service_model_loading)
        service.model_loaded.connect(self._on_service_model_loaded)
        service.model_load_failed.connect(self._on_service_model_load_failed)
        service.text_generated.connect(self._on_service_text_generated)
        service.finished.connect(self._on_service_finished)
        service.failed.connect(self._on_service_failed)
        service.busy_changed.connect(self._update_controls)
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

        self._jump = QPushButton(self.tr("Jump to latest"), self._scroll)
        self._jump.setObjectName("jumpButton")
        self._jump.hide()
        self._jump.clicked.connect(self.scroll_to_bottom)

        composer = QFrame()
        composer.setObjectName("composer")
        row = QHBoxLayout(composer)
        row.setContentsMargins(16, 10, 16, 10)
        editor = QVBoxLayout()
        editor.setSpacing(6)
        self.input = _InputBox()
        self.input.setObjectName("messageInput")
        self.input.setPlaceholderText(self.tr("Message the model (Enter to send, Shift+Enter for "
                                              "a new line)"))
        self.input.setAccessibleName(self.tr("Message"))
        self.input.setTabChangesFocus(True)
        self.input.setFixedHeight(72)
        self.input.submitted.connect(self.send_or_stop)
        self.input.textChanged.connect(self._update_controls)
        editor.addWidget(self.input)
        editor.addWidget(self._build_effort_row())
        row.addLayout(editor, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("primaryButton")
        self.send_button.setAccessibleName(self.tr("Send or stop"))
        self.send_button.clicked.connect(self.send_or_stop)
        buttons.addWidget(self.send_button)
        self.new_chat_button = QPushButton(self.tr("New chat"))
        self.new_chat_button.setAccessibleName(self.tr("New chat"))
        self.new_chat_button.clicked.connect(self.new_chat)
        buttons.addWidget(self.new_chat_button)
        row.addLayout(buttons)
        layout.addWidget(composer)

        self.status = QLabel()
        self.status.setObjectName("statusLine")
        self.status.setAccessibleName(self.tr("Status"))
        layout.addWidget(self.status)
        self._set_status(self.tr("No model loaded"))

    def _build_effort_row(self) -> QWidget:
        # Shown only for models whose prompt takes an effort (gpt-oss: reply_format "harmony").
        self._effort_row = QWidget()
        self._effort_row.setObjectName("effortRow")
        line = QHBoxLayout(self._effort_row)
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(6)
        tip = self.tr("How long the model thinks before it answers. More effort means longer "
                      "thinking and usually better answers to hard questions; less is faster.")
        label = QLabel(self.tr("Reasoning effort"))
        label.setObjectName("effortLabel")
        label.setToolTip(tip)
        line.addWidget(label)
        self.effort_combo = QComboBox()
        self.effort_combo.setObjectName("effortCombo")
        self.effort_combo.setAccessibleName(self.tr("Reasoning effort"))
        self.effort_combo.setToolTip(tip)
        for key, text in REASONING_EFFORTS:
            self.effort_combo.addItem(self.tr(str(text)), key)
        label.setBuddy(self.effort_combo)
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
        title = QLabel(self.tr("Welcome to Hearth"))
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        self._empty_text = QLabel(self.tr(
            "Chat with language models on this computer: nothing leaves it.\n"
            "To start, open a model folder (an ONNX Runtime GenAI model, the folder that holds "
            "genai_config.json)."))
        self._empty_text.setObjectName("emptyText")
        self._empty_text.setWordWrap(True)
        self._empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(self._empty_text)
        self.open_model_button = QPushButton(self.tr("Open model folder..."))
        self.open_model_button.setObjectName("primaryButton")
        self.open_model_button.setAccessibleName(self.tr("Open model folder"))
        self.open_model_button.clicked.connect(self.open_model_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_model_button)
        row.addStretch(1)
        box.addLayout(row)
        box.addStretch(2)
        return page

    # -- public ----------------------------------------------------------------------------------
    @property
    def messages(self) -> tuple[ChatMessage, ...]:
        """The conversation so far (without the reply being streamed)."""
        return tuple(self._messages)

    @property
    def message_widgets(self) -> tuple[MessageWidget, ...]:
        """The message widgets, oldest first."""
        return tuple(self._widgets)

    @property
    def reasoning_effort(self) -> str:
        """This conversation's reasoning effort: low, medium or high (gpt-oss only)."""
        return str(self.effort_combo.currentData())

    @property
    def effort_available(self) -> bool:
        """Whether the loaded model takes a reasoning effort (the control is offered)."""
        return not self._effort_row.isHidden()

    def set_system_prompt(self, text: str) -> None:
        """Instructions sent with every turn of this conversation."""
        self._system_prompt = text

    @Slot()
    def send_or_stop(self) -> None:
        """Send the typed message, or stop the reply that is streaming."""
        if self._request_id is not None:
            self.stop()
            return
        text = self.input.toPlainText().strip()
        if not text or self._service.model is None or self._service.busy:
            return
        self.input.clear()
        self._messages.append(ChatMessage("user", text))
        widget = self._add_widget("user", self.tr("You"))
        widget.set_text(text)
        self._start_reply()

    @Slot()
    def stop(self) -> None:
        """Stop the streaming reply (any number of presses)."""
        self._service.stop()

    @Slot()
    def regenerate(self) -> None:
        """Write the last reply again."""
        if self._service.busy or not self._messages or self._messages[-1].role != "assistant":
            return
        self._messages.pop()
        widget = self._widgets.pop()
        widget.deleteLater()
        self._start_reply()

    @Slot()
    def new_chat(self) -> None:
        """Start an empty conversation (stopping a reply in progress)."""
        self.stop()
        self._request_id = None
        self._streaming = None
        self._messages.clear()
        self._conversation_date = ""
        self.effort_combo.setCurrentIndex(self.effort_combo.findData(DEFAULT_REASONING_EFFORT))
        for widget in self._widgets:
            widget.deleteLater()
        self._widgets.clear()
        self._banner.hide()
        self._update_controls()

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

    # -- internals ---------------------------------------------------------------------------------
    def _conversation(self) -> tuple[ChatMessage, ...]:
        head = (ChatMessage("system", self._system_prompt),) if self._system_prompt else ()
        return head + tuple(self._messages)

    def _request_options(self) -> GenerationOptions:
        if not self._conversation_date:
            self._conversation_date = date.today().isoformat()
        return replace(self.options, reasoning_effort=self.reasoning_effort,
                       conversation_date=self._conversation_date)

    def _start_reply(self) -> None:
        model = self._service.model
        title = model.name if model else self.tr("Assistant")
        self._streaming = self._add_widget("assistant", title)
        self._request_id = self._service.send(self._conversation(), self._request_options())
        if self._request_id is None:
            self._streaming.finish(note=self.tr("The model is busy; try again."))
            self._streaming = None
        self._banner.hide()
        self.scroll_to_bottom()
        self._update_controls()

    def _add_widget(self, role: str, title: str) -> MessageWidget:
        widget = MessageWidget(role, title)
        widget.regenerate_requested.connect(self.regenerate)
        widget.link_activated.connect(self._open_link)
        # Before the trailing stretch, which keeps short conversations at the top.
        self._list.insertWidget(self._list.count() - 1, widget)
        if role == "user":
            self._list.setAlignment(widget, Qt.AlignmentFlag.AlignRight)
        self._widgets.append(widget)
        for w in self._widgets:
            w.set_regenerate_visible(False)
        return widget

    def _update_regenerate(self) -> None:
        for w in self._widgets:
            w.set_regenerate_visible(False)
        if self._widgets and self._messages and self._messages[-1].role == "assistant" \
                and self._widgets[-1].role == "assistant":
            self._widgets[-1].set_regenerate_visible(True)

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

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._set_status(self.tr("No model loaded"))
        self._effort_row.hide()
        self.show_error(message)
        self.error_occurred.emit(message)

    @Slot(int, str, int, bool)
    def _on_service_text_generated(self, rid: int, text: str, tokens: int,
                                   reasoning: bool) -> None:
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
        if rid != self._request_id or self._streaming is None:
            return
        widget, self._streaming, self._request_id = self._streaming, None, None
        note = ""
        if result.finish_reason is FinishReason.CANCELLED:
            note = self.tr("Stopped.")
        elif result.finish_reason is FinishReason.LENGTH:
            note = (self.tr("The context window is full; the reply was cut off.")
                    if result.context_full else
                    self.tr("Reached the reply length limit."))
        elif result.error:
            note = result.error
        if result.dropped_messages:
            note = (note + " " if note else "") + self.tr(
                "The {n} oldest messages no longer fit the context window and were left out."
            ).format(n=result.dropped_messages)
        stats = self.tr("{n} tokens · {tps:.1f} tok/s · first token {ttft:.0f} ms").format(
            n=result.generated_tokens, tps=result.tok_s, ttft=result.ttft_ms)
        widget.finish(stats, note, reasoning_ms=result.reasoning_ms)
        if result.finish_reason is FinishReason.ERROR:
            widget.set_note(widget.note(), error=True)
        if result.token_ids or result.text or result.reasoning:
            self._messages.append(result.as_message())
        else:
            # Nothing was generated (stopped at once): drop the empty bubble, keep the question.
            self._widgets.remove(widget)
            widget.deleteLater()
        self._set_status(self.tr("{model} · {tps:.1f} tok/s · {n} tokens").format(
            model=self._model_status(), tps=result.tok_s, n=result.generated_tokens))
        self._update_regenerate()
        self._update_controls()

    @Slot(int, str)
    def _on_service_failed(self, rid: int, message: str) -> None:
        if rid != self._request_id:
            return
        if self._streaming is not None:
            self._streaming.finish()
            self._streaming.set_note(message, error=True)
        self._streaming, self._request_id = None, None
        self.show_error(message)
        self.error_occurred.emit(message)
        self._set_status(self._model_status())
        self._update_controls()

    @Slot()
    def _update_controls(self) -> None:
        streaming = self._request_id is not None
        has_model = self._service.model is not None
        self.send_button.setText(self.tr("Stop") if streaming else self.tr("Send"))
        self.send_button.setEnabled(streaming or (
            has_model and not self._service.busy and bool(self.input.toPlainText().strip())))
        self.input.setEnabled(has_model)
        self.new_chat_button.setEnabled(bool(self._widgets))
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
