"""The window with the conversation store: the sidebar lists what the chat saves."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.store import Store
from app.ui.main_window import MainWindow
from app.workers.generation import GenerationService
from tests.conftest import TINY_LLAMA


def test_window_saves_chats_and_lists_them(qtbot: QtBot, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "conversations.sqlite3")
    service = GenerationService()
    window = MainWindow(service, None, store)
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.sidebar is not None
        assert window.sidebar.isVisible()
        window.provider_combo.setCurrentIndex(window.provider_combo.findData("cpu"))
        with qtbot.waitSignal(service.model_loaded, timeout=30_000):
            window.load_model(str(TINY_LLAMA))
        window.chat.input.setPlainText("東京の天気は")
        with qtbot.waitSignal(service.finished, timeout=30_000):
            window.chat.send_or_stop()
        entries = store.list_conversations()
        assert len(entries) == 1
        cid = entries[0].id
        assert [m.role for m in store.path(cid)] == ["user", "assistant"]
        qtbot.waitUntil(lambda: window.sidebar is not None
                        and window.sidebar.model.rowCount() >= 1, timeout=5_000)
        assert store.search("東京")[0].conversation_id == cid
    finally:
        window.close()
        service.shutdown()
        store.close()


def test_window_without_store_has_no_sidebar(qtbot: QtBot) -> None:
    service = GenerationService()
    window = MainWindow(service)
    qtbot.addWidget(window)
    try:
        assert window.sidebar is None
        assert window.chat_page is window.chat
    finally:
        service.shutdown()
