"""Classification results: the confusion matrix, the decision-threshold slider, ROC / PR curves, per-class table."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.words import percent
from studio.core.evaluate.details import ClassificationDetails, row_shares, threshold_scores
from studio.ui.widgets.plots import PlotOrNote, add_line, dashed, heatmap, make_plot

MAX_CURVES = 8
CURVES_NOTE = ("Curves closer to the top left (ROC) or top right (precision-recall) are better. The area under the "
               "ROC curve is 50% for guessing and 100% for a perfect model; each class is measured against all the "
               "others.")
NO_CURVES = ("This model gives no probabilities, only its answers, so there are no curves: they need to know how sure "
             "the model is of each answer.")


class ConfusionMatrixWidget(QWidget):
    """Rows: the true class; columns: what the model said. Counts, or each row as shares of that true class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Where the model is right and wrong", "What the model said", "True class", 300)
        self.counts_button = QRadioButton("Counts")
        self.shares_button = QRadioButton("Share of each true class")
        self.counts_button.setChecked(True)
        group = QButtonGroup(self)
        for button in (self.counts_button, self.shares_button):
            group.addButton(button)
            button.toggled.connect(self._redraw)
        self.note = QLabel("Blue cells (top left to bottom right) are right answers; red cells are mistakes. The "
                           "darker a cell, the larger its share of that true class.")
        self.note.setStyleSheet("color: #555;")
        self.note.setWordWrap(True)  # one long line made the Results page wider than a 1024-pixel screen
        toggles = QHBoxLayout()
        toggles.addWidget(QLabel("Show:"))
        toggles.addWidget(self.counts_button)
        toggles.addWidget(self.shares_button)
        toggles.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toggles)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self.counts = np.zeros((0, 0), dtype=int)
        self.shares = np.zeros((0, 0))
        self.labels: tuple[str, ...] = ()

    def set_matrix(self, counts: np.ndarray, labels: tuple[str, ...], shares: np.ndarray | None = None) -> None:
        """``shares``: the rows as shares of their true class, when the caller has them already."""
        self.counts = np.asarray(counts, dtype=int)
        self.shares = row_shares(self.counts) if shares is None else shares
        self.labels = labels
        self._redraw()

    def cell_text(self, row: int, column: int) -> str:
        return self._texts()[row][column]

    def _texts(self) -> list[list[str]]:
        if self.counts_button.isChecked():
            return [[f"{v:,}" for v in row] for row in self.counts]
        return [[f"{v:.0%}" for v in row] for row in self.shares]

    def _redraw(self) -> None:
        if self.counts.size:
            heatmap(self.plot, self.shares, self._texts(), self.labels, self.labels)


class ThresholdWidget(QWidget):
    """For two classes: how sure the model must be before it says the positive class; updates a matrix live."""

    threshold_changed = Signal(float)

    def __init__(self, matrix: ConfusionMatrixWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = matrix
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 99)
        self.slider.setValue(50)
        self.slider.setPageStep(5)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.metrics_label = QLabel()
        self.metrics_label.setObjectName("thresholdMetrics")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setStyleSheet("font-size: 11pt;")
        ends = QHBoxLayout()
        self.low_end, self.high_end = low, high = QLabel(), QLabel()
        for label in (low, high):
            label.setStyleSheet("color: #666; font-size: 9pt;")
            label.setTextFormat(Qt.TextFormat.PlainText)  # they name a class
        ends.addWidget(low)
        ends.addStretch(1)
        ends.addWidget(high)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.slider)
        layout.addLayout(ends)
        layout.addWidget(self.metrics_label)
        self.details: ClassificationDetails | None = None

    def set_details(self, details: ClassificationDetails | None) -> None:
        self.details = details if details is not None and details.positive_class is not None else None
        self.setVisible(self.details is not None)
        if self.details is not None:
            # The slider starts where the saved model decides (a rare class moves it off 50%).
            start = round(self.details.decision_threshold * 100)
            self.slider.blockSignals(True)
            self.slider.setValue(start)
            self.slider.blockSignals(False)
            self._update(start / 100)

    def threshold(self) -> float:
        return self.slider.value() / 100

    def _on_slider_value_changed(self, value: int) -> None:
        self._update(value / 100)
        self.threshold_changed.emit(value / 100)

    def _update(self, threshold: float) -> None:
        details = self.details
        if details is None:
            return
        # Class names go into rich text: escaped, so they read as written.
        positive = html.escape(str(details.positive_class), quote=False)
        negative = html.escape(str(details.negative_class), quote=False)
        scores = threshold_scores(details, threshold)
        self.title.setText(f"<b>Decision threshold: {threshold:.0%}.</b> The model says '{positive}' when it is at "
                           f"least {threshold:.0%} sure. Move the slider to trade missed '{positive}' rows against "
                           "false alarms.")
        self.low_end.setText(f"‹ Says '{details.positive_class}' more often: finds more, more false alarms")
        self.high_end.setText(f"Says '{details.positive_class}' less often: fewer false alarms, misses more ›")
        (tn, fp), (fn, tp) = scores.confusion
        self.metrics_label.setText(
            f"Finds <b>{scores.get('recall'):.0%}</b> of the '{positive}' rows (recall) · when it says "
            f"'{positive}' it is right <b>{scores.get('precision'):.0%}</b> of the time (precision) · F1 "
            f"<b>{percent(scores.get('f1'), 0)}</b> · balanced accuracy <b>{scores.get('balanced_accuracy'):.0%}</b> · "
            f"accuracy {scores.get('accuracy'):.0%}<br>{tp:,} found, {fn:,} missed, {fp:,} false alarms, {tn:,} "
            f"correctly '{negative}'.")
        self.matrix.set_matrix(np.asarray(scores.confusion), (details.negative_class, details.positive_class))


class CurvesWidget(QWidget):
    """ROC and precision-recall curves, one per class against the rest, with their areas in the legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Rates and shares, written as percentages like the areas in the legends and every score.
        self.roc_plot = make_plot("ROC curve", "False alarm rate (false positive rate)",
                                  "Found (true positive rate)", percent_y=True, percent_x=True)
        self.pr_plot = make_plot("Precision-recall curve", "Found (recall)", "Right when it says so (precision)",
                                 percent_y=True, percent_x=True)
        self.note = QLabel(CURVES_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        self.roc_slot = PlotOrNote(self.roc_plot, NO_CURVES)
        self.pr_slot = PlotOrNote(self.pr_plot, NO_CURVES)
        plots = QHBoxLayout()
        plots.addWidget(self.roc_slot)
        plots.addWidget(self.pr_slot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(plots, 1)
        layout.addWidget(self.note)
        self.areas: dict[str, float] = {}

    def set_details(self, details: ClassificationDetails) -> None:
        self.areas = {}
        for plot in (self.roc_plot, self.pr_plot):
            plot.clear()
            if plot.plotItem.legend is None:
                plot.addLegend(offset=(-10, -10) if plot is self.roc_plot else (-10, 10))
            plot.setXRange(0, 1, padding=0.02)
            plot.setYRange(0, 1.02, padding=0.02)
        self.roc_plot.plot([0, 1], [0, 1], pen=dashed(), name="Guessing")
        self.areas = {curve.label: curve.area for curve in details.roc}
        # Many classes: the most common ones only, or the plot becomes a tangle.
        support = {m.label: m.support for m in details.per_class}
        shown = sorted(details.roc, key=lambda c: -support.get(c.label, 0))[:MAX_CURVES]
        labels = {curve.label for curve in shown}
        for index, curve in enumerate(c for c in details.roc if c.label in labels):
            add_line(self.roc_plot, curve.x, curve.y, index, f"{curve.label}: area {percent(curve.area)}")
        for index, curve in enumerate(c for c in details.pr if c.label in labels):
            add_line(self.pr_plot, curve.x, curve.y, index, f"{curve.label}: avg. precision {percent(curve.area)}")
        note = CURVES_NOTE
        if len(details.roc) > MAX_CURVES:
            note += f" The {MAX_CURVES} most common of {len(details.roc)} classes are drawn."
        self.note.setText(note if details.roc else NO_CURVES)
        for slot in (self.roc_slot, self.pr_slot):
            if details.roc:
                slot.show_plot()
            else:
                slot.show_note(NO_CURVES)


class PerClassTable(QTableWidget):
    HEADERS = ("Class", "Precision\n(right when it says so)", "Recall\n(share found)",
               "F1\n(balance of both)", "Test rows")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().hide()
        self.setTabKeyNavigation(False)  # Tab moves on through the page, not cell by cell
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def set_details(self, details: ClassificationDetails) -> None:
        self.setRowCount(len(details.per_class))
        for row, metrics in enumerate(details.per_class):
            values = (metrics.label, percent(metrics.precision), percent(metrics.recall), percent(metrics.f1),
                      f"{metrics.support:,}")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 2 and metrics.support and metrics.recall == 0:
                    item.setBackground(Qt.GlobalColor.yellow)
                    item.setToolTip("The model never finds this class.")
                self.setItem(row, column, item)
