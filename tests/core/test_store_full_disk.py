"""A really full disk: the store on a tiny tmpfs (needs root to mount; skipped otherwise)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.errors import StorageError
from app.core.store import Store


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_full_disk_is_a_clear_error_and_loses_nothing_saved(tiny_disk: Path) -> None:
    store = Store.open(tiny_disk / "conversations.sqlite3")
    conv = store.create_conversation(first_message="Keep me")
    saved = 0
    error: StorageError | None = None
    for i in range(10_000):
        try:
            store.add_message(conv.id, "user", f"message {i} " + "x" * 2000)
        except StorageError as exc:
            error = exc
            break
        saved += 1
    assert error is not None
    assert "disk" in error.user_message.lower() or "space" in error.user_message.lower()
    store.close()
    reopened = Store.open(tiny_disk / "conversations.sqlite3")
    assert reopened.integrity_check() == []
    path = reopened.path(conv.id)
    assert path[0].content == "Keep me"
    assert len(path) == saved + 1  # every message reported saved is there, no half-written one
    reopened.close()
