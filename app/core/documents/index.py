"""The document index: documents, their chunks, a full-text index and vectors in one SQLite file.

`DocumentIndex.open(AppPaths.data / "documents.sqlite3")` opens (or creates) the file next to the
conversation history. It is separate from that file because it can always be rebuilt from the
user's documents, and it can grow large; conversations refer to documents by id only.

Adding: `add(doc, embedder=...)` chunks an `ExtractedDocument` with the embedder's token counter,
embeds the chunks (off the lock, cancellable, with progress) and writes everything in one
transaction, so a cancelled or failed add leaves nothing half-written. Re-adding an unchanged file
(same path, same sha256, same embedder) does no work; the same bytes under another path reuse the
chunks and vectors already made; a changed file replaces its chunks and keeps its id, so the
conversations it is attached to keep it. `record_failure` keeps a file that could not be read, with
the reason, so the UI can say "failed: why".

Searching is hybrid: FTS5 bm25 over text prepared by `search_text` (CJK as character bigrams, so
2-character words such as 東京 or 設定 are found), and cosine similarity of the query's vector
against the chunk vectors, fused by reciprocal rank (k = 60, as GPT4All does). Without an embedder,
or before any chunk has a vector from it, search is lexical only.

Vectors are stored as float16 (768 bytes for 384 dimensions) and held in memory as one float32
matrix per embedder, loaded on the first search and reloaded after a change: about 1.5 KB of
memory per chunk, 154 MB at 100,000 chunks (a library of tens of thousands of pages). An exact
matrix product over that takes milliseconds on two cores, so no approximate index is needed.
Each vector records the embedder that made it; `reembed` brings the rest up to date.

Bad files never lose data: a damaged file (found on opening, or later by a query) is moved aside
to `documents.sqlite3.corrupt-<timestamp>` and a new index started (`notices` says so, and the call
that found it raises StorageError; the documents can be added again), a file from a newer Hearth
is refused untouched, and disk problems raise `StorageError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from app.core import search_text, sqlite_files
from app.core.chat import CancelToken
from app.core.documents.answer import AttachedDocument, Passage
from app.core.documents.chunking import Chunk, chunk_document, chunk_token_limit
from app.core.documents.embedder import Embedder, approximate_tokens
from app.core.documents.extract_common import ExtractionCancelled
from app.core.documents.model import ExtractedDocument
from app.core.errors import AppError, StorageError
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

INDEX_FILE = "documents.sqlite3"
RRF_K = 60
"""Reciprocal rank fusion constant: a hit's score is the sum of 1 / (RRF_K + rank) over the
lists it appears in (Cormack et al. 2009; GPT4All uses the same)."""
EMBED_BATCH = 32
"""Chunks embedded per call: progress and cancellation are checked between batches."""
MAX_QUERY_TERMS = 64

DocumentStatus = Literal["indexed", "failed"]
Progress = Callable[[int, int], None]
"""progress(done_chunks, total_chunks)."""


class IndexingCancelled(ExtractionCancelled):
    """The CancelToken was set while a document was being indexed; nothing was written.
    (An ExtractionCancelled, so one handler covers reading and indexing a file.)"""


# --- Values ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentRecord:
    """A document in the index (or a file that could not be added, with `error`)."""

    id: int
    path: str
    name: str
    kind: str
    title: str
    sha256: str
    size: int
    page_count: int | None
    status: DocumentStatus
    error: str
    """Why the file could not be added (status "failed"), in words for the user."""
    warnings: tuple[str, ...]
    chunk_count: int
    embedder_id: str
    """The embedder that made this document's vectors; "" when it has none (lexical only)."""
    added_at: float
    updated_at: float


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the index keeps it."""

    id: int
    document_id: int
    ordinal: int
    text: str
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]
    token_count: int
    char_start: int = 0
    char_end: int = 0
    """Where the text lies in the extracted document's text (see `Chunk`)."""

    @property
    def heading(self) -> str:
        """The heading path as one line ("Handbook > Accounts")."""
        return " > ".join(self.heading_path)


@dataclass(frozen=True)
class Hit:
    """A search result: the chunk, its document, the fused score and the rank it had in each
    list (None where it was not in that list)."""

    chunk: StoredChunk
    document: DocumentRecord
    score: float
    lexical_rank: int | None
    dense_rank: int | None

    def passage(self) -> Passage:
        """The hit as `answer.build_context` takes it."""
        return passage(self.chunk, self.document)


@dataclass(frozen=True)
class Collection:
    """A named set of documents that can be attached to conversations as a whole."""

    id: int
    name: str
    document_count: int


def passage(chunk: StoredChunk, document: DocumentRecord) -> Passage:
    """A chunk with its document's name and path, as the answer context needs it."""
    return Passage(document_id=document.id, name=document.name, path=document.path,
                   ordinal=chunk.ordinal, text=chunk.text, page_start=chunk.page_start,
                   page_end=chunk.page_end, heading=chunk.heading)


# --- Schema ---------------------------------------------------------------------------------------

def _execute_script(db: sqlite3.Connection, script: str) -> None:
    """Run SQL statements inside the caller's transaction (`executescript` would commit first)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""


def _v1_tables(db: sqlite3.Connection) -> None:
    # chunks_fts: rowid = chunk id; the columns hold text prepared by search_text (CJK bigrams
    # in `cjk`), the text itself stays in chunks. Porter stemming (English only; it leaves the
    # bigrams alone) lets "passwords" find "password": questions rarely use a document's exact
    # word forms, and unlike conversation search there is no typing-as-you-go prefix to keep.
    # Links to conversations hold the ids of the conversation store, another file: no foreign
    # key can reach it.
    _execute_script(db, """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            path_key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            sha256 TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL DEFAULT 0,
            page_count INTEGER,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
            error TEXT NOT NULL DEFAULT '',
            warnings TEXT NOT NULL DEFAULT '[]',
            chunk_count INTEGER NOT NULL DEFAULT 0,
            embedder_id TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX documents_by_sha ON documents (sha256);
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL,
            page_start INTEGER,
            page_end INTEGER,
            heading_path TEXT NOT NULL DEFAULT '[]',
            token_count INTEGER NOT NULL DEFAULT 0,
            UNIQUE (document_id, ordinal)
        );
        CREATE TABLE vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            embedder_id TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE INDEX vectors_by_embedder ON vectors (embedder_id);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            body, cjk, tokenize = 'porter unicode61 remove_diacritics 2');
        CREATE TRIGGER chunks_unindex AFTER DELETE ON chunks BEGIN
            DELETE FROM chunks_fts WHERE rowid = old.id;
        END;
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at REAL NOT NULL
        );
        CREATE TABLE collection_documents (
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            PRIMARY KEY (collection_id, document_id)
        ) WITHOUT ROWID;
        CREATE INDEX collection_documents_by_document ON collection_documents (document_id);
        CREATE TABLE conversation_documents (
            conversation_id INTEGER NOT NULL,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            added_at REAL NOT NULL,
            PRIMARY KEY (conversation_id, document_id)
        ) WITHOUT ROWID;
        CREATE INDEX conversation_documents_by_document ON conversation_documents (document_id);
        CREATE TABLE conversation_collections (
            conversation_id INTEGER NOT NULL,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            added_at REAL NOT NULL,
            PRIMARY KEY (conversation_id, collection_id)
        ) WITHOUT ROWID;
    """)


def _v2_offsets(db: sqlite3.Connection) -> None:
    # Where each chunk lies in its document's text (0, 0 for chunks written before). A build
    # made while this was being written had the columns in version 1 already: skip those.
    have = {row[1] for row in db.execute("PRAGMA table_info(chunks)")}
    for column in ("char_start", "char_end"):
        if column not in have:
            db.execute(f"ALTER TABLE chunks ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_tables, _v2_offsets]
"""MIGRATIONS[i] upgrades a file from version i to i + 1; append, never edit a released one."""
SCHEMA_VERSION = len(MIGRATIONS)


# --- Errors ---------------------------------------------------------------------------------------

_NOUN = "document index"
_CORRUPT_HINT = "Add your documents again to rebuild it"


def _code(exc: sqlite3.Error) -> int:
    return sqlite_files.error_code(exc)


def _storage_error(exc: sqlite3.Error | OSError, path: Path) -> StorageError:
    """A StorageError saying what went wrong with the index file, in words a user can act on."""
    return sqlite_files.storage_error(exc, path, _NOUN, corrupt_hint=_CORRUPT_HINT)


# --- Helpers --------------------------------------------------------------------------------------

_STOPWORDS = frozenset((
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "should", "so", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when",
    "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your"))
_HIRAGANA = frozenset(chr(c) for c in range(0x3041, 0x30A0))


def match_expression(query: str) -> str:
    """The FTS5 expression that finds chunks sharing any word or CJK bigram with `query`.

    Conversation search wants every word (AND, CJK runs as phrases); retrieval gets natural
    questions ("東京支社のパスワードはいつ再設定しますか") whose words never all appear together,
    so here any term may match and bm25 ranks the chunks that match more, and rarer, terms first.
    Function words are left out while better terms remain, since they match nearly every chunk
    and cost time in proportion: English stop words and kana-only bigrams (です), and bigrams
    half made of a particle (社の) when the query has two or more bigrams without kana.
    "" when nothing is searchable.
    """
    strong: list[str] = []
    weak: list[str] = []
    common: list[str] = []
    for term in search_text.parse_query(query).terms:
        _, cjk = search_text.index_columns(term)
        if not cjk:
            (common if term in _STOPWORDS else strong).append(f'body : "{term}"')
        elif len(term) == 1:
            # One character: the prefix finds it at any position (bigram starts, final unigram).
            strong.append(f'cjk : "{term}"*')
        else:
            for i in range(len(term) - 1):
                gram = term[i:i + 2]
                kana = sum(ch in _HIRAGANA for ch in gram)
                (strong, weak, common)[kana].append(f'cjk : "{gram}"')
    kept = strong + weak if len(strong) < 2 else strong
    terms = list(dict.fromkeys(kept or common))[:MAX_QUERY_TERMS]
    return " OR ".join(terms)


def _path_key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _pack(vectors: npt.NDArray[np.float32]) -> list[bytes]:
    """Rows as little-endian float16 bytes (half the disk; cosine ranking is unaffected)."""
    half = vectors.astype("<f2")
    return [row.tobytes() for row in half]


def _document(row: sqlite3.Row | tuple[Any, ...]) -> DocumentRecord:
    return DocumentRecord(
        id=row[0], path=row[1], name=row[2], kind=row[3], title=row[4], sha256=row[5],
        size=row[6], page_count=row[7], status=row[8], error=row[9],
        warnings=tuple(_json_list(row[10])), chunk_count=row[11], embedder_id=row[12],
        added_at=row[13], updated_at=row[14])


_DOCUMENT_COLUMNS = ("d.id, d.path, d.name, d.kind, d.title, d.sha256, d.size, d.page_count, "
                     "d.status, d.error, d.warnings, d.chunk_count, d.embedder_id, d.added_at, "
                     "d.updated_at")
_CHUNK_COLUMNS = ("c.id, c.document_id, c.ordinal, c.text, c.page_start, c.page_end, "
                  "c.heading_path, c.token_count, c.char_start, c.char_end")


def _chunk(row: sqlite3.Row | tuple[Any, ...]) -> StoredChunk:
    return StoredChunk(id=row[0], document_id=row[1], ordinal=row[2], text=row[3],
                       page_start=row[4], page_end=row[5],
                       heading_path=tuple(_json_list(row[6])), token_count=row[7],
                       char_start=row[8], char_end=row[9])


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _fts_text(text: str, heading_path: Sequence[str]) -> tuple[str, str]:
    # The headings are indexed with each chunk: a question about "the budget" should find the
    # chunks of the section titled Budget even where the word is not repeated.
    return search_text.index_columns("\n".join([*heading_path, text]))


@dataclass
class _Matrix:
    """The vectors of one embedder, in memory: row i is chunk `chunk_ids[i]`."""

    key: tuple[str, int, int]
    vectors: npt.NDArray[np.float32]
    chunk_ids: npt.NDArray[np.int64]
    document_ids: npt.NDArray[np.int64]


# --- The index ------------------------------------------------------------------------------------

class DocumentIndex:
    """The document index file. Create it with `open` or `for_paths`; close it when done.

    Every public method may be called from any thread (database calls are serialised by a lock;
    embedding runs outside it). `notices` holds what the user should be told about opening the
    file (a damaged file moved aside).
    """

    def __init__(self, path: Path, db: sqlite3.Connection, *,
                 clock: Callable[[], float] = time.time,
                 notices: list[str] | None = None) -> None:
        self.file = path
        self._db = db
        self.clock = clock
        self.notices: list[str] = notices if notices is not None else []
        self._lock = threading.RLock()
        self._generation = 0
        """Bumped by every write that changes chunks or vectors: the matrix cache's key."""
        self._matrix: _Matrix | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def for_paths(cls, paths: AppPaths, **kwargs: Any) -> DocumentIndex:
        """The index in the app's data folder."""
        return cls.open(paths.data / INDEX_FILE, **kwargs)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *,
             clock: Callable[[], float] = time.time) -> DocumentIndex:
        """Open or create the file and upgrade its schema.

        A damaged file is renamed to `<name>.corrupt-<timestamp>` (never deleted) and a new one
        started; `notices` then says so. Raises StorageError for a file from a newer Hearth
        (left untouched) and for folders or disks that cannot be written.
        """
        path = Path(path)
        db, notices = sqlite_files.open_or_replace(
            path, MIGRATIONS, _NOUN, corrupt_hint=_CORRUPT_HINT, replaced_notice=(
                "The document index was damaged and could not be read. It was kept as {backup} "
                "and a new, empty index was started: add your documents again."))
        return cls(path, db, clock=clock, notices=notices)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        """Connect, set the pragmas and migrate; raises sqlite3.Error (the caller sorts it)."""
        return sqlite_files.connect(path, MIGRATIONS, _NOUN)

    @staticmethod
    def _move_aside(path: Path, exc: sqlite3.Error) -> Path:
        """Rename a damaged file (and its -wal/-shm) next to itself; returns the new name."""
        return sqlite_files.move_aside(path, exc, _NOUN)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._matrix = None
            self._db.close()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; sqlite3 errors become StorageError."""
        with self._lock:
            try:
                with sqlite_files.write_transaction(self._db, self._failed) as db:
                    yield db
            finally:
                self._generation += 1

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent snapshot across its queries)."""
        with self._lock, sqlite_files.read_transaction(self._db, self._failed) as db:
            yield db

    def _failed(self, exc: sqlite3.Error) -> StorageError:
        """The StorageError for a failed call. A file found damaged now is moved aside and a new
        index started at once: the documents can be added again, and a restart would not help
        when the damage lies past the pages that opening reads."""
        if not sqlite_files.is_corrupt(exc):
            return _storage_error(exc, self.file)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._matrix = None
        self._generation += 1
        try:
            backup = self._move_aside(self.file, exc)
            self._db = self._connect(self.file)
        except StorageError as move_error:
            return move_error
        except sqlite3.Error as exc2:
            return _storage_error(exc2, self.file)
        message = (f"The document index was damaged. It was kept as {backup} and a new, empty "
                   "index was started: add your documents again.")
        self.notices.append(message)
        return StorageError(message, detail=f"{type(exc).__name__}: {exc}")

    def integrity_check(self) -> list[str]:
        """SQLite's full integrity check: an empty list means the file is sound."""
        with self._read() as db:
            rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
        return [] if rows == ["ok"] else rows

    # -- adding ------------------------------------------------------------------------------------
    def add(self, doc: ExtractedDocument, chunks: Sequence[Chunk] | None = None, *,
            embedder: Embedder | None = None, collection_id: int | None = None,
            conversation_id: int | None = None, cancel: CancelToken | None = None,
            progress: Progress | None = None) -> DocumentRecord:
        """Index `doc` (chunked here unless `chunks` are given) and return its record.

        Unchanged (same path, sha256 and embedder, or no embedder asked for): nothing is redone.
        The same bytes already indexed under another path: its chunks and vectors are copied.
        Otherwise the chunks are embedded with `embedder` (lexical only without one) and replace
        the document's old ones. The document is put in `collection_id` and attached to
        `conversation_id` when given. Raises IndexingCancelled (nothing written) or
        StorageError.
        """
        key = _path_key(doc.path)
        embedder_id = embedder.id if embedder is not None else ""
        existing = self._find(key)
        if (existing is not None and existing.status == "indexed"
                and existing.sha256 == doc.sha256 and chunks is None
                and (embedder is None or existing.embedder_id == embedder_id)):
            self._link(existing.id, collection_id, conversation_id)
            return existing

        vectors: npt.NDArray[np.float32] | None = None
        copied = self._copy_of(doc.sha256, embedder_id, key) if chunks is None else None
        if copied is not None:
            made, vectors = copied
            log.info("%s: same content as a document already indexed; reusing its chunks",
                     doc.path)
        else:
            if chunks is None:
                counter = embedder.count_tokens if embedder is not None else approximate_tokens
                limit = chunk_token_limit(embedder.max_tokens if embedder is not None else None)
                chunks = chunk_document(doc, counter, max_tokens=limit)
            made = list(chunks)
            if embedder is not None and made:
                vectors = self._embed(embedder, [c.text for c in made], cancel, progress, 0,
                                      len(made))
        if cancel is not None and cancel.cancelled:
            raise IndexingCancelled(f"Indexing {doc.path.name} was cancelled.")
        try:
            size = doc.path.stat().st_size
        except OSError:
            size = 0
        now = self.clock()
        with self._write() as db:
            document_id = self._upsert(db, key, doc.path, {
                "name": doc.path.name, "kind": doc.kind, "title": doc.title,
                "sha256": doc.sha256, "size": size, "page_count": doc.page_count,
                "status": "indexed", "error": "",
                "warnings": json.dumps(list(doc.warnings), ensure_ascii=False),
                "chunk_count": len(made),
                "embedder_id": embedder_id if vectors is not None else "",
            }, now)
            self._insert_chunks(db, document_id, made, embedder_id, vectors)
            self._link_in(db, document_id, collection_id, conversation_id, now)
            record = self._record(db, document_id)
        if progress is not None:
            progress(len(made), len(made))
        return record

    def record_failure(self, path: str | os.PathLike[str], error: str | AppError, *,
                       kind: str = "", collection_id: int | None = None,
                       conversation_id: int | None = None) -> DocumentRecord:
        """Keep a file that could not be added, with why (shown as "failed: why"). A failure
        replaces what was indexed from an earlier version of the file."""
        path = Path(path)
        message = error.user_message if isinstance(error, AppError) else str(error)
        now = self.clock()
        with self._write() as db:
            document_id = self._upsert(db, _path_key(path), path, {
                "name": path.name, "kind": kind, "title": "", "sha256": "", "size": 0,
                "page_count": None, "status": "failed", "error": message, "warnings": "[]",
                "chunk_count": 0, "embedder_id": "",
            }, now)
            self._link_in(db, document_id, collection_id, conversation_id, now)
            return self._record(db, document_id)

    @staticmethod
    def _record(db: sqlite3.Connection, document_id: int) -> DocumentRecord:
        return _document(db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE id = ?",
                                    (document_id,)).fetchone())

    def _find(self, key: str) -> DocumentRecord | None:
        with self._read() as db:
            row = db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE path_key = ?",
                             (key,)).fetchone()
        return _document(row) if row else None

    def _copy_of(self, sha256: str, embedder_id: str, key: str
                 ) -> tuple[list[Chunk], npt.NDArray[np.float32] | None] | None:
        """The chunks (and vectors) of another indexed document with these bytes, made by this
        embedder; None when there is none."""
        if not sha256:
            return None
        with self._read() as db:
            row = db.execute(
                "SELECT id FROM documents WHERE sha256 = ? AND status = 'indexed' "
                "AND embedder_id = ? AND path_key != ? LIMIT 1",
                (sha256, embedder_id, key)).fetchone()
            if row is None:
                return None
            rows = db.execute(
                f"SELECT {_CHUNK_COLUMNS}, v.vector FROM chunks c "
                "LEFT JOIN vectors v ON v.chunk_id = c.id AND v.embedder_id = ? "
                "WHERE c.document_id = ? ORDER BY c.ordinal", (embedder_id, row[0])).fetchall()
        made = [Chunk(ordinal=r[2], text=r[3], page_start=r[4], page_end=r[5],
                      heading_path=tuple(_json_list(r[6])), token_count=r[7], char_start=r[8],
                      char_end=r[9]) for r in rows]
        if not embedder_id:
            return made, None
        if any(r[10] is None for r in rows):
            return None  # a vector is missing: embed afresh
        blob = b"".join(r[10] for r in rows)
        vectors = np.frombuffer(blob, dtype="<f2").reshape(len(rows), -1).astype(np.float32)
        return made, vectors

    def _embed(self, embedder: Embedder, texts: Sequence[str], cancel: CancelToken | None,
               progress: Progress | None, done: int, total: int) -> npt.NDArray[np.float32]:
        out = np.empty((len(texts), embedder.dim), dtype=np.float32)
        for start in range(0, len(texts), EMBED_BATCH):
            if cancel is not None and cancel.cancelled:
                raise IndexingCancelled("Indexing was cancelled.")
            if progress is not None:
                progress(done + start, total)
            out[start:start + EMBED_BATCH] = embedder.embed_passages(
                texts[start:start + EMBED_BATCH])
        return out

    def _upsert(self, db: sqlite3.Connection, key: str, path: Path, values: dict[str, Any],
                now: float) -> int:
        """Insert or update the document row for `key`; its old chunks are deleted."""
        row = db.execute("SELECT id FROM documents WHERE path_key = ?", (key,)).fetchone()
        columns = ["path", *values, "updated_at"]
        params = [str(path), *values.values(), now]
        if row is None:
            cursor = db.execute(
                f"INSERT INTO documents (path_key, added_at, {', '.join(columns)}) "
                f"VALUES (?, ?, {', '.join('?' * len(columns))})", [key, now, *params])
            assert cursor.lastrowid is not None
            return cursor.lastrowid
        document_id = int(row[0])
        db.execute(f"UPDATE documents SET {', '.join(f'{c} = ?' for c in columns)} "
                   "WHERE id = ?", [*params, document_id])
        db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return document_id

    def _insert_chunks(self, db: sqlite3.Connection, document_id: int, chunks: Sequence[Chunk],
                       embedder_id: str, vectors: npt.NDArray[np.float32] | None) -> None:
        ids: list[int] = []
        for c in chunks:
            cursor = db.execute(
                "INSERT INTO chunks (document_id, ordinal, text, page_start, page_end, "
                "heading_path, token_count, char_start, char_end) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (document_id, c.ordinal, c.text, c.page_start, c.page_end,
                 json.dumps(list(c.heading_path), ensure_ascii=False), c.token_count,
                 c.char_start, c.char_end))
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        db.executemany("INSERT INTO chunks_fts (rowid, body, cjk) VALUES (?, ?, ?)",
                       ((i, *_fts_text(c.text, c.heading_path)) for i, c in zip(ids, chunks,
                                                                               strict=True)))
        if vectors is not None:
            db.executemany("INSERT INTO vectors (chunk_id, embedder_id, vector) VALUES (?, ?, ?)",
                           zip(ids, [embedder_id] * len(ids), _pack(vectors), strict=True))

    # -- reading -----------------------------------------------------------------------------------
    def document(self, document_id: int) -> DocumentRecord | None:
        """One document's record, or None."""
        with self._read() as db:
            row = db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE id = ?",
                             (document_id,)).fetchone()
        return _document(row) if row else None

    def find(self, path: str | os.PathLike[str]) -> DocumentRecord | None:
        """The record of the file at `path`, if it was ever added."""
        return self._find(_path_key(Path(path)))

    def documents(self, conversation_id: int | None = None,
                  collection_id: int | None = None) -> list[DocumentRecord]:
        """All documents by name; or those attached to a conversation (directly or through a
        collection); or those in a collection."""
        where, params = self._scope(conversation_id, collection_id)
        with self._read() as db:
            rows = db.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents d {where} "
                              "ORDER BY d.name COLLATE NOCASE, d.id", params).fetchall()
        return [_document(r) for r in rows]

    @staticmethod
    def _scope(conversation_id: int | None,
               collection_id: int | None) -> tuple[str, tuple[int, ...]]:
        clauses: list[str] = []
        params: list[int] = []
        if conversation_id is not None:
            clauses.append(
                "d.id IN (SELECT document_id FROM conversation_documents WHERE conversation_id = ?"
                " UNION SELECT cd.document_id FROM conversation_collections cc "
                "JOIN collection_documents cd ON cd.collection_id = cc.collection_id "
                "WHERE cc.conversation_id = ?)")
            params += [conversation_id, conversation_id]
        if collection_id is not None:
            clauses.append("d.id IN (SELECT document_id FROM collection_documents "
                           "WHERE collection_id = ?)")
            params.append(collection_id)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def chunks(self, document_id: int) -> list[StoredChunk]:
        """A document's chunks in reading order."""
        with self._read() as db:
            rows = db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.document_id = ? "
                              "ORDER BY c.ordinal", (document_id,)).fetchall()
        return [_chunk(r) for r in rows]

    def neighbours(self, chunk: StoredChunk | Passage, n: int = 1) -> list[StoredChunk]:
        """The up to `n` chunks before and after `chunk` in its document, in reading order."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.document_id = ? "
                "AND c.ordinal BETWEEN ? AND ? AND c.ordinal != ? ORDER BY c.ordinal",
                (chunk.document_id, chunk.ordinal - n, chunk.ordinal + n,
                 chunk.ordinal)).fetchall()
        return [_chunk(r) for r in rows]

    def neighbour_passages(self, item: Passage, n: int = 1) -> list[Passage]:
        """`neighbours` as passages (the `neighbours` callable of `answer.build_context`)."""
        return [Passage(document_id=item.document_id, name=item.name, path=item.path,
                        ordinal=c.ordinal, text=c.text, page_start=c.page_start,
                        page_end=c.page_end, heading=c.heading)
                for c in self.neighbours(item, n)]

    def attached(self, conversation_id: int) -> list[AttachedDocument]:
        """The indexed documents attached to a conversation, with all their chunks, as
        `answer.build_context` takes them."""
        documents = self.documents(conversation_id=conversation_id)
        return self.as_attached([d for d in documents if d.status == "indexed"])

    def as_attached(self, documents: Sequence[DocumentRecord], *,
                    with_text: bool = True) -> list[AttachedDocument]:
        """`documents` as `answer.build_context` takes them: with all their chunks, or none
        (`with_text=False`, when only their names and search are needed)."""
        return [AttachedDocument(
            d.id, d.name, d.path,
            tuple(passage(c, d) for c in self.chunks(d.id)) if with_text else ())
            for d in documents]

    def text_length(self, document_ids: Sequence[int]) -> int:
        """The characters of these documents' chunks, counted in SQLite (nothing is loaded)."""
        if not document_ids:
            return 0
        with self._read() as db:
            row = db.execute(
                f"SELECT COALESCE(SUM(length(text)), 0) FROM chunks WHERE document_id IN "
                f"({', '.join('?' * len(document_ids))})", list(document_ids)).fetchone()
        return int(row[0])

    # -- removing ----------------------------------------------------------------------------------
    def remove(self, document_id: int) -> bool:
        """Delete a document with its chunks, vectors and links; False if there was none."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return cursor.rowcount > 0

    def forget_conversation(self, conversation_id: int) -> None:
        """Drop a deleted conversation's links (its documents stay in the index)."""
        with self._write() as db:
            db.execute("DELETE FROM conversation_documents WHERE conversation_id = ?",
                       (conversation_id,))
            db.execute("DELETE FROM conversation_collections WHERE conversation_id = ?",
                       (conversation_id,))

    # -- collections and attachments ---------------------------------------------------------------
    def create_collection(self, name: str) -> Collection:
        """The collection called `name` (any case), created if there is none."""
        name = " ".join(name.split())
        if not name:
            raise ValueError("a collection needs a name")
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO collections (name, created_at) VALUES (?, ?)",
                       (name, self.clock()))
            row = db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
        collection = self.collection(int(row[0]))
        assert collection is not None
        return collection

    def collection(self, collection_id: int) -> Collection | None:
        """One collection, or None."""
        return next((c for c in self.collections() if c.id == collection_id), None)

    def collections(self) -> list[Collection]:
        """All collections by name, with how many documents each holds."""
        with self._read() as db:
            rows = db.execute(
                "SELECT c.id, c.name, count(cd.document_id) FROM collections c "
                "LEFT JOIN collection_documents cd ON cd.collection_id = c.id "
                "GROUP BY c.id ORDER BY c.name COLLATE NOCASE").fetchall()
        return [Collection(r[0], r[1], r[2]) for r in rows]

    def rename_collection(self, collection_id: int, name: str) -> None:
        """Rename a collection; StorageError if another one has that name."""
        name = " ".join(name.split())
        with self._write() as db:
            db.execute("UPDATE collections SET name = ? WHERE id = ?", (name, collection_id))

    def delete_collection(self, collection_id: int) -> None:
        """Delete a collection; its documents stay in the index."""
        with self._write() as db:
            db.execute("DELETE FROM collections WHERE id = ?", (collection_id,))

    def add_to_collection(self, collection_id: int, document_id: int) -> None:
        """Put a document in a collection."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO collection_documents VALUES (?, ?)",
                       (collection_id, document_id))

    def remove_from_collection(self, collection_id: int, document_id: int) -> None:
        """Take a document out of a collection (it stays in the index)."""
        with self._write() as db:
            db.execute("DELETE FROM collection_documents WHERE collection_id = ? "
                       "AND document_id = ?", (collection_id, document_id))

    def attach(self, conversation_id: int, *, document_id: int | None = None,
               collection_id: int | None = None) -> None:
        """Attach a document or a whole collection to a conversation."""
        with self._write() as db:
            self._link_in(db, document_id, None, conversation_id, self.clock())
            if collection_id is not None:
                db.execute("INSERT OR IGNORE INTO conversation_collections VALUES (?, ?, ?)",
                           (conversation_id, collection_id, self.clock()))

    def detach(self, conversation_id: int, *, document_id: int | None = None,
               collection_id: int | None = None) -> None:
        """Undo `attach` (the document or collection stays in the index)."""
        with self._write() as db:
            if document_id is not None:
                db.execute("DELETE FROM conversation_documents WHERE conversation_id = ? "
                           "AND document_id = ?", (conversation_id, document_id))
            if collection_id is not None:
                db.execute("DELETE FROM conversation_collections WHERE conversation_id = ? "
                           "AND collection_id = ?", (conversation_id, collection_id))

    def conversation_collections(self, conversation_id: int) -> list[Collection]:
        """The collections attached to a conversation."""
        with self._read() as db:
            ids = {r[0] for r in db.execute(
                "SELECT collection_id FROM conversation_collections WHERE conversation_id = ?",
                (conversation_id,))}
        return [c for c in self.collections() if c.id in ids]

    def _link(self, document_id: int, collection_id: int | None,
              conversation_id: int | None) -> None:
        if collection_id is None and conversation_id is None:
            return
        with self._write() as db:
            self._link_in(db, document_id, collection_id, conversation_id, self.clock())

    @staticmethod
    def _link_in(db: sqlite3.Connection, document_id: int | None, collection_id: int | None,
                 conversation_id: int | None, now: float) -> None:
        if document_id is None:
            return
        if collection_id is not None:
            db.execute("INSERT OR IGNORE INTO collection_documents VALUES (?, ?)",
                       (collection_id, document_id))
        if conversation_id is not None:
            db.execute("INSERT OR IGNORE INTO conversation_documents VALUES (?, ?, ?)",
                       (conversation_id, document_id, now))

    # -- searching ---------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 8, document_ids: Sequence[int] | None = None,
               conversation_id: int | None = None, embedder: Embedder | None = None,
               candidates: int | None = None) -> list[Hit]:
        """The `k` best chunks for `query`: bm25 and (with `embedder`) vector similarity, fused
        by reciprocal rank. Limited to `document_ids` and/or the documents attached to
        `conversation_id` when given. `candidates` is how deep each list is read (default
        max(4k, 40))."""
        if conversation_id is not None:
            attached = [d.id for d in self.documents(conversation_id=conversation_id)]
            document_ids = attached if document_ids is None else \
                sorted(set(document_ids) & set(attached))
        if document_ids is not None and not document_ids:
            return []
        depth = candidates or max(4 * k, 40)
        matrix = self._vectors(embedder.id) if embedder is not None and query.strip() else None
        pending: Future[npt.NDArray[np.float32]] | None = None
        if matrix is not None and embedder is not None:
            # The query's embedding (onnxruntime) and the full-text search (SQLite) both let go
            # of the GIL: run them side by side.
            pending = self._query_pool().submit(embedder.embed_query, query)
        lexical = self._lexical(query, depth, document_ids)
        dense = self._dense(matrix, pending.result(), depth, document_ids) \
            if matrix is not None and pending is not None else []
        scores: dict[int, float] = {}
        ranks: dict[int, list[int | None]] = {}
        for which, ranked in enumerate((lexical, dense)):
            for rank, chunk_id in enumerate(ranked, start=1):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
                ranks.setdefault(chunk_id, [None, None])[which] = rank
        best = sorted(scores, key=lambda c: (-scores[c], min(r for r in ranks[c] if r), c))[:k]
        if not best:
            return []
        with self._read() as db:
            marks = ", ".join("?" * len(best))
            chunk_rows = {r[0]: _chunk(r) for r in db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c WHERE c.id IN ({marks})", best)}
            doc_ids = sorted({c.document_id for c in chunk_rows.values()})
            documents = {r[0]: _document(r) for r in db.execute(
                f"SELECT {_DOCUMENT_COLUMNS} FROM documents d WHERE d.id IN "
                f"({', '.join('?' * len(doc_ids))})", doc_ids)}
        return [Hit(chunk_rows[c], documents[chunk_rows[c].document_id], scores[c],
                    ranks[c][0], ranks[c][1]) for c in best if c in chunk_rows]

    def _lexical(self, query: str, depth: int, document_ids: Sequence[int] | None) -> list[int]:
        expression = match_expression(query)
        if not expression:
            return []
        if document_ids is None:
            sql = ("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
                   "ORDER BY rank LIMIT ?")
            params: tuple[Any, ...] = (expression, depth)
        else:
            sql = ("SELECT f.rowid FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
                   "WHERE chunks_fts MATCH ? AND c.document_id IN "
                   "(SELECT value FROM json_each(?)) ORDER BY f.rank LIMIT ?")
            params = (expression, json.dumps(list(document_ids)), depth)
        with self._read() as db:
            return [int(r[0]) for r in db.execute(sql, params)]

    def _query_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="hearth-query-embedding")
            return self._pool

    @staticmethod
    def _dense(matrix: _Matrix, query: npt.NDArray[np.float32], depth: int,
               document_ids: Sequence[int] | None) -> list[int]:
        """Chunk ids by cosine similarity to the query's vector, best first."""
        q = query.astype(np.float32, copy=False)
        if document_ids is not None:
            rows = np.flatnonzero(np.isin(matrix.document_ids, np.asarray(document_ids)))
            if rows.size == 0:
                return []
            scores = matrix.vectors[rows] @ q
            ids = matrix.chunk_ids[rows]
        else:
            scores = matrix.vectors @ q
            ids = matrix.chunk_ids
        if scores.size > depth:
            top = np.argpartition(-scores, depth - 1)[:depth]
        else:
            top = np.arange(scores.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(i) for i in ids[top]]

    def _vectors(self, embedder_id: str) -> _Matrix | None:
        """The in-memory matrix of this embedder's vectors (reloaded when the file changed)."""
        with self._lock:
            try:
                version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc
            key = (embedder_id, self._generation, version)
            if self._matrix is not None and self._matrix.key == key:
                return self._matrix
            self._matrix = None  # let the old one go before the new one is built
            with self._read() as db:
                rows = db.execute(
                    "SELECT v.chunk_id, c.document_id, v.vector FROM vectors v "
                    "JOIN chunks c ON c.id = v.chunk_id WHERE v.embedder_id = ? "
                    "ORDER BY v.chunk_id", (embedder_id,)).fetchall()
            if not rows:
                return None
            blob = b"".join(r[2] for r in rows)
            vectors = np.frombuffer(blob, dtype="<f2").reshape(len(rows), -1).astype(np.float32)
            self._matrix = _Matrix(key, vectors, np.array([r[0] for r in rows], dtype=np.int64),
                                   np.array([r[1] for r in rows], dtype=np.int64))
            return self._matrix

    # -- embedders ---------------------------------------------------------------------------------
    def stale_chunks(self, embedder: Embedder) -> int:
        """How many chunks have no vector from `embedder` (what `reembed` would do)."""
        with self._read() as db:
            row = db.execute(
                "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE d.status = 'indexed' AND d.embedder_id != ?", (embedder.id,)).fetchone()
        return int(row[0])

    def reembed(self, embedder: Embedder, *, cancel: CancelToken | None = None,
                progress: Progress | None = None) -> int:
        """Embed every chunk whose vector is missing or from another embedder; returns how many.

        Each document is saved as soon as it is done, so a cancelled run (IndexingCancelled)
        keeps what it finished and the next run goes on from there. Chunks cut for a model
        that read more tokens are truncated by this one (the text stays searchable by words).
        """
        total = self.stale_chunks(embedder)
        with self._read() as db:
            documents = [int(r[0]) for r in db.execute(
                "SELECT id FROM documents WHERE status = 'indexed' AND embedder_id != ? "
                "ORDER BY id", (embedder.id,))]
        done = 0
        for document_id in documents:
            chunks = self.chunks(document_id)
            vectors = np.empty((0, embedder.dim), dtype=np.float32)
            if chunks:
                vectors = self._embed(embedder, [c.text for c in chunks], cancel, progress,
                                      done, total)
            with self._write() as db:
                current = [int(r[0]) for r in db.execute(
                    "SELECT id FROM chunks WHERE document_id = ? ORDER BY ordinal",
                    (document_id,))]
                if current != [c.id for c in chunks]:
                    continue  # the document changed meanwhile; its new add embedded it
                if chunks:
                    db.executemany(
                        "INSERT OR REPLACE INTO vectors (chunk_id, embedder_id, vector) "
                        "VALUES (?, ?, ?)",
                        zip(current, [embedder.id] * len(current), _pack(vectors), strict=True))
                db.execute("UPDATE documents SET embedder_id = ? WHERE id = ?",
                           (embedder.id, document_id))
            done += len(chunks)
        if progress is not None:
            progress(done, total)
        return done
