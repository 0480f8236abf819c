"""One message in the chat: a header, the model's thinking, the Markdown answer, its actions."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown_view import StreamingMarkdownView


def quote_reasoning(reasoning: str, answer: str, heading: str = "Thinking") -> str:
    """Markdown with the reasoning as a quoted section (under `heading`) before the answer."""
    lines = reasoning.strip("\n").splitlines()
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
    return f"> **{heading}**\n>\n{quoted}\n\n{answer}"


class ThinkingSection(QWidget):
    """What a model thought before answering, above the answer, shown apart.

    A header button ("Thinking…" while it streams, then "Thought for 3.2 s") expands and
    collapses a muted Markdown view of the reasoning. The section stays hidden until reasoning
    arrives, so plain replies never show it. It opens while the model thinks, so the user
    sees the thinking stream in, and closes once the answer starts (the user can reopen it).

    Signals:
        expanded_changed(bool): the text was shown (True) or hidden, by the user or the reply
    """

    expanded_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingSection")
        self._started_at: float | None = None  # monotonic time of the first reasoning text
        self._thought_ms: float | None = None  # known once the answer starts or the reply ends
        self._thinking = False  # reasoning is streaming and no answer has come yet

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)  # apart from the answer under it
        layout.setSpacing(2)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName(self.tr("Model's thinking"))
        self.toggle.toggled.connect(self._on_toggle_toggled)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)

        self._frame = QFrame(self)
        self._frame.setObjectName("thinkingBody")
        frame_layout = QVBoxLayout(self._frame)
        frame_layout.setContentsMargins(10, 0, 0, 0)
        self.view = StreamingMarkdownView(self._frame)
        self.view.setObjectName("thinkingView")
        frame_layout.addWidget(self.view)
        layout.addWidget(self._frame)
        self._frame.hide()
        self._update_toggle_text()
        self.hide()

    # -- state -------------------------------------------------------------------------------
    def markdown(self) -> str:
        """The reasoning's source text."""
        return self.view.markdown()

    def is_expanded(self) -> bool:
        """Whether the reasoning text is shown."""
        return self.toggle.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        """Show or hide the reasoning text (the header stays)."""
        self.toggle.setChecked(expanded)

    def thought_ms(self) -> float | None:
        """How long the model thought, once known."""
        return self._thought_ms

    # -- streaming ---------------------------------------------------------------------------
    def append(self, text: str) -> None:
        """Add streamed reasoning; the first text opens the section."""
        if not text:
            return
        if self._started_at is None:
            self._started_at = time.monotonic()
            self._thinking = True
            self.show()
            self.set_expanded(True)
            self._update_toggle_text()
        self.view.append(text)

    def end_thinking(self) -> None:
        """The answer started: note how long the model thought and fold the text away."""
        if not self._thinking:
            return
        self._thinking = False
        if self._started_at is not None:
            self._thought_ms = (time.monotonic() - self._started_at) * 1000.0
        self.set_expanded(False)
        self._update_toggle_text()

    def finish(self, reasoning_ms: float = 0.0, answered: bool = True) -> None:
        """The reply ended. `reasoning_ms` (measured by the engine) replaces the UI's estimate.

        Without an answer the text stays open: the thinking is all there is to read.
        """
        self.view.finish()
        if self._started_at is None:
            return
        if self._thinking:
            self._thinking = False
            self._thought_ms = (time.monotonic() - self._started_at) * 1000.0
        if reasoning_ms > 0:
            self._thought_ms = reasoning_ms
        if not answered:
            self.set_expanded(True)
        self._update_toggle_text()

    def set_text(self, reasoning: str) -> None:
        """Show a complete, earlier reasoning, collapsed (the duration is not known)."""
        self.view.set_markdown(reasoning)
        self._thinking = False
        self._started_at = time.monotonic() if reasoning else None
        self.setVisible(bool(reasoning))
        self.set_expanded(False)
        self._update_toggle_text()

    # -- internals ---------------------------------------------------------------------------
    @Slot(bool)
    def _on_toggle_toggled(self, expanded: bool) -> None:
        self._frame.setVisible(expanded)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.toggle.setToolTip(self.tr("Hide the model's thinking") if expanded
                               else self.tr("Show the model's thinking"))
        self.expanded_changed.emit(expanded)

    def _update_toggle_text(self) -> None:
        if self._thinking:
            text = self.tr("Thinking…")
        elif self._thought_ms is not None:
            text = self.tr("Thought for {duration}").format(
                duration=self._format_duration(self._thought_ms))
        else:
            text = self.tr("Thinking")
        self.toggle.setText(text)
        self.toggle.setAccessibleDescription(text)

    def _format_duration(self, ms: float) -> str:
        seconds = ms / 1000.0
        if seconds < 60:
            return self.tr("{s:.1f} s").format(s=seconds)
        minutes, rest = divmod(round(seconds), 60)
        return self.tr("{m} min {s} s").format(m=minutes, s=rest)


class MessageWidget(QFrame):
    """A user or assistant message.

    User messages sit in a tinted bubble on the right; assistant replies use the full width, as
    the apps our users know do. A reply's reasoning (gpt-oss `analysis`, `<think>` text) goes
    into a collapsible `ThinkingSection` above the answer, never into the answer itself. The
    Markdown source is kept so Copy puts exactly what the model wrote on the clipboard: the
    answer only, or with its thinking as a quoted section.

    Signals:
        regenerate_requested()
        link_activated(str)
    """

    regenerate_requested = Signal()
    link_activated = Signal(str)

    def __init__(self, role: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 14, 8)
        outer.setSpacing(4)

        self._title = QLabel(title)
        self._title.setObjectName("messageTitle")
        outer.addWidget(self._title)

        self.thinking = ThinkingSection(self)
        self.thinking.view.link_activated.connect(self.link_activated)
        outer.addWidget(self.thinking)

        self.body = StreamingMarkdownView(self)
        self.body.link_activated.connect(self.link_activated)
        outer.addWidget(self.body)

        self._note = QLabel()
        self._note.setObjectName("messageNote")
        self._note.setWordWrap(True)
        self._note.hide()
        outer.addWidget(self._note)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(6)
        self.copy_button = QToolButton()
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setObjectName("flatButton")
        self.copy_button.setToolTip(self.tr("Copy this message as Markdown") if role == "user"
                                    else self.tr("Copy the answer as Markdown"))
        self.copy_button.setAccessibleName(self.tr("Copy message"))
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        # The menu is attached only to replies that have reasoning (see _update_copy_menu).
        self._copy_menu = QMenu(self)
        self.copy_answer_action = QAction(self.tr("Copy answer"), self)
        self.copy_answer_action.triggered.connect(self.copy_to_clipboard)
        self.copy_with_thinking_action = QAction(self.tr("Copy with thinking"), self)
        self.copy_with_thinking_action.setToolTip(
            self.tr("Copy the answer with the model's thinking quoted before it"))
        self.copy_with_thinking_action.triggered.connect(self.copy_with_thinking_to_clipboard)
        self._copy_menu.addAction(self.copy_answer_action)
        self._copy_menu.addAction(self.copy_with_thinking_action)
        actions.addWidget(self.copy_button)
        self.regenerate_button = QPushButton(self.tr("Regenerate"))
        self.regenerate_button.setObjectName("flatButton")
        self.regenerate_button.setToolTip(self.tr("Write this reply again"))
        self.regenerate_button.setAccessibleName(self.tr("Regenerate reply"))
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(False)
        actions.addWidget(self.regenerate_button)
        actions.addStretch(1)
        self._stats = QLabel()
        self._stats.setObjectName("messageStats")
        actions.addWidget(self._stats)
        outer.addLayout(actions)
        self._set_actions_visible(role == "user")

    def append(self, text: str) -> None:
        """Add streamed answer text; the first of it folds the thinking away."""
        if text:
            self.thinking.end_thinking()
        self.body.append(text)

    def append_reasoning(self, text: str) -> None:
        """Add streamed reasoning (shown apart from the answer)."""
        self.thinking.append(text)

    def finish(self, stats: str = "", note: str = "", reasoning_ms: float = 0.0) -> None:
        """The reply ended: render the tails, show the actions and a note (stopped, error).

        `reasoning_ms` is how long the model thought, as the engine measured it (0: unknown).
        """
        self.body.finish()
        answered = bool(self.markdown().strip())
        self.thinking.finish(reasoning_ms, answered=answered)
        if self.reasoning() and not answered:
            no_answer = self.tr("The model gave no answer; only its thinking is shown.")
            note = f"{note} {no_answer}" if note else no_answer
        self._stats.setText(stats)
        self.set_note(note)
        self._update_copy_menu()
        self._set_actions_visible(True)

    def set_text(self, text: str, reasoning: str = "") -> None:
        """Show a complete message (with its reasoning, collapsed, if it has one)."""
        self.thinking.set_text(reasoning)
        self.body.set_markdown(text)
        self._update_copy_menu()

    def set_note(self, note: str, error: bool = False) -> None:
        """A line under the message: why it stopped, or what went wrong."""
        self._note.setText(note)
        self._note.setProperty("error", error)
        self._note.style().unpolish(self._note)
        self._note.style().polish(self._note)
        self._note.setVisible(bool(note))

    def note(self) -> str:
        """The line under the message (empty if none)."""
        return self._note.text()

    def markdown(self) -> str:
        """The message's source text: for a reply, the answer only."""
        return self.body.markdown()

    def reasoning(self) -> str:
        """The reply's reasoning source text (empty if the model did not think aloud)."""
        return self.thinking.markdown()

    def markdown_with_thinking(self) -> str:
        """The answer with the reasoning as a quoted "Thinking" section before it."""
        reasoning = self.reasoning()
        if not reasoning.strip():
            return self.markdown()
        return quote_reasoning(reasoning, self.markdown(), self.tr("Thinking"))

    @Slot()
    def copy_to_clipboard(self) -> None:
        """Copy the Markdown source (not the rendered rich text, which mangles code)."""
        QGuiApplication.clipboard().setText(self.markdown())

    @Slot()
    def copy_with_thinking_to_clipboard(self) -> None:
        """Copy the answer with its reasoning quoted before it."""
        QGuiApplication.clipboard().setText(self.markdown_with_thinking())

    def set_regenerate_visible(self, visible: bool) -> None:
        """Only the last reply offers Regenerate."""
        self.regenerate_button.setVisible(visible and self.role == "assistant")

    def _update_copy_menu(self) -> None:
        # A plain button when there is only an answer; with reasoning, its arrow offers both.
        has_reasoning = bool(self.reasoning().strip())
        self.copy_with_thinking_action.setVisible(has_reasoning)
        if has_reasoning:
            self.copy_button.setMenu(self._copy_menu)
            self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        else:
            self.copy_button.setMenu(None)  # type: ignore[arg-type]
            self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.DelayedPopup)

    def _set_actions_visible(self, visible: bool) -> None:
        self.copy_button.setVisible(visible)
        if not visible:
            self.regenerate_button.setVisible(False)
