"""The settings of one conversation: instructions and sampling, edited in a small dialog."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import GenerationOptions
from app.core.settings import Spec, describe_settings


class ConversationSettingsDialog(QDialog):
    """Edits the instructions and sampling of the conversation on screen.

    The ranges come from the settings schema, so a conversation can hold exactly what the
    defaults can. Changing the instructions of a conversation already under way is allowed
    but said to cost a re-read: they open every prompt.
    """

    def __init__(self, options: GenerationOptions, system_prompt: str, *, started: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationSettingsDialog")
        self.setWindowTitle(self.tr("Conversation settings"))
        self._options = options
        specs = {info.key: info.spec for info in describe_settings()}
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.system_prompt = QPlainTextEdit(system_prompt)
        self.system_prompt.setAccessibleName(self.tr("Instructions"))
        self.system_prompt.setFixedHeight(90)
        form.addRow(self.tr("Instructions"), self.system_prompt)
        self.temperature = self._double(specs["generation.temperature"], options.temperature)
        self.temperature.setAccessibleName(self.tr("Temperature"))
        form.addRow(self.tr("Temperature"), self.temperature)
        self.top_p = self._double(specs["generation.top_p"], options.top_p)
        self.top_p.setAccessibleName(self.tr("Top-p"))
        form.addRow(self.tr("Top-p"), self.top_p)
        self.top_k = self._int(specs["generation.top_k"], options.top_k)
        self.top_k.setAccessibleName(self.tr("Top-k"))
        form.addRow(self.tr("Top-k"), self.top_k)
        self.max_tokens = self._int(specs["generation.max_new_tokens"], options.max_new_tokens)
        self.max_tokens.setAccessibleName(self.tr("Longest reply"))
        self.max_tokens.setSuffix(self.tr(" tokens"))
        form.addRow(self.tr("Longest reply"), self.max_tokens)
        layout.addLayout(form)
        if started:
            note = QLabel(self.tr("Changing the instructions makes the model read the whole "
                                  "conversation again before its next reply."))
            note.setObjectName("settingsHint")
            note.setWordWrap(True)
            layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def options(self) -> GenerationOptions:
        """The edited options (fields the dialog does not show are kept)."""
        return replace(self._options, temperature=self.temperature.value(),
                       top_p=self.top_p.value(), top_k=self.top_k.value(),
                       max_new_tokens=self.max_tokens.value())

    def instructions(self) -> str:
        """The edited instructions (system prompt)."""
        return self.system_prompt.toPlainText().strip()

    @staticmethod
    def _double(spec: Spec, value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setDecimals(2)
        box.setSingleStep(0.05)
        assert spec.minimum is not None
        assert spec.maximum is not None
        box.setRange(spec.minimum, spec.maximum)
        box.setValue(value)
        return box

    @staticmethod
    def _int(spec: Spec, value: int) -> QSpinBox:
        box = QSpinBox()
        assert spec.minimum is not None
        assert spec.maximum is not None
        box.setRange(int(spec.minimum), int(spec.maximum))
        box.setValue(value)
        return box
