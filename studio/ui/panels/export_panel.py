"""Export step: save the trained model to one file and show what it holds."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.target import Task
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric
from studio.core.project import Project, Step
from studio.core.report.card import CARD_NOT_WRITTEN, save_with_card_job
from studio.core.store.model_file import MODEL_SUFFIX, metadata_for
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header, section_label
from studio.ui.widgets.model_card_view import ModelCardView
from studio.ui.widgets.onnx_export import OnnxExport
from studio.ui.widgets.serve_control import ServeControl
from studio.workers.runner import JobRunner


class ExportPanel(Panel):
    step = Step.EXPORT
    saved = Signal(str)
    use_requested = Signal(str)  # the person wants to predict with the saved file now

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.finished.connect(self._on_runner_finished)
        self.save_button = QPushButton("Save the model…")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.banner = MessageBanner()
        self.contents = QLabel()
        self.contents.setWordWrap(True)
        self.contents.setStyleSheet("line-height: 150%;")
        self.use_button = QPushButton("Predict new rows with it ›")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._on_use_clicked)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.use_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header(
            "Export", "Save the trained model to a file. The file holds the preparation steps too, so it predicts "
            "from raw rows like the ones you loaded: open it on the Predict page, or with "
            "'studio predict' on the command line."))
        layout.addLayout(row)
        layout.addWidget(self.banner)
        # What follows the buttons scrolls, so the page fits a small screen however many sections it shows.
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(section_label("What the file holds"))
        body_layout.addWidget(self.contents)
        self.card_view = ModelCardView()
        self.card_view.setMinimumHeight(220)
        body_layout.addWidget(self.card_view, 1)
        self.onnx_export = OnnxExport(project)
        body_layout.addWidget(self.onnx_export)
        self.serve_control = ServeControl(project)  # shown once the model is saved: it serves the file
        body_layout.addWidget(self.serve_control)
        body_layout.addStretch()  # no stretch factor: the card, once shown, takes the free space
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)

    def entered(self) -> None:
        self._show_contents()

    def _on_project_changed(self, what: str) -> None:
        if what in ("result", "export"):
            self._show_contents()

    def suggested_path(self) -> Path:
        result = self.project.result
        folder = Path(self.project.dataset.path).parent if self.project.dataset else Path.home()
        stem = f"{result.target}-{result.model_key}" if result else "model"
        return folder / f"{stem}{MODEL_SUFFIX}"

    def save_to(self, path: str | Path) -> bool:
        result = self.project.result
        if result is None or self.runner.is_running():
            return False
        path = Path(path)
        if not path.name.endswith((MODEL_SUFFIX, ".joblib", ".pkl")):
            path = path.with_name(path.name + MODEL_SUFFIX)
        self.banner.clear()
        self.save_button.setEnabled(False)
        pipeline, metadata = result.pipeline, metadata_for(result)
        details = result.details  # the card's fingerprint and class shares, which the metadata lacks
        return self.runner.start(lambda stop: save_with_card_job(path, pipeline, metadata, details, stop))

    def _on_save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the model", str(self.suggested_path()),
                                              f"Studio models (*{MODEL_SUFFIX})")
        if path:
            self.save_to(path)

    def _on_runner_succeeded(self, path: Path) -> None:
        self.project.set_exported(str(path))
        size_kb = path.stat().st_size / 1024
        self.banner.show_message(f"Saved to {path} ({size_kb:,.0f} KB).", "success")
        self.card_view.show_card(path)
        self.saved.emit(str(path))

    def _on_use_clicked(self) -> None:
        if self.project.exported_path:
            self.use_requested.emit(self.project.exported_path)

    def _on_runner_failed(self, message: str, details: str) -> None:
        if CARD_NOT_WRITTEN in message:  # the model file itself was saved; only its card is missing
            self.banner.show_message(message, "warning", details)
            return
        self.banner.show_message(f"The model could not be saved. {message}", "error", details)

    def _on_runner_finished(self) -> None:
        self.save_button.setEnabled(self.project.result is not None)

    def _show_contents(self) -> None:
        result = self.project.result
        self.onnx_export.refresh()
        self.serve_control.refresh()
        self.save_button.setEnabled(result is not None and not self.runner.is_running())
        self.use_button.setEnabled(bool(self.project.exported_path))
        if not self.project.exported_path:  # a new result: the card shown was the previous model's
            self.card_view.clear()
        if result is None:
            self.contents.setText("Train a model first.")
            return
        inputs = ", ".join(name for name, _kind, _treatment in result.feature_columns)
        reader = result.pipeline.steps[0][1] if result.image_cases else None
        lines = [
            f"<b>Model:</b> {result.model_label} predicting <b>{result.target}</b>, "
            f"{'a category' if result.task is Task.CLASSIFICATION else 'a number'}",
            f"<b>Reads:</b> picture files (JPEG, PNG and the like), shrunk to {reader.size} × {reader.size} pixels"
            if reader is not None else f"<b>Input columns:</b> {inputs}",
        ]
        if result.classes:
            lines.append(f"<b>Classes:</b> {', '.join(result.classes)}")
        scores = ", ".join(f"{METRIC_LABELS[name].lower()} {format_metric(name, value)}"
                           for name, value in result.test.metrics[:3])
        lines.append(f"<b>Test scores:</b> {scores}")
        lines.append("<b>Also inside:</b> " + ("how pictures are read" if reader is not None else
                                                "the preparation steps")
                     + ", the test scores, and the versions of Studio, scikit-learn and Python used.")
        if self.project.exported_path:
            lines.append(f"<b>Saved as:</b> {self.project.exported_path}")
        self.contents.setText("<br>".join(lines))

    def shutdown(self) -> None:
        self.runner.stop()
        self.onnx_export.shutdown()
        self.serve_control.shutdown()
