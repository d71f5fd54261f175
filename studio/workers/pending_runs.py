"""Runs kept aside while the run history could not take them (locked by another program, a full disk) are added
in the background, on the history's own thread, as soon as it can take them; the window never waits for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from studio.core.project import Project

# How often the runs kept aside are looked for and tried again (a check of one file, on the history's thread).
RETRY_MS = 5_000


class PendingRunsRetry(QObject):
    def __init__(self, project: Project, parent: QObject | None = None, interval_ms: int = RETRY_MS) -> None:
        super().__init__(parent)
        self.project = project
        self._in_flight = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        store = self.project.run_store
        if store is None or self._in_flight:
            return
        self._in_flight = True

        def work() -> int:
            try:
                # Looked for on the history's thread too: even a check of one file may wait on a network drive.
                return store.flush_pending() if store.has_pending() else 0
            except Exception:  # still locked, or read-only: the runs stay kept aside, tried again later
                return 0

        self.project.store_writer(work, self._on_flushed)

    def _on_flushed(self, added: object) -> None:
        self._in_flight = False
        if isinstance(added, int) and added > 0:
            self.project.note_runs_added(added)
