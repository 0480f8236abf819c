"""A reply's thinking shown apart from its answer, the reasoning effort control, and Copy.

Most tests script the stream: the chat pane's real slots get reasoning batches, then answer
batches, then a GenerationResult, as the service delivers them (the random tiny models write
noise without channel structure, so they cannot show this). The service is the real one with a
model status set through its model_loaded path; only `send` is replaced, to record what the pane
asks for. One test runs the real tiny gpt-oss end to end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.core.chat import ChatMessage, FinishReason, GenerationOptions, GenerationResult
from app.ui import chat_pane as chat_pane_module
from app.ui.chat_pane import ChatPane
from app.ui.main_window import MainWindow
from app.ui.message_widget import quote_reasoning
from app.workers.generation import GenerationService, ModelStatus
from tests.conftest import TINY_GPTOSS

REASONING = ["The user says hi. ", "Reply briefly,\n\n", "and offer help."]
ANSWER = ["Hello! ", "How can I **help**?"]


@dataclass
class SentLog:
    """What the pane handed to `GenerationService.send`."""

    requests: list[tuple[tuple[ChatMessage, ...], GenerationOptions]] = field(
        default_factory=list)

    @property
    def options(self) -> GenerationOptions:
        return self.requests[-1][1]


def status(reply_format: str = "harmony") -> ModelStatus:
    return ModelStatus(name="gpt-oss-20b", path="/models/gpt-oss-20b", provider="cuda",
                       provider_label="CUDA", context_tokens=8192, load_seconds=1.5,
                       fallbacks=(), reply_format=reply_format)


def result(answer: str, reasoning: str, *, reason: FinishReason = FinishReason.STOP,
           reasoning_ms: float = 3240.0, tokens: int = 12) -> GenerationResult:
    return GenerationResult(
        text=answer, token_ids=tuple(range(tokens)), finish_reason=reason, provider="cuda",
        prompt_tokens=40, cached_tokens=0, generated_tokens=tokens, ttft_ms=80.0, tok_s=200.0,
        reasoning=reasoning, reasoning_ms=reasoning_ms)


@pytest.fixture
def service() -> Iterator[GenerationService]:
    svc = GenerationService()
    yield svc
    svc.shutdown()


@pytest.fixture
def sent(service: GenerationService, monkeypatch: pytest.MonkeyPatch) -> SentLog:
    log = SentLog()

    def send(messages: tuple[ChatMessage, ...], options: GenerationOptions,
             background: bool = False, continue_from: ChatMessage | None = None) -> int:
        log.requests.append((messages, options))
        return 100 + len(log.requests)

    monkeypatch.setattr(service, "send", send)
    return log


@pytest.fixture
def pane(qtbot: QtBot, service: GenerationService, sent: SentLog) -> ChatPane:
    widget = ChatPane(service)
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    service._on_worker_model_loaded(status("harmony"))
    return widget


def ask(qtbot: QtBot, pane: ChatPane, text: str = "Hi") -> int:
    """Send `text`; returns the request id once the (empty) reply is on screen."""
    pane.input.setPlainText(text)
    pane.send_or_stop()
    assert pane._request_id is not None
    reply = pane.message_widgets[-1]
    qtbot.waitUntil(reply.isVisible)  # a layout shows new widgets from the event loop
    return pane._request_id


def stream(pane: ChatPane, rid: int, pieces: list[str], *, reasoning: bool) -> None:
    for n, piece in enumerate(pieces, 1):
        pane._on_service_text_generated(rid, piece, n, reasoning)


def test_thinking_opens_while_it_streams_and_folds_when_the_answer_starts(
        qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING[:2], reasoning=True)
    widget = pane.message_widgets[-1]
    section = widget.thinking
    assert section.isVisible()
    assert section.is_expanded()
    assert section.view.isVisible()
    assert section.toggle.text() == "Thinking…"
    assert section.markdown() == "".join(REASONING[:2])
    assert widget.markdown() == ""
    assert "thinking" in pane.status.text()

    stream(pane, rid, REASONING[2:], reasoning=True)
    stream(pane, rid, ANSWER[:1], reasoning=False)
    assert not section.is_expanded()
    assert not section.view.isVisible()
    assert section.toggle.text().startswith("Thought for ")  # measured in the UI meanwhile
    assert "generating" in pane.status.text()

    stream(pane, rid, ANSWER[1:], reasoning=False)
    answer, reasoning = "".join(ANSWER), "".join(REASONING)
    pane._on_service_finished(rid, result(answer, reasoning, reasoning_ms=3240.0))
    assert section.toggle.text() == "Thought for 3.2 s"  # the engine's figure wins
    assert not section.is_expanded()
    assert widget.markdown() == answer
    assert widget.reasoning() == reasoning
    stored = pane.messages[-1]
    assert stored == ChatMessage("assistant", answer, tuple(range(12)), reasoning)
    assert widget.note() == ""


def test_the_user_can_reopen_and_fold_the_thinking(pane: ChatPane, qtbot: QtBot) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING, reasoning=True)
    stream(pane, rid, ANSWER, reasoning=False)
    pane._on_service_finished(rid, result("".join(ANSWER), "".join(REASONING)))
    section = pane.message_widgets[-1].thinking
    toggle = section.toggle
    assert toggle.accessibleName()
    assert toggle.accessibleDescription() == toggle.text()
    assert "Show" in toggle.toolTip()
    with qtbot.waitSignal(section.expanded_changed) as opened:
        toggle.click()
    assert opened.args == [True]
    assert section.view.isVisible()
    assert "Hide" in toggle.toolTip()
    toggle.click()
    assert not section.view.isVisible()


def test_a_user_collapse_while_thinking_is_kept(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING[:1], reasoning=True)
    section = pane.message_widgets[-1].thinking
    section.toggle.click()
    stream(pane, rid, REASONING[1:], reasoning=True)
    assert not section.is_expanded()


def test_copy_gives_the_answer_and_the_menu_adds_the_thinking(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING, reasoning=True)
    stream(pane, rid, ANSWER, reasoning=False)
    answer, reasoning = "".join(ANSWER), "".join(REASONING)
    pane._on_service_finished(rid, result(answer, reasoning))
    widget = pane.message_widgets[-1]
    clipboard = QGuiApplication.clipboard()

    widget.copy_button.click()
    assert clipboard.text() == answer
    assert widget.copy_button.menu() is not None
    assert widget.copy_with_thinking_action.isVisible()
    widget.copy_answer_action.trigger()
    assert clipboard.text() == answer
    widget.copy_with_thinking_action.trigger()
    assert clipboard.text() == (
        "> **Thinking**\n>\n"
        "> The user says hi. Reply briefly,\n>\n> and offer help.\n\n"
        "Hello! How can I **help**?")


def test_quoting_keeps_blank_lines_inside_the_quote() -> None:
    assert quote_reasoning("a\n\nb\n", "answer") == "> **Thinking**\n>\n> a\n>\n> b\n\nanswer"


def test_a_plain_reply_has_no_thinking_section(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, ANSWER, reasoning=False)
    pane._on_service_finished(rid, result("".join(ANSWER), "", reasoning_ms=0.0))
    widget = pane.message_widgets[-1]
    assert widget.thinking.isHidden()
    assert widget.reasoning() == ""
    assert widget.copy_button.menu() is None
    assert not widget.copy_with_thinking_action.isVisible()
    assert widget.markdown_with_thinking() == widget.markdown()
    assert pane.messages[-1].reasoning == ""


def test_a_reply_that_only_thought_stays_open_and_says_so(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING, reasoning=True)
    reasoning = "".join(REASONING)
    pane._on_service_finished(rid, result("", reasoning, reason=FinishReason.CANCELLED,
                                          reasoning_ms=0.0))
    widget = pane.message_widgets[-1]
    section = widget.thinking
    assert section.isVisible()
    assert section.is_expanded()
    assert section.toggle.text().startswith("Thought for ")
    assert widget.note().startswith("Stopped.")
    assert "no answer" in widget.note()
    assert pane.messages[-1].content == ""
    assert pane.messages[-1].reasoning == reasoning
    # Copy with thinking still has something to give.
    widget.copy_with_thinking_action.trigger()
    assert "> **Thinking**" in QGuiApplication.clipboard().text()


def test_long_thinking_is_shown_in_minutes(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid, REASONING, reasoning=True)
    stream(pane, rid, ANSWER, reasoning=False)
    pane._on_service_finished(rid, result("".join(ANSWER), "".join(REASONING),
                                          reasoning_ms=75_400.0))
    assert pane.message_widgets[-1].thinking.toggle.text() == "Thought for 1 min 15 s"


def test_text_of_a_stale_request_is_dropped(qtbot: QtBot, pane: ChatPane) -> None:
    rid = ask(qtbot, pane)
    stream(pane, rid + 50, REASONING, reasoning=True)
    assert pane.message_widgets[-1].thinking.isHidden()


def test_history_shows_earlier_thinking_folded(pane: ChatPane) -> None:
    widget = pane._add_widget("assistant", "gpt-oss-20b")
    widget.set_text("Answer.", reasoning="Earlier thoughts.")
    assert not widget.thinking.isHidden()
    assert not widget.thinking.is_expanded()
    assert widget.thinking.toggle.text() == "Thinking"
    assert widget.copy_button.menu() is not None


def test_effort_is_offered_only_for_harmony_models(pane: ChatPane,
                                                   service: GenerationService) -> None:
    assert pane.effort_combo.isVisible()
    assert pane.effort_available
    assert pane.effort_combo.currentData() == "medium"
    assert [pane.effort_combo.itemData(i) for i in range(pane.effort_combo.count())] == [
        "low", "medium", "high"]
    assert "thinking" in pane.effort_combo.toolTip()
    service._on_worker_model_loaded(status("plain"))
    assert not pane.effort_combo.isVisible()
    service._on_worker_model_loaded(status("think"))
    assert not pane.effort_available
    service._on_worker_model_loaded(status("harmony"))
    assert pane.effort_available
    service._on_worker_model_load_failed("broken")
    assert not pane.effort_available


def test_effort_and_date_reach_each_request_of_the_conversation(
        qtbot: QtBot, pane: ChatPane, sent: SentLog, monkeypatch: pytest.MonkeyPatch) -> None:
    pane.options = GenerationOptions(max_new_tokens=77, temperature=0.0)
    pane.effort_combo.setCurrentIndex(pane.effort_combo.findData("high"))
    rid = ask(qtbot, pane)
    assert sent.options.reasoning_effort == "high"
    assert sent.options.max_new_tokens == 77  # the pane's settings are kept
    assert sent.options.conversation_date == dt.date.today().isoformat()
    first_date = sent.options.conversation_date
    pane._on_service_finished(rid, result("Hello!", ""))

    class Tomorrow(dt.date):
        @classmethod
        def today(cls) -> Tomorrow:
            return cls(2099, 1, 2)

    # Past midnight the conversation keeps its date, so the prompt's prefix stays the same.
    monkeypatch.setattr(chat_pane_module, "date", Tomorrow)
    pane.effort_combo.setCurrentIndex(pane.effort_combo.findData("low"))
    ask(qtbot, pane, "And now?")
    assert sent.options.reasoning_effort == "low"
    assert sent.options.conversation_date == first_date

    pane.new_chat()
    assert pane.effort_combo.currentData() == "medium"
    ask(qtbot, pane, "A new conversation")
    assert sent.options.reasoning_effort == "medium"
    assert sent.options.conversation_date == "2099-01-02"


# -- the real tiny gpt-oss ---------------------------------------------------------------------
def test_real_gptoss_reply_keeps_answer_and_reasoning_apart(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    service = GenerationService()
    requests: list[GenerationOptions] = []
    real_send = service.send

    def recording_send(messages: tuple[ChatMessage, ...], options: GenerationOptions,
                       background: bool = False,
                       continue_from: ChatMessage | None = None) -> int | None:
        if not background:
            requests.append(options)
        return real_send(messages, options, background, continue_from)

    monkeypatch.setattr(service, "send", recording_send)
    win = MainWindow(service)
    qtbot.addWidget(win)
    win.show()
    try:
        win.provider_combo.setCurrentIndex(win.provider_combo.findData("cpu"))
        with qtbot.waitSignal(service.model_loaded, timeout=30_000):
            win.load_model(str(TINY_GPTOSS))
        chat = win.chat
        assert chat.effort_combo.isVisible()
        chat.effort_combo.setCurrentIndex(chat.effort_combo.findData("low"))
        chat.options = GenerationOptions(max_new_tokens=24, temperature=0.0)
        chat.input.setPlainText("Hello there")
        with qtbot.waitSignal(service.finished, timeout=60_000) as done:
            chat.send_or_stop()
        res: GenerationResult = done.args[1]
        assert requests[-1].reasoning_effort == "low"
        assert requests[-1].conversation_date
        widget = chat.message_widgets[-1]
        stored = chat.messages[-1]
        assert stored.role == "assistant"
        assert stored.content == widget.markdown() == res.text
        assert stored.reasoning == widget.reasoning() == res.reasoning
        assert widget.thinking.isVisible() == bool(res.reasoning)
    finally:
        service.shutdown()
