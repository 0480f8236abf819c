"""The Hugging Face token, kept in the OS keyring and nowhere else.

The token is never written to a file (settings included) or a log, and no message or exception
this module raises contains it. Where no keyring is usable (headless Linux without a Secret
Service), saving fails with a `SecretsError` that suggests setting HF_TOKEN for the session.
`keyring` is imported inside the functions: finding its backend can take a moment (D-Bus on
Linux), which the window should not wait for at start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.errors import AppError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "Hearth"
USERNAME = "huggingface"
TOKEN_ENV = "HF_TOKEN"

_NO_KEYRING = ("No system keyring is available, so the token cannot be saved. On Linux, install "
               "and unlock a Secret Service such as GNOME Keyring or KWallet; or set "
               f"{TOKEN_ENV} in the environment for this session instead.")

# Friendlier names for the backends keyring ships, by module.
_BACKEND_NAMES = {
    "keyring.backends.Windows": "Windows Credential Manager",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.SecretService": "Secret Service (GNOME Keyring, KWallet)",
    "keyring.backends.libsecret": "libsecret (GNOME Keyring)",
    "keyring.backends.kwallet": "KWallet",
}


class SecretsError(AppError):
    """The keyring is missing, locked, or refused to store or read the token."""


@dataclass(frozen=True)
class KeyringInfo:
    """Which keyring holds the token, for the settings pane and `hearth selftest`."""

    usable: bool
    name: str
    """The backend as users know it ("Windows Credential Manager"), or keyring's own name."""
    message: str
    """A sentence to show: where the token goes, or why it cannot be saved."""


def _backend() -> KeyringBackend:
    import keyring

    return keyring.get_keyring()


def _usable(backend: KeyringBackend) -> bool:
    from keyring.backends import fail, null

    # fail.Keyring is what keyring falls back to when nothing else is viable (headless Linux);
    # null.Keyring is keyring switched off by its config. Neither keeps anything.
    return not isinstance(backend, fail.Keyring | null.Keyring)


def _name(backend: KeyringBackend) -> str:
    module = type(backend).__module__
    friendly = _BACKEND_NAMES.get(module.rpartition(".")[0]) or _BACKEND_NAMES.get(module)
    return friendly or str(backend.name)


def describe_backend() -> KeyringInfo:
    """The keyring in use and whether it can keep the token."""
    backend = _backend()
    name = _name(backend)
    if not _usable(backend):
        return KeyringInfo(False, name, _NO_KEYRING)
    return KeyringInfo(True, name, f"The token is kept in {name}.")


def _failure(action: str, exc: BaseException, secret: str = "") -> SecretsError:
    """A SecretsError for a keyring failure, with the backend's text scrubbed of the token.

    Callers raise it `from None`: the backend's own exception could quote its arguments, and a
    chained exception is printed in full by the log and the bug dialog.
    """
    from keyring.errors import KeyringLocked, NoKeyringError

    if isinstance(exc, NoKeyringError):
        return SecretsError(_NO_KEYRING)
    detail = f"{type(exc).__name__}: {exc}"
    if secret:
        detail = detail.replace(secret, "<token>")
    hint = ("Unlock the keyring (or sign in again) and try once more."
            if isinstance(exc, KeyringLocked) else
            f"Try again, or set {TOKEN_ENV} in the environment for this session instead.")
    return SecretsError(f"The system keyring could not {action} the Hugging Face token. {hint}",
                        detail=detail)


def get_token() -> str | None:
    """The saved token, or None if none is saved or no keyring is usable.

    Raises SecretsError when the keyring exists but fails (locked, access refused).
    """
    from keyring.errors import KeyringError

    backend = _backend()
    if not _usable(backend):
        return None
    try:
        token = backend.get_password(SERVICE, USERNAME)
    except (KeyringError, OSError) as exc:
        raise _failure("read", exc) from None
    return token or None


def set_token(token: str) -> None:
    """Save the token in the keyring, replacing any saved one.

    Raises SecretsError when it is empty or malformed (the message never quotes it) or when no
    keyring can keep it.
    """
    token = token.strip()
    if not token:
        raise SecretsError("Paste a Hugging Face access token first.")
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise SecretsError("The token contains spaces or line breaks; copy it from Hugging Face "
                           "again.")
    backend = _backend()
    if not _usable(backend):
        raise SecretsError(_NO_KEYRING)
    try:
        backend.set_password(SERVICE, USERNAME, token)
    except Exception as exc:
        # Broad on purpose: any exception from a backend may carry the token in its text, and an
        # escaping bug would put that text in the log and the bug dialog.
        raise _failure("save", exc, secret=token) from None
    log.info("Hugging Face token saved in %s", _name(backend))


def delete_token() -> bool:
    """Remove the saved token; False if there was none (or no keyring to hold one)."""
    from keyring.errors import KeyringError, PasswordDeleteError

    backend = _backend()
    if not _usable(backend):
        return False
    try:
        if backend.get_password(SERVICE, USERNAME) is None:
            return False
        backend.delete_password(SERVICE, USERNAME)
    except PasswordDeleteError:
        return False  # removed meanwhile, by another Hearth or the keyring's own app
    except (KeyringError, OSError) as exc:
        raise _failure("delete", exc) from None
    log.info("Hugging Face token removed from %s", _name(backend))
    return True


def resolve_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The token a download should use: $HF_TOKEN (this session) first, then the keyring.

    Never raises: a keyring failure is logged (without the token) and treated as no token, so a
    public model still downloads.
    """
    env = os.environ if environ is None else environ
    if token := env.get(TOKEN_ENV, "").strip():
        return token
    try:
        return get_token()
    except SecretsError as exc:
        log.warning("no token from the keyring: %s (%s)", exc.user_message, exc.detail)
        return None
