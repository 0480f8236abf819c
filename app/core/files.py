"""Copying and hashing files in 1 MB steps, with progress and a cancel flag (the data-folder
move and model imports share these)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


class Cancellable(Protocol):
    """Anything with a `cancelled` flag, such as `app.core.chat.CancelToken`."""

    @property
    def cancelled(self) -> bool: ...


class Cancelled(Exception):
    """Raised between chunks when the caller's cancel flag is set."""


def check_cancel(cancel: Cancellable | None) -> None:
    """Raise Cancelled if `cancel` is set."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled


def copy_file_hashed(src: Path, dst: Path, on_chunk: Callable[[int], None],
                     cancel: Cancellable | None) -> tuple[int, str]:
    """Copy `src` to a new file `dst` (never over an existing one), flushed to disk, hashing
    what was read; returns (size, sha256). Raises Cancelled or OSError."""
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as fin, dst.open("xb") as fout:
        while chunk := fin.read(CHUNK):
            check_cancel(cancel)
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
            on_chunk(len(chunk))
        fout.flush()
        os.fsync(fout.fileno())
    # Timestamps are a courtesy: FAT and network drives reject some of what copystat sets.
    with contextlib.suppress(OSError):
        shutil.copystat(src, dst)
    return size, digest.hexdigest()


def sha256_file(path: Path, on_chunk: Callable[[int], None] | None = None,
                cancel: Cancellable | None = None) -> str:
    """The SHA-256 of a file, read in chunks. Raises Cancelled or OSError."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            check_cancel(cancel)
            digest.update(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return digest.hexdigest()
