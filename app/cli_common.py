"""What the command-line modules share."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.chat import CancelToken


@contextmanager
def cancel_on_interrupt() -> Iterator[CancelToken]:
    """A CancelToken that Ctrl+C sets, so a job stops at its next step with nothing
    half-written instead of dying mid-write."""
    cancel = CancelToken()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    except ValueError:  # not the main thread (an embedding caller): no handler, no Ctrl+C
        yield cancel
        return
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
