"""Background tasks: results, progress, user errors, bugs and cancel come back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pytestqt.qtbot import QtBot

from app.core.chat import CancelToken
from app.core.errors import DocumentError
from app.workers.tasks import TaskRunner


class Stopped(Exception):
    pass


def test_result_and_progress_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[tuple[object, bool]] = []
    gui = threading.current_thread()
    runner.progressed.connect(lambda tid, v: seen.append((v, threading.current_thread() is gui)))
    worker_threads: list[threading.Thread] = []

    def fn(cancel: CancelToken, progress: Callable[[object], None]) -> object:
        worker_threads.append(threading.current_thread())
        for i in range(3):
            progress(i)
        return sum(range(10))

    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        tid = runner.start(fn)
    assert blocker.args == [tid, 45]
    assert worker_threads[0] is not gui
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert seen == [(0, True), (1, True), (2, True)]
    assert not runner.is_running(tid)


def test_user_errors_and_bugs_become_messages(qtbot: QtBot) -> None:
    runner = TaskRunner()

    def user_error(cancel: CancelToken, progress: Callable[[object], None]) -> object:
        raise DocumentError("report.pdf is password-protected.")

    def bug(cancel: CancelToken, progress: Callable[[object], None]) -> object:
        return 1 // 0

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(user_error)
    assert blocker.args[1] == "report.pdf is password-protected."
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(bug)
    assert blocker.args[1].startswith("Unexpected error: integer division")


def test_cancel_stops_a_running_task(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()

    def slow(cancel: CancelToken, progress: Callable[[object], None]) -> object:
        started.set()
        pause = threading.Event()
        while not cancel.cancelled:
            pause.wait(0.01)
        raise Stopped

    tid = runner.start(slow, cancelled_types=(Stopped,))
    assert started.wait(5)
    with qtbot.waitSignal(runner.cancelled, timeout=5000) as blocker:
        runner.cancel(tid)
    assert blocker.args == [tid]
    runner.shutdown()
