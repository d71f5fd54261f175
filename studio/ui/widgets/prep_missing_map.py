"""Where values are missing in the whole table: one column of the picture per table column, rows top to bottom."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

MAX_LABEL = 14


class MissingMap(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().invertY(True)
        self.plot.getPlotItem().setLabel("left", "rows (top of the file first)")
        self.image = pg.ImageItem()
        # White where nothing is missing, dark red where everything is.
        self.image.setLookupTable(pg.ColorMap([0.0, 1.0], [(255, 255, 255), (178, 34, 34)]).getLookupTable(nPts=64))
        self.plot.addItem(self.image)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.shares: np.ndarray = np.zeros((0, 0))

    def show_map(self, bands: np.ndarray, columns: tuple[str, ...], rows: int) -> None:
        self.shares = bands
        if bands.size == 0:
            self.image.clear()
            self.caption.setText("")
            return
        self.image.setImage(bands.T, levels=(0.0, 1.0))
        self.image.setRect(0, 0, len(columns), rows)
        labels = [name if len(name) <= MAX_LABEL else name[:MAX_LABEL - 1] + "…" for name in columns]
        self.plot.getPlotItem().getAxis("bottom").setTicks([[(i + 0.5, label) for i, label in enumerate(labels)]])
        totals = bands.mean(axis=0)
        worst = [f"{columns[i]} ({totals[i]:.0%})" for i in np.argsort(-totals)[:3] if totals[i] > 0]
        self.caption.setText(
            "Red marks missing values (darker: more of the rows in that stretch are missing). "
            + (f"Most gaps: {', '.join(worst)}." if worst else "No value is missing anywhere."))
