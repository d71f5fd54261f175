"""Run a core generator on a QThread and relay what it yields as signals.

The generator gets a ``should_stop`` callable; the worker never touches widgets, and only the immutable items
the generator yields (and its return value) cross to the GUI thread.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal

from studio.core.common.errors import Cancelled, StudioError

# Threads that outlived stop()'s wait; referenced here so Python does not destroy them while they run.
_STILL_RUNNING: list[QThread] = []

JobFactory = Callable[[Callable[[], bool]], Generator[Any, None, Any]]


class _JobThread(QThread):
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)  # message for the user, technical details
    cancelled = Signal()

    def __init__(self, factory: JobFactory, stop_flag: threading.Event) -> None:
        super().__init__()
        self._factory = factory
        self._stop_flag = stop_flag

    def run(self) -> None:
        try:
            generator = self._factory(self._stop_flag.is_set)
            try:
                while True:
                    item = next(generator)
                    if self._stop_flag.is_set():
                        generator.close()
                        raise Cancelled()
                    self.progressed.emit(item)
            except StopIteration as finished:
                result = finished.value
            if self._stop_flag.is_set():
                raise Cancelled()
            self.succeeded.emit(result)
        except Cancelled:
            self.cancelled.emit()
        except StudioError as exc:
            self.failed.emit(str(exc), traceback.format_exc())
        except MemoryError:
            self.failed.emit("Studio ran out of memory. Try a smaller table or a simpler model.",
                             traceback.format_exc())
        except Exception as exc:  # a crash in the job must be shown, never take the app down
            self.failed.emit(f"Something went wrong: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                             if str(exc) else f"Something went wrong: {type(exc).__name__}",
                             traceback.format_exc())


class JobRunner(QObject):
    """Runs one job at a time; ``start`` while a job runs is refused.

    Signals: ``progressed(item)``, ``succeeded(result)``, ``failed(message, details)``, ``cancelled()`` and
    ``finished()`` after any of the last three.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _JobThread | None = None
        self._stop_flag = threading.Event()

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, factory: JobFactory) -> bool:
        if self._thread is not None:
            return False
        self._stop_flag = threading.Event()
        thread = _JobThread(factory, self._stop_flag)
        thread.progressed.connect(self.progressed)
        thread.succeeded.connect(self.succeeded)
        thread.failed.connect(self.failed)
        thread.cancelled.connect(self.cancelled)
        thread.finished.connect(lambda: self._on_thread_finished(thread))
        self._thread = thread
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the job to stop at its next check; ``cancelled`` follows."""
        self._stop_flag.set()

    def stop(self, timeout_ms: int = 30_000) -> None:
        """Cancel and join the thread; used on close and in test teardown."""
        thread = self._thread
        if thread is None:
            return
        self._stop_flag.set()
        thread.quit()
        if not thread.wait(timeout_ms):
            # A library call that cannot be interrupted is still running; keep the thread alive until it ends
            # rather than destroy a running QThread (which aborts the process).
            _STILL_RUNNING.append(thread)
            thread.finished.connect(lambda: _STILL_RUNNING.remove(thread))
        # Results still queued from the stopped thread must not reach a later job's listeners.
        for signal in (thread.progressed, thread.succeeded, thread.failed, thread.cancelled, thread.finished):
            signal.disconnect()
        # Disconnecting does not recall the relays the thread already posted (at least its `cancelled`); they are
        # queued calls on this runner, and it receives no others.
        QCoreApplication.removePostedEvents(self, QEvent.Type.MetaCall)
        self._on_thread_finished(thread)

    def _on_thread_finished(self, thread: _JobThread) -> None:
        if self._thread is not thread:
            return
        self._thread = None
        if thread not in _STILL_RUNNING:
            thread.deleteLater()
        self.finished.emit()
