"""Small, dependency-free SVG charts for the HTML report: lines, scatter, bars, histogram and a heatmap."""

from __future__ import annotations

import html
import math
from typing import Any

from studio.core.common.words import percent
from studio.core.evaluate.metrics import number_or_nan as _num

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
WIDTH, HEIGHT = 460, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 22, 12, 45


MOST_TICKS = 7  # labels per axis at most; the fewest round steps that fit are used
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0, 20.0)


def _tick_span(low: float, high: float, step: float) -> tuple[int, int]:
    """The first and last whole multiples of ``step`` that cover ``low``..``high``."""
    return math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)


def nice_step(low: float, high: float, most: int = MOST_TICKS) -> float:
    """The distance between ticks: the smallest of 1, 2, 2.5 or 5 times a power of ten with which at most
    ``most`` round ticks cover the range."""
    span = high - low
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(most - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (m * power for m in _NICE_STEPS):
        first, last = _tick_span(low, high, step)
        if step >= raw * (1 - 1e-9) and last - first + 1 <= most:
            return step
    return 20.0 * power


def nice_range(low: float, high: float, most: int = MOST_TICKS) -> tuple[float, float]:
    """The range widened to whole ticks, so both ends of an axis carry a round number."""
    step = nice_step(low, high, most)
    first, last = _tick_span(low, high, step)
    return first * step, last * step


def nice_ticks(low: float, high: float, most: int = MOST_TICKS) -> list[float]:
    """Round numbers from ``low`` to ``high``: 0, 0.25, 0.5 … or 0, 20, 40 … or 0, 5,000, 10,000 …"""
    step = nice_step(low, high, most)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    # Whole numbers of steps times the step: 3 * 0.1 rounded, not 0.30000000000000004; + 0.0 turns -0.0 into 0.0.
    return [round(index * step, 12) + 0.0 for index in range(first, last + 1)]


def tick_text(value: float, step: float) -> str:
    """A tick's label as short as the step allows ("0.25", "0.5", "40", "5,000"), never "-0"."""
    # Ticks are whole multiples of the step, so the step's own decimals write every one exactly.
    decimals = next((d for d in range(13) if abs(step * 10 ** d - round(step * 10 ** d)) < 1e-6), 12)
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _bounds(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    # Widening to round ticks leaves room around the points, so no margin is added first.
    return nice_range(low, high)


def _frame(x_range: tuple[float, float], y_range: tuple[float, float], x_label: str, y_label: str,
           shares: bool = False) -> list[str]:
    """The axes, grid and labels; ``shares``: both axes hold rates or scores (0..1), ticked as percentages."""

    def label(value: float, step: float) -> str:
        return percent(value, 0) if shares else tick_text(value, step)

    x0, x1 = x_range
    y0, y1 = y_range
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' font-size='11' "
           f"font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>",
           f"<rect x='{LEFT}' y='{TOP}' width='{WIDTH - LEFT - RIGHT}' height='{HEIGHT - TOP - BOTTOM}' "
           "fill='none' stroke='#bbb'/>"]
    x_step, y_step = nice_step(x0, x1), nice_step(y0, y1)
    for fx in nice_ticks(x0, x1):
        out.append(f"<text x='{_px(fx, x_range):.1f}' y='{HEIGHT - BOTTOM + 15}' text-anchor='middle'>"
                   f"{label(fx, x_step)}</text>")
    for fy in nice_ticks(y0, y1):
        py = _py(fy, y_range)
        out.append(f"<line x1='{LEFT}' y1='{py:.1f}' x2='{WIDTH - RIGHT}' y2='{py:.1f}' stroke='#eee'/>")
        out.append(f"<text x='{LEFT - 4}' y='{py + 4:.1f}' text-anchor='end'>{label(fy, y_step)}</text>")
    out.append(f"<text x='{(WIDTH + LEFT - RIGHT) / 2}' y='{HEIGHT - 8}' text-anchor='middle'>"
               f"{escape_text(x_label)}</text>")
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    out.append(f"<text x='14' y='{middle}' text-anchor='middle' transform='rotate(-90 14 {middle})'>"
               f"{escape_text(y_label)}</text>")
    return out


def _px(x: float, x_range: tuple[float, float]) -> float:
    return LEFT + (x - x_range[0]) / (x_range[1] - x_range[0]) * (WIDTH - LEFT - RIGHT)


def _py(y: float, y_range: tuple[float, float]) -> float:
    return TOP + (1 - (y - y_range[0]) / (y_range[1] - y_range[0])) * (HEIGHT - TOP - BOTTOM)


def _legend(names: list[str], corner: str) -> list[str]:
    """Names in their line colours, in a corner where curves of that kind rarely run."""
    out = []
    right = corner.endswith("right")
    x = WIDTH - RIGHT - 8 if right else LEFT + 8
    top = corner.startswith("top")
    for index, name in enumerate(names):
        y = TOP + 16 + 14 * index if top else HEIGHT - BOTTOM - 8 - 14 * (len(names) - 1 - index)
        out.append(f"<text x='{x}' y='{y}' fill='{COLORS[index % len(COLORS)]}' "
                   f"text-anchor='{'end' if right else 'start'}'>{escape_text(name)}</text>")
    return out


def svg_lines(series: list[tuple[str, Any, Any]], x_label: str, y_label: str, diagonal: bool = False,
              legend: str = "top-right", unit: bool = False) -> str:
    """Lines; ``unit``: both axes 0..1 (curves of rates); ``diagonal``: also the dashed line of guessing."""
    xs = [float(v) for _, x, _ in series for v in x]
    ys = [_num(v) for _, _, y in series for v in y]
    x_range, y_range = _bounds(xs), _bounds(ys)
    if diagonal or unit:
        x_range, y_range = (0.0, 1.0), (0.0, 1.0)
    out = _frame(x_range, y_range, x_label, y_label, shares=diagonal or unit)
    if diagonal:
        out.append(f"<line x1='{_px(0, x_range)}' y1='{_py(0, y_range)}' x2='{_px(1, x_range)}' "
                   f"y2='{_py(1, y_range)}' stroke='#999' stroke-dasharray='4 4'/>")
    for index, (_name, x, y) in enumerate(series):
        points = " ".join(f"{_px(float(a), x_range):.1f},{_py(_num(b), y_range):.1f}"
                          for a, b in zip(x, y, strict=True) if math.isfinite(_num(b)))
        if points:
            out.append(f"<polyline points='{points}' fill='none' stroke='{COLORS[index % len(COLORS)]}' "
                       "stroke-width='2'/>")
    out.extend(_legend([name for name, _, _ in series], legend))
    out.append("</svg>")
    return "".join(out)


def svg_histogram(edges: Any, counts: Any, x_label: str) -> str:
    edges = [float(v) for v in edges]
    x_range = nice_range(edges[0], edges[-1])
    y_range = nice_range(0.0, max(max(counts, default=1), 1) * 1.05)
    out = _frame(x_range, y_range, x_label, "Test rows")
    for left, right, count in zip(edges, edges[1:], counts, strict=False):
        top = _py(float(count), y_range)
        out.append(f"<rect x='{_px(left, x_range) + 0.5:.1f}' y='{top:.1f}' "
                   f"width='{max(_px(right, x_range) - _px(left, x_range) - 1, 0.5):.1f}' "
                   f"height='{_py(0, y_range) - top:.1f}' fill='#2563a8'/>")
    out.append("</svg>")
    return "".join(out)


def svg_scatter(x: Any, y: Any, x_label: str, y_label: str, ideal: bool = False, zero_line: bool = False) -> str:
    x_range, y_range = _bounds([float(v) for v in x]), _bounds([float(v) for v in y])
    if ideal:
        x_range = y_range = _bounds([float(v) for v in (*x, *y)])
    out = _frame(x_range, y_range, x_label, y_label)
    if ideal:
        out.append(f"<line x1='{_px(x_range[0], x_range)}' y1='{_py(y_range[0], y_range)}' "
                   f"x2='{_px(x_range[1], x_range)}' y2='{_py(y_range[1], y_range)}' stroke='#d62728' "
                   "stroke-dasharray='5 4'/>")
    if zero_line and y_range[0] < 0 < y_range[1]:
        out.append(f"<line x1='{LEFT}' y1='{_py(0, y_range):.1f}' x2='{WIDTH - RIGHT}' y2='{_py(0, y_range):.1f}' "
                   "stroke='#d62728' stroke-dasharray='5 4'/>")
    out.extend(f"<circle cx='{_px(float(a), x_range):.1f}' cy='{_py(float(b), y_range):.1f}' r='2.5' "
               "fill='#1f77b4' fill-opacity='0.5'/>" for a, b in zip(x, y, strict=True))
    out.append("</svg>")
    return "".join(out)


def svg_bars(items: list[tuple[str, float]]) -> str:
    if not items:
        return ""
    row, label_width = 20, 150
    height = 20 + row * len(items)
    biggest = max((abs(v) for _, v in items), default=1.0) or 1.0
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' font-size='11' "
           "font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>"]
    for i, (name, value) in enumerate(items):
        length = max(value, 0.0) / biggest * (WIDTH - label_width - 70)
        y = 10 + i * row
        out.append(f"<text x='{label_width - 6}' y='{y + 13}' text-anchor='end'>{escape_text(str(name)[:24])}</text>")
        out.append(f"<rect x='{label_width}' y='{y + 2}' width='{length:.1f}' height='{row - 6}' fill='#2563a8'/>")
        # Both bar charts show shares: a drop in a score, or a share of the model's own importance.
        out.append(f"<text x='{label_width + length + 4:.1f}' y='{y + 13}'>{percent(value)}</text>")
    out.append("</svg>")
    return "".join(out)


def svg_heatmap(matrix: Any, labels: Any, shares: Any) -> str:
    """Counts, each cell shaded by its share of the row (``shares``: the rows as shares of their true class)."""
    size = len(labels)
    cell = min(70, 360 // max(size, 1))
    left, top = 110, 44
    width, height = left + cell * size + 20, top + cell * size + 40
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-size='11' "
           "font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>",
           f"<text x='{left + cell * size / 2}' y='14' text-anchor='middle' fill='#555'>What the model said</text>"]
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            share = float(shares[i][j])
            shade = int(255 - 180 * share)
            color = f"rgb({shade},{shade + (255 - shade) // 4},255)" if i == j else f"rgb(255,{shade},{shade})"
            x, y = left + j * cell, top + i * cell
            out.append(f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{color}' stroke='white'/>")
            out.append(f"<text x='{x + cell / 2}' y='{y + cell / 2 + 4}' text-anchor='middle'>{count}</text>")
        out.append(f"<text x='{left - 6}' y='{top + i * cell + cell / 2 + 4}' text-anchor='end'>"
                   f"{escape_text(str(labels[i])[:16])}</text>")
    for j, label in enumerate(labels):
        out.append(f"<text x='{left + j * cell + cell / 2}' y='{top - 4}' text-anchor='middle'>"
                   f"{escape_text(str(label)[:10])}</text>")
    out.append(f"<text x='{left + cell * size / 2}' y='{height - 10}' text-anchor='middle' fill='#555'>Rows: true "
               "class</text></svg>")
    return "".join(out)


def escape_text(value: Any) -> str:
    """Any value as text safe inside HTML or SVG, quotes included (attributes are quoted)."""
    return html.escape(str(value), quote=True)

