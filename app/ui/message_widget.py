"""One message in the chat: a header, the Markdown body, and its actions."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.markdown_view import StreamingMarkdownView


class MessageWidget(QFrame):
    """A user or assistant message.

    User messages sit in a tinted bubble on the right; assistant replies use the full width, as
    the apps our users know do. The Markdown source is kept so Copy puts exactly what the model
    wrote on the clipboard.

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
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setObjectName("flatButton")
        self.copy_button.setToolTip(self.tr("Copy this message as Markdown"))
        self.copy_button.setAccessibleName(self.tr("Copy message"))
        self.copy_button.clicked.connect(self.copy_to_clipboard)
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
        """Add streamed text."""
        self.body.append(text)

    def finish(self, stats: str = "", note: str = "") -> None:
        """The reply ended: render the tail, show the actions and a note (stopped, error)."""
        self.body.finish()
        self._stats.setText(stats)
        self.set_note(note)
        self._set_actions_visible(True)

    def set_text(self, text: str) -> None:
        """Show a complete message."""
        self.body.set_markdown(text)

    def set_note(self, note: str, error: bool = False) -> None:
        """A line under the message: why it stopped, or what went wrong."""
        self._note.setText(note)
        self._note.setProperty("error", error)
        self._note.style().unpolish(self._note)
        self._note.style().polish(self._note)
        self._note.setVisible(bool(note))

    def markdown(self) -> str:
        """The message's source text."""
        return self.body.markdown()

    def copy_to_clipboard(self) -> None:
        """Copy the Markdown source (not the rendered rich text, which mangles code)."""
        QGuiApplication.clipboard().setText(self.markdown())

    def set_regenerate_visible(self, visible: bool) -> None:
        """Only the last reply offers Regenerate."""
        self.regenerate_button.setVisible(visible and self.role == "assistant")

    def _set_actions_visible(self, visible: bool) -> None:
        self.copy_button.setVisible(visible)
        if not visible:
            self.regenerate_button.setVisible(False)
