"""Export step: write the whole model, preparation included, as ONNX for other programs to run, checked against
Studio before it is written."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec
from studio.core.project import Project
from studio.ui.widgets.common import MessageBanner, section_label
from studio.workers.runner import JobRunner

ENSEMBLE_NOTE = " Every member must be convertible; a neural network inside an ensemble is not."
EXPLANATION = ("ONNX is a standard format that many programs and languages can run without Python. The ONNX file "
               "holds the preparation and {holds}: it takes the raw columns (one input per column, named as the "
               "column; numbers with gaps as NaN, categories as text with gaps as empty text) and gives the "
               "predicted class with the class probabilities, or the predicted number. Before it is written, it is "
               "run on the held-out rows and compared with Studio's own answers; a file that differs is not "
               "written. A date column is given as seconds since 1970-01-01 (UTC), free text as it is.")


PICTURES_EXPLANATION = (
    "ONNX is a standard format that many programs and languages can run without Python. The ONNX file holds the "
    "network with its resizing and scaling: it takes pictures as 8-bit pixels (pictures × height × width × "
    "channels, any size), shrinks them to {size} × {size} pixels and gives the predicted class with the class "
    "probabilities. Studio pads non-square pictures to a square first; do the same for the same answers. Before "
    "it is written, it is run on the held-out pictures and compared with Studio's own answers; a file that "
    "differs is not written.")


class OnnxExport(QWidget):
    exported = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(lambda message, details: self.banner.show_message(
            f"The ONNX file could not be written. {message}", "error", details))
        self.runner.finished.connect(lambda: self.button.setEnabled(True))
        self.button = QPushButton("Export the network to ONNX…")
        self.button.clicked.connect(self._on_button_clicked)
        explanation = self.explanation = QLabel(EXPLANATION.format(holds="the network"))
        explanation.setWordWrap(True)
        explanation.setStyleSheet("color: #555;")
        self.banner = MessageBanner()
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        self.heading = section_label("The network for other programs")
        layout.addWidget(self.heading)
        layout.addWidget(explanation)
        layout.addLayout(row)
        layout.addWidget(self.banner)
        self.hide()

    def _exported_spec(self) -> ModelSpec | None:
        """The trained model's family when it can be written as ONNX."""
        result = self.project.result
        spec = get_model(result.model_key) if result is not None else None
        return spec if spec is not None and spec.onnx_export is not None else None

    def refresh(self) -> None:
        spec = self._exported_spec()
        self.setVisible(spec is not None)
        self.banner.clear()
        if spec is not None:
            self.heading.setText(f"{spec.short_name.capitalize()} for other programs")
            self.button.setText(f"Export {spec.short_name} to ONNX…")
            holds = f"{spec.short_name}'s members and their vote" if spec.combines_models else spec.short_name
            self.explanation.setText(EXPLANATION.format(holds=holds)
                                     + (ENSEMBLE_NOTE if spec.combines_models else ""))
            result = self.project.result
            if result is not None and result.image_cases:
                size = getattr(result.pipeline.steps[0][1], "size", "?")
                self.explanation.setText(PICTURES_EXPLANATION.format(size=size))

    def export_to(self, path: str | Path) -> bool:
        result = self.project.result
        spec = self._exported_spec()
        if result is None or spec is None or spec.onnx_export is None or self.runner.is_running():
            return False
        from studio.core.models.torch.export import ONNX_SUFFIX

        path = Path(path)
        if path.suffix.lower() != ONNX_SUFFIX:
            path = path.with_name(path.name + ONNX_SUFFIX)
        pipeline = result.pipeline
        self.banner.clear()
        self.button.setEnabled(False)
        job = spec.onnx_export
        rows = result.rows.x_held if result.rows is not None else None
        return self.runner.start(lambda stop: job(pipeline, path, stop, check_rows=rows))

    def _on_button_clicked(self) -> None:
        result = self.project.result
        spec = self._exported_spec()
        if result is None or spec is None:
            return
        folder = Path(self.project.dataset.path).parent if self.project.dataset else Path.home()
        ending = spec.short_name.removeprefix("the ")
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {ending}",
                                              str(folder / f"{result.target}-{ending}.onnx"), "ONNX models (*.onnx)")
        if path:
            self.export_to(path)

    def _on_runner_succeeded(self, path: Path) -> None:
        from studio.core.models.pipeline_onnx import describe_check

        self.banner.show_message(f"Exported to {path} ({path.stat().st_size / 1024:,.0f} KB). {describe_check(path)}",
                                 "success")
        self.exported.emit(str(path))

    def shutdown(self) -> None:
        self.runner.stop()
