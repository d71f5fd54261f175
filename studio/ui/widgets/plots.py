"""Plot helpers shared by the Results and Runs pages: white pyqtgraph plots with readable labels."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
ACCENT = "#2563a8"


def make_plot(title: str, x_label: str, y_label: str, height: int = 240) -> pg.PlotWidget:
    pg.setConfigOptions(antialias=True, background="w", foreground="#333")
    plot = pg.PlotWidget()
    plot.setMinimumHeight(height)
    plot.setMinimumWidth(160)  # several plots share a row; the window's width must not grow because of them
    plot.setTitle(f"<span style='font-size:11pt; color:#22313f'>{title}</span>")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for side in ("left", "bottom"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    plot.setMenuEnabled(False)
    return plot


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
