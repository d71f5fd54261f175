"""A live training curve: points are appended in O(1) and the plot repaints on a timer.

For training in epochs (neural networks) it also draws the per-batch training loss faintly behind the epoch
curves, the validation metric on a right-hand axis, and a marker on the epoch whose weights are kept; a line
above the plot says the same in words.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from studio.core.common.curves import BatchPoint, EpochPoint
from studio.core.common.progress import CurvePoint
from studio.core.common.words import percent
from studio.ui.widgets.plots import PercentAxis, PlotOrNote

REPAINT_MS = 50  # about 20 repaints a second, however fast points arrive
TRAIN_COLOR = "#1f77b4"
VALIDATION_COLOR = "#ff7f0e"
BATCH_COLOR = (31, 119, 180, 70)  # the training colour, faint
METRIC_COLOR = "#2ca02c"
KEPT_COLOR = "#6a3d9a"
FINE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)  # loss axis tops: little empty space above the curves
# Said in the plot's place until the first point: true whether or not the chosen model draws a curve at all.
EMPTY_NOTE = ("Press \"Start training\". A model that learns step by step (trees, boosting rounds or epochs) draws "
              "its loss here as it learns: how wrong it is on the training rows and on the validation rows, lower "
              "is better. Curves that drift apart mean it is memorising the training rows.")


def _nice_ceiling(value: float, steps: tuple[float, ...] = (1, 2, 5, 10)) -> float:
    """The next of ``steps`` (1, 2, 5, 10 by default) times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in steps if step * power >= value * (1 - 1e-9))


def _metric_name(label: str) -> str:
    return label if label == "R²" else label.lower()


class LossPlotWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.status = QLabel()
        self.status.setObjectName("curveStatus")
        self.status.setStyleSheet("color: #333;")
        self.status.hide()
        self.plot = pg.PlotWidget(axisItems={"right": PercentAxis("right")})
        self.plot.setMinimumHeight(220)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("left", "Loss (lower is better)")
        self.plot.setLabel("bottom", "Step")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        # Axes (with their grid and tick labels) and the legend are drawn into cached pixmaps, redrawn only when
        # they change: text is most of a repaint's cost (27 ms against 3 ms per repaint, measured), and the GUI
        # thread holds the GIL that a training thread needs while it draws.
        for item in (self.plot.getAxis("left"), self.plot.getAxis("bottom"), self.legend):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self._batch_curve = self.plot.plot([], [], pen=pg.mkPen(BATCH_COLOR, width=1))
        self._train_curve = self.plot.plot([], [], pen=pg.mkPen(TRAIN_COLOR, width=2), name="Training rows")
        self._val_curve = self.plot.plot([], [], pen=pg.mkPen(VALIDATION_COLOR, width=2), name="Validation rows")
        self._kept_line = pg.InfiniteLine(angle=90, movable=False,
                                          pen=pg.mkPen(KEPT_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                          label="kept", labelOpts={"position": 0.6, "color": KEPT_COLOR,
                                                                   "fill": (255, 255, 255, 200)})
        self._kept_line.hide()
        self.plot.addItem(self._kept_line, ignoreBounds=True)
        self._metric_view: pg.ViewBox | None = None
        self._metric_curve: pg.PlotDataItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slot = PlotOrNote(self.plot, EMPTY_NOTE)
        layout.addWidget(self.status)
        layout.addWidget(self.slot)
        self._steps: list[float] = []
        self._train: list[float] = []
        self._val: list[float] = []
        self._batch_x: list[float] = []
        self._batch_y: list[float] = []
        self._metric: list[float] = []
        self._kept: int | None = None
        self._last_epoch: EpochPoint | None = None
        self._ranges: tuple[float, float, float, float] | None = None  # x end, loss bottom and top, metric bottom
        # Extremes of the finite losses and metrics so far, kept as points arrive so a repaint never rescans them.
        self._loss_low = self._loss_high = self._metric_low = math.nan
        self._dirty = False
        self._repaints = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def clear(self) -> None:
        for values in (self._steps, self._train, self._val, self._batch_x, self._batch_y, self._metric):
            values.clear()
        self._kept = None
        self._last_epoch = None
        self._ranges = None
        self._loss_low = self._loss_high = self._metric_low = math.nan
        self.plot.enableAutoRange()
        self._remove_metric_axis()  # the next run may be a model without a validation score
        self.status.clear()
        self.status.hide()
        self.slot.show_note()
        self._dirty = True
        self._repaint()

    def append(self, point: CurvePoint) -> None:
        if not self._steps and not self._batch_x:
            self.slot.show_plot()
            steps = point.step_label if point.step_label.endswith("s") else point.step_label + "s"
            self.plot.setLabel("bottom", steps.capitalize())
            self.plot.setLabel("left", f"{point.loss_label} (lower is better)")
        self._dirty = True
        if isinstance(point, BatchPoint):
            self._batch_x.append(point.position)
            self._batch_y.append(self._loss(point.train_loss))
            return
        self._steps.append(float(point.step))
        self._train.append(self._loss(point.train_loss))
        self._val.append(self._loss(point.val_loss))
        if isinstance(point, EpochPoint):
            self._append_epoch(point)

    def _loss(self, value: float | None) -> float:
        """The value as stored for the curves (NaN for none), with the running extremes updated."""
        loss = np.nan if value is None else float(value)
        if math.isfinite(loss):
            self._loss_low = loss if math.isnan(self._loss_low) else min(self._loss_low, loss)
            self._loss_high = loss if math.isnan(self._loss_high) else max(self._loss_high, loss)
        return loss

    def _append_epoch(self, point: EpochPoint) -> None:
        if point.metric_label and self._metric_curve is None:
            self._add_metric_axis(point.metric_label)
        metric = np.nan if point.metric is None else float(point.metric)
        self._metric.append(metric)
        if math.isfinite(metric):
            self._metric_low = metric if math.isnan(self._metric_low) else min(self._metric_low, metric)
        self._kept = point.best_step
        self._last_epoch = point

    def _add_metric_axis(self, label: str) -> None:
        """The validation metric on its own right-hand axis: its scale (a share, R²) differs from the loss's."""
        item = self.plot.getPlotItem()
        view = pg.ViewBox()
        item.showAxis("right")
        item.scene().addItem(view)
        item.getAxis("right").linkToView(view)
        item.getAxis("right").enableAutoSIPrefix(False)
        item.getAxis("right").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.getAxis("right").setLabel(f"Validation {_metric_name(label)} (higher is better)", color=METRIC_COLOR)
        view.setXLink(item)
        curve = pg.PlotDataItem([], [], pen=pg.mkPen(METRIC_COLOR, width=1.5, style=Qt.PenStyle.DotLine))
        view.addItem(curve)
        self.legend.addItem(curve, f"Validation {_metric_name(label)}")

        self._metric_view, self._metric_curve = view, curve
        item.vb.sigResized.connect(self._follow_metric_view)
        self._follow_metric_view()

    def _remove_metric_axis(self) -> None:
        if self._metric_view is None or self._metric_curve is None:
            return
        item = self.plot.getPlotItem()
        self.legend.removeItem(self._metric_curve)
        item.vb.sigResized.disconnect(self._follow_metric_view)
        item.scene().removeItem(self._metric_view)
        item.hideAxis("right")
        self._metric_view = self._metric_curve = None

    def has_metric_axis(self) -> bool:
        return self._metric_curve is not None

    def point_count(self) -> int:
        return len(self._steps)

    def batch_point_count(self) -> int:
        return len(self._batch_x)

    def shown_point_count(self) -> int:
        x, _ = self._train_curve.getData()
        return 0 if x is None else len(x)

    def shown_batch_count(self) -> int:
        x, _ = self._batch_curve.getData()
        return 0 if x is None else len(x)

    def repaint_count(self) -> int:
        return self._repaints

    def kept_epoch(self) -> int | None:
        """The epoch the "kept" marker shows, None when there is no marker."""
        return int(self._kept_line.value()) if self._kept_line.isVisible() else None

    def status_text(self) -> str:
        return self.status.text()

    def _follow_metric_view(self) -> None:
        if self._metric_view is not None:
            self._metric_view.setGeometry(self.plot.getPlotItem().vb.sceneBoundingRect())

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._repaint()

    def _repaint(self) -> None:
        self._dirty = False
        self._repaints += 1
        steps = np.asarray(self._steps)
        self._train_curve.setData(steps, np.asarray(self._train), connect="finite")
        self._val_curve.setData(steps, np.asarray(self._val), connect="finite")
        self._batch_curve.setData(np.asarray(self._batch_x), np.asarray(self._batch_y), connect="finite")
        if self._metric_curve is not None:
            self._metric_curve.setData(steps[:len(self._metric)], np.asarray(self._metric), connect="finite")
        self._step_ranges()
        # Only touched when it changed: each change costs a repaint of the plot and its axes.
        if self._kept is None:
            self._kept_line.hide()
        elif not self._kept_line.isVisible() or self._kept_line.value() != self._kept:
            self._kept_line.setValue(self._kept)
            self._kept_line.label.setFormat(f"kept: epoch {self._kept}")
            self._kept_line.show()
        self._show_status()

    def _step_ranges(self) -> None:
        """Epoch curves get ranges that change in steps rather than with every point: redrawing an axis whose range
        moved is most of a repaint's cost, and a repaint holds the GIL that the training thread needs."""
        point = self._last_epoch
        if point is None:
            return
        low, high = self._loss_low, self._loss_high
        if math.isnan(low):
            return
        epochs = max(self._steps[-1] if self._steps else 1.0, self._batch_x[-1] if self._batch_x else 1.0)
        x_end = float(min(point.epochs, _nice_ceiling(epochs)))
        loss_top = _nice_ceiling(high * 1.05, FINE_STEPS)
        # The bottom sits on a grid a tenth of the curves' spread: close under the lowest point, so curves that
        # differ little are not squeezed against a bottom at zero, yet it moves only when a point falls below it.
        grid = _nice_ceiling(max(loss_top - low, 1e-12)) / 10
        loss_bottom = max(0.0, math.floor(low / grid - 1) * grid)
        metric_bottom = math.floor(self._metric_low * 10) / 10 \
            if not math.isnan(self._metric_low) and point.metric_label == "Accuracy" else 0.0
        current = self._ranges
        if current is not None and x_end <= current[0] and current[1] <= low and loss_top <= current[2] \
                and metric_bottom >= current[3]:
            return
        if current is not None:
            x_end, loss_top = max(x_end, current[0]), max(loss_top, current[2])
            loss_bottom = loss_bottom if low < current[1] else current[1]
            metric_bottom = min(metric_bottom, current[3])
        self.plot.setXRange(0, x_end, padding=0.02)
        self.plot.setYRange(loss_bottom, loss_top, padding=0.02)
        if self._metric_view is not None and point.metric_label == "Accuracy":
            self._metric_view.setYRange(metric_bottom, 1.0, padding=0.02)
        self._ranges = (x_end, loss_bottom, loss_top, metric_bottom)

    def _show_status(self) -> None:
        point = self._last_epoch
        if point is None:
            return
        parts = [f"<b>Epoch {point.step} of {point.epochs}</b>"]
        if point.metric is not None and math.isfinite(point.metric):
            shown = percent(point.metric)  # accuracy and R² alike, as the Results page writes them
            parts.append(f"validation {_metric_name(point.metric_label)} {shown}")
        if point.best_step is not None:
            parts.append(f"<span style='color:{KEPT_COLOR}'>weights kept from epoch {point.best_step}</span>")
        text = " · ".join(parts)
        if text != self.status.text():
            self.status.setText(text)
        self.status.show()
