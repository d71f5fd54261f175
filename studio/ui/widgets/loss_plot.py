"""A live training curve: points are appended in O(1) and the plot repaints on a timer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from studio.core.progress import CurvePoint

REPAINT_MS = 50  # about 20 repaints a second, however fast points arrive
TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"


class LossPlotWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(220)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("left", "Loss (lower is better)")
        self.plot.setLabel("bottom", "Step")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self._train_curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), name="Training rows")
        self._val_curve = self.plot.plot([], [], pen=pg.mkPen(VALIDATION_COLOR, width=2), name="Validation rows")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._steps: list[float] = []
        self._train: list[float] = []
        self._val: list[float] = []
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def clear(self) -> None:
        self._steps.clear()
        self._train.clear()
        self._val.clear()
        self._dirty = True
        self._repaint()

    def append(self, point: CurvePoint) -> None:
        if not self._steps:
            steps = point.step_label if point.step_label.endswith("s") else point.step_label + "s"
            self.plot.setLabel("bottom", steps.capitalize())
            self.plot.setLabel("left", f"{point.loss_label} (lower is better)")
        self._steps.append(float(point.step))
        self._train.append(np.nan if point.train_loss is None else float(point.train_loss))
        self._val.append(np.nan if point.val_loss is None else float(point.val_loss))
        self._dirty = True

    def point_count(self) -> int:
        return len(self._steps)

    def shown_point_count(self) -> int:
        x, _ = self._train_curve.getData()
        return 0 if x is None else len(x)

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._repaint()

    def _repaint(self) -> None:
        self._dirty = False
        steps = np.asarray(self._steps)
        self._train_curve.setData(steps, np.asarray(self._train), connect="finite")
        self._val_curve.setData(steps, np.asarray(self._val), connect="finite")
