"""Export step: save the trained model to one file and show what it holds and how large it is. A model whose file
would be large is measured first, and saved only once the person agrees."""

from __future__ import annotations

import html
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import Cancelled, StudioError, first_line
from studio.core.common.progress import Progress, StopCheck
from studio.core.data.target import Task
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric
from studio.core.models.registry import get_model
from studio.core.models.spec import Growth
from studio.core.project import Project, Step
from studio.core.report import card
from studio.core.report.card import CARD_NOT_WRITTEN
from studio.core.store.model_file import MODEL_SUFFIX, metadata_for, serialise_pipeline, write_model
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header, section_label
from studio.ui.widgets.model_card_view import ModelCardView
from studio.ui.widgets.onnx_export import OnnxExport
from studio.ui.widgets.serve_control import ServeControl
from studio.workers.runner import JobRunner

MB = 2**20
# Above this a model file is slow to save, open and send (and some mail and chat services refuse it): ask first.
LARGE_MODEL_BYTES = 100 * MB


def megabytes(size: int) -> str:
    """A file's size as people read it: "0.4 MB", "180.2 MB"."""
    return "under 0.1 MB" if size < 0.05 * MB else f"{size / MB:,.1f} MB"


@dataclass(frozen=True)
class SaveRequest:
    """What one click on Save writes, taken when clicked: a result trained meanwhile is not mixed in."""

    path: Path
    pipeline: Any
    metadata: dict[str, Any]
    details: Any


@dataclass(frozen=True)
class Measured:
    """A model too large to save without asking: its serialised pipeline, kept so a yes does not serialise again."""

    stored: bytes
    size: int


@dataclass(frozen=True)
class Saved:
    path: Path
    size: int  # bytes


def _grows_trees(model_key: str) -> bool:
    """Whether the model is made of trees, whose number and depth decide its file's size."""
    try:
        return get_model(model_key).growth in (Growth.TREES, Growth.ROUNDS)
    except StudioError:  # a model this version does not know
        return False


def save_job(request: SaveRequest, limit: int | None,
             should_stop: StopCheck) -> Generator[Progress, None, Measured | Saved]:
    """Measure the model, then save it; one over ``limit`` bytes is only measured and comes back to be asked about."""
    yield Progress("Saving", None, "Measuring the model")
    stored = serialise_pipeline(request.pipeline)
    if limit is not None and len(stored) > limit:
        return Measured(stored, len(stored))
    return (yield from write_job(request, stored, should_stop))


def write_job(request: SaveRequest, stored: bytes, should_stop: StopCheck) -> Generator[Progress, None, Saved]:
    """Write the model file and its card beside it, as ``card.save_with_card_job`` does, from the serialised
    pipeline."""
    if should_stop():
        raise Cancelled()
    yield Progress("Saving", None, f"Writing {request.path.name}")
    saved = write_model(request.path, stored, request.metadata)
    size = saved.stat().st_size
    # Not cancellable from here on: the model file exists, and a file without its card would look complete.
    yield Progress("Saving", None, f"Writing the model card beside {saved.name}")
    try:
        card.write_card(saved, request.metadata, request.details, request.pipeline)
    except OSError as exc:
        raise StudioError(f"The model file {saved.name} was written, but {CARD_NOT_WRITTEN} "
                          f"({first_line(exc)}). Save again once the folder can be written to.") from exc
    return Saved(saved, size)


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
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no blind Tab stop; it scrolls to the focused widget anyway
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        self._request: SaveRequest | None = None
        self._measured: Measured | None = None  # asked about once its job has ended, so a yes can start the next
        self._saved_size: tuple[str, int] | None = None  # (path, bytes) of the last file saved

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
        # The details: the card's fingerprint and class shares, which the metadata lacks.
        request = self._request = SaveRequest(path, result.pipeline, metadata_for(result), result.details)
        limit = LARGE_MODEL_BYTES  # read now, not at import, so a test can lower it
        return self.runner.start(lambda stop: save_job(request, limit, stop))

    def _on_save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the model", str(self.suggested_path()),
                                              f"Studio models (*{MODEL_SUFFIX})")
        if path:
            self.save_to(path)

    def _on_runner_succeeded(self, outcome: Measured | Saved) -> None:
        if isinstance(outcome, Measured):
            self._measured = outcome
            return
        path = outcome.path
        self._saved_size = (str(path), outcome.size)
        self.project.set_exported(str(path))
        self.banner.show_message(f"Saved to {path} ({megabytes(outcome.size)}).", "success")
        self.card_view.show_card(path)
        self.saved.emit(str(path))

    def _ask_to_save(self, measured: Measured) -> None:
        request = self._request
        if request is None:  # the window closed meanwhile
            return
        trees = _grows_trees(str(request.metadata.get("model", "")))
        smaller = ("A model with fewer or smaller trees (fewer trees, or a lower depth, on the Model page) makes a "
                   "smaller file." if trees else "A simpler model, or fewer input columns, makes a smaller file.")
        size = megabytes(measured.size)
        answer = QMessageBox.question(
            self, "A large model file",
            f"This model file will be about {size}: slow to save, open and send. Save anyway?\n\n{smaller}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            self.banner.show_message(f"Not saved: the model file would be about {size}. {smaller}", "info")
            self.save_button.setEnabled(self.project.result is not None)
            return
        self.save_button.setEnabled(False)
        self.runner.start(lambda stop: write_job(request, measured.stored, stop))

    def _on_use_clicked(self) -> None:
        if self.project.exported_path:
            self.use_requested.emit(self.project.exported_path)

    def _on_runner_failed(self, message: str, details: str) -> None:
        if CARD_NOT_WRITTEN in message:  # the model file itself was saved; only its card is missing
            self.banner.show_message(message, "warning", details)
            return
        self.banner.show_message(f"The model could not be saved. {message}", "error", details)

    def _on_runner_finished(self) -> None:
        measured, self._measured = self._measured, None
        if measured is not None:  # asked on the next turn, out of the job's signals; Save waits for the answer
            QTimer.singleShot(0, self, lambda: self._ask_to_save(measured))
            return
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
        inputs = html.escape(", ".join(name for name, _kind, _treatment in result.feature_columns), quote=False)
        reader = result.pipeline.steps[0][1] if result.image_cases else None
        lines = [
            f"<b>Model:</b> {result.model_label} predicting <b>{html.escape(result.target, quote=False)}</b>, "
            f"{'a category' if result.task is Task.CLASSIFICATION else 'a number'}",
            f"<b>Reads:</b> picture files (JPEG, PNG and the like), shrunk to {reader.size} × {reader.size} pixels"
            if reader is not None else f"<b>Input columns:</b> {inputs}",
        ]
        if result.classes:
            lines.append(f"<b>Classes:</b> {html.escape(', '.join(result.classes), quote=False)}")
        scores = ", ".join(f"{METRIC_LABELS[name].lower()} {format_metric(name, value)}"
                           for name, value in result.test.metrics[:3])
        lines.append(f"<b>Test scores:</b> {scores}")
        lines.append("<b>Also inside:</b> " + ("how pictures are read" if reader is not None else
                                                "the preparation steps")
                     + ", the test scores, and the versions of Studio, scikit-learn and Python used.")
        exported = self.project.exported_path
        if exported:
            known = self._saved_size is not None and self._saved_size[0] == exported
            size = f" ({megabytes(self._saved_size[1])})" if self._saved_size is not None and known else ""
            lines.append(f"<b>Saved as:</b> {html.escape(str(exported), quote=False)}{size}")
        self.contents.setText("<br>".join(lines))

    def shutdown(self) -> None:
        self._request = None
        self.runner.stop()
        self.onnx_export.shutdown()
        self.serve_control.shutdown()
