"""What Hearth's SQLite files have in common: opening with the same pragmas and migrations,
moving a damaged file aside, and turning SQLite and OS errors into messages a user can act on.

The conversation store (`store.py`) and the document index (`documents/index.py`) each name
themselves (`noun`) and bring their own migrations.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from app.core.errors import StorageError

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]
ToError = Callable[[sqlite3.Error], Exception]
"""Turns a failed call's sqlite3 error into the error the caller raises."""
CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def timestamp() -> str:
    """Local time as used in backup names (20261128-041500)."""
    return time.strftime("%Y%m%d-%H%M%S")


def error_code(exc: sqlite3.Error) -> int:
    """The primary SQLite result code of `exc` (0 when it has none)."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the file is damaged or not a database."""
    return error_code(exc) in CORRUPT_CODES


def storage_error(exc: sqlite3.Error | OSError, path: Path, noun: str, *,
                  corrupt_hint: str = "") -> StorageError:
    """A StorageError saying what went wrong with the file holding `noun` ("conversation
    history", "document index"), in words a user can act on."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            why = "the disk is full. Free some space and try again"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            why = "the folder is read-only. Check its permissions or choose another data folder"
        elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
            why = "a file is in the way where the data folder should be"
        else:
            why = exc.strerror or str(exc)
        return StorageError(f"Hearth cannot write its {noun} in {path.parent}: {why}.",
                            detail=detail)
    code = error_code(exc)
    if code == sqlite3.SQLITE_FULL:
        why = "the disk is full. Free some space and try again"
    elif code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN,
                  sqlite3.SQLITE_AUTH):
        why = ("the file or its folder is read-only or cannot be opened. Check the permissions "
               "or choose another data folder")
    elif code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        why = "another program is holding it locked. Try again in a moment"
    elif code in CORRUPT_CODES:
        why = "the file is damaged" + (f". {corrupt_hint}" if corrupt_hint else "")
    elif code == sqlite3.SQLITE_IOERR:
        why = "the disk reported an error. Check the drive and try again"
    else:
        why = str(exc)
    return StorageError(f"The {noun} ({path}) could not be saved or read: {why}.", detail=detail)


def open_or_replace(path: Path, migrations: Sequence[Migration], noun: str, *,
                    corrupt_hint: str = "",
                    replaced_notice: str) -> tuple[sqlite3.Connection, list[str]]:
    """Open (creating the folder) and migrate `path`; a damaged file is moved aside, never
    deleted, and a new one started, with `replaced_notice` (formatted with {backup}) in the
    returned notices. Raises StorageError for everything else."""
    notices: list[str] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, path, noun, corrupt_hint=corrupt_hint) from exc
    try:
        db = connect(path, migrations, noun)
    except sqlite3.Error as exc:
        if not is_corrupt(exc):
            raise storage_error(exc, path, noun, corrupt_hint=corrupt_hint) from exc
        backup = move_aside(path, exc, noun)
        notices.append(replaced_notice.format(backup=backup))
        try:
            db = connect(path, migrations, noun)
        except sqlite3.Error as exc2:
            raise storage_error(exc2, path, noun, corrupt_hint=corrupt_hint) from exc2
    return db, notices


def connect(path: Path, migrations: Sequence[Migration], noun: str) -> sqlite3.Connection:
    """Open `path`, set the pragmas and apply the migrations it lacks, each in a transaction.

    Raises sqlite3.Error (the caller decides whether the file is damaged), and StorageError for
    a file from a newer Hearth, which is left untouched.
    """
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE).
    # check_same_thread=False: the owner's lock serialises the threads that use it.
    db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    try:
        latest = len(migrations)
        version = _schema_version(db, path, noun, latest)
        # Reading the schema now finds a damaged file here, where it can be moved aside,
        # rather than on the first query.
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # WAL: a commit appends to the -wal file and a kill -9 at any moment leaves either the
        # old or the new transaction, never a torn one. synchronous=NORMAL then only syncs at
        # checkpoints, so a power cut may lose the last commits but cannot corrupt the file,
        # and streaming saves stay cheap.
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("%s: WAL is not available (journal mode %s)", path, mode)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        # Deleted conversations and documents should not linger in free pages.
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA busy_timeout = 5000")
        for step in range(version, latest):
            db.execute("BEGIN IMMEDIATE")
            try:
                migrations[step](db)
                db.execute(f"PRAGMA user_version = {step + 1}")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            log.info("%s: schema upgraded to version %d", path, step + 1)
    except BaseException:
        db.close()
        raise
    return db


def _schema_version(db: sqlite3.Connection, path: Path, noun: str, latest: int) -> int:
    """The file's schema version; a newer one than this code knows is refused, untouched."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > latest:
        raise StorageError(
            f"The {noun} ({path}) was saved by a newer version of Hearth (format {version}; this "
            f"version reads up to {latest}). Update Hearth to open it. The file was left "
            "untouched.")
    return version


def move_aside(path: Path, exc: sqlite3.Error, noun: str) -> Path:
    """Rename a damaged file (and its -wal/-shm) next to itself; returns the new name. Nothing
    is ever deleted: raises StorageError when the rename fails."""
    stamp = timestamp()
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(path, backup)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, backup.with_name(backup.name + suffix))
    except OSError as move_exc:
        raise StorageError(
            f"The {noun} ({path}) is damaged and could not be moved aside to start a new one "
            f"({move_exc.strerror}). Nothing was deleted; move the file yourself or choose "
            "another data folder.", detail=str(exc)) from move_exc
    log.warning("%s is damaged (%s); kept as %s", path, exc, backup)
    return backup


@contextlib.contextmanager
def write_transaction(db: sqlite3.Connection, to_error: ToError) -> Iterator[sqlite3.Connection]:
    """One write transaction on `db` (opened with isolation_level=None): committed when the block
    ends, rolled back when it raises; sqlite3 errors become `to_error(exc)`. The caller holds
    its own lock."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise to_error(exc) from exc


@contextlib.contextmanager
def read_transaction(db: sqlite3.Connection, to_error: ToError) -> Iterator[sqlite3.Connection]:
    """One read transaction on `db`: a consistent snapshot across its queries."""
    try:
        db.execute("BEGIN")
        try:
            yield db
        finally:
            if db.in_transaction:
                db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise to_error(exc) from exc
