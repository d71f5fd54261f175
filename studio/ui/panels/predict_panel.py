"""Predict page: open a saved model and a table of new rows, see the predictions, save them."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.progress import Progress, StopCheck
from studio.core.project import Project, Step
from studio.core.serve.predict import predict_job, save_predictions_job
from studio.core.store.model_file import (
    MODEL_SUFFIX,
    OLD_SUFFIX,
    ModelBundle,
    UntrustedModelFileError,
    describe_bundle,
    load_job,
)
from studio.ui.panels.base import Panel
from studio.ui.panels.data_panel import FILE_FILTER
from studio.ui.widgets.common import MessageBanner, page_header, section_label
from studio.ui.widgets.retrain_control import RetrainControl
from studio.ui.widgets.table_model import DataFrameTableModel
from studio.workers.runner import JobRunner

# The save dialog's filters, the first being the default, and the extension each gives a name typed without one.
SAVE_FILTERS: dict[str, str] = {
    "CSV (*.csv)": ".csv",
    "Excel workbook (*.xlsx)": ".xlsx",
    "Parquet (*.parquet)": ".parquet",
    "Tab-separated text (*.tsv *.txt)": ".tsv",
}


def with_format_extension(path: str, chosen_filter: str) -> str:
    """``path`` as typed in the save dialog, with the chosen filter's extension when the name has none.

    Qt's dialog leaves the name as typed on some platforms: "results" under "Excel workbook" must become
    results.xlsx, not a file without extension. A name with an extension keeps it, so the file is in the format its
    name says; one Studio cannot write is refused in words when saving (see write_predictions).
    """
    if Path(path).suffix:
        return path
    return path + SAVE_FILTERS.get(chosen_filter, ".csv")



@dataclass(frozen=True)
class NeedsTrust:
    """A model file the person must say they trust before it is opened, and why."""

    path: str
    reason: str

class PredictPanel(Panel):
    step = Step.PREDICT
    model_opened = Signal()
    predicted = Signal()
    predictions_saved = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.bundle: ModelBundle | None = None
        self.predictions: pd.DataFrame | None = None
        self._data_path = ""
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.finished.connect(self._update_buttons)
        self.model_button = QPushButton("Open a model…")
        self.model_button.setObjectName("primary")
        self.model_button.clicked.connect(self._on_model_clicked)
        self.data_button = QPushButton("Predict a table…")
        self.data_button.clicked.connect(self._on_data_clicked)
        self.save_button = QPushButton("Save predictions…")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.model_label = QLabel("No model open.")
        self.model_label.setWordWrap(True)
        self.banner = MessageBanner()
        self.table_model = DataFrameTableModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setAlternatingRowColors(True)
        buttons = QHBoxLayout()
        for button in (self.model_button, self.data_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Predict", "Use a saved model on new rows: open the model file, then a table "
                                     "with the same columns (the target column may be missing)."))
        layout.addLayout(buttons)
        self.retrain = RetrainControl(project, self.banner, FILE_FILTER, self)  # "Train again with new rows…"
        self.model_opened.connect(lambda: self.retrain.set_bundle(self.bundle))
        layout.addWidget(self.retrain)
        layout.addWidget(self.banner)
        layout.addWidget(section_label("Model"))
        layout.addWidget(self.model_label)
        layout.addWidget(section_label("Predictions"))
        layout.addWidget(self.table, 1)
        self._job = ""
        self._update_buttons()

    def open_model(self, path: str | Path, trust: bool = False) -> bool:
        """Open a model file in the background. A file in the older (pickle) format is opened only after the
        person says they trust it (``trust``); until then nothing in it runs."""

        def job(stop: StopCheck) -> Generator[Progress, None, ModelBundle | NeedsTrust]:
            try:
                return (yield from load_job(path, stop, trust))
            except UntrustedModelFileError as exc:
                return NeedsTrust(str(path), str(exc))

        return self._start("model", job)

    def predict_file(self, path: str | Path) -> bool:
        if self.bundle is None:
            return False
        bundle, self._data_path = self.bundle, str(path)
        return self._start("predict", lambda stop: predict_job(bundle, path, stop))

    def save_predictions(self, path: str | Path) -> bool:
        if self.predictions is None:
            return False
        predictions = self.predictions
        return self._start("save", lambda stop: save_predictions_job(path, predictions, stop))

    def _start(self, job: str, factory) -> bool:
        if self.runner.is_running():
            return False
        self._job = job
        self.banner.clear()
        started = self.runner.start(factory)
        self._update_buttons()
        return started

    def _on_model_clicked(self) -> None:
        folder = str(Path(self.project.exported_path).parent) if self.project.exported_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", folder,
                                              f"Studio models (*{MODEL_SUFFIX} *{OLD_SUFFIX});;All files (*)")
        if path:
            self.open_model(path)

    def _on_data_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Predict a table", "", FILE_FILTER)
        if path:
            self.predict_file(path)

    def _on_save_clicked(self) -> None:
        suggested = str(Path(self._data_path).with_name(Path(self._data_path).stem + "-predictions.csv"))
        typed, chosen_filter = QFileDialog.getSaveFileName(self, "Save predictions", suggested,
                                                           ";;".join(SAVE_FILTERS))
        if not typed:
            return
        path = with_format_extension(typed, chosen_filter)
        # The dialog asked before replacing the name as typed; a file under the completed name was not asked about.
        if path != typed and Path(path).exists():
            answer = QMessageBox.question(self, "Save predictions", f"{Path(path).name} already exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.save_predictions(path)

    def _on_runner_succeeded(self, value: object) -> None:
        if self._job == "model" and isinstance(value, NeedsTrust):
            # Asked once the job has ended, so the page can open the file again at once when trusted.
            QTimer.singleShot(0, lambda: self._ask_trust(value))
        elif self._job == "model":
            assert isinstance(value, ModelBundle)
            self.bundle, self.predictions = value, None
            self.table_model.set_frame(pd.DataFrame())
            self.model_label.setText(f"<b>{Path(value.path).name}</b><br>"
                                     + describe_bundle(value).replace("\n", "<br>"))
            if value.warning:
                self.banner.show_message(value.warning, "warning")
            self.model_opened.emit()
        elif self._job == "predict":
            assert isinstance(value, pd.DataFrame)
            self.predictions = value
            self.table_model.set_frame(value)
            self.table.resizeColumnsToContents()
            # How rows unlike the training data were handled (unseen categories, words in numbers, ...).
            notes = "".join(f" {note}" for note in value.attrs.get("notes", []))
            self.banner.show_message(f"Predicted {len(value):,} rows of {Path(self._data_path).name}.{notes}",
                                     "success")
            self.predicted.emit()
        elif self._job == "save":
            self.banner.show_message(f"Saved the predictions to {value}.", "success")
            self.predictions_saved.emit(str(value))

    def _ask_trust(self, needs: NeedsTrust) -> None:
        name = Path(needs.path).name
        answer = QMessageBox.question(
            self, "Open a model in the older format?",
            f"{needs.reason}\n\nOpen {name} anyway? Choose Yes only if you made it yourself or trust who sent it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.open_model(needs.path, trust=True)
        else:
            self.banner.show_message(f"{name} was not opened: it is in the older model format, which can run "
                                     "programs when opened.", "warning")

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        self.model_button.setEnabled(not busy)
        self.data_button.setEnabled(not busy and self.bundle is not None)
        self.save_button.setEnabled(not busy and self.predictions is not None)

    def shutdown(self) -> None:
        self.runner.stop()
        self.retrain.shutdown()
