"""A button offered when training on a graphics card failed: switch the network to the CPU and train again."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from studio.core.models.registry import get_model
from studio.core.project import Project

# The class name of studio.core.models.torch.devices.DeviceError, as it appears in a failure's traceback; named
# here rather than imported, so the window does not load torch's module to show a button.
DEVICE_ERROR_NAME = "DeviceError"


class CpuFallback(QWidget):
    chosen = Signal()  # the model now trains on the CPU; train again

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.button = QPushButton("Train on the CPU instead")
        self.button.setToolTip("Sets the network's device to 'Processor (CPU)' and starts training again.")
        self.button.clicked.connect(self._on_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self.hide()

    def offer(self, details: str) -> None:
        """Show the button when the failure was the device's (the traceback names the error class)."""
        has_device = any(p.name == "device" for p in get_model(self.project.model.key).params)
        self.setVisible(DEVICE_ERROR_NAME in details and has_device)

    def _on_button_clicked(self) -> None:
        self.hide()
        self.project.set_model(self.project.model.with_param("device", "cpu"))
        self.chosen.emit()
