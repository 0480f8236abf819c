"""Settings of one conversation: edited in a dialog, used for its replies, saved with it."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.chat import GenerationOptions
from app.core.store import Store
from app.ui.chat_pane import ChatPane
from app.ui.conversation_settings import ConversationSettingsDialog
from app.workers.generation import GenerationService
from tests.conftest import TINY_LLAMA


def test_dialog_edits_a_copy(qtbot: QtBot) -> None:
    base = GenerationOptions(temperature=0.7, max_new_tokens=1024, reasoning_effort="high")
    dialog = ConversationSettingsDialog(base, "Be brief.", started=False)
    qtbot.addWidget(dialog)
    dialog.temperature.setValue(0.2)
    dialog.max_tokens.setValue(64)
    dialog.system_prompt.setPlainText("  Answer in Japanese.  ")
    edited = dialog.options()
    assert (edited.temperature, edited.max_new_tokens) == (0.2, 64)
    assert edited.reasoning_effort == "high"  # fields the dialog does not show are kept
    assert dialog.instructions() == "Answer in Japanese."
    assert base.temperature == 0.7


def test_conversation_settings_are_used_saved_and_restored(qtbot: QtBot, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "c.sqlite3")
    service = GenerationService()
    chat = ChatPane(service, store)
    qtbot.addWidget(chat)
    sent: list[GenerationOptions] = []
    original_send = service.send

    def record(messages, options, background=False,  # type: ignore[no-untyped-def]
               continue_from=None):
        sent.append(options)
        return original_send(messages, options, background, continue_from)

    service.send = record  # type: ignore[method-assign]
    try:
        with qtbot.waitSignal(service.model_loaded, timeout=30_000):
            service.load_model(str(TINY_LLAMA), "cpu")
        chat.set_conversation_settings(
            GenerationOptions(temperature=0.0, max_new_tokens=6), "Reply tersely.")
        chat.input.setPlainText("Hello")
        with qtbot.waitSignal(service.finished, timeout=30_000):
            chat.send_or_stop()
        assert sent[0].max_new_tokens == 6
        assert sent[0].temperature == 0.0
        cid = chat.conversation_id
        assert cid is not None
        saved = store.get_conversation(cid).settings
        assert (saved.max_new_tokens, saved.system_prompt) == (6, "Reply tersely.")
        # A new chat starts from the defaults; reopening brings the conversation's back.
        chat.new_chat()
        assert chat._request_options().max_new_tokens == chat.options.max_new_tokens
        chat.load_conversation(cid)
        assert chat._request_options().max_new_tokens == 6
        assert chat._system_prompt == "Reply tersely."
    finally:
        service.shutdown()
        store.close()
