"""The run history's writes, off the GUI thread.

A write can wait on a file another program holds locked (SQLite waits up to its timeout), so the window must not
make it. The Project hands each write to this writer, which runs them one after another, in order, on one
background thread and hands each outcome back on the GUI thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

LOG = logging.getLogger(__name__)
# How long closing the window waits for the writes still queued (SQLite's own wait on a locked file is 30 s).
STOP_WAIT_S = 35.0

Work = Callable[[], Any]
Done = Callable[[Any], None]


class BackgroundStoreWriter(QObject):
    _finished = Signal(object, object)  # the done callback and the work's outcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[tuple[Work, Done] | None] = queue.Queue()
        self._unfinished = 0  # writes queued or under way; only the GUI thread adds, only the writer takes away
        self._count_lock = threading.Lock()
        self._stopped = False
        # Emitted from the writer thread, received on the GUI thread (a queued connection).
        self._finished.connect(self._on_finished)
        self._thread = threading.Thread(target=self._run, name="run-history-writer", daemon=True)
        self._thread.start()

    def __call__(self, work: Work, done: Done) -> None:
        if self._stopped:
            if self._thread.is_alive():
                # Closing timed out on a locked history: a write made now would overtake the queued ones.
                LOG.warning("A run-history write was dropped: the history stayed locked while Studio closed")
                return
            done(work())  # a last write while the window closes: made at once rather than lost
            return
        self._put(work, done)

    def _put(self, work: Work, done: Done) -> None:
        with self._count_lock:
            self._unfinished += 1
        self._queue.put((work, done))

    def settled(self) -> bool:
        """On the GUI thread: True when no write is queued or under way and every outcome has been handled (a run
        set aside is then known). Asked by closing, which must not itself wait on a locked history."""
        with self._count_lock:
            if self._unfinished:
                return False
        QCoreApplication.sendPostedEvents(self)  # outcomes emitted but not yet delivered
        return True

    def wait_until_idle(self, timeout_s: float = 10.0) -> bool:
        """For tests and closing: True once every queued write has run (its outcome may still be on its way)."""
        if self._stopped:
            return not self._thread.is_alive()
        finished = threading.Event()
        self._put(finished.set, lambda _outcome: None)
        return finished.wait(timeout_s)

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Run what is queued, then end and join the thread (for at most ``wait_s``: a person who chose to close
        without the writes still waiting on a locked history is not kept waiting for them)."""
        if self._stopped:
            return
        self._stopped = True
        self._queue.put(None)
        self._thread.join(wait_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, done = item
            try:
                outcome = work()
            except Exception:  # the work reports expected failures itself; anything else must not end the thread
                LOG.exception("A run-history write failed")
                self._one_finished()
                continue
            # Counted as finished once its outcome is on its way to the GUI thread (``settled`` delivers it).
            try:
                self._finished.emit(done, outcome)
            except RuntimeError:  # the window closed without waiting for this write (the person chose to)
                return
            self._one_finished()

    def _one_finished(self) -> None:
        with self._count_lock:
            self._unfinished -= 1

    def _on_finished(self, done: Done, outcome: Any) -> None:
        done(outcome)
