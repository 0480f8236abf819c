"""Errors the user can act on.

Core code wraps narrow library exceptions in an `AppError` subclass whose `user_message` says what
happened and what to do. Anything else that escapes is a bug and is shown as one.
"""

from __future__ import annotations


class AppError(Exception):
    """An expected failure with a message for the user."""

    def __init__(self, user_message: str, *, detail: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail

    def __str__(self) -> str:
        return self.user_message


class ModelLoadError(AppError):
    """A model folder could not be loaded (not a model, a missing or corrupt file)."""


class ProviderUnavailableError(ModelLoadError):
    """The requested execution provider is not available in this installation or machine."""


class OutOfMemoryError(ModelLoadError):
    """The model does not fit in the memory left (system RAM or GPU memory)."""


class ContextOverflowError(AppError):
    """The prompt cannot fit in the model's context window even after dropping history."""


class GenerationError(AppError):
    """The runtime failed while generating a reply."""


class EngineBusyError(AppError):
    """A reply is already being generated."""


class StorageError(AppError):
    """The conversation history cannot be read or written (damaged file, full or read-only disk,
    a file from a newer Hearth)."""


class DownloadError(AppError):
    """A model download failed: no network, a gated repo without a token, a full disk, a file that
    does not match the hub's checksum."""


class OfflineError(DownloadError):
    """A network action was refused because offline mode is on."""


class ModelLibraryError(AppError):
    """An installed-model action failed: a folder that is not a valid model, a model that is
    missing, a record that cannot be saved."""


class DocumentError(AppError):
    """A document could not be read or indexed (corrupt, encrypted, no text layer, too big)."""
