"""The document context for one question: the index, the embedder and `answer.build_context`
put together, for the generation worker and `hearth ask` alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.documents.answer import DocumentContext, Passage, build_context, could_fit_whole
from app.core.documents.embedder import Embedder, OnnxEmbedder
from app.core.documents.index import DocumentIndex, DocumentRecord
from app.core.errors import AppError

log = logging.getLogger(__name__)

CONTEXT_SHARE = 0.7
"""Of the context left after the conversation and the reply's room, how much documents may take
(LM Studio uses the same share before it switches from whole files to excerpts)."""
MIN_BUDGET_TOKENS = 1024


@dataclass(frozen=True)
class DocumentQuery:
    """Where the documents of a conversation are: plain data, so it can cross threads."""

    index_path: Path
    conversation_id: int
    embedder_folder: Path | None = None
    k: int = 12


def document_budget(context_tokens: int, history_tokens: int, reply_tokens: int) -> int:
    """Tokens the documents may take: a share of what the conversation and the reply leave,
    but never less than a useful minimum (older turns are dropped to make room then)."""
    reserve = min(reply_tokens, context_tokens // 4)
    free = context_tokens - history_tokens - reserve - 64
    floor = min(MIN_BUDGET_TOKENS, context_tokens // 4)
    return max(floor, int(free * CONTEXT_SHARE))


_embedders: dict[Path, Embedder] = {}
_problems: dict[Path, str] = {}
_embedders_lock = threading.Lock()


def load_embedder(folder: Path | None) -> Embedder | None:
    """The embedder in `folder`, loaded once per process; None without one, or when it cannot
    be loaded (search is then lexical only, and the log says why)."""
    if folder is None:
        return None
    with _embedders_lock:
        if folder not in _embedders:
            try:
                _embedders[folder] = OnnxEmbedder.from_folder(folder)
            except AppError as exc:
                log.warning("embedder %s unusable, lexical search only: %s", folder, exc)
                _problems[folder] = exc.user_message
                return None
            _problems.pop(folder, None)
        return _embedders[folder]


def embedder_problem(folder: Path) -> str | None:
    """Why `load_embedder(folder)` last returned None (a message for the user), if it did."""
    with _embedders_lock:
        return _problems.get(folder)


def context_for(query: DocumentQuery, question: str, count_tokens: Callable[[str], int],
                budget_tokens: int, index: DocumentIndex | None = None) -> DocumentContext | None:
    """The excerpts the model reads with `question`, or None when the conversation has no
    indexed documents. `index`: an open index to use (a caller asking many questions keeps one,
    and with it the vectors it has loaded); else the file is opened for this question. Raises
    StorageError when the index cannot be read."""
    if index is None:
        with DocumentIndex.open(query.index_path) as opened:
            return context_for(query, question, count_tokens, budget_tokens, opened)
    records = [d for d in index.documents(conversation_id=query.conversation_id)
               if d.status == "indexed"]
    if not records:
        return None
    return context_for_documents(index, records, question, count_tokens, budget_tokens,
                                 load_embedder(query.embedder_folder), query.k)


def context_for_documents(index: DocumentIndex, records: Sequence[DocumentRecord],
                          question: str, count_tokens: Callable[[str], int], budget_tokens: int,
                          embedder: Embedder | None, k: int = 12) -> DocumentContext | None:
    """`answer.build_context` over the documents `records` of `index`: whole when they fit,
    else searched (hybrid with `embedder`, lexical without). Their chunks are loaded only when
    their length says they might fit whole."""
    ids = [d.id for d in records]
    whole = could_fit_whole(index.text_length(ids), budget_tokens)
    documents = index.as_attached(records, with_text=whole)

    def search(text: str, depth: int) -> list[Passage]:
        return [hit.passage() for hit in index.search(text, k=depth, document_ids=ids,
                                                       embedder=embedder)]

    return build_context(question, documents, search=search, neighbours=index.neighbour_passages,
                         count_tokens=count_tokens, budget_tokens=budget_tokens, k=k,
                         allow_whole=whole)
