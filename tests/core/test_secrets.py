"""The Hugging Face token: kept in the keyring only, never in files, logs or error messages."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked, PasswordSetError

from app.core.paths import AppPaths
from app.core.secrets import (
    SERVICE,
    USERNAME,
    SecretsError,
    delete_token,
    describe_backend,
    get_token,
    resolve_token,
    set_token,
)
from app.core.settings import Settings, SettingsStore, update
from tests.memory_keyring import MemoryKeyring

TOKEN = "hf_TestSecretToken1234567890abcdef"


class LeakyKeyring(MemoryKeyring):
    """A backend whose errors quote their arguments, as some D-Bus errors do."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"cannot store {password!r} for {service}/{username}")


class BuggyKeyring(MemoryKeyring):
    """A backend failing with an exception keyring does not define."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"dbus said no to {password}")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def use_keyring() -> Iterator[None]:
    """Restore the process-wide keyring after a test swaps it."""
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory(use_keyring: object) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def no_keyring(use_keyring: object) -> None:
    # What headless Linux gives: keyring's own fallback, which refuses everything.
    keyring.set_keyring(fail.Keyring())


def test_set_get_delete_with_a_keyring(memory: MemoryKeyring) -> None:
    assert get_token() is None
    assert delete_token() is False
    set_token(f"  {TOKEN}\n")
    assert memory.items == {(SERVICE, USERNAME): TOKEN}
    assert (SERVICE, USERNAME) == ("Hearth", "huggingface")
    assert get_token() == TOKEN
    set_token(TOKEN + "2")
    assert get_token() == TOKEN + "2"
    assert delete_token() is True
    assert get_token() is None
    info = describe_backend()
    assert info.usable
    assert info.name in info.message


@pytest.mark.usefixtures("memory")
@pytest.mark.parametrize("bad", ["", "   ", "hf_abc def", "hf_abc\ndef"])
def test_malformed_tokens_are_refused_without_quoting_them(bad: str) -> None:
    with pytest.raises(SecretsError) as info:
        set_token(bad)
    if bad.strip():
        assert bad.strip() not in str(info.value)
        assert "abc" not in str(info.value)
    assert get_token() is None


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_saving_fails_with_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    info = describe_backend()
    assert not info.usable
    assert "No system keyring is available" in info.message
    with pytest.raises(SecretsError) as error:
        set_token(TOKEN)
    assert "No system keyring is available" in error.value.user_message
    assert "HF_TOKEN" in error.value.user_message
    assert TOKEN not in str(error.value)
    assert get_token() is None
    assert delete_token() is False
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert resolve_token() is None
    assert resolve_token({"HF_TOKEN": f" {TOKEN} "}) == TOKEN


def test_the_environment_token_wins_over_the_keyring(memory: MemoryKeyring) -> None:
    set_token(TOKEN)
    assert resolve_token({"HF_TOKEN": "hf_fromenv"}) == "hf_fromenv"
    assert resolve_token({}) == TOKEN


@pytest.mark.parametrize("backend", [LeakyKeyring, BuggyKeyring])
def test_backend_errors_never_carry_the_token(use_keyring: object,
                                             backend: type[KeyringBackend]) -> None:
    keyring.set_keyring(backend())
    with pytest.raises(SecretsError) as info:
        set_token(TOKEN)
    error = info.value
    for text in (str(error), repr(error), error.user_message, error.detail):
        assert TOKEN not in text
    assert "<token>" in error.detail  # the backend's text, scrubbed
    # No chained exception: the log and the bug dialog print the whole chain.
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_a_locked_keyring_is_an_app_error_and_resolve_treats_it_as_no_token(
        use_keyring: object) -> None:
    keyring.set_keyring(LockedKeyring())
    with pytest.raises(SecretsError, match="Unlock"):
        get_token()
    assert resolve_token({}) is None


def test_the_token_never_reaches_the_log(use_keyring: object,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyring.set_keyring(MemoryKeyring())
    set_token(TOKEN)
    get_token()
    resolve_token({})
    delete_token()
    for backend in (LeakyKeyring(), BuggyKeyring(), LockedKeyring(), fail.Keyring()):
        keyring.set_keyring(backend)
        for call in (lambda: set_token(TOKEN), get_token, delete_token):
            try:
                call()
            except SecretsError:
                logging.getLogger("app.test").exception("as the edge logs an AppError")
        resolve_token({})
    assert caplog.records
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (caplog.handler.format(record))


def test_the_token_is_never_written_to_a_file(memory: MemoryKeyring, app_paths: AppPaths,
                                              tmp_path: Path) -> None:
    set_token(TOKEN)
    store = SettingsStore(app_paths)
    store.save(update(Settings(), {"appearance.theme": "dark"}))
    store.load()
    assert store.path.exists()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path
    assert "hf_" not in store.path.read_text()


def test_keyring_is_not_imported_until_needed() -> None:
    # Finding a keyring backend can take a while (D-Bus); the window must not wait for it.
    code = "import sys, app.core.secrets, app.core.settings; print('keyring' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "False"
