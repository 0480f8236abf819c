"""Saved conversations in the window: the chat pane writes to a real SQLite store as replies
stream, reopens and continues them (reusing the engine's cache), branches on edits and
regenerations, recovers cut-off replies; the history sidebar lists, searches, renames, pins,
exports and deletes them.

Replies come from the real GenerationService with the tiny llama, except where a reply must
have reasoning (the tiny models write noise without channel structure): there the chat pane's
own slots are fed a scripted stream, as in test_thinking.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QAction, QShortcut
from PySide6.QtWidgets import QLineEdit, QSplitter
from pytestqt.qtbot import QtBot

from app.core.chat import ChatMessage, FinishReason, GenerationOptions, GenerationResult
from app.core.errors import StorageError
from app.core.store import ConversationSettings, Store
from app.ui import history_sidebar as sidebar_module
from app.ui.chat_pane import ChatPane
from app.ui.history_sidebar import HistorySidebar, connect_sidebar, export_file_name
from app.ui.main_window import MainWindow
from app.workers.generation import GenerationService, ModelStatus
from tests.conftest import TINY_LLAMA

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400.0
GREEDY = GenerationOptions(max_new_tokens=12, temperature=0.0)


# -- fixtures and helpers ------------------------------------------------------------------------

@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "c.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.open(db_path)
    yield s
    s.close()


@pytest.fixture
def service() -> Iterator[GenerationService]:
    svc = GenerationService()
    yield svc
    svc.shutdown()


@pytest.fixture
def loaded(qtbot: QtBot, service: GenerationService) -> GenerationService:
    """The service with the tiny llama loaded on the CPU."""
    with qtbot.waitSignal(service.model_loaded, timeout=30_000):
        service.load_model(str(TINY_LLAMA), "cpu")
    return service


def make_pane(qtbot: QtBot, service: GenerationService, store: Store | None) -> ChatPane:
    pane = ChatPane(service, store)
    qtbot.addWidget(pane)
    pane.resize(900, 700)
    pane.options = GREEDY
    pane.show()
    return pane


@pytest.fixture
def pane(qtbot: QtBot, loaded: GenerationService, store: Store) -> ChatPane:
    return make_pane(qtbot, loaded, store)


def send(qtbot: QtBot, pane: ChatPane, text: str) -> GenerationResult:
    """Type and send `text`; returns the finished reply."""
    pane.input.setPlainText(text)
    with qtbot.waitSignal(pane._service.finished, timeout=30_000) as done:
        qtbot.keyClick(pane.input, Qt.Key.Key_Return)
    result: GenerationResult = done.args[1]
    return result


def scripted(answer: str, reasoning: str = "", *, tokens: int = 12,
             reason: FinishReason = FinishReason.STOP) -> GenerationResult:
    return GenerationResult(
        text=answer, token_ids=tuple(range(tokens)), finish_reason=reason, provider="cuda",
        prompt_tokens=40, cached_tokens=0, generated_tokens=tokens, ttft_ms=80.0, tok_s=200.0,
        reasoning=reasoning, reasoning_ms=3240.0 if reasoning else 0.0)


def roles(pane: ChatPane) -> list[str]:
    return [w.role for w in pane.message_widgets]


def wait_shown(qtbot: QtBot, pane: ChatPane) -> None:
    """Messages added to the visible pane are shown from the event loop."""
    qtbot.waitUntil(lambda: all(w.isVisible() for w in pane.message_widgets))


# -- saving as it streams -------------------------------------------------------------------------

def test_a_sent_exchange_is_saved_complete_with_its_settings(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    pane.set_system_prompt("You are terse.")
    with qtbot.waitSignal(pane.conversation_changed) as created:
        result = send(qtbot, pane, "Hello there, how are you today?")
    cid = pane.conversation_id
    assert cid is not None
    assert created.args == [cid]
    conv = store.get_conversation(cid)
    assert conv.title == "Hello there, how are you today?"
    assert conv.model_name == "tiny-llama"
    assert conv.settings.system_prompt == "You are terse."
    assert conv.settings.temperature == 0.0
    assert conv.settings.max_new_tokens == 12
    assert conv.settings.reasoning_effort == "medium"
    assert conv.settings.conversation_date == date.today().isoformat()
    user, reply = store.path(cid)
    assert (user.role, user.content) == ("user", "Hello there, how are you today?")
    assert reply.role == "assistant"
    assert reply.status == "complete"
    assert reply.content == result.text == pane.message_widgets[-1].markdown()
    assert reply.reasoning == ""
    assert reply.token_ids == result.token_ids
    assert reply.figures["model"] == "tiny-llama"
    assert reply.figures["generated_tokens"] == result.generated_tokens
    assert [w.message_id for w in pane.message_widgets] == [user.id, reply.id]
    # The engine is sent what the store would send.
    assert list(pane._conversation()) == store.history(cid)


def test_the_reply_is_in_the_file_while_it_streams_and_stop_saves_it_cancelled(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    pane.options = GenerationOptions(max_new_tokens=400, temperature=0.0)
    pane.input.setPlainText("A long one please")
    with qtbot.waitSignal(pane._service.text_generated, timeout=30_000) as first:
        pane.send_or_stop()
    rid = first.args[0]
    reply_id = pane._saving[rid]
    streaming = store.get_message(reply_id)
    assert streaming.status == "streaming"
    assert streaming.content == first.args[1]  # the first text is written at once
    with qtbot.waitSignal(pane._service.finished, timeout=30_000) as done:
        pane.send_button.click()  # Stop
    result: GenerationResult = done.args[1]
    assert result.finish_reason is FinishReason.CANCELLED
    saved = store.get_message(reply_id)
    assert saved.status == "cancelled"
    assert saved.content == result.text
    assert saved.token_ids == result.token_ids
    assert pane.message_widgets[-1].note() == "Stopped."


def test_reasoning_is_saved_apart_from_the_answer_and_shown_folded_on_reopening(
        qtbot: QtBot, service: GenerationService, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "send", lambda _messages, _options, **_kw: 501)
    service._on_worker_model_loaded(ModelStatus(
        name="gpt-oss-20b", path="/models/gpt-oss-20b", provider="cuda", provider_label="CUDA",
        context_tokens=8192, load_seconds=1.0, fallbacks=(), reply_format="harmony"))
    pane = make_pane(qtbot, service, store)
    pane.effort_combo.setCurrentIndex(pane.effort_combo.findData("high"))
    pane.input.setPlainText("Hi")
    pane.send_or_stop()
    for n, piece in enumerate(["The user says hi. ", "Answer briefly."], 1):
        pane._on_service_text_generated(501, piece, n, True)
    for n, piece in enumerate(["Hello! ", "How can I help?"], 3):
        pane._on_service_text_generated(501, piece, n, False)
    pane._on_service_finished(501, scripted("Hello! How can I help?",
                                            "The user says hi. Answer briefly."))
    cid = pane.conversation_id
    assert cid is not None
    reply = store.path(cid)[-1]
    assert (reply.content, reply.reasoning, reply.status) == (
        "Hello! How can I help?", "The user says hi. Answer briefly.", "complete")
    assert store.get_conversation(cid).settings.reasoning_effort == "high"

    other = make_pane(qtbot, service, store)
    other.load_conversation(cid)
    assert roles(other) == ["user", "assistant"]
    widget = other.message_widgets[-1]
    assert widget.markdown() == "Hello! How can I help?"
    assert widget.reasoning() == "The user says hi. Answer briefly."
    assert not widget.thinking.isHidden()
    assert not widget.thinking.is_expanded()
    assert widget.thinking.toggle.text() == "Thought for 3.2 s"
    assert widget.stats() == "12 tokens · 200.0 tok/s · first token 80 ms"
    assert other.reasoning_effort == "high"  # the conversation's own effort comes back


def test_reopening_shows_the_conversation_and_the_next_turn_reuses_the_cache(
        qtbot: QtBot, loaded: GenerationService, db_path: Path) -> None:
    first_store = Store.open(db_path)
    first_pane = make_pane(qtbot, loaded, first_store)
    first = send(qtbot, first_pane, "Hello there")
    cid = first_pane.conversation_id
    assert cid is not None
    shown = [(w.role, w.markdown()) for w in first_pane.message_widgets]
    first_store.close()

    with Store.open(db_path) as reopened:
        pane = make_pane(qtbot, loaded, reopened)
        with qtbot.waitSignal(pane.conversation_changed) as changed:
            pane.load_conversation(cid)
        assert changed.args == [cid]
        wait_shown(qtbot, pane)
        assert [(w.role, w.markdown()) for w in pane.message_widgets] == shown
        assert pane.messages[-1].token_ids == first.token_ids
        assert pane.message_widgets[-1].regenerate_button.isVisibleTo(pane)
        second = send(qtbot, pane, "And again")
        # The engine still holds the first turn: with the stored token ids the new prompt
        # extends it exactly, so all of it is reused (re-tokenised text would not match).
        assert second.cached_tokens == first.prompt_tokens + first.generated_tokens
        assert [m.role for m in reopened.path(cid)] == ["user", "assistant", "user",
                                                        "assistant"]


def test_another_models_token_ids_are_not_sent(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    conv = store.create_conversation(model_name="some-other-model", first_message="Hi")
    reply = store.begin_reply(conv.id, model_name="some-other-model")
    store.finish_reply(reply, scripted("Hello.", tokens=5))
    pane.load_conversation(conv.id)
    assert pane.messages[-1].token_ids == (0, 1, 2, 3, 4)
    assert pane._conversation()[-1] == ChatMessage("assistant", "Hello.")


# -- edits, regenerations and versions ------------------------------------------------------------

def test_edit_makes_a_new_branch_and_the_switcher_flips_back(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    send(qtbot, pane, "First question")
    first_reply = pane.message_widgets[-1].markdown()
    user = pane.message_widgets[0]
    assert user.edit_button.isVisible()
    assert user.branch() == (1, 1)
    assert user._branch_row.isHidden()
    user.edit_button.click()
    assert user.is_editing()
    assert user.editor.toPlainText() == "First question"
    assert not user.save_edit_button.isEnabled()  # nothing changed yet
    user.editor.setPlainText("Second question")
    with qtbot.waitSignal(pane._service.finished, timeout=30_000):
        qtbot.keyClick(user.editor, Qt.Key.Key_Return)
    cid = pane.conversation_id
    assert cid is not None
    edited = pane.message_widgets[0]
    assert [w.markdown() for w in pane.message_widgets][:1] == ["Second question"]
    assert roles(pane) == ["user", "assistant"]
    assert edited.branch() == (2, 2)
    assert edited.branch_label.text() == "2/2"
    assert edited._branch_row.isVisibleTo(pane)
    assert [m.content for m in store.siblings(edited.message_id or 0)] == [
        "First question", "Second question"]

    edited.previous_branch_button.click()
    again = pane.message_widgets[0]
    assert again.markdown() == "First question"
    assert again.branch() == (1, 2)
    assert pane.message_widgets[1].markdown() == first_reply
    assert store.path(cid)[0].content == "First question"  # the active branch moved
    again.next_branch_button.click()
    assert pane.message_widgets[0].markdown() == "Second question"
    assert pane.message_widgets[0].branch() == (2, 2)


def test_escape_cancels_an_edit(qtbot: QtBot, pane: ChatPane) -> None:
    send(qtbot, pane, "Keep me")
    user = pane.message_widgets[0]
    user.start_editing()
    user.editor.setPlainText("Changed my mind")
    qtbot.keyClick(user.editor, Qt.Key.Key_Escape)
    assert not user.is_editing()
    assert user.markdown() == "Keep me"
    assert len(pane.message_widgets) == 2


def test_regenerate_keeps_the_old_reply_as_a_version(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    pane.options = GenerationOptions(max_new_tokens=12, temperature=1.0, top_k=50)
    send(qtbot, pane, "Say something")
    old = pane.message_widgets[-1]
    old_id, old_text = old.message_id, old.markdown()
    with qtbot.waitSignal(pane._service.finished, timeout=30_000):
        old.regenerate_button.click()
    new = pane.message_widgets[-1]
    assert new.message_id != old_id
    assert new.branch() == (2, 2)
    assert [m.id for m in store.siblings(new.message_id or 0)] == [old_id, new.message_id]
    new.previous_branch_button.click()
    assert pane.message_widgets[-1].message_id == old_id
    assert pane.message_widgets[-1].markdown() == old_text
    assert pane.message_widgets[-1].branch() == (1, 2)


# -- a reply cut off by a crash --------------------------------------------------------------------

_DIE_MID_REPLY = textwrap.dedent("""
    import os, sys
    from app.core.store import Store
    s = Store.open(sys.argv[1])
    conv = s.create_conversation(model_name="tiny-llama", first_message="Tell me a story")
    rid = s.begin_reply(conv.id, model_name="tiny-llama")
    s.append_reply(rid, "Once upon")
    print(conv.id, flush=True)
    os._exit(0)  # dies without finishing or closing, like a crash
""")


@pytest.mark.parametrize("button", ["continue_button", "resume_regenerate_button"])
def test_an_interrupted_reply_offers_continue_and_regenerate(
        qtbot: QtBot, loaded: GenerationService, db_path: Path, button: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _DIE_MID_REPLY, str(db_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    cid = int(proc.stdout)
    with Store.open(db_path) as store:
        cut = store.path(cid)[-1]
        assert cut.status == "interrupted"
        pane = make_pane(qtbot, loaded, store)
        pane.load_conversation(cid)
        wait_shown(qtbot, pane)
        widget = pane.message_widgets[-1]
        assert widget.markdown() == "Once upon"
        assert widget.is_interrupted()
        assert widget.resume_offered()
        assert "stopped before this reply was finished" in widget.note()
        assert widget.continue_button.isVisibleTo(pane)
        assert widget.resume_regenerate_button.isVisibleTo(pane)
        assert not widget.regenerate_button.isVisibleTo(pane)  # offered once, in the row
        with qtbot.waitSignal(loaded.finished, timeout=30_000) as done:
            getattr(widget, button).click()
        result: GenerationResult = done.args[1]
        reply = pane.message_widgets[-1]
        assert roles(pane) == ["user", "assistant"]
        assert reply.markdown() == result.text
        assert not reply.is_interrupted()
        saved = store.path(cid)[-1]
        assert (saved.status, saved.content) == ("complete", result.text)
        # The cut-off text stays reachable as the first version.
        assert reply.branch() == (2, 2)
        assert store.siblings(saved.id)[0].id == cut.id
        if button == "continue_button":
            # Continue goes on from the cut-off text instead of starting over.
            assert result.text.startswith("Once upon")
            assert len(result.text) > len("Once upon")


# -- storage failures ------------------------------------------------------------------------------

def test_a_storage_error_while_streaming_is_shown_and_the_reply_completes(
        qtbot: QtBot, pane: ChatPane, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*_args: object, **_kwargs: object) -> bool:
        raise StorageError("Hearth cannot write its conversation history: the disk is full.")

    monkeypatch.setattr(store, "append_reply", full_disk)
    result = send(qtbot, pane, "Hello there")
    assert pane._banner.isVisible()
    assert "the disk is full" in pane._banner.text()
    assert "could not be saved" in pane._banner.text()
    reply = pane.message_widgets[-1]
    assert reply.markdown() == result.text
    assert reply.stats()
    assert pane.messages[-1].token_ids == result.token_ids
    assert "tok/s" in pane.status.text()
    # The final write went through: the file holds the whole reply.
    cid = pane.conversation_id
    assert cid is not None
    assert store.path(cid)[-1].content == result.text


def test_a_conversation_that_cannot_be_created_stays_on_screen(
        qtbot: QtBot, pane: ChatPane, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_args: object, **_kwargs: object) -> None:
        raise StorageError("Hearth cannot write its conversation history: the folder is "
                           "read-only.")

    monkeypatch.setattr(store, "create_conversation", read_only)
    result = send(qtbot, pane, "Hello there")
    assert "read-only" in pane._banner.text()
    assert pane.conversation_id is None
    assert roles(pane) == ["user", "assistant"]
    assert pane.message_widgets[-1].markdown() == result.text
    assert store.list_conversations() == []


# -- the history sidebar ---------------------------------------------------------------------------

def add_conversation(store: Store, question: str, answer: str, days_ago: float,
                     now: float) -> int:
    store.clock = lambda: now - days_ago * DAY
    conv = store.create_conversation(model_name="tiny-llama", first_message=question)
    reply = store.begin_reply(conv.id)
    store.finish_reply(reply, scripted(answer))
    store.clock = time.time
    return conv.id


@pytest.fixture
def history(store: Store) -> dict[str, int]:
    now = time.time()
    return {
        "kyoto": add_conversation(store, "Trip plan for Kyoto", "Start in Higashiyama.", 0, now),
        "tokyo": add_conversation(store, "週末の予定", "東京で雨の日は美術館がおすすめです。", 1,
                                  now),
        "sql": add_conversation(store, "SQL duplicates", "Use GROUP BY email.", 3, now),
        "onnx": add_conversation(store, "Compare providers", "CUDA or DirectML.", 20, now),
        "old": add_conversation(store, "Reading notes", "Middlemarch.", 70, now),
    }


@pytest.fixture
def sidebar(qtbot: QtBot, store: Store, history: dict[str, int]) -> HistorySidebar:
    widget = HistorySidebar(store)
    qtbot.addWidget(widget)
    widget.resize(280, 600)
    widget.show()
    return widget


def action(menu: object, name: str) -> QAction:
    found = menu.findChild(QAction, name)  # type: ignore[attr-defined]
    assert found is not None, name
    return found


def test_the_sidebar_lists_conversations_by_date_group(
        sidebar: HistorySidebar, store: Store, history: dict[str, int]) -> None:
    month = datetime.fromtimestamp(time.time() - 70 * DAY).strftime("%Y-%m")
    assert sidebar.model.headings() == ["Today", "Yesterday", "Previous 7 days",
                                        "Previous 30 days", month]
    assert sidebar.model.conversation_ids() == [history[k] for k in
                                                ("kyoto", "tokyo", "sql", "onnx", "old")]
    first = sidebar.model.index(sidebar.model.row_of(history["kyoto"]))
    assert first.data() == "Trip plan for Kyoto"
    heading = sidebar.model.index(0)
    assert not heading.flags() & Qt.ItemFlag.ItemIsSelectable
    assert sidebar.list_view.accessibleName() == "Conversations"
    assert sidebar.search_box.accessibleName()
    assert sidebar.new_chat_button.accessibleName() == "New chat"


def test_search_finds_english_and_japanese_words(
        qtbot: QtBot, sidebar: HistorySidebar, history: dict[str, int]) -> None:
    sidebar.search_box.setText("higashiyama")
    qtbot.waitUntil(lambda: sidebar.model.conversation_ids() == [history["kyoto"]])
    hit = sidebar.model.index(0)
    assert hit.data(sidebar.model.KindRole) == "hit"
    snippet = hit.data(sidebar.model.SnippetRole)
    start, end = hit.data(sidebar.model.HighlightsRole)[0]
    assert snippet[start:end].lower() == "higashiyama"

    sidebar.search_box.setText("東京")
    qtbot.waitUntil(lambda: sidebar.model.conversation_ids() == [history["tokyo"]])
    hit = sidebar.model.index(0)
    snippet = hit.data(sidebar.model.SnippetRole)
    start, end = hit.data(sidebar.model.HighlightsRole)[0]
    assert snippet[start:end] == "東京"
    assert hit.data() == "週末の予定"

    sidebar.search_box.setText("zebra")
    qtbot.waitUntil(lambda: sidebar.model.rowCount() == 0)
    assert sidebar.empty_label.isVisible()
    qtbot.keyClick(sidebar.search_box, Qt.Key.Key_Escape)  # clears the search
    assert sidebar.search_box.text() == ""
    qtbot.waitUntil(lambda: len(sidebar.model.conversation_ids()) == 5)
    assert not sidebar.empty_label.isVisible()


def test_rename_in_place(qtbot: QtBot, sidebar: HistorySidebar, store: Store,
                         history: dict[str, int]) -> None:
    action(sidebar.context_menu(history["sql"]), "renameAction").trigger()
    editor = sidebar.list_view.findChild(QLineEdit, "renameEditor")
    assert editor is not None
    assert editor.text() == "SQL duplicates"
    editor.setText("  Finding duplicate rows  ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the view commits from the event loop
    qtbot.waitUntil(
        lambda: store.get_conversation(history["sql"]).title == "Finding duplicate rows")
    index = sidebar.model.index(sidebar.model.row_of(history["sql"]))
    qtbot.waitUntil(lambda: index.data() == "Finding duplicate rows")


def test_pin_and_unpin(sidebar: HistorySidebar, store: Store, history: dict[str, int]) -> None:
    action(sidebar.context_menu(history["old"]), "pinAction").trigger()
    assert store.get_conversation(history["old"]).pinned
    assert sidebar.model.headings()[0] == "Pinned"
    assert sidebar.model.conversation_ids()[0] == history["old"]
    unpin = action(sidebar.context_menu(history["old"]), "pinAction")
    assert unpin.text() == "Unpin"
    unpin.trigger()
    assert "Pinned" not in sidebar.model.headings()


def test_delete_and_undo(qtbot: QtBot, sidebar: HistorySidebar, store: Store,
                         history: dict[str, int]) -> None:
    sidebar.set_current_conversation(history["kyoto"])
    with qtbot.waitSignal(sidebar.new_chat_requested):  # it was on screen
        action(sidebar.context_menu(history["kyoto"]), "deleteAction").trigger()
    assert history["kyoto"] not in sidebar.model.conversation_ids()
    assert store.get_conversation(history["kyoto"]).deleted_at is not None
    assert sidebar.toast.isVisible()
    assert "Trip plan for Kyoto" in sidebar.toast_label.text()
    assert sidebar.undo_button.isVisible()
    sidebar.undo_button.click()
    assert history["kyoto"] in sidebar.model.conversation_ids()
    assert store.get_conversation(history["kyoto"]).deleted_at is None
    assert not sidebar.toast.isVisible()


def test_delete_key_deletes_the_current_row(qtbot: QtBot, sidebar: HistorySidebar,
                                            history: dict[str, int]) -> None:
    sidebar.list_view.setCurrentIndex(sidebar.model.index(sidebar.model.row_of(history["sql"])))
    sidebar.list_view.setFocus()
    qtbot.waitUntil(sidebar.list_view.hasFocus)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)
    assert history["sql"] not in sidebar.model.conversation_ids()


def test_export_markdown_and_json_with_and_without_thinking(
        sidebar: HistorySidebar, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    conv = store.create_conversation(first_message="Why is the sky blue?")
    reply = store.begin_reply(conv.id)
    store.finish_reply(reply, scripted("Rayleigh scattering.", "Short wavelengths scatter."))
    sidebar.refresh()
    asked: list[str] = []

    def save_as(_parent: object, _caption: str, suggested: str, _filter: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(tmp_path / Path(suggested).name), ""

    monkeypatch.setattr(sidebar_module.QFileDialog, "getSaveFileName", save_as)
    action(sidebar.context_menu(conv.id), "exportMarkdownAction").trigger()
    markdown = (tmp_path / "Why is the sky blue.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Why is the sky blue?")
    assert "Rayleigh scattering." in markdown
    assert "Short wavelengths" not in markdown
    assert "Exported to" in sidebar.toast_label.text()

    menu = sidebar.context_menu(conv.id)
    action(menu, "exportThinkingAction").trigger()  # the check box
    assert sidebar.export_thinking
    action(sidebar.context_menu(conv.id), "exportJsonAction").trigger()
    data = json.loads((tmp_path / "Why is the sky blue.json").read_text(encoding="utf-8"))
    assert data["conversations"][0]["messages"][1]["reasoning"] == "Short wavelengths scatter."
    assert [Path(p).name for p in asked] == ["Why is the sky blue.md",
                                             "Why is the sky blue.json"]


def test_export_file_names_are_safe() -> None:
    assert export_file_name('a/b: "c"?', "md") == "a b c.md"
    assert export_file_name("東京の天気", "json") == "東京の天気.json"
    assert export_file_name("...", "md") == "conversation.md"


def test_an_export_that_cannot_be_written_says_so(
        sidebar: HistorySidebar, tmp_path: Path, history: dict[str, int]) -> None:
    assert not sidebar.write_export(history["sql"], tmp_path / "missing" / "x.md", "md")
    assert "could not be saved" in sidebar.toast_label.text()


def test_ctrl_f_focuses_the_search(qtbot: QtBot, sidebar: HistorySidebar) -> None:
    sidebar.activateWindow()
    qtbot.waitUntil(lambda: sidebar.isActiveWindow())
    sidebar.list_view.setFocus()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert sidebar.search_box.hasFocus()


# -- the sidebar and the chat together -------------------------------------------------------------

def test_the_sidebar_and_the_chat_follow_each_other(
        qtbot: QtBot, loaded: GenerationService, store: Store,
        history: dict[str, int]) -> None:
    splitter = QSplitter()
    qtbot.addWidget(splitter)
    sidebar = HistorySidebar(store)
    chat = ChatPane(loaded, store)
    chat.options = GREEDY
    splitter.addWidget(sidebar)
    splitter.addWidget(chat)
    connect_sidebar(sidebar, chat)
    splitter.resize(1000, 700)
    splitter.show()

    row = sidebar.model.row_of(history["tokyo"])
    qtbot.mouseClick(sidebar.list_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=sidebar.list_view.visualRect(sidebar.model.index(row)).center())
    assert chat.conversation_id == history["tokyo"]
    assert [w.markdown() for w in chat.message_widgets] == [
        "週末の予定", "東京で雨の日は美術館がおすすめです。"]
    assert sidebar.list_view.currentIndex().row() == row

    sidebar.new_chat_button.click()
    assert chat.conversation_id is None
    assert chat.message_widgets == ()
    assert sidebar.current_conversation is None
    assert not sidebar.list_view.selectionModel().hasSelection()

    send(qtbot, chat, "A brand new question")
    new_id = chat.conversation_id
    assert new_id is not None
    assert sidebar.current_conversation == new_id
    assert sidebar.model.conversation_ids()[0] == new_id  # newest first
    assert sidebar.list_view.currentIndex().data() == "A brand new question"


def test_opening_another_conversation_mid_reply_still_saves_the_reply(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    other = add_conversation(store, "Another one", "Its answer.", 0, time.time())
    pane.options = GenerationOptions(max_new_tokens=400, temperature=0.0)
    pane.input.setPlainText("A long one please")
    with qtbot.waitSignal(pane._service.text_generated, timeout=30_000):
        pane.send_or_stop()
    cid = pane.conversation_id
    assert cid is not None
    with qtbot.waitSignal(pane._service.finished, timeout=30_000) as done:
        pane.load_conversation(other)
    result: GenerationResult = done.args[1]
    # The reply went on being saved in its own conversation; the screen shows the other one.
    left = store.path(cid)[-1]
    assert (left.status, left.content) == ("cancelled", result.text)
    assert pane.conversation_id == other
    assert [w.markdown() for w in pane.message_widgets] == ["Another one", "Its answer."]


def test_refreshing_keeps_the_list_scrolled(qtbot: QtBot, store: Store) -> None:
    now = time.time()
    ids = [add_conversation(store, f"Conversation {n}", "An answer.", n, now)
           for n in range(40)]
    sidebar = HistorySidebar(store)
    qtbot.addWidget(sidebar)
    sidebar.resize(280, 300)
    sidebar.show()
    bar = sidebar.list_view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.maximum() // 2)
    sidebar.set_current_conversation(ids[0])  # at the top: selecting it must not scroll
    assert bar.value() == bar.maximum() // 2


def test_settings_of_a_saved_conversation_come_back_with_it(
        qtbot: QtBot, pane: ChatPane, store: Store) -> None:
    conv = store.create_conversation(
        settings=ConversationSettings(system_prompt="Answer in French.",
                                      reasoning_effort="low", conversation_date="2025-01-31"),
        first_message="Hi")
    pane.set_system_prompt("Answer in English.")
    pane.load_conversation(conv.id)
    assert pane._conversation()[0] == ChatMessage("system", "Answer in French.")
    assert pane.reasoning_effort == "low"
    assert pane._request_options().conversation_date == "2025-01-31"
    pane.set_system_prompt("Answer in German.")  # for new chats: this one keeps its own
    assert pane._conversation()[0].content == "Answer in French."
    pane.new_chat()
    assert pane._conversation()[0].content == "Answer in German."


# -- keyboard and languages ------------------------------------------------------------------------

def test_the_pane_shortcuts_work_on_their_own(qtbot: QtBot, pane: ChatPane) -> None:
    pane.activateWindow()
    qtbot.waitUntil(lambda: pane.isActiveWindow())
    send(qtbot, pane, "Hi")
    pane._scroll.setFocus()
    qtbot.keyClick(pane._scroll, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert pane.input.hasFocus()
    qtbot.keyClick(pane.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert pane.message_widgets == ()
    assert pane.conversation_id is None


def test_in_the_main_window_the_windows_shortcuts_win(
        qtbot: QtBot, loaded: GenerationService) -> None:
    win = MainWindow(loaded)
    qtbot.addWidget(win)
    win.show()
    own = [s for s in win.chat.findChildren(QShortcut) if s.property("hearthOwnKey")]
    assert {s.property("hearthOwnKey") for s in own} == {"Ctrl+N", "Ctrl+L", "Esc"}
    # MainWindow binds all three itself; two live shortcuts for a key would cancel out.
    assert all(s.key().isEmpty() for s in own)
    win.chat.options = GREEDY
    send(qtbot, win.chat, "Hi")
    win.activateWindow()
    qtbot.waitUntil(lambda: win.isActiveWindow())
    qtbot.keyClick(win.chat.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert win.chat.message_widgets == ()


def test_language_change_re_sets_the_static_texts(qtbot: QtBot, pane: ChatPane,
                                                  sidebar: HistorySidebar) -> None:
    send(qtbot, pane, "Hi")
    widget = pane.message_widgets[0]
    pane.new_chat_button.setText("x")
    widget.edit_button.setText("x")
    sidebar.new_chat_button.setText("x")
    for target in (pane, widget, sidebar):
        QCoreApplication.sendEvent(target, QEvent(QEvent.Type.LanguageChange))
    assert pane.new_chat_button.text() == "New chat"
    assert widget.edit_button.text() == "Edit"
    assert sidebar.new_chat_button.text() == "New chat"


def test_export_all_conversations(sidebar: HistorySidebar, store: Store, tmp_path: Path,
                                  history: dict[str, int]) -> None:
    path = tmp_path / "all.json"
    assert sidebar.write_export(None, path, "json")
    data = json.loads(path.read_text(encoding="utf-8"))
    titles = {c["title"] for c in data["conversations"]}
    assert {store.get_conversation(cid).title for cid in history.values()} <= titles
    menu = sidebar.context_menu(history["kyoto"])
    assert any(a.objectName() == "exportAllMenu" for a in menu.findChildren(type(menu)))
