"""Conversation history in one SQLite file: conversations, branching messages, search.

`Store.open(AppPaths.data / "conversations.sqlite3")` opens (or creates) the file, upgrades its
schema with `MIGRATIONS` (the version lives in `PRAGMA user_version`) and marks replies whose
process died while streaming as `interrupted`. Every public method is one transaction and may be
called from any thread (calls are serialised by a lock).

Messages form a tree: each has a `parent_id`, and editing an earlier message adds a sibling
instead of overwriting it, so every branch stays reachable. A conversation remembers its active
leaf; `path()` is the branch from the root to it, `siblings()` and `switch_branch()` let the UI
flip between versions ("< 2/3 >").

A reply is saved while it streams: `begin_reply` adds it as `streaming`; `append_reply` (each
delta) or `update_reply` (the whole text so far) can be called per token and write at most once
per `write_interval`; `finish_reply` writes the final text, token ids and figures. A process
killed mid-reply leaves a `streaming` row that the next `open` turns into `interrupted`, with the
text written so far (a live process's reply is left alone: the window and the CLI may share the
file).

Bad files never lose data: a damaged file is moved aside to
`conversations.sqlite3.corrupt-<timestamp>` and a new one started (`Store.notices` says so), a file
from a newer Hearth is refused untouched, and disk problems raise `StorageError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self, cast

from app.core import search_text, sqlite_files
from app.core.chat import (
    ChatMessage,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    Role,
    with_context,
)
from app.core.errors import StorageError
from app.core.paths import AppPaths

log = logging.getLogger(__name__)

STORE_FILE = "conversations.sqlite3"
WRITE_INTERVAL_S = 1.0
"""How often a streaming reply is written at most: often enough that a crash loses at most a
second of text, rarely enough that a long reply does not rewrite its row per token."""

MessageStatus = Literal["complete", "streaming", "interrupted", "cancelled", "error"]

# Sidebar groups, in display order; a month outside the last 30 days is labelled "YYYY-MM".
# They are keys: the UI translates them.
GROUP_PINNED = "Pinned"
GROUP_TODAY = "Today"
GROUP_YESTERDAY = "Yesterday"
GROUP_7_DAYS = "Previous 7 days"
GROUP_30_DAYS = "Previous 30 days"

_STATUS_OF: dict[FinishReason, MessageStatus] = {
    FinishReason.STOP: "complete",
    FinishReason.LENGTH: "complete",
    FinishReason.CANCELLED: "cancelled",
    FinishReason.ERROR: "error",
}

TITLE_CHARS = 48


# --- Values ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConversationSettings:
    """The generation settings a conversation was held with (stored as JSON).

    Field names match `app.core.settings.GenerationSettings`, plus the conversation's date, which
    gpt-oss puts in its prompt: keeping it fixed keeps the KV cache valid past midnight.
    """

    system_prompt: str = ""
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    max_new_tokens: int = 1024
    reasoning_effort: str = "medium"
    conversation_date: str = ""

    @classmethod
    def from_options(cls, options: GenerationOptions, system_prompt: str = "") -> Self:
        """The snapshot of a request's options."""
        return cls(system_prompt=system_prompt, temperature=options.temperature,
                   top_p=options.top_p, top_k=options.top_k,
                   max_new_tokens=options.max_new_tokens,
                   reasoning_effort=options.reasoning_effort,
                   conversation_date=options.conversation_date)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Read a stored snapshot; unknown keys and values of the wrong type fall back quietly
        because a snapshot is a record, not a setting the user must fix."""
        try:
            raw = json.loads(text or "{}")
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = raw.get(f.name)
            if isinstance(f.default, float) and type(value) in (int, float):
                values[f.name] = float(cast(float, value))
            elif type(value) is type(f.default):
                values[f.name] = value
        return cls(**values)

    def to_json(self) -> str:
        """The JSON stored in the conversations table."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    def to_options(self) -> GenerationOptions:
        """The options for the next reply in this conversation."""
        return GenerationOptions(
            max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
            top_k=self.top_k, reasoning_effort=self.reasoning_effort,
            conversation_date=self.conversation_date)


@dataclass(frozen=True)
class Conversation:
    """One conversation's row. `deleted_at` is set while it sits in the trash (undoable)."""

    id: int
    title: str
    created_at: float
    updated_at: float
    pinned: bool
    deleted_at: float | None
    model_name: str
    model_path: str
    settings: ConversationSettings
    active_leaf_id: int | None


@dataclass(frozen=True)
class ConversationEntry:
    """A sidebar row: `group` is one of the GROUP_* keys or "YYYY-MM"."""

    id: int
    title: str
    pinned: bool
    created_at: float
    updated_at: float
    model_name: str
    group: str


@dataclass(frozen=True)
class Message:
    """One message; assistant replies carry their reasoning, token ids and figures apart."""

    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    content: str
    reasoning: str
    token_ids: tuple[int, ...] | None
    status: MessageStatus
    finish_reason: str
    error: str
    figures: dict[str, Any]
    created_at: float
    context: str = ""
    """Document excerpts given to the model with this (user) message; kept so later turns send
    the model exactly the prompt it already read, and its KV cache stays valid."""
    sources: tuple[dict[str, Any], ...] = ()
    """The documents behind `context`, numbered as the model cites them ([1], [2], ...)."""

    def as_chat_message(self) -> ChatMessage:
        """The message as the engine takes it (token ids let it reuse its KV cache)."""
        return ChatMessage(self.role, with_context(self.context, self.content), self.token_ids,
                           self.reasoning)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a conversation (used by the documents feature)."""

    id: int
    conversation_id: int
    path: str
    name: str
    sha256: str
    state: str
    created_at: float


@dataclass(frozen=True)
class SearchHit:
    """The best match in one conversation. `message_id` is None when only the title matched;
    `highlights` are (start, end) offsets of the matched terms in `snippet`."""

    conversation_id: int
    title: str
    message_id: int | None
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    matches: int
    """How many messages (and the title) of the conversation match."""


@dataclass
class _Reply:
    """A streaming reply's text so far and when it was last written.

    Text is kept as pieces and joined only when written, so that appending a token is O(1)
    however long the reply grows.
    """

    content: list[str]
    reasoning: list[str]
    written_at: float | None = None
    dirty: bool = False


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
    _execute_script(db, """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            deleted_at REAL,
            model_name TEXT NOT NULL DEFAULT '',
            model_path TEXT NOT NULL DEFAULT '',
            settings TEXT NOT NULL DEFAULT '{}',
            active_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'developer', 'user', 'assistant')),
            content TEXT NOT NULL DEFAULT '',
            reasoning TEXT NOT NULL DEFAULT '',
            token_ids BLOB,
            status TEXT NOT NULL DEFAULT 'complete' CHECK (status IN
                ('complete', 'streaming', 'interrupted', 'cancelled', 'error')),
            finish_reason TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            figures TEXT NOT NULL DEFAULT '{}',
            owner_pid INTEGER,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_parent ON messages (conversation_id, parent_id);
        CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
        CREATE INDEX conversations_by_update ON conversations (deleted_at, pinned, updated_at);
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'pending',
            created_at REAL NOT NULL
        );
        CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
    """)


def _v2_search(db: sqlite3.Connection) -> None:
    # One FTS5 table for messages (rowid = message id) and titles (rowid = -conversation id),
    # so both are found by one MATCH and kept in sync by rowid. The columns hold text prepared
    # by search_text (bigrams for CJK); the text itself stays in messages/conversations.
    _execute_script(db, """
        CREATE VIRTUAL TABLE search_index USING fts5(
            body, cjk, tokenize = 'unicode61 remove_diacritics 2');
        CREATE TRIGGER messages_unindex AFTER DELETE ON messages BEGIN
            DELETE FROM search_index WHERE rowid = old.id;
        END;
        CREATE TRIGGER conversations_unindex AFTER DELETE ON conversations BEGIN
            DELETE FROM search_index WHERE rowid = -old.id;
        END;
    """)
    for cid, title in db.execute("SELECT id, title FROM conversations").fetchall():
        _index(db, -cid, title)
    for mid, content in db.execute("SELECT id, content FROM messages").fetchall():
        _index(db, mid, content)


def _v3_document_context(db: sqlite3.Connection) -> None:
    _execute_script(db, """
        ALTER TABLE messages ADD COLUMN context TEXT NOT NULL DEFAULT '';
        ALTER TABLE messages ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';
    """)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_tables, _v2_search, _v3_document_context]
"""MIGRATIONS[i] upgrades a file from version i to i + 1; append, never edit a released one."""
SCHEMA_VERSION = len(MIGRATIONS)


def _index(db: sqlite3.Connection, rowid: int, text: str) -> None:
    db.execute("DELETE FROM search_index WHERE rowid = ?", (rowid,))
    if text:
        body, cjk = search_text.index_columns(text)
        db.execute("INSERT INTO search_index (rowid, body, cjk) VALUES (?, ?, ?)",
                   (rowid, body, cjk))


# --- Helpers --------------------------------------------------------------------------------------

def pack_tokens(ids: Sequence[int]) -> bytes:
    """Token ids as 4-byte little-endian integers (compact, and the same on every platform)."""
    arr = array("i", ids)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()


def unpack_tokens(blob: bytes | None) -> tuple[int, ...] | None:
    """The inverse of `pack_tokens`; None stays None."""
    if blob is None:
        return None
    arr = array("i")
    arr.frombytes(blob)
    if sys.byteorder == "big":
        arr.byteswap()
    return tuple(arr)


def make_title(text: str) -> str:
    """A title from the first words of a message: one line, at most TITLE_CHARS characters."""
    words = " ".join(text.split())
    if len(words) <= TITLE_CHARS:
        return words
    cut = words[:TITLE_CHARS]
    # Cut at a space when there is one late enough; Japanese has none, so cut at the limit.
    space = cut.rfind(" ")
    return (cut[:space] if space > TITLE_CHARS // 2 else cut).rstrip(" ,.;:、。") + "…"


def group_label(updated_at: float, pinned: bool, now: datetime) -> str:
    """The sidebar group of a conversation, by local calendar days before `now`."""
    if pinned:
        return GROUP_PINNED
    when = datetime.fromtimestamp(updated_at)
    days = (now.date() - when.date()).days
    if days <= 0:
        return GROUP_TODAY
    if days == 1:
        return GROUP_YESTERDAY
    if days <= 7:
        return GROUP_7_DAYS
    if days <= 30:
        return GROUP_30_DAYS
    return f"{when.year:04d}-{when.month:02d}"


def _process_alive(pid: int) -> bool:
    """Whether a process with this id is running (a streaming reply's writer may be)."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    # A killed child that nobody reaped yet is a zombie: it will never write again.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


_NOUN = "conversation history"
_CORRUPT_HINT = ("Make a copy of it first; `hearth conversations export --all` may still save "
                 "what is readable")


def _storage_error(exc: sqlite3.Error | OSError, path: Path) -> StorageError:
    """A StorageError saying what went wrong with the history file, in words a user can act on."""
    return sqlite_files.storage_error(exc, path, _NOUN, corrupt_hint=_CORRUPT_HINT)


_MESSAGE_COLUMNS = ("id, conversation_id, parent_id, role, content, reasoning, token_ids, status, "
                    "finish_reason, error, figures, created_at, context, sources")
_CONVERSATION_COLUMNS = ("id, title, created_at, updated_at, pinned, deleted_at, model_name, "
                         "model_path, settings, active_leaf_id")


def _message(row: sqlite3.Row | tuple[Any, ...]) -> Message:
    return Message(
        id=row[0], conversation_id=row[1], parent_id=row[2], role=row[3], content=row[4],
        reasoning=row[5], token_ids=unpack_tokens(row[6]), status=row[7], finish_reason=row[8],
        error=row[9], figures=_json_dict(row[10]), created_at=row[11], context=row[12],
        sources=_json_sources(row[13]))


def _json_sources(text: str) -> tuple[dict[str, Any], ...]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


def _conversation(row: sqlite3.Row | tuple[Any, ...]) -> Conversation:
    return Conversation(
        id=row[0], title=row[1], created_at=row[2], updated_at=row[3], pinned=bool(row[4]),
        deleted_at=row[5], model_name=row[6], model_path=row[7],
        settings=ConversationSettings.from_json(row[8]), active_leaf_id=row[9])


def _json_dict(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- The store ------------------------------------------------------------------------------------

class Store:
    """The conversation history file. Create it with `open` or `for_paths`; close it when done.

    `clock` gives timestamps (seconds since the epoch) and `monotonic` paces streaming writes;
    tests inject both. `notices` holds what the user should be told about opening the file (a
    damaged file moved aside, replies found interrupted).
    """

    def __init__(self, path: Path, db: sqlite3.Connection, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 write_interval: float = WRITE_INTERVAL_S,
                 notices: list[str] | None = None) -> None:
        self.file = path
        self._db = db
        self.clock = clock
        self.monotonic = monotonic
        self.write_interval = write_interval
        self.notices: list[str] = notices if notices is not None else []
        self._lock = threading.RLock()
        self._replies: dict[int, _Reply] = {}

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def for_paths(cls, paths: AppPaths, **kwargs: Any) -> Store:
        """The store in the app's data folder."""
        return cls.open(paths.data / STORE_FILE, **kwargs)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *,
             clock: Callable[[], float] = time.time,
             monotonic: Callable[[], float] = time.monotonic,
             write_interval: float = WRITE_INTERVAL_S) -> Store:
        """Open or create the file, upgrade its schema and recover interrupted replies.

        A damaged file is renamed to `<name>.corrupt-<timestamp>` (never deleted) and a new one
        started; `notices` then says where the copy is. Raises StorageError for a file from a newer
        Hearth (left untouched) and for folders or disks that cannot be written.
        """
        path = Path(path)
        db, notices = sqlite_files.open_or_replace(
            path, MIGRATIONS, _NOUN, corrupt_hint=_CORRUPT_HINT, replaced_notice=(
                "The conversation history file was damaged and could not be read. It was kept "
                "as {backup} and a new, empty history was started."))
        store = cls(path, db, clock=clock, monotonic=monotonic, write_interval=write_interval,
                    notices=notices)
        try:
            recovered = store.recover_interrupted()
        except StorageError:
            store.close()
            raise
        if recovered:
            notices.append(
                "A reply was cut off when Hearth stopped unexpectedly; it is kept and marked as "
                "interrupted." if recovered == 1 else
                f"{recovered} replies were cut off when Hearth stopped unexpectedly; they are "
                "kept and marked as interrupted.")
        return store

    def close(self) -> None:
        """Write pending streaming text and close the file."""
        with self._lock:
            try:
                for mid in list(self._replies):
                    self._flush(mid)
            except StorageError:
                log.exception("pending reply text could not be written on close")
            finally:
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; sqlite3 errors become StorageError."""
        with self._lock, sqlite_files.write_transaction(
                self._db, lambda exc: _storage_error(exc, self.file)) as db:
            yield db

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent snapshot across its queries)."""
        with self._lock, sqlite_files.read_transaction(
                self._db, lambda exc: _storage_error(exc, self.file)) as db:
            yield db

    # -- maintenance -------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        """SQLite's full integrity check: an empty list means the file is sound."""
        with self._lock:
            try:
                rows = self._db.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.Error as exc:
                return [str(exc)]
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems

    def schema_version(self) -> int:
        """The file's `PRAGMA user_version`."""
        with self._read() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def recover_interrupted(self) -> int:
        """Mark replies whose writing process is gone as interrupted; returns how many."""
        with self._write() as db:
            rows = db.execute("SELECT id, owner_pid FROM messages "
                              "WHERE status = 'streaming'").fetchall()
            dead = [mid for mid, pid in rows if pid is None or not _process_alive(pid)]
            for mid in dead:
                db.execute("UPDATE messages SET status = 'interrupted', owner_pid = NULL "
                           "WHERE id = ?", (mid,))
        if dead:
            log.info("%d interrupted replies recovered: %s", len(dead), dead)
        return len(dead)

    # -- conversations -----------------------------------------------------------------------------
    def create_conversation(self, *, title: str = "", model_name: str = "",
                            model_path: str = "",
                            settings: ConversationSettings | None = None,
                            first_message: str = "") -> Conversation:
        """Start a conversation, with its first user message in the same transaction if given
        (a crash then never leaves an empty conversation behind).

        An empty `settings.conversation_date` is set to today, so the prompt stays the same.
        """
        now = self.clock()
        settings = settings or ConversationSettings()
        if not settings.conversation_date:
            settings = _replace_date(settings, datetime.fromtimestamp(now).date())
        with self._write() as db:
            cid = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model_name, model_path,"
                " settings) VALUES (?, ?, ?, ?, ?, ?)",
                (title, now, now, model_name, model_path, settings.to_json()),
            ).lastrowid
            assert cid is not None
            _index(db, -cid, title)
            if first_message:
                self._insert_message(db, cid, None, "user", first_message)
            return self._get_conversation(db, cid)

    def get_conversation(self, conversation_id: int) -> Conversation:
        """A conversation, also one in the trash; raises StorageError if there is none."""
        with self._read() as db:
            return self._get_conversation(db, conversation_id)

    def _get_conversation(self, db: sqlite3.Connection, cid: int) -> Conversation:
        row = db.execute(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?",
                         (cid,)).fetchone()
        if row is None:
            raise StorageError(f"There is no conversation {cid}.")
        return _conversation(row)

    def list_conversations(self, *, now: datetime | None = None,
                           deleted: bool = False) -> list[ConversationEntry]:
        """The sidebar: pinned first, then the most recently updated; each with its group.

        With `deleted`, the trash instead (most recently deleted first).
        """
        now = now or datetime.fromtimestamp(self.clock())
        with self._read() as db:
            if deleted:
                rows = db.execute(
                    "SELECT id, title, pinned, created_at, updated_at, model_name FROM "
                    "conversations WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC"
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT id, title, pinned, created_at, updated_at, model_name FROM "
                    "conversations WHERE deleted_at IS NULL "
                    "ORDER BY pinned DESC, updated_at DESC, id DESC").fetchall()
        return [ConversationEntry(id=r[0], title=r[1], pinned=bool(r[2]), created_at=r[3],
                                  updated_at=r[4], model_name=r[5],
                                  group=group_label(r[4], bool(r[2]), now)) for r in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        """Set the title (the user's or a model-generated one)."""
        title = " ".join(title.split())
        with self._write() as db:
            self._update_conversation(db, conversation_id, "title = ?", (title,))
            _index(db, -conversation_id, title)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin to the top of the sidebar, or unpin."""
        with self._write() as db:
            self._update_conversation(db, conversation_id, "pinned = ?", (int(pinned),))

    def set_model(self, conversation_id: int, name: str, path: str) -> None:
        """Record the model the conversation now uses."""
        with self._write() as db:
            self._update_conversation(db, conversation_id, "model_name = ?, model_path = ?",
                                      (name, path))

    def set_settings(self, conversation_id: int, settings: ConversationSettings) -> None:
        """Replace the conversation's settings snapshot."""
        with self._write() as db:
            self._update_conversation(db, conversation_id, "settings = ?",
                                      (settings.to_json(),))

    def delete(self, conversation_id: int) -> None:
        """Move to the trash: hidden from the list and search until `restore` or a purge."""
        with self._write() as db:
            self._update_conversation(db, conversation_id, "deleted_at = ?", (self.clock(),))

    def restore(self, conversation_id: int) -> None:
        """Undo `delete`."""
        with self._write() as db:
            self._update_conversation(db, conversation_id, "deleted_at = NULL", ())

    def purge_deleted(self, older_than: timedelta = timedelta(0)) -> int:
        """Remove for good the conversations deleted at least `older_than` ago; returns how many."""
        cutoff = self.clock() - older_than.total_seconds()
        with self._write() as db:
            # The leaf pointer and the parent links would otherwise make the cascade order
            # matter; clearing them first keeps the delete a single statement.
            ids = [r[0] for r in db.execute(
                "SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                (cutoff,))]
            for cid in ids:
                db.execute("UPDATE conversations SET active_leaf_id = NULL WHERE id = ?", (cid,))
                db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        return len(ids)

    def _update_conversation(self, db: sqlite3.Connection, cid: int, assignments: str,
                             values: tuple[Any, ...]) -> None:
        cur = db.execute(f"UPDATE conversations SET {assignments} WHERE id = ?", (*values, cid))
        if cur.rowcount == 0:
            raise StorageError(f"There is no conversation {cid}.")

    # -- messages ----------------------------------------------------------------------------------
    def add_message(self, conversation_id: int, role: Role, content: str, *,
                    parent_id: int | Literal["leaf"] | None = "leaf", reasoning: str = "",
                    token_ids: Sequence[int] | None = None) -> Message:
        """Append a complete message under `parent_id` (default: the active leaf) and make it
        the active leaf. The first user message titles an untitled conversation."""
        with self._write() as db:
            conv = self._get_conversation(db, conversation_id)
            parent = conv.active_leaf_id if parent_id == "leaf" else parent_id
            mid = self._insert_message(db, conversation_id, parent, role, content,
                                       reasoning=reasoning, token_ids=token_ids)
            return self._get_message(db, mid)

    def _insert_message(self, db: sqlite3.Connection, cid: int, parent_id: int | None,
                        role: Role, content: str, *, reasoning: str = "",
                        token_ids: Sequence[int] | None = None,
                        status: MessageStatus = "complete", figures: dict[str, Any] | None = None,
                        owner_pid: int | None = None) -> int:
        if parent_id is not None:
            row = db.execute("SELECT conversation_id FROM messages WHERE id = ?",
                             (parent_id,)).fetchone()
            if row is None or row[0] != cid:
                raise StorageError(f"Message {parent_id} is not in conversation {cid}.")
        now = self.clock()
        mid = db.execute(
            "INSERT INTO messages (conversation_id, parent_id, role, content, reasoning, "
            "token_ids, status, figures, owner_pid, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, parent_id, role, content, reasoning,
             None if token_ids is None else pack_tokens(token_ids), status,
             json.dumps(figures or {}, ensure_ascii=False), owner_pid, now),
        ).lastrowid
        assert mid is not None
        _index(db, mid, content)
        db.execute("UPDATE conversations SET active_leaf_id = ?, updated_at = ? WHERE id = ?",
                   (mid, now, cid))
        if role == "user":
            cur = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                       (make_title(content), cid))
            if cur.rowcount:
                _index(db, -cid, make_title(content))
        return mid

    def set_context(self, message_id: int, context: str,
                    sources: Sequence[dict[str, Any]] = ()) -> None:
        """Record the document excerpts sent with a user message and the sources they cite."""
        with self._write() as db:
            cur = db.execute("UPDATE messages SET context = ?, sources = ? WHERE id = ?",
                             (context, json.dumps(list(sources), ensure_ascii=False), message_id))
            if cur.rowcount == 0:
                raise StorageError(f"There is no message {message_id}.")

    def get_message(self, message_id: int) -> Message:
        """One message; raises StorageError if there is none."""
        with self._read() as db:
            return self._get_message(db, message_id)

    def _get_message(self, db: sqlite3.Connection, mid: int) -> Message:
        row = db.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?",
                         (mid,)).fetchone()
        if row is None:
            raise StorageError(f"There is no message {mid}.")
        return _message(row)

    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of the conversation, all branches, oldest first (for export)."""
        with self._read() as db:
            return [_message(r) for r in db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,))]

    def path(self, conversation_id: int, leaf_id: int | None = None) -> list[Message]:
        """The branch from the root to `leaf_id` (default: the active leaf), root first."""
        with self._read() as db:
            return self._path(db, conversation_id, leaf_id)

    def _path(self, db: sqlite3.Connection, cid: int, leaf_id: int | None) -> list[Message]:
        if leaf_id is None:
            leaf_id = self._get_conversation(db, cid).active_leaf_id
            if leaf_id is None:
                return []
        rows = db.execute(f"""
            WITH RECURSIVE up(id, depth) AS (
                SELECT id, 0 FROM messages WHERE id = ? AND conversation_id = ?
                UNION ALL
                SELECT m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id
                WHERE m.parent_id IS NOT NULL
            )
            SELECT {", ".join("m." + c.strip() for c in _MESSAGE_COLUMNS.split(","))}
            FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC
        """, (leaf_id, cid)).fetchall()
        return [_message(r) for r in rows]

    def history(self, conversation_id: int, leaf_id: int | None = None) -> list[ChatMessage]:
        """The messages to send the engine for the next reply after `leaf_id` (default: the
        active leaf): the system prompt, then the branch. Failed and still-streaming replies
        are left out; interrupted and cancelled ones are kept as far as they got."""
        with self._read() as db:
            conv = self._get_conversation(db, conversation_id)
            branch = self._path(db, conversation_id, leaf_id)
        out = [ChatMessage("system", conv.settings.system_prompt)] \
            if conv.settings.system_prompt else []
        out += [m.as_chat_message() for m in branch
                if m.status not in ("error", "streaming") or m.role != "assistant"]
        return out

    def siblings(self, message_id: int) -> list[Message]:
        """The versions of a message (same parent), oldest first, itself included."""
        with self._read() as db:
            msg = self._get_message(db, message_id)
            rows = db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND "
                "parent_id IS ? ORDER BY id", (msg.conversation_id, msg.parent_id)).fetchall()
        return [_message(r) for r in rows]

    def switch_branch(self, message_id: int) -> list[Message]:
        """Show the branch through `message_id`: its latest leaf becomes the active one.

        Returns the new `path`. Ids grow with time, so the highest id below the message is the
        leaf where the user last worked on that branch.
        """
        with self._write() as db:
            msg = self._get_message(db, message_id)
            leaf = db.execute("""
                WITH RECURSIVE down(id) AS (
                    SELECT ? UNION ALL
                    SELECT m.id FROM messages m JOIN down ON m.parent_id = down.id
                )
                SELECT MAX(id) FROM down
            """, (message_id,)).fetchone()[0]
            db.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?",
                       (leaf, msg.conversation_id))
            return self._path(db, msg.conversation_id, leaf)

    def edit_message(self, message_id: int, content: str) -> Message:
        """Add an edited version of a message as its sibling and make it the active leaf; the
        old branch stays reachable. The caller then generates a reply under the new message."""
        with self._write() as db:
            old = self._get_message(db, message_id)
            mid = self._insert_message(db, old.conversation_id, old.parent_id, old.role, content)
            return self._get_message(db, mid)

    # -- streaming replies -------------------------------------------------------------------------
    def begin_reply(self, conversation_id: int,
                    parent_id: int | Literal["leaf"] | None = "leaf", *,
                    model_name: str = "") -> int:
        """Add an empty assistant reply with status `streaming` under `parent_id` (default: the
        active leaf; a user message's id regenerates a reply to it). Returns its id."""
        with self._write() as db:
            conv = self._get_conversation(db, conversation_id)
            parent = conv.active_leaf_id if parent_id == "leaf" else parent_id
            figures = {"model": model_name} if model_name else {}
            mid = self._insert_message(db, conversation_id, parent, "assistant", "",
                                       status="streaming", figures=figures,
                                       owner_pid=os.getpid())
        self._replies[mid] = _Reply([], [])
        return mid

    def update_reply(self, message_id: int, content: str, reasoning: str = "") -> bool:
        """Record the whole reply so far (answer and reasoning; not deltas, see `append_reply`).

        Cheap to call per token: it writes at once the first time, then at most once per
        `write_interval`; the rest waits for the next call, `finish_reply` or `close`. Returns
        whether it wrote.
        """
        with self._lock:
            state = self._reply(message_id)
            state.content, state.reasoning = [content], [reasoning]
            return self._maybe_write(message_id, state)

    def append_reply(self, message_id: int, text: str, reasoning: bool = False) -> bool:
        """Add one streamed piece (a `TextDelta`'s text) to the answer, or to the reasoning;
        written like `update_reply`. Returns whether it wrote."""
        with self._lock:
            state = self._reply(message_id)
            (state.reasoning if reasoning else state.content).append(text)
            return self._maybe_write(message_id, state)

    def _reply(self, message_id: int) -> _Reply:
        state = self._replies.get(message_id)
        if state is None:
            # Begun by another Store or before a restart: continue from what the file holds.
            msg = self.get_message(message_id)
            state = self._replies[message_id] = _Reply([msg.content], [msg.reasoning])
        return state

    def _maybe_write(self, message_id: int, state: _Reply) -> bool:
        state.dirty = True
        now = self.monotonic()
        if state.written_at is not None and now - state.written_at < self.write_interval:
            return False
        # Set before writing: if the disk is full, retry next interval, not on every token.
        state.written_at = now
        self._flush(message_id)
        return True

    def _flush(self, message_id: int) -> None:
        state = self._replies.get(message_id)
        if state is None or not state.dirty:
            return
        state.content = ["".join(state.content)]
        state.reasoning = ["".join(state.reasoning)]
        with self._write() as db:
            db.execute("UPDATE messages SET content = ?, reasoning = ? WHERE id = ?",
                       (state.content[0], state.reasoning[0], message_id))
            _index(db, message_id, state.content[0])
        state.dirty = False

    def finish_reply(self, message_id: int, result: GenerationResult) -> Message:
        """Write the final reply: text, reasoning, token ids, status and figures."""
        with self._lock:
            self._replies.pop(message_id, None)
        figures = {
            "provider": result.provider, "prompt_tokens": result.prompt_tokens,
            "cached_tokens": result.cached_tokens, "generated_tokens": result.generated_tokens,
            "ttft_ms": round(result.ttft_ms, 2), "tok_s": round(result.tok_s, 2),
            "reasoning_ms": round(result.reasoning_ms, 1),
            "dropped_messages": result.dropped_messages, "context_full": result.context_full,
        }
        with self._write() as db:
            old = self._get_message(db, message_id)
            db.execute(
                "UPDATE messages SET content = ?, reasoning = ?, token_ids = ?, status = ?, "
                "finish_reason = ?, error = ?, figures = ?, owner_pid = NULL WHERE id = ?",
                (result.text, result.reasoning, pack_tokens(result.token_ids),
                 _STATUS_OF[result.finish_reason], str(result.finish_reason), result.error,
                 json.dumps({**old.figures, **figures}, ensure_ascii=False), message_id))
            _index(db, message_id, result.text)
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                       (self.clock(), old.conversation_id))
            return self._get_message(db, message_id)

    def fail_reply(self, message_id: int, error: str) -> Message:
        """End a reply that raised instead of finishing: keeps the text so far, status `error`."""
        with self._lock:
            self._flush(message_id)
            self._replies.pop(message_id, None)
        with self._write() as db:
            db.execute("UPDATE messages SET status = 'error', finish_reason = 'error', "
                       "error = ?, owner_pid = NULL WHERE id = ?", (error, message_id))
            return self._get_message(db, message_id)

    # -- search ------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Conversations whose messages or title contain every word of `query` (English,
        Japanese, ...), best first by bm25; one hit per conversation, preferring a message."""
        parsed = search_text.parse_query(query)
        if not parsed.match:
            return []
        with self._read() as db:
            try:
                rows = db.execute("""
                    WITH hits AS (
                        SELECT rowid AS rid, bm25(search_index) AS rank FROM search_index
                        WHERE search_index MATCH ?
                    ), resolved AS (
                        SELECT h.rank, COALESCE(m.conversation_id, -h.rid) AS cid,
                               m.id AS mid, m.content
                        FROM hits h LEFT JOIN messages m ON h.rid > 0 AND m.id = h.rid
                    ), ranked AS (
                        SELECT r.*,
                            ROW_NUMBER() OVER (PARTITION BY cid
                                               ORDER BY mid IS NULL, rank, mid) AS n,
                            MIN(rank) OVER (PARTITION BY cid) AS best,
                            COUNT(*) OVER (PARTITION BY cid) AS matches
                        FROM resolved r
                    )
                    SELECT k.cid, c.title, k.mid, k.content, k.matches
                    FROM ranked k JOIN conversations c ON c.id = k.cid
                    WHERE k.n = 1 AND c.deleted_at IS NULL
                    ORDER BY k.best, c.updated_at DESC LIMIT ?
                """, (parsed.match, limit)).fetchall()
            except sqlite3.OperationalError as exc:
                # parse_query only emits quoted terms, so an error here is a bug, but the
                # search box must not crash the app over it.
                log.warning("search failed: %s", exc)  # not the query: it is the user's text
                return []
        hits = []
        for cid, title, mid, content, matches in rows:
            text, spans = search_text.snippet(content if mid is not None else title,
                                              parsed.terms)
            hits.append(SearchHit(conversation_id=cid, title=title, message_id=mid,
                                  snippet=text, highlights=spans, matches=matches))
        return hits

    # -- attachments -------------------------------------------------------------------------------
    def add_attachment(self, conversation_id: int, path: str, name: str, sha256: str = "",
                       state: str = "pending") -> Attachment:
        """Record a file attached to a conversation."""
        with self._write() as db:
            self._get_conversation(db, conversation_id)
            aid = db.execute(
                "INSERT INTO attachments (conversation_id, path, name, sha256, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, path, name, sha256, state, self.clock())).lastrowid
            assert aid is not None
            row = db.execute("SELECT * FROM attachments WHERE id = ?", (aid,)).fetchone()
        return Attachment(*row)

    def attachments(self, conversation_id: int) -> list[Attachment]:
        """A conversation's attachments, oldest first."""
        with self._read() as db:
            return [Attachment(*r) for r in db.execute(
                "SELECT * FROM attachments WHERE conversation_id = ? ORDER BY id",
                (conversation_id,))]

    def set_attachment_state(self, attachment_id: int, state: str,
                             sha256: str | None = None) -> None:
        """Update an attachment's state (and hash once known)."""
        with self._write() as db:
            db.execute("UPDATE attachments SET state = ?, sha256 = COALESCE(?, sha256) "
                       "WHERE id = ?", (state, sha256, attachment_id))

    def remove_attachment(self, attachment_id: int) -> None:
        """Forget an attachment (the file itself is the user's and is not touched)."""
        with self._write() as db:
            db.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))


def _replace_date(settings: ConversationSettings, day: date) -> ConversationSettings:
    values = asdict(settings)
    values["conversation_date"] = day.isoformat()
    return ConversationSettings(**values)
