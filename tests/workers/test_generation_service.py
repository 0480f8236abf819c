"""The generation thread: real model, real QThread, signals delivered to the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.chat import ChatMessage, FinishReason, GenerationOptions, GenerationResult
from app.workers.generation import GenerationService, ModelStatus
from tests.conftest import TINY_LLAMA

LONG = GenerationOptions(max_new_tokens=400, temperature=0.0)


@pytest.fixture
def service(qtbot: QtBot) -> Iterator[GenerationService]:
    svc = GenerationService()
    yield svc
    svc.shutdown()
    assert not svc._thread.isRunning()


def load(qtbot: QtBot, svc: GenerationService, path: Path = TINY_LLAMA) -> ModelStatus:
    with qtbot.waitSignal(svc.model_loaded, timeout=30_000) as blocker:
        assert svc.load_model(str(path), "cpu")
    status = blocker.args[0]
    assert isinstance(status, ModelStatus)
    return status


def test_load_and_stream_on_the_worker_thread(qtbot: QtBot, service: GenerationService) -> None:
    status = load(qtbot, service)
    assert status.provider == "cpu"
    assert status.context_tokens == 512
    chunks: list[str] = []
    threads: set[int] = set()
    service.text_generated.connect(lambda _rid, text, _n, _r: (chunks.append(text),
                                                               threads.add(threading.get_ident())))
    with qtbot.waitSignal(service.finished, timeout=30_000) as blocker:
        rid = service.send((ChatMessage("user", "Hello"),), GenerationOptions(
            max_new_tokens=32, temperature=0.0))
    assert rid is not None
    result = blocker.args[1]
    assert isinstance(result, GenerationResult)
    assert "".join(chunks) == result.text
    # Signals arrive on the GUI thread, never on the worker.
    assert threads <= {threading.get_ident()}
    assert not service.busy


def test_send_while_streaming_is_refused(qtbot: QtBot, service: GenerationService) -> None:
    load(qtbot, service)
    with qtbot.waitSignal(service.finished, timeout=30_000):
        first = service.send((ChatMessage("user", "Hi"),), LONG)
        assert first is not None
        assert service.send((ChatMessage("user", "Again"),), LONG) is None
        service.stop()


def test_stop_twice_ends_as_cancelled(qtbot: QtBot, service: GenerationService) -> None:
    load(qtbot, service)
    finished: list[GenerationResult] = []
    service.finished.connect(lambda _rid, result: finished.append(result))

    def stop_on_first_text(_rid: int, _text: str, _n: int, _reasoning: bool) -> None:
        service.stop()
        service.stop()

    service.text_generated.connect(stop_on_first_text)
    with qtbot.waitSignal(service.finished, timeout=30_000):
        service.send((ChatMessage("user", "Write at length"),), LONG)
    assert finished[0].finish_reason is FinishReason.CANCELLED
    assert finished[0].generated_tokens < LONG.max_new_tokens
    # The service is ready for the next reply.
    with qtbot.waitSignal(service.finished, timeout=30_000):
        assert service.send((ChatMessage("user", "Next"),), GenerationOptions(
            max_new_tokens=4, temperature=0.0)) is not None


def test_bad_model_folder_reports_and_stays_usable(qtbot: QtBot, service: GenerationService,
                                                   tmp_path: Path) -> None:
    with qtbot.waitSignal(service.model_load_failed, timeout=30_000) as blocker:
        service.load_model(str(tmp_path), "cpu")
    assert "genai_config.json" in blocker.args[0]
    assert service.model is None
    assert not service.busy
    load(qtbot, service)


def test_shutdown_mid_reply_does_not_hang(qtbot: QtBot) -> None:
    svc = GenerationService()
    load(qtbot, svc)
    with qtbot.waitSignal(svc.text_generated, timeout=30_000):
        svc.send((ChatMessage("user", "Go on and on"),), LONG)
    svc.shutdown(timeout_ms=10_000)
    assert not svc._thread.isRunning()


def test_missing_provider_reports_on_load(qtbot: QtBot, service: GenerationService) -> None:
    with qtbot.waitSignal(service.model_load_failed, timeout=30_000) as blocker:
        service.load_model(str(TINY_LLAMA), "cuda")
    assert "CUDA" in blocker.args[0]
