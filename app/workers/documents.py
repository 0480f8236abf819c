"""Documents dropped into a chat, read and indexed off the GUI thread.

`DocumentService` owns the document index (`AppPaths.data / documents.sqlite3`, one
`DocumentIndex` shared by the GUI thread and the tasks: the index serialises its own database
calls) and the folder of the document-search embedder (None: search by words only). Dropped
paths become jobs: folders are expanded with `iter_files` on a task, then each file is read
(`extract`, progress per page), chunked, embedded and written (`DocumentIndex.add`) on the
runner's thread pool, at most `max_jobs` at a time so the chat model keeps its cores. A file
that cannot be read is kept in the index with its reason (`record_failure`), so its chip can say
"Failed: why" in this and later sessions. Every job can be cancelled, alone or all together;
a cancelled add writes nothing.

A document belongs to the conversation it was dropped in (the index links them by id); a
collection ("library") of documents can be saved from a conversation and attached to others.
When the embedder folder changes, chunks made by another embedder (or by none) are embedded
again in the background (`DocumentIndex.reembed`); until then search falls back to words for
them.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal, Slot

from app.core.chat import CancelToken
from app.core.documents.context import DocumentQuery, load_embedder
from app.core.documents.extract import SUPPORTED_SUFFIXES, extract, iter_files
from app.core.documents.extract_common import ExtractionCancelled
from app.core.documents.index import INDEX_FILE, Collection, DocumentIndex, DocumentRecord
from app.core.errors import DocumentError, StorageError
from app.core.paths import AppPaths
from app.core.store import Store
from app.workers.tasks import TaskRunner

log = logging.getLogger(__name__)

DocumentState = Literal["queued", "reading", "indexing", "indexed", "failed"]
MAX_JOBS = 2
"""Files read at once. Two keeps a long PDF from holding up a short note while leaving a core
of this 2-core class of machine to the chat model and the GUI."""


def path_key(path: str | os.PathLike[str]) -> str:
    """How a file is identified (as the index does): absolute, case-folded where the OS is."""
    return os.path.normcase(os.path.abspath(path))


@dataclass(frozen=True)
class DocumentItem:
    """A document as a chat shows it: a file being read, indexed, or that failed."""

    path: str
    name: str
    state: DocumentState
    detail: str = ""
    """Why the file failed, in words for the user ("" otherwise)."""
    progress: float | None = None
    """0..1 while reading or indexing, when known."""
    document_id: int | None = None
    page_count: int | None = None
    kind: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def busy(self) -> bool:
        """Still being read or waiting to be."""
        return self.state in ("queued", "reading", "indexing")

    @classmethod
    def from_record(cls, record: DocumentRecord) -> DocumentItem:
        """The item of a document the index holds."""
        return cls(path=record.path, name=record.name, state=record.status,
                   detail=record.error, document_id=record.id, page_count=record.page_count,
                   kind=record.kind, warnings=record.warnings)


@dataclass
class _Job:
    """One file to read for one conversation (GUI thread only)."""

    conversation_id: int
    path: Path
    item: DocumentItem
    collection_id: int | None = None
    task_id: int | None = None
    cancel_requested: bool = False


@dataclass
class _Expansion:
    """Dropped folders being walked for their files."""

    conversation_id: int
    paths: list[Path]
    collection_id: int | None
    task_id: int | None = None


@dataclass
class _Reembed:
    folder: Path
    task_id: int | None = None
    total: int = 0
    notes: list[str] = field(default_factory=list)


class DocumentService(QObject):
    """Reads and indexes the documents of conversations in the background.

    Signals:
        document_added(int, object): conversation id, the DocumentItem just queued
        document_state_changed(int, object): conversation id, the DocumentItem with its new
            state (reading with progress, indexing, indexed, failed with why)
        document_removed(int, str): conversation id, path: the document left the conversation
            (its reading was cancelled, or it was detached)
        indexing_finished(int): conversation id: nothing of it is being read any more
        collections_changed(int): conversation id (0: none in particular): a library was
            saved, attached or detached
        reembed_progressed(int, int): chunks embedded again so far, of how many
        reembed_finished(int): how many chunks were embedded again (-1: stopped or failed)
        error_occurred(str): a message for the user (the index cannot be opened, a folder
            holds nothing readable)
    """

    document_added = Signal(int, object)
    document_state_changed = Signal(int, object)
    document_removed = Signal(int, str)
    indexing_finished = Signal(int)
    collections_changed = Signal(int)
    reembed_progressed = Signal(int, int)
    reembed_finished = Signal(int)
    error_occurred = Signal(str)

    def __init__(self, index_path: str | os.PathLike[str], embedder_folder: Path | None = None,
                 *, max_jobs: int = MAX_JOBS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.index_path = Path(index_path)
        self._embedder_folder = embedder_folder
        self._max_jobs = max(1, max_jobs)
        self._index: DocumentIndex | None = None
        # One more thread than jobs: walking a folder or re-embedding never waits behind them.
        self._runner = TaskRunner(self._max_jobs + 1, self)
        self._runner.progressed.connect(self._on_runner_progressed)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._on_runner_failed)
        self._runner.cancelled.connect(self._on_runner_cancelled)
        self._queue: deque[_Job] = deque()
        self._running: dict[int, _Job] = {}
        self._expansions: dict[int, _Expansion] = {}
        self._reembed: _Reembed | None = None
        self._closed = False

    @classmethod
    def for_paths(cls, paths: AppPaths, embedder_folder: Path | None = None,
                  **kwargs: Any) -> DocumentService:
        """The service for the index in the app's data folder."""
        return cls(paths.data / INDEX_FILE, embedder_folder, **kwargs)

    # -- the index and the embedder ----------------------------------------------------------------
    @property
    def index(self) -> DocumentIndex:
        """The index, opened on first use. Raises StorageError when it cannot be opened."""
        if self._index is None:
            if self._closed:
                raise StorageError("The document index is closed.")
            self._index = DocumentIndex.open(self.index_path)
            for notice in self._index.notices:
                self.error_occurred.emit(notice)
        return self._index

    @property
    def embedder_folder(self) -> Path | None:
        """The document-search model in use (None: search by words only)."""
        return self._embedder_folder

    def set_embedder_folder(self, folder: Path | None) -> None:
        """Use another document-search model. Chunks made without it are embedded again in the
        background; search by words covers them meanwhile."""
        if folder == self._embedder_folder:
            return
        self._embedder_folder = folder
        if self._reembed is not None and self._reembed.task_id is not None:
            self._runner.cancel(self._reembed.task_id)
        self._reembed = None
        if folder is not None:
            self._start_reembed(folder)

    def query(self, conversation_id: int) -> DocumentQuery:
        """What the generation worker needs to find this conversation's excerpts."""
        return DocumentQuery(self.index_path, conversation_id, self._embedder_folder)

    # -- adding ------------------------------------------------------------------------------------
    def add_paths(self, conversation_id: int, paths: Iterable[str | os.PathLike[str]], *,
                  collection_id: int | None = None) -> int:
        """Read and index files for a conversation; dropped folders are walked for the files
        Hearth reads. Returns how many files were queued now (folders' files come later)."""
        if self._closed:
            return 0
        try:
            self.index  # noqa: B018 - opened here, where failing to is reported
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return 0
        files: list[Path] = []
        folders: list[Path] = []
        for raw in paths:
            path = Path(raw)
            (folders if path.is_dir() else files).append(path)
        queued = sum(1 for path in files if self._queue_file(conversation_id, path,
                                                             collection_id))
        if folders:
            self._start_expansion(_Expansion(conversation_id, folders, collection_id))
        self._pump()
        return queued

    def _queue_file(self, conversation_id: int, path: Path, collection_id: int | None) -> bool:
        key = path_key(path)
        if any(job.conversation_id == conversation_id and path_key(job.path) == key
               for job in self._jobs()):
            return False  # already on its way
        path = Path(os.path.abspath(path))
        job = _Job(conversation_id, path, DocumentItem(str(path), path.name, "queued"),
                   collection_id)
        self._queue.append(job)
        self.document_added.emit(conversation_id, job.item)
        return True

    def _jobs(self) -> list[_Job]:
        return [*self._running.values(), *self._queue]

    def _pump(self) -> None:
        """Start queued jobs while there is room."""
        while self._queue and len(self._running) < self._max_jobs:
            job = self._queue.popleft()
            job.task_id = self._runner.start(self._read_fn(job), (ExtractionCancelled,))
            self._running[job.task_id] = job

    def _read_fn(self, job: _Job) -> Callable[[CancelToken, Callable[[object], None]], object]:
        """The task that reads, indexes and links one file (runs on the pool)."""
        index = self.index
        folder = self._embedder_folder
        path, cid, collection_id = job.path, job.conversation_id, job.collection_id

        def run(cancel: CancelToken, progress: Callable[[object], None]) -> DocumentRecord:
            try:
                document = extract(path, cancel=cancel,
                                   progress=lambda done, total: progress(("reading", done, total)))
            except DocumentError as exc:
                kind = SUPPORTED_SUFFIXES.get(path.suffix.lower(), "")
                return index.record_failure(path, exc, kind=kind, conversation_id=cid,
                                            collection_id=collection_id)
            progress(("indexing", 0, None))
            embedder = load_embedder(folder)
            return index.add(document, embedder=embedder, conversation_id=cid,
                             collection_id=collection_id, cancel=cancel,
                             progress=lambda done, total: progress(("indexing", done, total)))

        return run

    def _start_expansion(self, expansion: _Expansion) -> None:
        folders = list(expansion.paths)

        def walk(cancel: CancelToken, _progress: Callable[[object], None]) -> list[Path]:
            found = []
            for path in iter_files(folders):
                if cancel.cancelled:
                    raise ExtractionCancelled(str(folders[0]))
                found.append(path)
            return found

        expansion.task_id = self._runner.start(walk, (ExtractionCancelled,))
        self._expansions[expansion.task_id] = expansion

    # -- cancelling --------------------------------------------------------------------------------
    def cancel(self, conversation_id: int, path: str | os.PathLike[str]) -> bool:
        """Stop reading one file (queued or running); False if it was not being read."""
        key = path_key(path)
        for job in list(self._queue):
            if job.conversation_id == conversation_id and path_key(job.path) == key:
                self._queue.remove(job)
                self._cancelled(job)
                return True
        for job in self._running.values():
            if job.conversation_id == conversation_id and path_key(job.path) == key:
                job.cancel_requested = True
                assert job.task_id is not None
                self._runner.cancel(job.task_id)
                return True
        return False

    def cancel_all(self, conversation_id: int | None = None) -> None:
        """Stop reading every file (of one conversation, or of all)."""
        for expansion in list(self._expansions.values()):
            if conversation_id in (None, expansion.conversation_id) and expansion.task_id:
                self._runner.cancel(expansion.task_id)
        for job in [j for j in self._queue if conversation_id in (None, j.conversation_id)]:
            self._queue.remove(job)
            self._cancelled(job)
        for job in self._running.values():
            if conversation_id in (None, job.conversation_id) and job.task_id is not None:
                job.cancel_requested = True
                self._runner.cancel(job.task_id)

    def _cancelled(self, job: _Job) -> None:
        """A job ended without writing: the chip goes, unless an earlier version of the file
        is still indexed for the conversation."""
        earlier = None
        try:
            record = self.index.find(job.path)
            if record is not None and record.id in {
                    d.id for d in self.index.documents(conversation_id=job.conversation_id)}:
                earlier = record
        except StorageError as exc:
            log.warning("document index unreadable after a cancel: %s", exc.detail or exc)
        if earlier is not None:
            self.document_state_changed.emit(job.conversation_id,
                                             DocumentItem.from_record(earlier))
        else:
            self.document_removed.emit(job.conversation_id, str(job.path))
        self._maybe_finished(job.conversation_id)

    # -- state -------------------------------------------------------------------------------------
    def is_busy(self, conversation_id: int) -> bool:
        """Whether any document of the conversation is still being read (or its folder walked)."""
        return any(j.conversation_id == conversation_id for j in self._jobs()) or any(
            e.conversation_id == conversation_id for e in self._expansions.values())

    def pending(self, conversation_id: int) -> list[DocumentItem]:
        """The conversation's documents still being read, in the order they were added."""
        return [j.item for j in self._jobs() if j.conversation_id == conversation_id]

    def items(self, conversation_id: int) -> list[DocumentItem]:
        """The documents attached to a conversation directly (not through a library), with
        those being read; by name, then the ones being read in the order they came."""
        try:
            in_libraries = {d.id for c in self.index.conversation_collections(conversation_id)
                            for d in self.index.documents(collection_id=c.id)}
            records = [r for r in self.index.documents(conversation_id=conversation_id)
                       if r.id not in in_libraries]
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            records = []
        pending: dict[str, DocumentItem | None] = {
            path_key(i.path): i for i in self.pending(conversation_id)}
        out = [pending.pop(path_key(r.path), None) or DocumentItem.from_record(r)
               for r in records]
        return out + [i for i in pending.values() if i is not None]

    def has_documents(self, conversation_id: int) -> bool:
        """Whether the conversation has a document the model can read (indexed)."""
        try:
            return any(r.status == "indexed"
                       for r in self.index.documents(conversation_id=conversation_id))
        except StorageError:
            return False

    # -- removing ----------------------------------------------------------------------------------
    def detach(self, conversation_id: int, path: str | os.PathLike[str]) -> None:
        """Take a document out of a conversation: its reading is stopped, or its link removed
        (it stays in the index for other conversations and libraries)."""
        if self.cancel(conversation_id, path):
            return
        try:
            record = self.index.find(path)
            if record is not None:
                self.index.detach(conversation_id, document_id=record.id)
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return
        self.document_removed.emit(conversation_id, str(path))

    def forget_deleted_conversations(self, store: Store) -> None:
        """Drop the links of the conversations in the store's trash. Called at start: Undo of a
        delete lasts only the session it was made in, and a purge could otherwise hand a deleted
        conversation's id, with its documents, to a new one."""
        try:
            trashed = [entry.id for entry in store.list_conversations(deleted=True)]
        except StorageError as exc:
            log.warning("trash not read: %s", exc.detail or exc)
            return
        self.forget_conversations(trashed)

    def forget_conversations(self, conversation_ids: Iterable[int]) -> None:
        """Drop the links of deleted conversations (their documents stay in the index)."""
        ids = list(conversation_ids)
        if not ids:
            return
        try:
            for cid in ids:
                self.cancel_all(cid)
                self.index.forget_conversation(cid)
        except StorageError as exc:
            log.warning("links of deleted conversations kept: %s", exc.detail or exc)

    # -- libraries ---------------------------------------------------------------------------------
    def collections(self) -> list[Collection]:
        """Every library, by name."""
        try:
            return self.index.collections()
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return []

    def conversation_collections(self, conversation_id: int) -> list[Collection]:
        """The libraries attached to a conversation."""
        try:
            return self.index.conversation_collections(conversation_id)
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return []

    def save_collection(self, conversation_id: int, name: str) -> Collection | None:
        """Save the conversation's readable documents as a library called `name` (added to it
        if it exists), to attach to other conversations."""
        try:
            collection = self.index.create_collection(name)
            for record in self.index.documents(conversation_id=conversation_id):
                if record.status == "indexed":
                    self.index.add_to_collection(collection.id, record.id)
            saved = self.index.collection(collection.id)
        except (StorageError, ValueError) as exc:
            self.error_occurred.emit(exc.user_message if isinstance(exc, StorageError)
                                     else str(exc))
            return None
        self.collections_changed.emit(0)
        return saved

    def attach_collection(self, conversation_id: int, collection_id: int) -> None:
        """Attach a whole library to a conversation."""
        try:
            self.index.attach(conversation_id, collection_id=collection_id)
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return
        self.collections_changed.emit(conversation_id)

    def detach_collection(self, conversation_id: int, collection_id: int) -> None:
        """Take a library out of a conversation (it stays for the others)."""
        try:
            self.index.detach(conversation_id, collection_id=collection_id)
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return
        self.collections_changed.emit(conversation_id)

    # -- re-embedding ------------------------------------------------------------------------------
    def _start_reembed(self, folder: Path) -> None:
        try:
            index = self.index
        except StorageError as exc:
            self.error_occurred.emit(exc.user_message)
            return
        job = _Reembed(folder)

        def run(cancel: CancelToken, progress: Callable[[object], None]) -> int:
            embedder = load_embedder(folder)
            if embedder is None:
                return -1  # unusable (the log says why): search stays by words
            return index.reembed(embedder, cancel=cancel,
                                 progress=lambda done, total: progress(("reembed", done, total)))

        job.task_id = self._runner.start(run, (ExtractionCancelled,))
        self._reembed = job

    # -- shutting down -----------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop every task, wait for them, close the index."""
        self._closed = True
        self._queue.clear()
        self._runner.shutdown(timeout_ms)
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- task reports (GUI thread) -----------------------------------------------------------------
    @Slot(int, object)
    def _on_runner_progressed(self, task_id: int, value: Any) -> None:
        stage, done, total = value
        if stage == "reembed":
            self.reembed_progressed.emit(int(done), int(total))
            return
        job = self._running.get(task_id)
        if job is None or job.cancel_requested:
            return
        fraction = min(1.0, done / total) if total else None
        old = job.item
        if old.state == stage and (fraction is None or (
                old.progress is not None and int(old.progress * 100) == int(fraction * 100))):
            return  # nothing the chip would show differently
        job.item = replace(old, state=stage, progress=fraction)
        self.document_state_changed.emit(job.conversation_id, job.item)

    @Slot(int, object)
    def _on_runner_finished(self, task_id: int, result: Any) -> None:
        if task_id in self._expansions:
            expansion = self._expansions.pop(task_id)
            files: list[Path] = result
            if not files:
                names = ", ".join(p.name for p in expansion.paths)
                self.error_occurred.emit(self.tr(
                    "No documents Hearth can read were found in {folders}.").format(
                    folders=names))
            for path in files:
                self._queue_file(expansion.conversation_id, path, expansion.collection_id)
            self._pump()
            self._maybe_finished(expansion.conversation_id)
            return
        if self._reembed is not None and task_id == self._reembed.task_id:
            self._reembed = None
            self.reembed_finished.emit(int(result))
            return
        job = self._running.pop(task_id, None)
        if job is None:
            return
        record: DocumentRecord = result
        if job.cancel_requested and not self._closed:
            # Finished before it saw the cancel: the user still asked for it to go.
            try:
                self.index.detach(job.conversation_id, document_id=record.id)
            except StorageError as exc:
                log.warning("cancelled document left attached: %s", exc.detail or exc)
            self.document_removed.emit(job.conversation_id, str(job.path))
        else:
            job.item = DocumentItem.from_record(record)
            self.document_state_changed.emit(job.conversation_id, job.item)
        self._pump()
        self._maybe_finished(job.conversation_id)

    @Slot(int, str)
    def _on_runner_failed(self, task_id: int, message: str) -> None:
        if task_id in self._expansions:
            expansion = self._expansions.pop(task_id)
            self.error_occurred.emit(message)
            self._maybe_finished(expansion.conversation_id)
            return
        if self._reembed is not None and task_id == self._reembed.task_id:
            self._reembed = None
            self.error_occurred.emit(message)
            self.reembed_finished.emit(-1)
            return
        job = self._running.pop(task_id, None)
        if job is None:
            return
        # Not recorded in the index (writing it failed): the chip says why this session.
        job.item = replace(job.item, state="failed", detail=message, progress=None)
        self.document_state_changed.emit(job.conversation_id, job.item)
        self._pump()
        self._maybe_finished(job.conversation_id)

    @Slot(int)
    def _on_runner_cancelled(self, task_id: int) -> None:
        if task_id in self._expansions:
            self._maybe_finished(self._expansions.pop(task_id).conversation_id)
            return
        if self._reembed is not None and task_id == self._reembed.task_id:
            self._reembed = None
            self.reembed_finished.emit(-1)
            return
        job = self._running.pop(task_id, None)
        if job is None:
            return
        if not self._closed:
            self._cancelled(job)
            self._pump()

    def _maybe_finished(self, conversation_id: int) -> None:
        if not self._closed and not self.is_busy(conversation_id):
            self.indexing_finished.emit(conversation_id)

    def running_paths(self) -> Sequence[str]:
        """The files being read right now (for tests and the status line)."""
        return [str(j.path) for j in self._running.values()]
