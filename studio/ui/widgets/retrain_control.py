"""The Predict page's "Train again with new rows…": the open model trained again on a table of new rows (and,
when the person has them, the rows it was trained on), the old and the new model compared in the page's banner,
and the new model saved on request. Reading, training and saving run in a JobRunner, never on the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QProgressBar, QPushButton, QWidget

from studio.core.common.progress import Progress
from studio.core.project import Project
from studio.core.serve.retrain import RetrainResult, retrain_files_job
from studio.core.store.model_file import MODEL_SUFFIX, ModelBundle, export_job, metadata_for
from studio.core.store.runs import RunStore
from studio.ui.widgets.common import MessageBanner
from studio.workers.runner import JobRunner


@dataclass
class _Ticket:
    """The new run's number once the writer has stored it (set on the writer's thread, read there too)."""

    run_id: int | None = None


class RetrainControl(QWidget):
    retrained = Signal()
    model_saved = Signal(str)

    def __init__(self, project: Project, banner: MessageBanner, table_filter: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.banner = banner  # the page's: the comparison belongs with the page's other messages
        self.table_filter = table_filter
        self.bundle: ModelBundle | None = None
        self.outcome: RetrainResult | None = None
        self._ticket = _Ticket()
        self._job = ""
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_succeeded)
        self.runner.failed.connect(lambda message, details: self.banner.show_message(message, "error", details))
        self.runner.cancelled.connect(lambda: self.banner.show_message("Stopped; the model was not trained again.",
                                                                       "warning"))
        self.runner.finished.connect(self._update)
        self.retrain_button = QPushButton("Train again with new rows…")
        self.retrain_button.setToolTip("Train the open model again on a table of new rows, with the same preparation "
                                       "and settings, and compare the old and the new model on the same rows.")
        self.retrain_button.clicked.connect(self._on_retrain_clicked)
        self.old_rows_check = QCheckBox("Also use the old training rows")
        self.old_rows_check.setToolTip("After the new rows, Studio asks for the file the model was trained on.")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(200)  # room for the stage's name: "Preparing data 14%"
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.runner.cancel)
        self.save_button = QPushButton("Save the new model…")
        self.save_button.clicked.connect(self._on_save_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.retrain_button, self.old_rows_check, self.progress, self.stop_button, self.save_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._update()

    def set_bundle(self, bundle: ModelBundle | None) -> None:
        """The model the page has open; a result trained from another model is no longer offered for saving."""
        self.bundle, self.outcome = bundle, None
        self._update()

    def retrain(self, new_path: str | Path, old_path: str | Path | None = None) -> bool:
        if self.bundle is None or self.runner.is_running():
            return False
        bundle = self.bundle
        self._job, self.outcome = "retrain", None
        self.banner.clear()
        self.progress.setValue(0)
        started = self.runner.start(lambda stop: retrain_files_job(bundle, new_path, old_path, stop))
        self._update()
        return started

    def save(self, path: str | Path) -> bool:
        if self.outcome is None or self.runner.is_running():
            return False
        result = self.outcome.result
        self._job = "save"
        # The metadata describes the training rows (a profile of them): made in the worker, off the GUI thread.
        started = self.runner.start(lambda stop: export_job(path, result.pipeline, metadata_for(result), stop))
        self._update()
        return started

    def _on_retrain_clicked(self) -> None:
        new_path, _ = QFileDialog.getOpenFileName(self, "Train again with new rows", "", self.table_filter)
        if not new_path:
            return
        old_path = ""
        if self.old_rows_check.isChecked():
            old_path, _ = QFileDialog.getOpenFileName(self, "The rows the model was trained on", "",
                                                      self.table_filter)
            if not old_path:
                return
        self.retrain(new_path, old_path or None)

    def _on_save_clicked(self) -> None:
        if self.outcome is None:
            return
        old = Path(self.outcome.retrained_from["path"] or "model")  # next to the model it was trained from
        suggested = str(old.with_name(old.name.split(".")[0] + "-retrained" + MODEL_SUFFIX))
        path, _ = QFileDialog.getSaveFileName(self, "Save the new model", suggested,
                                              f"Studio models (*{MODEL_SUFFIX})")
        if not path:
            return
        path = path if Path(path).suffix else path + MODEL_SUFFIX  # a name typed without one is a model file
        if str(Path(path).resolve()) == self.outcome.retrained_from["path"]:
            # The new run links to the old file: replacing it would leave the link pointing at the new model.
            self.banner.show_message("That is the model it was trained from; save the new model under another name "
                                     "so the old one is kept.", "warning")
            return
        self.save(path)

    def _on_progress(self, item: object) -> None:
        if not isinstance(item, Progress):
            return
        self.progress.setFormat(f"{item.stage} %p%")
        if item.fraction is not None:
            self.progress.setValue(round(100 * item.fraction))
        self.progress.setToolTip(item.message)

    def _on_succeeded(self, value: object) -> None:
        if self._job == "retrain":
            assert isinstance(value, RetrainResult)
            self.outcome = value
            notes = "".join(f" {note}" for note in value.notes)
            self.banner.show_message(f"{value.sentence}{notes} Save the new model to keep it.", "success")
            self._record(value)
            self.retrained.emit()
        elif self._job == "save":
            self.banner.show_message(f"Saved the new model to {value}.", "success")
            self._note_path(str(value))
            self.model_saved.emit(str(value))

    def _record(self, outcome: RetrainResult) -> None:
        """The new model becomes a run in the run history, linked to the model it was trained from."""
        run = outcome.run()  # made here: the result is not shared with the writer thread
        ticket = self._ticket = _Ticket()

        def add(store: RunStore) -> int:
            ticket.run_id = store.add(run)
            return ticket.run_id

        # The Runs page reads the history when it is shown, so no event is needed.
        self.project.write_to_store(add, "The new model could not be saved to the run history")

    def _note_path(self, path: str) -> None:
        ticket = self._ticket

        def note(store: RunStore) -> None:
            # The writer runs writes in order: the run was added (or failed, and was said) before this runs.
            if ticket.run_id is not None:
                store.set_model_path(ticket.run_id, path)

        self.project.write_to_store(note, "The new model file's place could not be noted in the run history")

    def _update(self) -> None:
        busy = self.runner.is_running()
        self.retrain_button.setEnabled(not busy and self.bundle is not None)
        self.old_rows_check.setEnabled(not busy and self.bundle is not None)
        self.progress.setVisible(busy and self._job == "retrain")
        self.stop_button.setVisible(busy and self._job == "retrain")
        self.save_button.setVisible(self.outcome is not None)
        self.save_button.setEnabled(not busy and self.outcome is not None)

    def shutdown(self) -> None:
        self.runner.stop()
