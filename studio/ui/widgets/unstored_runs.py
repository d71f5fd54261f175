"""Closing the window while runs are not stored in the run history yet (it was locked by another program, or the
disk was full): the person is asked, in plain words, whether to keep Studio open while it tries again, save the runs
to another history file, or close anyway. Nothing is lost without being said."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from studio.core.common.words import plural
from studio.core.project import Project
from studio.core.store.unstored_runs import save_unstored, unstored_sentence
from studio.ui.widgets.common import MessageBanner
from studio.ui.widgets.history_location import HISTORY_FILTER
from studio.workers.pending_runs import PendingRunsRetry
from studio.workers.runner import JobRunner
from studio.workers.store_writer import BackgroundStoreWriter

KEEP_OPEN, SAVE, CLOSE = "keep open", "save", "close"


class UnstoredRunsDialog(QMessageBox):
    def __init__(self, sentence: tuple[str, str], count: int, lost_on_close: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Runs not stored yet")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setTextFormat(Qt.TextFormat.PlainText)  # file names, shown as they are
        self.setText(sentence[0])
        self.setInformativeText(sentence[1])
        them = "it" if count == 1 else "them"
        self.keep_button = self.addButton("Keep Studio open", QMessageBox.ButtonRole.RejectRole)
        self.save_button = self.addButton(f"Save {them} to a file…", QMessageBox.ButtonRole.AcceptRole)
        self.close_button = self.addButton(f"Close and lose {them}" if lost_on_close else "Close",
                                           QMessageBox.ButtonRole.DestructiveRole)
        self.setDefaultButton(self.keep_button)
        self.setEscapeButton(self.keep_button)

    def choice(self) -> str:
        clicked = self.clickedButton()
        return SAVE if clicked is self.save_button else CLOSE if clicked is self.close_button else KEEP_OPEN


class CloseGuard(QObject):
    """Asked by the window's closeEvent; holds the close while runs are unstored and the person wants them kept."""

    def __init__(self, window: QWidget, project: Project, retry: PendingRunsRetry, writer: BackgroundStoreWriter,
                 banner: MessageBanner) -> None:
        super().__init__(window)
        self.window = window
        self.project = project
        self.retry = retry
        self.writer = writer
        self.banner = banner
        self.dialog: UnstoredRunsDialog | None = None  # while it is shown (tests answer it)
        self.saver = JobRunner(self)  # writing the runs to the file picked: not on the window's thread
        self.saver.succeeded.connect(self._on_saver_succeeded)
        self.saver.finished.connect(self._on_saver_finished)
        self.saver.failed.connect(self._on_saver_failed)
        self._saved = False
        self.abandon_writes = False  # the person chose to close while a write waited on a locked history
        self._writes_poll = QTimer(self)
        self._writes_poll.setInterval(100)
        self._writes_poll.timeout.connect(self._on_writes_poll)

    def allows_close(self) -> bool:
        if self.abandon_writes:
            return True
        if self.saver.is_running():
            return False  # closes by itself once the runs are saved
        store = self.project.run_store
        if store is None:
            return True
        if not self.writer.settled():
            # A run still being written (waiting on a locked history) may yet be set aside: its outcome first,
            # awaited with the window alive rather than frozen for SQLite's 30 s.
            return self._wait_for_writes()
        self._stop_waiting()
        self.retry.timer.stop()  # no try of its own while the person decides, or the runs are saved elsewhere
        runs = store.pending_runs() if store.has_pending() else []
        if not runs:
            return True
        self.dialog = UnstoredRunsDialog(unstored_sentence(len(runs), store), len(runs),
                                         store.pending_only_in_memory(), self.window)
        self.dialog.exec()
        choice, self.dialog = self.dialog.choice(), None
        if choice == CLOSE:
            return True
        if choice == SAVE:
            path, _ = QFileDialog.getSaveFileName(self.window, "Save the runs not stored yet",
                                                  str(store.path.with_name("runs-not-stored.sqlite3")),
                                                  HISTORY_FILTER, options=QFileDialog.Option.DontConfirmOverwrite)
            if path and self.saver.start(lambda stop: save_unstored(store, path, stop)):
                self.banner.show_message(f"Saving the runs not stored yet to {Path(path).name}; Studio closes once "
                                         "they are saved.", "info")
                return False
        self.retry.timer.start()
        return False

    def _wait_for_writes(self) -> bool:
        if not self._writes_poll.isActive():
            self._writes_poll.start()
            self.banner.show_message("Studio is still writing a run to the run history, which another program has "
                                     "open. It closes as soon as the run is written or set aside.", "info")
            return False
        # Closed again while waiting: the person may not want to wait.
        store = self.project.run_store
        in_memory = len(store.pending_runs()) if store is not None and store.pending_only_in_memory() else 0
        also = (f", and {plural(in_memory, 'run')} Studio could not store earlier and holds only in its memory"
                if in_memory else "")
        answer = QMessageBox.question(
            self.window, "Close without waiting?",
            f"A run is still being written to the run history, which another program has open. Closing now loses "
            f"that run{also}. Close anyway?",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Close:
            return False
        self._stop_waiting()
        self.abandon_writes = True
        return True

    def _on_writes_poll(self) -> None:
        if self.writer.settled():
            self._writes_poll.stop()
            self.window.close()  # asked again: now about the runs set aside, if any

    def _stop_waiting(self) -> None:
        if self._writes_poll.isActive():
            self._writes_poll.stop()
            self.banner.clear()

    def _on_saver_succeeded(self, count: object) -> None:
        self._saved = True

    def _on_saver_finished(self) -> None:
        if self._saved:
            self._saved = False
            # Asked again rather than closed outright: a run set aside while they were saved is asked about too.
            self.window.close()

    def _on_saver_failed(self, message: str, details: str) -> None:
        self.retry.timer.start()
        self.banner.show_message(f"{message} Studio stays open, so the runs are not lost; close it again to choose "
                                 "another file.", "error", details)

    def shutdown(self) -> None:
        self.saver.stop()
