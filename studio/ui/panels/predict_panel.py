"""Predict page: open a saved model and a table of new rows, see the predictions, save them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from studio.core.project import Project, Step
from studio.core.serve.predict import predict_job, save_predictions_job
from studio.core.store.model_file import MODEL_SUFFIX, ModelBundle, describe_bundle, load_job
from studio.ui.panels.base import Panel
from studio.ui.panels.data_panel import FILE_FILTER
from studio.ui.widgets.common import MessageBanner, page_header, section_label
from studio.ui.widgets.table_model import DataFrameTableModel
from studio.workers.runner import JobRunner


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
        layout.addWidget(self.banner)
        layout.addWidget(section_label("Model"))
        layout.addWidget(self.model_label)
        layout.addWidget(section_label("Predictions"))
        layout.addWidget(self.table, 1)
        self._job = ""
        self._update_buttons()

    def open_model(self, path: str | Path) -> bool:
        return self._start("model", lambda stop: load_job(path, stop))

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
                                              f"Studio models (*{MODEL_SUFFIX} *.joblib);;All files (*)")
        if path:
            self.open_model(path)

    def _on_data_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Predict a table", "", FILE_FILTER)
        if path:
            self.predict_file(path)

    def _on_save_clicked(self) -> None:
        suggested = str(Path(self._data_path).with_name(Path(self._data_path).stem + "-predictions.csv"))
        path, _ = QFileDialog.getSaveFileName(self, "Save predictions", suggested, "CSV files (*.csv)")
        if path:
            self.save_predictions(path)

    def _on_runner_succeeded(self, value: object) -> None:
        if self._job == "model":
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

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        self.model_button.setEnabled(not busy)
        self.data_button.setEnabled(not busy and self.bundle is not None)
        self.save_button.setEnabled(not busy and self.predictions is not None)

    def shutdown(self) -> None:
        self.runner.stop()
