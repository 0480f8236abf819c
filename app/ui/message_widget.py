"""One message in the chat: a header, the model's thinking, the Markdown answer, its actions.

Besides Copy and Regenerate, a message offers what a saved conversation needs: an inline editor
for the user's own messages ("Edit"), a "< 2/3 >" switcher between the versions of a message
(edits and regenerations are kept as branches), and Continue/Regenerate on a reply that was cut
off when Hearth stopped. The widget only asks; the chat pane decides and talks to the store.

A reply to a question asked with documents gets their sources (`set_sources`): once the reply
has finished, its [n] and [n, p. X] citations become links (rendered once, not per streamed
token), and a compact "Sources" list under it names each file and page, the cited ones first.
Clicking either asks to open the file (`source_activated`).
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import ChatMessage
from app.core.documents.answer import CITATION_RE, Source, cited, link_citations
from app.ui.i18n import Retranslating
from app.ui.markdown_render import theme
from app.ui.markdown_view import StreamingMarkdownView

SOURCE_SCHEME = "hearth-source"
"""Links to a reply's sources: `hearth-source:N` or `hearth-source:N/PAGE`."""
_LINK_TEXT = re.compile(r"\[([^\[\]]+)\]\(" + SOURCE_SCHEME + r":")


def quote_reasoning(reasoning: str, answer: str, heading: str = "Thinking") -> str:
    """Markdown with the reasoning as a quoted section (under `heading`) before the answer."""
    lines = reasoning.strip("\n").splitlines()
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
    return f"> **{heading}**\n>\n{quoted}\n\n{answer}"


class ThinkingSection(Retranslating, QWidget):
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
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        """Set the section's texts in the current language."""
        self.toggle.setAccessibleName(self.tr("Model's thinking"))
        self._update_toggle_tip()
        self._update_toggle_text()

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
        self._update_toggle_tip()
        self.expanded_changed.emit(expanded)

    def _update_toggle_tip(self) -> None:
        self.toggle.setToolTip(self.tr("Hide the model's thinking") if self.is_expanded()
                               else self.tr("Show the model's thinking"))

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


class _EditBox(QPlainTextEdit):
    """The inline editor of a user message: Enter saves, Shift+Enter starts a new line, Esc
    cancels.

    Signals:
        submitted()
        cancelled()
    """

    submitted = Signal()
    cancelled = Signal()

    def event(self, event: QEvent) -> bool:
        # Claim Esc before a window shortcut (Stop) takes it: in the editor it means "cancel".
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class _BubbleLayout(QVBoxLayout):
    """The layout of a user's bubble, which the chat aligns right: the chat's layout asks its
    height at the full width, then narrows it to its size hint, so a long question got the
    height of one line and was cut off. Its height is the one for the width it will have."""

    def heightForWidth(self, width: int) -> int:
        return super().heightForWidth(min(width, self.sizeHint().width()))


class MessageWidget(QFrame):
    """A user or assistant message.

    User messages sit in a tinted bubble on the right; assistant replies use the full width, as
    the apps our users know do. A reply's reasoning (gpt-oss `analysis`, `<think>` text) goes
    into a collapsible `ThinkingSection` above the answer, never into the answer itself. The
    Markdown source is kept so Copy puts exactly what the model wrote on the clipboard: the
    answer only, or with its thinking as a quoted section.

    The chat pane records what the message is: `message_id` (its row in the conversation
    store; None when not saved), `chat_message` (what goes back to the model next turn; None
    while a reply streams and for a reply that failed) and `model_name` (the model whose token
    ids `chat_message` carries: another model must not be fed them).

    Signals:
        regenerate_requested()
        continue_requested(): go on with a reply that was cut off
        edit_submitted(str): the edited text of a user message
        branch_switch_requested(int): -1 for the previous version of this message, +1 the next
        link_activated(str)
        source_activated(object, int): a cited or listed Source to open, and the page the
            citation names (0: none)
    """

    regenerate_requested = Signal()
    continue_requested = Signal()
    edit_submitted = Signal(str)
    branch_switch_requested = Signal(int)
    link_activated = Signal(str)
    source_activated = Signal(object, int)

    def __init__(self, role: str, title: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.message_id: int | None = None
        self.chat_message: ChatMessage | None = None
        self.model_name = ""
        self._fixed_title = title  # None: "You" / "Assistant", in the current language
        self._interrupted = False
        self._busy = False
        self._branch = (1, 1)
        self._sources: tuple[Source, ...] = ()
        self._answer_source: str | None = None  # the answer as written, when links were added
        self._linked: tuple[str, tuple[Source, ...]] | None = None  # what the links were made for
        self._finished = False
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = _BubbleLayout(self) if role == "user" else QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 14, 8)
        outer.setSpacing(4)

        self._title = QLabel()
        self._title.setObjectName("messageTitle")
        outer.addWidget(self._title)

        self.thinking = ThinkingSection(self)
        self.thinking.view.link_activated.connect(self.link_activated)
        outer.addWidget(self.thinking)

        self.body = StreamingMarkdownView(self)
        self.body.link_activated.connect(self._on_body_link_activated)
        outer.addWidget(self.body)

        self.sources_view = QLabel(self)
        self.sources_view.setObjectName("sourcesList")
        self.sources_view.setTextFormat(Qt.TextFormat.RichText)
        self.sources_view.setWordWrap(True)
        self.sources_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.sources_view.linkActivated.connect(self._on_body_link_activated)
        self.sources_view.hide()
        outer.addWidget(self.sources_view)

        outer.addWidget(self._build_editor())

        self._note = QLabel()
        self._note.setObjectName("messageNote")
        self._note.setWordWrap(True)
        self._note.hide()
        outer.addWidget(self._note)

        outer.addWidget(self._build_resume_row())
        outer.addLayout(self._build_actions())
        self.retranslate()
        self._set_actions_visible(role == "user")

    # -- layout ------------------------------------------------------------------------------
    def _build_editor(self) -> QWidget:
        self._edit_frame = QWidget(self)
        self._edit_frame.setObjectName("messageEditor")
        column = QVBoxLayout(self._edit_frame)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        self.editor = _EditBox(self._edit_frame)
        self.editor.setObjectName("messageInput")
        self.editor.setTabChangesFocus(True)
        self.editor.setMinimumWidth(420)
        self.editor.setFixedHeight(96)
        self.editor.submitted.connect(self._on_editor_submitted)
        self.editor.cancelled.connect(self.cancel_editing)
        self.editor.textChanged.connect(self._on_editor_text_changed)
        column.addWidget(self.editor)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.cancel_edit_button = QPushButton(self._edit_frame)
        self.cancel_edit_button.clicked.connect(self.cancel_editing)
        row.addWidget(self.cancel_edit_button)
        self.save_edit_button = QPushButton(self._edit_frame)
        self.save_edit_button.setObjectName("primaryButton")
        self.save_edit_button.clicked.connect(self._on_editor_submitted)
        row.addWidget(self.save_edit_button)
        column.addLayout(row)
        self._edit_frame.hide()
        return self._edit_frame

    def _build_resume_row(self) -> QWidget:
        # Under a reply that was cut off when Hearth stopped (only the last one offers it).
        self._resume_row = QWidget(self)
        self._resume_row.setObjectName("resumeRow")
        row = QHBoxLayout(self._resume_row)
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(6)
        self.continue_button = QPushButton(self._resume_row)
        self.continue_button.setObjectName("primaryButton")
        self.continue_button.clicked.connect(self.continue_requested)
        row.addWidget(self.continue_button)
        self.resume_regenerate_button = QPushButton(self._resume_row)
        self.resume_regenerate_button.clicked.connect(self.regenerate_requested)
        row.addWidget(self.resume_regenerate_button)
        row.addStretch(1)
        self._resume_row.hide()
        return self._resume_row

    def _build_actions(self) -> QHBoxLayout:
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(6)

        self._branch_row = QWidget(self)
        self._branch_row.setObjectName("branchSwitcher")
        switcher = QHBoxLayout(self._branch_row)
        switcher.setContentsMargins(0, 0, 0, 0)
        switcher.setSpacing(0)
        self.previous_branch_button = QToolButton(self._branch_row)
        self.previous_branch_button.setObjectName("flatButton")
        self.previous_branch_button.setText("\u2039")  # single angle quotation marks: < and >
        self.previous_branch_button.clicked.connect(self._on_previous_branch_button_clicked)
        self.branch_label = QLabel(self._branch_row)
        self.branch_label.setObjectName("messageStats")
        self.next_branch_button = QToolButton(self._branch_row)
        self.next_branch_button.setObjectName("flatButton")
        self.next_branch_button.setText("\u203a")
        self.next_branch_button.clicked.connect(self._on_next_branch_button_clicked)
        switcher.addWidget(self.previous_branch_button)
        switcher.addWidget(self.branch_label)
        switcher.addWidget(self.next_branch_button)
        self._branch_row.hide()
        actions.addWidget(self._branch_row)

        self.copy_button = QToolButton(self)
        self.copy_button.setObjectName("flatButton")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        # The menu is attached only to replies that have reasoning (see _update_copy_menu).
        self._copy_menu = QMenu(self)
        self.copy_answer_action = QAction(self)
        self.copy_answer_action.triggered.connect(self.copy_to_clipboard)
        self.copy_with_thinking_action = QAction(self)
        self.copy_with_thinking_action.triggered.connect(self.copy_with_thinking_to_clipboard)
        self._copy_menu.addAction(self.copy_answer_action)
        self._copy_menu.addAction(self.copy_with_thinking_action)
        actions.addWidget(self.copy_button)
        self.edit_button = QToolButton(self)
        self.edit_button.setObjectName("flatButton")
        self.edit_button.clicked.connect(self.start_editing)
        actions.addWidget(self.edit_button)
        self.regenerate_button = QPushButton(self)
        self.regenerate_button.setObjectName("flatButton")
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(False)
        actions.addWidget(self.regenerate_button)
        actions.addStretch(1)
        self._stats = QLabel(self)
        self._stats.setObjectName("messageStats")
        actions.addWidget(self._stats)
        return actions

    # -- texts -------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.PaletteChange:
            self._update_sources_view()  # its links take the light or dark theme's colour
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set the message's own texts (title, buttons, the cut-off note) in the current
        language; what the model or the user wrote stays as it is."""
        if self._fixed_title is not None:
            self._title.setText(self._fixed_title)
        else:
            self._title.setText(self.tr("You") if self.role == "user" else self.tr("Assistant"))
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy this message as Markdown")
                                    if self.role == "user"
                                    else self.tr("Copy the answer as Markdown"))
        self.copy_button.setAccessibleName(self.tr("Copy message"))
        self.copy_answer_action.setText(self.tr("Copy answer"))
        self.copy_with_thinking_action.setText(self.tr("Copy with thinking"))
        self.copy_with_thinking_action.setToolTip(
            self.tr("Copy the answer with the model's thinking quoted before it"))
        self.edit_button.setText(self.tr("Edit"))
        self.edit_button.setToolTip(self.tr("Edit this message and get a new reply; the "
                                            "current version stays reachable"))
        self.edit_button.setAccessibleName(self.tr("Edit message"))
        self.regenerate_button.setText(self.tr("Regenerate"))
        self.regenerate_button.setToolTip(self.tr("Write this reply again; the current one "
                                                  "stays reachable"))
        self.regenerate_button.setAccessibleName(self.tr("Regenerate reply"))
        self.editor.setAccessibleName(self.tr("Edit message"))
        self.save_edit_button.setText(self.tr("Save and send"))
        self.save_edit_button.setAccessibleName(self.tr("Save the edited message and send it"))
        self.cancel_edit_button.setText(self.tr("Cancel"))
        self.cancel_edit_button.setAccessibleName(self.tr("Cancel editing"))
        self.continue_button.setText(self.tr("Continue"))
        self.continue_button.setAccessibleName(self.tr("Continue the reply"))
        self.continue_button.setToolTip(self.tr(
            "Go on from your message. Hearth cannot yet resume a reply mid-sentence, so the "
            "model writes it anew; the cut-off text stays reachable."))
        self.resume_regenerate_button.setText(self.tr("Regenerate"))
        self.resume_regenerate_button.setAccessibleName(self.tr("Regenerate reply"))
        self.resume_regenerate_button.setToolTip(self.tr("Write this reply again"))
        self.previous_branch_button.setAccessibleName(self.tr("Previous version"))
        self.previous_branch_button.setToolTip(self.tr("Previous version"))
        self.next_branch_button.setAccessibleName(self.tr("Next version"))
        self.next_branch_button.setToolTip(self.tr("Next version"))
        self._update_branch_label()
        if self._interrupted:
            self.set_note(self._interrupted_note())
        self._update_sources_view()

    def _interrupted_note(self) -> str:
        return self.tr("Hearth stopped before this reply was finished.")

    # -- streaming ---------------------------------------------------------------------------
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
        self._finished = True
        self._link_citations()
        self._update_sources_view()
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
        self._answer_source = None
        self._linked = None
        if self._sources and self.role == "assistant" and CITATION_RE.search(text):
            self._answer_source = text
            self._linked = (text, self._sources)
            self.body.set_markdown(self._linked_markdown(text))
        else:
            self.body.set_markdown(text)
        self._update_sources_view()
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

    def stats(self) -> str:
        """The figures line of a reply (tokens, speed), empty if none."""
        return self._stats.text()

    def markdown(self) -> str:
        """The message's source text: for a reply, the answer only (as the model wrote it,
        without the citation links added for display)."""
        if self._answer_source is not None:
            return self._answer_source
        return self.body.markdown()

    # -- sources -----------------------------------------------------------------------------
    def set_sources(self, sources: Sequence[Source]) -> None:
        """The documents the question was asked with, numbered as the reply cites them."""
        self._sources = tuple(sources)
        if self._finished:
            self._link_citations()
        self._update_sources_view()

    def sources(self) -> tuple[Source, ...]:
        """The reply's sources (empty when the question had no documents)."""
        return self._sources

    def ordered_sources(self) -> list[Source]:
        """The sources as listed: those the reply cites first, in order of citation."""
        first = cited(self.markdown(), self._sources) if self._finished else []
        return first + [s for s in self._sources if s not in first]

    def _link_citations(self) -> None:
        """Turn [n] citations into links once the reply is complete (one re-render)."""
        if self.role != "assistant":
            return
        text = self.markdown()
        if self._linked == (text, self._sources):
            return
        if not self._sources or not CITATION_RE.search(text):
            if self._answer_source is not None:  # sources taken away: plain text again
                self._answer_source = None
                self._linked = None
                self.body.set_markdown(text)
            return
        self._answer_source = text
        self._linked = (text, self._sources)
        self.body.set_markdown(self._linked_markdown(text))

    def _linked_markdown(self, text: str) -> str:
        # link_citations makes "[1](hearth-source:1)", shown as a bare "1": keep the brackets
        # in the link's text, so the reader sees the [1] the model wrote.
        linked = link_citations(text, self._sources, SOURCE_SCHEME)
        return _LINK_TEXT.sub(lambda m: f"[\\[{m.group(1)}\\]]({SOURCE_SCHEME}:", linked)

    def _update_sources_view(self) -> None:
        sources = self.ordered_sources()
        if not sources:
            self.sources_view.hide()
            return
        # The colour of the links in the answer (the Markdown theme's), not the palette's.
        dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
        style = f"color: {theme(dark=dark).link}; text-decoration: none;"
        lines = [f'<a href="{SOURCE_SCHEME}:{s.n}" style="{style}">[{s.n}]&nbsp;'
                 f"{html.escape(self._source_label(s))}</a>" for s in sources]
        heading = html.escape(self.tr("Sources"))
        self.sources_view.setText(f"<b>{heading}</b><br>" + "<br>".join(lines))
        self.sources_view.setToolTip(self.tr("Click a source to open the file"))
        self.sources_view.show()

    def _source_label(self, source: Source) -> str:
        """'report.pdf, p. 3' as `Source.label` has it, in the interface's language."""
        start, end = source.page_start, source.page_end
        if start is None:
            return source.name
        if end is None or end == start:
            return self.tr("{name}, p. {page}").format(name=source.name, page=start)
        return self.tr("{name}, pp. {start}-{end}").format(name=source.name, start=start,
                                                            end=end)

    @Slot(str)
    def _on_body_link_activated(self, url: str) -> None:
        qurl = QUrl(url)
        if qurl.scheme() != SOURCE_SCHEME:
            self.link_activated.emit(url)
            return
        n_text, _slash, page_text = qurl.path().partition("/")
        source = next((s for s in self._sources if str(s.n) == n_text), None)
        if source is None:
            return
        page = int(page_text) if page_text.isdigit() else (source.page_start or 0)
        self.source_activated.emit(source, page)

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

    # -- states the pane sets ----------------------------------------------------------------
    def set_regenerate_visible(self, visible: bool) -> None:
        """Only the last reply offers Regenerate (in its resume row when it was cut off)."""
        self.regenerate_button.setVisible(visible and self.role == "assistant"
                                          and self._resume_row.isHidden())

    def set_interrupted(self, interrupted: bool, offer_resume: bool = False) -> None:
        """Mark a reply that Hearth stopped writing when it quit; `offer_resume` adds the
        Continue and Regenerate buttons (the pane offers them on the last reply only)."""
        self._interrupted = interrupted
        self.set_note(self._interrupted_note() if interrupted else "")
        self._resume_row.setVisible(interrupted and offer_resume)
        if not self._resume_row.isHidden():
            self.regenerate_button.setVisible(False)
        self._update_enabled()

    def is_interrupted(self) -> bool:
        """Whether the reply was cut off when Hearth stopped."""
        return self._interrupted

    def resume_offered(self) -> bool:
        """Whether Continue and Regenerate are offered under the reply."""
        return not self._resume_row.isHidden()

    def set_branch(self, index: int, count: int) -> None:
        """Show "< index/count >" when the message has other versions (index from 1)."""
        self._branch = (index, count)
        self._branch_row.setVisible(count > 1)
        self._update_branch_label()
        self._update_enabled()

    def branch(self) -> tuple[int, int]:
        """(index from 1, count) of this version among its siblings."""
        return self._branch

    def set_busy(self, busy: bool) -> None:
        """While a reply streams, editing, regenerating and switching versions wait."""
        self._busy = busy
        self._update_enabled()

    # -- editing -----------------------------------------------------------------------------
    @Slot()
    def start_editing(self) -> None:
        """Replace the message with an editor holding its text (user messages only)."""
        if self.role != "user" or self._busy:
            return
        self.editor.setPlainText(self.markdown())
        self.editor.moveCursor(QTextCursor.MoveOperation.End)
        self.body.hide()
        self._set_actions_visible(False)
        self._branch_row.hide()
        self._edit_frame.show()
        self._on_editor_text_changed()
        self.editor.setFocus()

    @Slot()
    def cancel_editing(self) -> None:
        """Close the editor and show the message as it was."""
        self._edit_frame.hide()
        self.body.show()
        self._set_actions_visible(True)
        self._branch_row.setVisible(self._branch[1] > 1)

    def is_editing(self) -> bool:
        """Whether the inline editor is open."""
        return not self._edit_frame.isHidden()

    @Slot()
    def _on_editor_submitted(self) -> None:
        text = self.editor.toPlainText().strip()
        if not self._edit_changed(text):
            return
        self.cancel_editing()
        self.edit_submitted.emit(text)

    @Slot()
    def _on_editor_text_changed(self) -> None:
        self.save_edit_button.setEnabled(self._edit_changed(self.editor.toPlainText().strip()))

    def _edit_changed(self, text: str) -> bool:
        return bool(text) and text != self.markdown().strip() and not self._busy

    # -- internals ---------------------------------------------------------------------------
    @Slot()
    def _on_previous_branch_button_clicked(self) -> None:
        self.branch_switch_requested.emit(-1)

    @Slot()
    def _on_next_branch_button_clicked(self) -> None:
        self.branch_switch_requested.emit(1)

    def _update_branch_label(self) -> None:
        index, count = self._branch
        self.branch_label.setText(f"{index}/{count}")
        self.branch_label.setAccessibleName(
            self.tr("Version {index} of {count}").format(index=index, count=count))

    def _update_enabled(self) -> None:
        idle = not self._busy
        index, count = self._branch
        self.previous_branch_button.setEnabled(idle and index > 1)
        self.next_branch_button.setEnabled(idle and index < count)
        self.edit_button.setEnabled(idle)
        self.regenerate_button.setEnabled(idle)
        self.continue_button.setEnabled(idle)
        self.resume_regenerate_button.setEnabled(idle)
        if self.is_editing():
            self._on_editor_text_changed()

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
        self.edit_button.setVisible(visible and self.role == "user")
        if not visible:
            self.regenerate_button.setVisible(False)
