"""Generation off the GUI thread.

`GenerationWorker` lives on its own QThread and owns the loaded model and the `ChatEngine`
(the runtime insists that the thread which created an Engine makes every call on it).
`GenerationService` is the GUI-side handle: it starts the thread, forwards requests as queued
signals carrying frozen dataclasses, and stops a reply by setting the request's CancelToken
directly, because a queued "stop" signal would wait behind the running generation.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

from app.core.chat import (
    CancelToken,
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    TextDelta,
    with_context,
)
from app.core.documents.context import DocumentQuery

if TYPE_CHECKING:
    from app.core.documents.index import DocumentIndex
from app.core.engine import ChatEngine, LoadedModel
from app.core.errors import AppError
from app.core.library import load_with_report

log = logging.getLogger(__name__)

SIDE_CONTEXT_TOKENS = 2048
"""Session size of the engine for side jobs (titles): small, since its KV cache is allocated
for the whole session."""
FLUSH_INTERVAL_S = 0.033
"""Streamed text is sent to the GUI at most about once a frame: per-token signals at 250 tok/s
kept the GUI thread 19% busy, batching every 16-33 ms cut that to 3-5% (measured)."""


@dataclass(frozen=True)
class LoadRequest:
    """Load a model folder on a provider."""

    path: str
    provider: str = "auto"
    context_cap: int | None = None
    name: str | None = None
    """What to call the model (its name in the library); None: the folder's name."""


@dataclass(frozen=True)
class ChatRequest:
    """Generate one reply. The cancel token is shared with the GUI, which sets it on Stop."""

    request_id: int
    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    cancel: CancelToken = field(default_factory=CancelToken)
    continue_from: ChatMessage | None = None
    """A cut-off reply to go on with (see ChatEngine.stream)."""
    background: bool = False
    """A short side job (naming a conversation): run on a small engine of its own, so the
    conversation's KV cache stays resident, and reported by `background_finished`."""
    documents: DocumentQuery | None = None
    """The conversation's documents: excerpts for the last user message are found and put
    before it (reported by `context_built`, so the GUI can save them with the message)."""


@dataclass(frozen=True)
class ModelStatus:
    """What the GUI shows about the loaded model (no runtime objects cross threads)."""

    name: str
    path: str
    provider: str
    provider_label: str
    context_tokens: int
    load_seconds: float
    fallbacks: tuple[str, ...]
    reply_format: str = "plain"
    """harmony (gpt-oss: reasoning effort applies), think (<think> tags) or plain."""
    memory_bytes: int | None = None
    """How much the process's memory grew while loading (None where unmeasured)."""


class GenerationWorker(QObject):
    """Runs model loading and generation on the thread it is moved to.

    Signals:
        model_loaded(ModelStatus)
        model_load_failed(str): a message for the user
        model_unloaded()
        text_generated(int, str, int, bool): request id, new text, tokens so far, whether the
            text is reasoning (shown apart) rather than answer
        context_built(int, object): request id, the DocumentContext sent with the question
        finished(int, GenerationResult)
        failed(int, str): request id, message for the user
    """

    model_loaded = Signal(object)
    context_built = Signal(int, object)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    text_generated = Signal(int, str, int, bool)
    finished = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._loaded: LoadedModel | None = None
        self._engine: ChatEngine | None = None
        self._side_engine: ChatEngine | None = None
        # Kept open between questions: its vectors stay loaded (and reload only when the file
        # changes), instead of a 150 MB matrix read back for every question at 100k chunks.
        self._document_index: DocumentIndex | None = None

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        """Load a model, replacing the current one."""
        self.unload(quiet=True)
        try:
            # With a report: the models pane shows the memory the load took.
            loaded, report = load_with_report(Path(request.path), request.provider,
                                              request.context_cap)
            self._engine = ChatEngine(loaded)
        except AppError as exc:
            log.warning("model load failed: %s (%s)", exc, exc.detail)
            self.model_load_failed.emit(exc.user_message)
            return
        except Exception as exc:
            log.exception("unexpected error loading %s", request.path)
            self.model_load_failed.emit(f"Unexpected error while loading the model: {exc}")
            return
        self._loaded = loaded
        self.model_loaded.emit(ModelStatus(
            name=request.name or loaded.name, path=str(loaded.path), provider=loaded.provider,
            provider_label=loaded.provider_label, context_tokens=loaded.context_tokens,
            load_seconds=report.load_seconds, fallbacks=report.skipped,
            reply_format=loaded.reply_format, memory_bytes=report.memory_bytes))

    def _close_document_index(self) -> None:
        if self._document_index is not None:
            self._document_index.close()
            self._document_index = None

    @Slot()
    def unload(self, quiet: bool = False) -> None:
        """Free the model and the document index (on this thread, which owns them)."""
        self._close_document_index()
        for engine in (self._engine, self._side_engine):
            if engine is not None:
                engine.close()
        had_model = self._loaded is not None
        self._engine = None
        self._side_engine = None
        self._loaded = None
        if had_model and not quiet:
            self.model_unloaded.emit()

    @Slot(object)
    def generate(self, request: ChatRequest) -> None:
        """Stream one reply, batching text into about one signal per frame."""
        rid = request.request_id
        if self._engine is None or self._loaded is None:
            self.failed.emit(rid, "No model is loaded. Open a model folder first.")
            return
        engine = self._engine
        if request.background:
            if self._side_engine is None:
                self._side_engine = ChatEngine(self._loaded, context_tokens=SIDE_CONTEXT_TOKENS)
            engine = self._side_engine
        if request.cancel.cancelled:
            # Stopped before it started: report it without touching the model.
            self.finished.emit(rid, _cancelled_before_start(engine))
            return
        messages = request.messages
        if request.documents is not None and request.continue_from is None:
            try:
                messages = self._with_documents(engine, request)
            except AppError as exc:
                log.warning("document context failed: %s (%s)", exc, exc.detail)
                self.failed.emit(rid, exc.user_message)
                return
        pending: list[str] = []
        pending_reasoning = False
        last_flush = 0.0  # the first text goes out at once: time to first token is felt most
        tokens = 0
        try:
            for event in engine.stream(messages, request.options, request.cancel,
                                       request.continue_from):
                if isinstance(event, TextDelta):
                    if pending and event.reasoning != pending_reasoning:
                        # Reasoning and answer go out in separate batches, in order.
                        self.text_generated.emit(rid, "".join(pending), tokens, pending_reasoning)
                        pending.clear()
                    pending.append(event.text)
                    pending_reasoning = event.reasoning
                    tokens = event.generated_tokens
                    now = time.perf_counter()
                    if now - last_flush >= FLUSH_INTERVAL_S:
                        self.text_generated.emit(rid, "".join(pending), tokens, pending_reasoning)
                        pending.clear()
                        last_flush = now
                else:
                    if pending:
                        self.text_generated.emit(rid, "".join(pending), tokens, pending_reasoning)
                    self.finished.emit(rid, event)
        except AppError as exc:
            log.warning("generation failed: %s (%s)", exc, exc.detail)
            self.failed.emit(rid, exc.user_message)
        except Exception as exc:
            log.exception("unexpected error while generating")
            self.failed.emit(rid, f"Unexpected error while generating: {exc}")


    def _with_documents(self, engine: ChatEngine,
                        request: ChatRequest) -> tuple[ChatMessage, ...]:
        """The messages with the documents' excerpts put before the last user message."""
        from app.core.documents.context import context_for, document_budget
        from app.core.documents.index import DocumentIndex

        assert request.documents is not None
        messages = request.messages
        if not messages or messages[-1].role != "user":
            return messages
        question = messages[-1].content
        budget = document_budget(engine.context_tokens,
                                 engine.count_tokens(messages, request.options),
                                 request.options.max_new_tokens)
        encode = engine.renderer.encode
        path = request.documents.index_path
        if self._document_index is None or self._document_index.file != path:
            self._close_document_index()
            self._document_index = DocumentIndex.open(path)
        context = context_for(request.documents, question, lambda text: len(encode(text)),
                              budget, self._document_index)
        if context is None:
            return messages
        self.context_built.emit(request.request_id, context)
        return (*messages[:-1], ChatMessage("user", with_context(context.text, question)))


def _cancelled_before_start(engine: ChatEngine) -> GenerationResult:
    return GenerationResult(
        text="", token_ids=(), finish_reason=FinishReason.CANCELLED,
        provider=engine.loaded.provider, prompt_tokens=0, cached_tokens=0, generated_tokens=0,
        ttft_ms=0.0, tok_s=0.0)


class GenerationService(QObject):
    """The GUI's handle on the generation thread.

    Signals (re-emitted from the worker, on the GUI thread):
        model_loading(str): path
        model_loaded(ModelStatus)
        model_load_failed(str)
        model_unloaded()
        text_generated(int, str, int, bool): id, text, tokens so far, is reasoning
        context_built(int, DocumentContext): the document excerpts sent with the question
        finished(int, GenerationResult)
        failed(int, str)
        background_finished(int, object): a side job's id and GenerationResult, or None
            when it failed
        busy_changed(bool)
    """

    model_loading = Signal(str)
    model_loaded = Signal(object)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    text_generated = Signal(int, str, int, bool)
    context_built = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)
    background_finished = Signal(int, object)
    busy_changed = Signal(bool)

    _load_requested = Signal(object)
    _generate_requested = Signal(object)
    _unload_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._current: ChatRequest | None = None
        self._loading = False
        self.model: ModelStatus | None = None
        self._thread = QThread()
        self._thread.setObjectName("hearth-generation")
        self._worker = GenerationWorker()
        self._worker.moveToThread(self._thread)
        # Signals between QObjects in different threads are queued automatically; the worker's
        # slots therefore run on its thread and ours on the GUI thread.
        self._load_requested.connect(self._worker.load)
        self._generate_requested.connect(self._worker.generate)
        self._unload_requested.connect(self._worker.unload)
        self._worker.model_loaded.connect(self._on_worker_model_loaded)
        self._worker.model_load_failed.connect(self._on_worker_model_load_failed)
        self._worker.text_generated.connect(self._on_worker_text_generated)
        self._worker.context_built.connect(self._on_worker_context_built)
        self._worker.finished.connect(self._on_worker_finished)
        self._worker.failed.connect(self._on_worker_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a reply is being generated or a model is loading."""
        return self._current is not None or self._loading

    @property
    def current_request_id(self) -> int | None:
        """The id of the reply being generated, if any."""
        return self._current.request_id if self._current else None

    def load_model(self, path: str, provider: str = "auto",
                   context_cap: int | None = None, name: str | None = None) -> bool:
        """Start loading a model; False if busy (the caller says so to the user)."""
        if self.busy:
            return False
        self._loading = True
        self.busy_changed.emit(True)
        self.model_loading.emit(path)
        self._load_requested.emit(LoadRequest(path, provider, context_cap, name))
        return True

    def unload_model(self) -> None:
        """Free the model."""
        self.stop()
        had_model = self.model is not None
        self.model = None
        self._unload_requested.emit()
        if had_model:
            self.model_unloaded.emit()
            self.busy_changed.emit(self.busy)

    def send(self, messages: tuple[ChatMessage, ...], options: GenerationOptions,
             background: bool = False, continue_from: ChatMessage | None = None,
             documents: DocumentQuery | None = None) -> int | None:
        """Start a reply; returns its request id, or None while another reply runs.

        `background` jobs (naming a conversation) report by `background_finished` only;
        `continue_from` goes on with a cut-off reply; `documents` adds excerpts of the
        conversation's documents to the last user message (see `context_built`).
        """
        if self.busy or self.model is None:
            return None
        request = ChatRequest(next(self._ids), tuple(messages), options,
                              continue_from=continue_from, background=background,
                              documents=documents)
        self._current = request
        self.busy_changed.emit(True)
        self._generate_requested.emit(request)
        return request.request_id

    def stop(self) -> None:
        """Stop the current reply; safe to call any number of times."""
        if self._current is not None:
            self._current.cancel.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel, unload on the worker thread, stop the thread and wait for it."""
        self.stop()
        if self._thread.isRunning():
            # Blocking: the runtime objects must be freed on their own thread before it ends;
            # the cancel above makes a running reply return within one step.
            QMetaObject.invokeMethod(self._worker, "unload",
                                     Qt.ConnectionType.BlockingQueuedConnection)
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.error("generation thread did not stop within %d ms", timeout_ms)

    # -- worker signals (GUI thread) -------------------------------------------------------------
    @Slot(object)
    def _on_worker_model_loaded(self, status: ModelStatus) -> None:
        self._loading = False
        self.model = status
        self.model_loaded.emit(status)
        self.busy_changed.emit(self.busy)

    @Slot(str)
    def _on_worker_model_load_failed(self, message: str) -> None:
        self._loading = False
        self.model = None
        self.model_load_failed.emit(message)
        self.busy_changed.emit(self.busy)

    @Slot(int, str, int, bool)
    def _on_worker_text_generated(self, rid: int, text: str, tokens: int,
                                  reasoning: bool) -> None:
        current = self._current
        if current is not None and rid == current.request_id and not current.background:
            self.text_generated.emit(rid, text, tokens, reasoning)

    @Slot(int, object)
    def _on_worker_context_built(self, rid: int, context: object) -> None:
        current = self._current
        if current is not None and rid == current.request_id:
            self.context_built.emit(rid, context)

    @Slot(int, object)
    def _on_worker_finished(self, rid: int, result: GenerationResult) -> None:
        current = self._current
        if current is not None and rid == current.request_id:
            self._current = None
            if current.background:
                self.background_finished.emit(rid, result)
            else:
                self.finished.emit(rid, result)
            self.busy_changed.emit(self.busy)

    @Slot(int, str)
    def _on_worker_failed(self, rid: int, message: str) -> None:
        current = self._current
        if current is not None and rid == current.request_id:
            self._current = None
            if current.background:
                self.background_finished.emit(rid, None)
            else:
                self.failed.emit(rid, message)
            self.busy_changed.emit(self.busy)
