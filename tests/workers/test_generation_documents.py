"""A question in a conversation with documents: the worker finds the excerpts, sends them with
the question, and reports them so the GUI can save them with the message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.chat import ChatMessage, FinishReason, GenerationOptions
from app.core.documents.answer import DocumentContext
from app.core.documents.context import DocumentQuery, document_budget
from app.core.documents.extract import extract
from app.core.documents.index import DocumentIndex
from app.workers.generation import GenerationService
from tests.conftest import FIXTURES, TINY_LLAMA

DOCS = FIXTURES / "documents"


@pytest.fixture
def service(qtbot: QtBot) -> Iterator[GenerationService]:
    svc = GenerationService()
    with qtbot.waitSignal(svc.model_loaded, timeout=30_000):
        svc.load_model(str(TINY_LLAMA), "cpu")
    yield svc
    svc.shutdown()


def test_excerpts_go_with_the_question(qtbot: QtBot, service: GenerationService,
                                       tmp_path: Path) -> None:
    index_path = tmp_path / "documents.sqlite3"
    with DocumentIndex.open(index_path) as index:
        index.add(extract(DOCS / "aurora_report.pdf"), conversation_id=7)
    built: list[DocumentContext] = []
    service.context_built.connect(lambda rid, ctx: built.append(ctx))
    question = ChatMessage("user", "When was the coolant pump replaced?")
    with qtbot.waitSignal(service.finished, timeout=60_000) as done:
        service.send((question,), GenerationOptions(max_new_tokens=8, temperature=0),
                     documents=DocumentQuery(index_path, conversation_id=7))
    assert done.args[1].finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert len(built) == 1
    context = built[0]
    assert context.sources
    assert context.sources[0].name == "aurora_report.pdf"
    assert context.sources[0].page_start is not None
    # The model read the excerpts: the prompt was far longer than the question alone.
    assert done.args[1].prompt_tokens > context.tokens


def test_no_documents_means_no_context(qtbot: QtBot, service: GenerationService,
                                       tmp_path: Path) -> None:
    index_path = tmp_path / "documents.sqlite3"
    DocumentIndex.open(index_path).close()
    built: list[object] = []
    service.context_built.connect(lambda rid, ctx: built.append(ctx))
    with qtbot.waitSignal(service.finished, timeout=60_000):
        service.send((ChatMessage("user", "hi"),), GenerationOptions(max_new_tokens=4),
                     documents=DocumentQuery(index_path, conversation_id=1))
    assert built == []


def test_a_broken_index_is_a_clear_failure(qtbot: QtBot, service: GenerationService,
                                           tmp_path: Path) -> None:
    # A folder where the index file should be: it cannot be opened.
    index_path = tmp_path / "documents.sqlite3"
    index_path.mkdir()
    with qtbot.waitSignal(service.failed, timeout=60_000) as failed:
        service.send((ChatMessage("user", "hi"),), GenerationOptions(max_new_tokens=4),
                     documents=DocumentQuery(index_path, conversation_id=1))
    assert failed.args[1]
    assert service.current_request_id is None


def test_budget_leaves_room_for_the_conversation_and_reply() -> None:
    assert document_budget(8192, 1000, 1024) == int((8192 - 1000 - 1024 - 64) * 0.7)
    # A full conversation still gets a useful minimum (old turns are dropped for it).
    assert document_budget(8192, 8000, 1024) == 1024
    assert document_budget(2048, 2000, 512) == 512


def test_the_worker_keeps_its_index_open_between_questions(
        qtbot: QtBot, service: GenerationService, tmp_path: Path) -> None:
    index_path = tmp_path / "documents.sqlite3"
    with DocumentIndex.open(index_path) as index:
        index.add(extract(DOCS / "aurora_report.pdf"), conversation_id=7)
    query = DocumentQuery(index_path, conversation_id=7)
    opened: list[object] = []
    for question in ("When was the pump replaced?", "Who inspected it?"):
        with qtbot.waitSignal(service.context_built, timeout=60_000):
            service.send((ChatMessage("user", question),), GenerationOptions(max_new_tokens=2),
                         documents=query)
        qtbot.waitUntil(lambda: service.current_request_id is None, timeout=60_000)
        opened.append(service._worker._document_index)
    assert opened[0] is not None
    assert opened[0] is opened[1]


def test_chunks_are_loaded_only_when_the_documents_might_fit_whole(tmp_path: Path) -> None:
    from app.core.documents.context import context_for

    with DocumentIndex.open(tmp_path / "documents.sqlite3") as index:
        index.add(extract(DOCS / "aurora_report.pdf"), conversation_id=7)
        loads: list[int] = []
        real_chunks = index.chunks

        def counting(document_id: int) -> list[object]:
            loads.append(document_id)
            return real_chunks(document_id)  # type: ignore[return-value]

        index.chunks = counting  # type: ignore[method-assign]
        query = DocumentQuery(tmp_path / "documents.sqlite3", conversation_id=7)
        small = context_for(query, "pump", lambda text: len(text) // 4 + 1, 60, index)
        assert small is not None
        assert small.mode == "retrieved"
        assert loads == []  # far too long to fit whole: no chunk was read for it
        big = context_for(query, "pump", lambda text: len(text) // 4 + 1, 100_000, index)
        assert big is not None
        assert big.mode == "whole"
        assert loads
