"""New conversations are named by the model after their first exchange."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.chat import GenerationOptions
from app.core.store import Store
from app.ui.chat_pane import ChatPane, clean_title
from app.workers.generation import GenerationService
from tests.conftest import TINY_LLAMA


@pytest.mark.parametrize(("reply", "title"), [
    ('"Trip to Kyoto"\nMore text', "Trip to Kyoto"),
    ("Title: Parsing dates.", "Parsing dates"),
    ("\n\n## 「東京の天気」。", "東京の天気"),
    ("タイトル\uff1a設定の移動", "設定の移動"),
    ("", ""),
    ("x" * 100, "x" * 60),
])
def test_clean_title(reply: str, title: str) -> None:
    assert clean_title(reply) == title


@pytest.fixture
def chat(qtbot: QtBot, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open(tmp_path / "c.sqlite3")
    service = GenerationService()
    pane = ChatPane(service, store)
    qtbot.addWidget(pane)
    with qtbot.waitSignal(service.model_loaded, timeout=30_000):
        service.load_model(str(TINY_LLAMA), "cpu")
    pane.options = GenerationOptions(max_new_tokens=8, temperature=0.0)
    yield pane
    service.shutdown()
    store.close()


def test_first_exchange_is_named_by_the_model(qtbot: QtBot, chat: ChatPane) -> None:
    service, store = chat._service, chat.store
    assert store is not None
    chat.input.setPlainText("Where should I go in Kyoto in autumn?")
    with qtbot.waitSignal(service.background_finished, timeout=30_000) as title:
        chat.send_or_stop()
    result = title.args[1]
    cid = chat.conversation_id
    assert cid is not None
    expected = clean_title(result.text) or "Where should I go in Kyoto in autumn?"
    assert store.get_conversation(cid).title.startswith(expected[:20])
    # The title ran on a side engine: the conversation's cache is still resident.
    chat.input.setPlainText("And in spring?")
    with qtbot.waitSignal(service.finished, timeout=30_000) as second:
        chat.send_or_stop()
    assert second.args[1].cached_tokens > 0


def test_sending_during_naming_goes_first(qtbot: QtBot, chat: ChatPane) -> None:
    service = chat._service
    chat.options = GenerationOptions(max_new_tokens=8, temperature=0.0)
    chat.input.setPlainText("First question")
    with qtbot.waitSignal(service.finished, timeout=30_000):
        chat.send_or_stop()
    assert chat._title_job is not None  # naming started right after the reply
    chat.input.setPlainText("Second question")
    assert chat.send_button.isEnabled()
    with qtbot.waitSignal(service.finished, timeout=30_000) as second:
        chat.send_or_stop()
    assert chat._title_job is None
    assert second.args[1].generated_tokens > 0
    assert [w.role for w in chat.message_widgets] == ["user", "assistant", "user", "assistant"]
