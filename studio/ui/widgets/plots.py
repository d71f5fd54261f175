"""Plot helpers shared by the Results and Runs pages: white pyqtgraph plots with readable labels."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QLabel, QStackedWidget, QWidget

from studio.core.common.words import percent

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
ACCENT = "#2563a8"


def make_plot(title: str, x_label: str, y_label: str, height: int = 240, percent_y: bool = False,
              percent_x: bool = False) -> pg.PlotWidget:
    """``percent_y``, ``percent_x``: the axis holds shares or scores (0..1), labelled as percentages."""
    pg.setConfigOptions(antialias=True, background="w", foreground="#333")
    axes = {side: PercentAxis(side) for side, wanted in (("left", percent_y), ("bottom", percent_x)) if wanted}
    # No context menus: they are not offered, and pyqtgraph builds the view box's menu (a form of a dozen widgets)
    # for every plot unless told at construction, which was a third of the cost of making a plot.
    plot = pg.PlotWidget(axisItems=axes or None, enableMenu=False)
    plot.setMinimumHeight(height)
    plot.setMinimumWidth(160)  # several plots share a row; the window's width must not grow because of them
    plot.setTitle(f"<span style='font-size:11pt; color:#22313f'>{title}</span>")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
        # Axes (grid and tick labels) are drawn into cached pixmaps, redrawn only when they change: their text is
        # most of a plot's first paint, and a page of several plots took over 0.1 s to appear (see LossPlotWidget).
        plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot


class PercentAxis(pg.AxisItem):
    """An axis of scores written as every page writes scores: 80%, not 0.8."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        digits = 0 if spacing * scale >= 0.01 else 1
        return [percent(value * scale, digits) for value in values]


class PlotOrNote(QStackedWidget):
    """A plot that, until it has something to show, gives its place to a sentence saying what will appear there and
    how to get it: an empty grid from 0.1 to 0.9 tells a newcomer nothing."""

    def __init__(self, plot: pg.PlotWidget, note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.note = QLabel(note)
        self.note.setObjectName("plotNote")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setMinimumWidth(160)
        self.note.setStyleSheet("color: #555; font-size: 11pt; padding: 24px; background: #fafbfc; "
                                "border: 1px dashed #c9d1db; border-radius: 4px;")
        self.addWidget(self.note)
        self.addWidget(plot)

    def show_note(self, note: str | None = None) -> None:
        if note is not None:
            self.note.setText(note)
        self.setCurrentWidget(self.note)

    def show_plot(self) -> None:
        self.setCurrentWidget(self.plot)

    def shows_note(self) -> bool:
        return self.currentWidget() is self.note

    def note_text(self) -> str:
        return self.note.text()


def render_ahead(plot: pg.PlotWidget) -> None:
    """Draw a plot that is not on screen yet into a pixmap, so its layout, fonts and cached axes are ready and
    showing it later costs little. Nothing is drawn for a plot already on screen: it paints itself."""
    if not plot.isVisible():
        plot.grab()


def dashed(color: str = "#888") -> pg.QtGui.QPen:
    return pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine)


def add_line(plot: pg.PlotWidget, x: Sequence[float], y: Sequence[float], index: int, name: str) -> None:
    plot.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), pen=pg.mkPen(COLORS[index % len(COLORS)],
                                                                                     width=2), name=name,
              connect="finite")


def horizontal_bars(plot: pg.PlotWidget, items: Sequence[tuple[str, float]], spread: Sequence[float] = (),
                    color: str = ACCENT) -> None:
    """Ranked bars, largest on top, with the column names on the left axis."""
    plot.clear()
    if not items:
        return
    count = len(items)
    positions = np.arange(count)[::-1].astype(float)
    values = np.asarray([v for _, v in items], dtype=float)
    plot.addItem(pg.BarGraphItem(x0=np.minimum(values, 0), y=positions, height=0.65, width=np.abs(values),
                                 brush=color, pen=pg.mkPen(None)))
    if len(spread) == count:
        plot.addItem(pg.ErrorBarItem(x=values, y=positions, left=np.asarray(spread), right=np.asarray(spread),
                                     beam=0.2, pen=pg.mkPen("#333")))
    plot.getAxis("left").setTicks([[(p, _short(name)) for p, (name, _) in zip(positions, items, strict=True)]])
    plot.setYRange(-0.6, count - 0.4, padding=0)
    reach = values + (np.asarray(spread, dtype=float) if len(spread) == count else 0.0)
    plot.setXRange(min(0.0, float(values.min())), max(float(reach.max()), 1e-9) * 1.1, padding=0)


def heatmap(plot: pg.PlotWidget, values: np.ndarray, texts: list[list[str]], row_labels: Sequence[str],
            column_labels: Sequence[str]) -> None:
    """A confusion matrix: shares (0..1 in ``values``) shaded blue on the diagonal (right answers) and red off it
    (mistakes), with a text in each cell, row 0 on top."""
    plot.clear()
    rows, columns = values.shape
    signed = np.where(np.eye(rows, columns, dtype=bool), values, -values)
    image = pg.ImageItem(np.asarray(signed, dtype=float).T)
    image.setLookupTable(_confusion_colours())
    image.setLevels([-1.0, 1.0])
    plot.addItem(image)
    font = QFont()
    font.setPointSize(11 if max(rows, columns) <= 6 else 9)
    for i in range(rows):
        for j in range(columns):
            dark = values[i, j] > 0.55
            label = pg.TextItem(texts[i][j], color="w" if dark else "#22313f", anchor=(0.5, 0.5))
            label.setFont(font)
            label.setPos(j + 0.5, i + 0.5)
            plot.addItem(label)
    plot.invertY(True)
    plot.showGrid(x=False, y=False)
    plot.getAxis("bottom").setTicks([[(j + 0.5, _short(c, 12)) for j, c in enumerate(column_labels)]])
    plot.getAxis("left").setTicks([[(i + 0.5, _short(r, 16)) for i, r in enumerate(row_labels)]])
    plot.setXRange(0, columns, padding=0.02)
    plot.setYRange(0, rows, padding=0.02)
    plot.setMouseEnabled(x=False, y=False)


@functools.cache
def _confusion_colours() -> np.ndarray:
    """The heatmap's 256 colours, from red (all mistakes) through white to blue (all right); built once."""
    colours = np.array([_blend(level) for level in np.linspace(-1, 1, 256)], dtype=np.ubyte)
    colours.setflags(write=False)  # shared by every heatmap
    return colours


def _blend(level: float) -> tuple[int, int, int, int]:
    """-1..0: white to red (mistakes); 0..1: white to blue (right answers)."""
    low, high = QColor("#f9fbfd"), QColor("#1d4f87") if level >= 0 else QColor("#c0392b")
    mix = abs(level) ** 0.8
    return (round(low.red() + (high.red() - low.red()) * mix), round(low.green() + (high.green() - low.green()) * mix),
            round(low.blue() + (high.blue() - low.blue()) * mix), 255)


def _short(text: str, limit: int = 22) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
