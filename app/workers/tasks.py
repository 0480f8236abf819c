"""One-off background jobs (download a model, import a folder, index a document) on a thread pool.

A task runs a core function `fn(cancel, progress)` on QThreadPool and reports back by signals,
which Qt queues onto the GUI thread. The runner keeps a reference to every running task until it
ends (superqt does the same), because PySide would otherwise collect the signal object mid-run.
Cancelling sets the task's CancelToken; the core function checks it and stops at its next step.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.core.chat import CancelToken
from app.core.errors import AppError

log = logging.getLogger(__name__)

TaskFn = Callable[[CancelToken, Callable[[object], None]], object]
"""fn(cancel, progress) -> result; raises AppError for failures the user can act on."""


class TaskSignals(QObject):
    """What a task reports.

    Signals:
        progressed(int, object): task id, a progress value of the core function's own type
        finished(int, object): task id, the result
        failed(int, str): task id, a message for the user
        cancelled(int): task id (the core function raised `Cancelled` or returned after cancel)
    """

    progressed = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


class _Task(QRunnable):
    def __init__(self, task_id: int, fn: TaskFn, cancel: CancelToken,
                 signals: TaskSignals, cancelled_types: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner holds it until `ended`
        self.task_id = task_id
        self.fn = fn
        self.cancel = cancel
        self.signals = signals
        self.cancelled_types = cancelled_types

    def run(self) -> None:
        tid = self.task_id
        try:
            result = self.fn(self.cancel, lambda value: self.signals.progressed.emit(tid, value))
        except self.cancelled_types:
            self.signals.cancelled.emit(tid)
        except AppError as exc:
            log.warning("task %d failed: %s (%s)", tid, exc, exc.detail)
            self.signals.failed.emit(tid, exc.user_message)
        except Exception as exc:  # a bug: log it whole, tell the user briefly, keep the app up
            log.exception("task %d crashed", tid)
            self.signals.failed.emit(tid, f"Unexpected error: {exc}")
        else:
            if self.cancel.cancelled and result is None:
                self.signals.cancelled.emit(tid)
            else:
                self.signals.finished.emit(tid, result)


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps them alive until they end.

    Signals: those of `TaskSignals`, re-emitted on the GUI thread for every task.
    """

    progressed = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._ids = itertools.count(1)
        self._running: dict[int, _Task] = {}
        self._signals = TaskSignals(self)
        self._signals.progressed.connect(self.progressed)
        self._signals.finished.connect(self._on_task_finished)
        self._signals.failed.connect(self._on_task_failed)
        self._signals.cancelled.connect(self._on_task_cancelled)

    def start(self, fn: TaskFn,
              cancelled_types: tuple[type[BaseException], ...] = ()) -> int:
        """Run `fn(cancel, progress)` in the pool; returns the task id."""
        task = _Task(next(self._ids), fn, CancelToken(), self._signals, cancelled_types)
        self._running[task.task_id] = task
        self._pool.start(task)
        return task.task_id

    def cancel(self, task_id: int) -> None:
        """Ask a task to stop at its next step (no-op for a finished one)."""
        task = self._running.get(task_id)
        if task is not None:
            task.cancel.cancel()

    def is_running(self, task_id: int) -> bool:
        """Whether the task has not reported its end yet."""
        return task_id in self._running

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel every task and wait for the pool to drain."""
        for task in self._running.values():
            task.cancel.cancel()
        if not self._pool.waitForDone(timeout_ms):
            log.error("background tasks did not stop within %d ms", timeout_ms)

    @Slot(int, object)
    def _on_task_finished(self, tid: int, result: Any) -> None:
        self._running.pop(tid, None)
        self.finished.emit(tid, result)

    @Slot(int, str)
    def _on_task_failed(self, tid: int, message: str) -> None:
        self._running.pop(tid, None)
        self.failed.emit(tid, message)

    @Slot(int)
    def _on_task_cancelled(self, tid: int) -> None:
        self._running.pop(tid, None)
        self.cancelled.emit(tid)
