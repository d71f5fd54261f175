"""The Runs page's reading of the run history, on workers (never on the window's thread: another program may hold
the history locked): the list of runs, whole runs to open or compare, and a history file the person chose. What
the reading has to say (reading, busy, could not be read) goes to the page's banner, without covering a sentence
another action put there since."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.common.errors import StudioError
from studio.core.project import Project
from studio.core.store.history_reading import HistoryBusy, RunsRead, read_runs, read_whole_runs
from studio.core.store.runs import RunRecord, RunStore, runs_path_for
from studio.ui.widgets.common import MessageBanner
from studio.workers.runner import JobRunner

# How long the list may take to read before the page says it is reading.
SLOW_READ_MS = 300


class HistoryReaders(QObject):
    listed = Signal(object)  # RunsRead of the history the project holds now
    list_failed = Signal()  # the history could not be read at all (the banner says why)
    chosen = Signal(object)  # the RunStore opened from the file the person chose

    def __init__(self, project: Project, banner: MessageBanner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.banner = banner
        self.lister = JobRunner(self)  # the list of runs
        self.lister.progressed.connect(self.on_progressed)
        self.lister.succeeded.connect(self._on_lister_succeeded)
        self.lister.failed.connect(self._on_lister_failed)
        self.lister.finished.connect(self._on_lister_finished)
        self._read_again = False
        self._said = ""  # the banner's sentence when the reading put it there
        self._slow_timer = QTimer(self)
        self._slow_timer.setSingleShot(True)
        self._slow_timer.setInterval(SLOW_READ_MS)
        self._slow_timer.timeout.connect(self._on_slow_timer_timeout)
        self.whole = JobRunner(self)  # whole runs, to open or compare
        self.whole.progressed.connect(self.on_progressed)
        self.whole.succeeded.connect(self._on_whole_succeeded)
        self.whole.failed.connect(lambda message, details: self.banner.show_message(message, "error", details))
        self._then: Callable[[tuple[RunRecord, ...]], object] | None = None
        self.chooser = JobRunner(self)  # opening a history file chosen by the person
        self.chooser.succeeded.connect(self.chosen)
        self.chooser.failed.connect(lambda message, details: self.banner.show_message(message, "error", details))

    def is_reading(self) -> bool:
        return self.lister.is_running() or self.whole.is_running() or self.chooser.is_running()

    # -- the list ---------------------------------------------------------------------------------------------
    def read_list(self) -> None:
        store = self.project.run_store
        if store is None:
            return
        if self.lister.is_running():
            self._read_again = True  # the history changed while it was being read: read it once more after
            return
        if self.lister.start(lambda stop: read_runs(store, stop)):
            self._slow_timer.start()

    def say(self, text: str, level: str) -> None:
        """What the reading says ("" for nothing): over the banner only when it holds nothing else."""
        if self.banner.level and self.banner.text() != self._said:
            return
        self._said = text
        if text:
            self.banner.show_message(text, level)
        else:
            self.banner.clear()

    def on_progressed(self, item: object) -> None:
        if isinstance(item, HistoryBusy):
            self.say(item.message, "warning")

    def _on_slow_timer_timeout(self) -> None:
        store = self.project.run_store
        if self.lister.is_running() and store is not None:
            self.say(f"Reading the run history {store.path.name}…", "info")

    def _on_lister_succeeded(self, read: object) -> None:
        store = self.project.run_store
        if not isinstance(read, RunsRead) or store is None:
            return  # stopped while the history was busy
        if read.path != str(store.path):  # another history was chosen meanwhile: it is read next
            self._read_again = True
            return
        self.listed.emit(read)

    def _on_lister_failed(self, message: str, details: str) -> None:
        self._said = message  # the next reading that works replaces it
        self.banner.show_message(message, "error", details)
        self.list_failed.emit()

    def _on_lister_finished(self) -> None:
        self._slow_timer.stop()
        if self._read_again:
            self._read_again = False
            self.read_list()

    # -- whole runs, a chosen file ------------------------------------------------------------------------------
    def read_whole(self, run_ids: list[int], then: Callable[[tuple[RunRecord, ...]], object]) -> bool:
        """Read whole runs (the list holds light summaries), then call ``then`` with them; a run that cannot be
        read is said instead."""
        store = self.project.run_store
        if store is None or self.whole.is_running():
            return False
        self._then = then
        return self.whole.start(lambda stop: read_whole_runs(store, run_ids, stop))

    def _on_whole_succeeded(self, records: object) -> None:
        then, self._then = self._then, None
        if isinstance(records, tuple) and then is not None:
            self.banner.clear()
            then(records)

    def open_history(self, path: str) -> bool:
        return not self.chooser.is_running() and self.chooser.start(lambda stop: _open_history(path))

    def stop(self) -> None:
        for runner in (self.lister, self.whole, self.chooser):
            runner.stop()


def _open_history(path: str) -> Generator[object, None, RunStore]:
    """Open (or start) the history in ``path``: a job for the chooser's worker."""
    try:
        return RunStore(runs_path_for(path))
    except StudioError as exc:
        raise StudioError(f"Studio cannot keep its run history in {path}: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise StudioError(f"Studio cannot keep its run history in {path}: {exc}") from exc
    yield  # a generator, as the worker runs them
