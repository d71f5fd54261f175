"""Export step, for neural networks: write the network alone as ONNX, for other programs to run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.project import Project
from studio.ui.widgets.common import MessageBanner, section_label
from studio.workers.runner import JobRunner

NETWORK_MODELS = ("neural_network",)


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
        explanation = QLabel(
            "ONNX is a standard format that many programs and languages can run without Python. The ONNX file holds "
            "the network only: it takes the prepared features (after the Prepare step's changes; their names are "
            "stored in the file) and gives class probabilities or the predicted number. To predict from raw rows, "
            "use the model file above.")
        explanation.setWordWrap(True)
        explanation.setStyleSheet("color: #555;")
        self.banner = MessageBanner()
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(section_label("The network for other programs"))
        layout.addWidget(explanation)
        layout.addLayout(row)
        layout.addWidget(self.banner)
        self.hide()

    def refresh(self) -> None:
        result = self.project.result
        self.setVisible(result is not None and result.model_key in NETWORK_MODELS)
        self.banner.clear()

    def export_to(self, path: str | Path) -> bool:
        result = self.project.result
        if result is None or self.runner.is_running():
            return False
        from studio.core.network_export import ONNX_SUFFIX, onnx_job

        path = Path(path)
        if path.suffix.lower() != ONNX_SUFFIX:
            path = path.with_name(path.name + ONNX_SUFFIX)
        pipeline = result.pipeline
        self.banner.clear()
        self.button.setEnabled(False)
        return self.runner.start(lambda stop: onnx_job(pipeline, path, stop))

    def _on_button_clicked(self) -> None:
        result = self.project.result
        if result is None:
            return
        folder = Path(self.project.table.path).parent if self.project.table else Path.home()
        path, _ = QFileDialog.getSaveFileName(self, "Export the network", str(folder / f"{result.target}-network.onnx"),
                                              "ONNX models (*.onnx)")
        if path:
            self.export_to(path)

    def _on_runner_succeeded(self, path: Path) -> None:
        self.banner.show_message(f"Exported to {path} ({path.stat().st_size / 1024:,.0f} KB).", "success")
        self.exported.emit(str(path))

    def shutdown(self) -> None:
        self.runner.stop()
