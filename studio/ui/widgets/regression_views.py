"""Regression results: predicted against actual with the ideal line, errors against predictions, error sizes."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from studio.core.common.words import number
from studio.core.evaluate.details import RegressionDetails
from studio.ui.widgets.plots import ACCENT, dashed, make_plot


class RegressionPlotsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scatter_plot = make_plot("Predicted against actual", "Actual", "Predicted", 260)
        self.residual_plot = make_plot("Errors against predictions", "Predicted", "Error (actual − predicted)", 260)
        self.histogram_plot = make_plot("How large the errors are", "Error (actual − predicted)", "Test rows", 260)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("font-size: 11pt;")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note, 0, 0, 1, 3)
        layout.addWidget(self.scatter_plot, 1, 0)
        layout.addWidget(self.residual_plot, 1, 1)
        layout.addWidget(self.histogram_plot, 1, 2)

    def set_details(self, details: RegressionDetails, target: str) -> None:
        actual = np.asarray(details.actual, dtype=float)
        predicted = np.asarray(details.predicted, dtype=float)
        residuals = actual - predicted
        for plot in (self.scatter_plot, self.residual_plot, self.histogram_plot):
            plot.clear()
        self.scatter_plot.setLabel("bottom", f"Actual {target}")
        self.scatter_plot.setLabel("left", f"Predicted {target}")
        self.residual_plot.setLabel("bottom", f"Predicted {target}")
        dots = {"pen": None, "symbol": "o", "symbolSize": 5, "symbolBrush": pg.mkBrush(37, 99, 168, 110)}
        if actual.size:
            low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
            self.scatter_plot.plot([low, high], [low, high], pen=dashed("#d62728"))
            self.residual_plot.plot([float(predicted.min()), float(predicted.max())], [0, 0], pen=dashed("#d62728"))
        self.scatter_plot.plot(actual, predicted, **dots)
        self.residual_plot.plot(predicted, residuals, **dots)
        edges = np.asarray(details.residual_edges, dtype=float)
        counts = np.asarray(details.residual_counts, dtype=float)
        if counts.size:
            self.histogram_plot.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=ACCENT,
                                                        pen=pg.mkPen("w")))
        target = html.escape(target, quote=False)
        self.note.setText(f"On the test rows the predictions of {target} are typically off by about "
                          f"<b>{_plain(details.typical_error)}</b> (in {target}'s own units). Points on the dashed "
                          "line are perfect; errors spread evenly around zero are a good sign.")


def _plain(value: float) -> str:
    return number(value)
