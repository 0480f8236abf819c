"""Bugs from any thread reach the GUI thread and the log."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.error_presenter import ErrorPresenter


def test_exception_in_a_thread_is_reported_on_the_gui_thread(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    presenter = ErrorPresenter(tmp_path, show_dialogs=False)
    presenter.install()
    received: list[tuple[str, int]] = []
    presenter.bug_reported.connect(lambda text: received.append((text, threading.get_ident())))

    def boom() -> None:
        raise RuntimeError("worker exploded")

    with caplog.at_level(logging.ERROR, logger="app"), qtbot.waitSignal(presenter.bug_reported):
        thread = threading.Thread(target=boom)
        thread.start()
        thread.join()
    qtbot.waitUntil(lambda: bool(received))
    text, thread_id = received[0]
    assert "RuntimeError: worker exploded" in text
    assert thread_id == threading.get_ident()
    assert "worker exploded" in caplog.text
