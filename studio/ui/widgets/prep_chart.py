"""A small chart of one column: a histogram for numbers and dates, bars of the most common values otherwise."""

from __future__ import annotations

import datetime as dt

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from studio.core.data.profile import ColumnKind, ColumnProfile

BAR_COLOR = "#5b8fd0"
MAX_LABEL = 12


class ColumnChart(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumHeight(130)
        self.setMaximumHeight(220)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.getPlotItem().showGrid(y=True, alpha=0.15)
        self.getPlotItem().setLabel("left", "rows")
        self.shown = ""  # "histogram", "bars" or "" (for tests and screenshots)

    def show_profile(self, profile: ColumnProfile | None) -> None:
        plot = self.getPlotItem()
        plot.clear()
        self.shown = ""
        bottom = plot.getAxis("bottom")
        bottom.setTicks(None)
        if profile is None:
            self.hide()
            return
        edges, counts = profile.histogram
        if counts:
            widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
            centers = [edges[i] + widths[i] / 2 for i in range(len(counts))]
            plot.addItem(pg.BarGraphItem(x=centers, height=list(counts), width=widths[0] * 0.95, brush=BAR_COLOR,
                                         pen=pg.mkPen(None)))
            if profile.kind is ColumnKind.DATE:
                step = max(1, len(edges) // 4)
                bottom.setTicks([[(edges[i], _day_text(edges[i])) for i in range(0, len(edges), step)]])
            self.shown = "histogram"
        elif profile.top_values:
            room = max(4, min(MAX_LABEL, 70 // len(profile.top_values)))
            labels = [label if len(label) <= room else label[:room - 1] + "…" for label, _ in profile.top_values]
            heights = [count for _, count in profile.top_values]
            plot.addItem(pg.BarGraphItem(x=list(range(len(heights))), height=heights, width=0.7, brush=BAR_COLOR,
                                         pen=pg.mkPen(None)))
            bottom.setTicks([list(enumerate(labels))])
            self.shown = "bars"
        plot.enableAutoRange()
        self.setVisible(bool(self.shown))


def _day_text(days: float) -> str:
    try:
        return (dt.datetime(1970, 1, 1) + dt.timedelta(days=days)).strftime("%Y-%m-%d")
    except (OverflowError, ValueError):
        return ""
