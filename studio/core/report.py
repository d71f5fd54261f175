"""A model report: one self-contained HTML file (no scripts, no external files; plots are inline SVG images)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from studio.core.evaluation import METRIC_LABELS, format_metric
from studio.core.evaluation_details import lead_metrics, result_summary
from studio.core.result_details import ResultDetails
from studio.core.runs import RunRecord
from studio.core.target import Task

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
WIDTH, HEIGHT = 460, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 22, 12, 45
_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; max-width: 980px; margin: 24px auto;
       color: #22313f; line-height: 1.45; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 2px; } h2 { font-size: 18px; border-bottom: 1px solid #dde1e6;
padding-bottom: 4px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 4px 10px; border-bottom: 1px solid #eceef1;
text-align: left; } th { background: #f5f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary { background: #f3f6fa; padding: 10px 14px; border-radius: 4px; font-size: 15px; }
.warning { background: #fff6e0; color: #7a5200; padding: 8px 12px; border-radius: 4px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; } figcaption { color: #555; font-size: 13px; }
.muted { color: #666; font-size: 13px; }
"""


def build_report(run: RunRecord) -> str:
    task = Task(run.task)
    details = ResultDetails.from_plain(run.details) if run.details else None
    title = f"{run.model_label} predicting {run.target}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class='muted'>Run {run.id} · trained {_e(run.created)} on {_e(run.device)} "
             f"in {run.duration_s:.1f} s · Studio model report</p>"]
    summary = _summary(run, task, details)
    if summary:
        parts.append(f"<p class='summary'>{_e(summary)}</p>")
    if details is not None and details.classification is not None and details.classification.imbalance.imbalanced:
        from studio.core.evaluation_details import imbalance_text

        parts.append(f"<p class='warning'>{_e(imbalance_text(details.classification.imbalance, run.target))}</p>")
    parts.append(_data_section(run))
    parts.append(_prep_section(run))
    parts.append(_model_section(run))
    parts.append(_metrics_section(run, task, details))
    parts.append(_plots_section(run, task, details))
    parts.append("<h2>Versions</h2><table>" + "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(run.versions.items())) + "</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def save_report(run: RunRecord, path: str | Path) -> Path:
    from studio.core.bundle import atomic_write

    path = Path(path)
    text = build_report(run).encode("utf-8")
    atomic_write(path, lambda handle: handle.write(text))
    return path


def _summary(run: RunRecord, task: Task, details: ResultDetails | None) -> str:
    from studio.core.evaluation import Scores

    test = run.metrics.get("test", {})
    if not test:
        return ""
    rows = int(run.metrics.get("rows", {}).get("test", 0))
    scores = Scores("test", rows, tuple((k, _num(v)) for k, v in test.items()),
                    tuple((k, _num(v)) for k, v in run.metrics.get("test_baseline", {}).items()))
    return result_summary(task, scores, run.target, details.classification if details else None)


def _data_section(run: RunRecord) -> str:
    rows = run.metrics.get("rows", {})
    counts = ", ".join(f"{int(rows[k]):,} {k}" for k in ("train", "validation", "test") if k in rows)
    return ("<h2>Data</h2><table>"
            f"<tr><td>Table</td><td>{_e(run.dataset_path or '(not saved)')}</td></tr>"
            f"<tr><td>Fingerprint</td><td><code>{_e(run.dataset_fingerprint)}</code></td></tr>"
            f"<tr><td>Predicting</td><td>{_e(run.target)} ({_e(run.task)})</td></tr>"
            + (f"<tr><td>Rows</td><td>{counts}</td></tr>" if counts else "")
            + "<tr><td>Split</td><td>" + _e(", ".join(f"{k} {v}" for k, v in run.split.items())) + "</td></tr>"
            "</table>")


def _prep_section(run: RunRecord) -> str:
    columns = [c for c in run.prep.get("columns", []) if isinstance(c, dict)]
    if not columns:
        return ""
    rows = "".join(f"<tr><td>{_e(c.get('name', ''))}</td><td>{_e(c.get('treatment', ''))}</td>"
                   f"<td>{_e(c.get('reason', '') or '')}</td></tr>" for c in columns)
    return f"<h2>Preparation</h2><table><tr><th>Column</th><th>Use</th><th>Note</th></tr>{rows}</table>"


def _model_section(run: RunRecord) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(run.params.items()))
    return f"<h2>Model and settings</h2><p>{_e(run.model_label)}</p><table>{rows}</table>"


def _metrics_section(run: RunRecord, task: Task, details: ResultDetails | None) -> str:
    test, validation = run.metrics.get("test", {}), run.metrics.get("validation", {})
    baseline, train = run.metrics.get("test_baseline", {}), run.metrics.get("train", {})
    names = [n for n in lead_metrics(task, bool(details and details.imbalanced)) if n in test]
    body = "".join(
        f"<tr><td>{_e(METRIC_LABELS.get(n, n))}</td>"
        + "".join(f"<td class='num'>{format_metric(n, _num(part.get(n)))}</td>"
                  for part in (train, validation, test, baseline)) + "</tr>" for n in names)
    text = ("<h2>Scores</h2><table><tr><th>Measure</th><th>Training rows</th><th>Validation rows</th>"
            f"<th>Test rows</th><th>Always guessing (test)</th></tr>{body}</table>")
    cv = run.metrics.get("cross_validation")
    if cv:
        metric = cv.get("metric", "")
        folds = ", ".join(format_metric(metric, _num(v)) for v in cv.get("folds", []))
        text += (f"<p>Cross-validation ({len(cv.get('folds', []))} folds), {_e(METRIC_LABELS.get(metric, metric))}:"
                 f" mean {format_metric(metric, _num(cv.get('mean')))} ± {_spread(metric, cv.get('spread'))}"
                 f" (folds: {folds}).</p>")
    if details is not None and details.classification is not None:
        per = details.classification.per_class
        text += "<h3>Per class (test rows)</h3><table><tr><th>Class</th><th>Precision</th><th>Recall</th>" \
                "<th>F1</th><th>Rows</th></tr>" + "".join(
                    f"<tr><td>{_e(m.label)}</td><td class='num'>{m.precision:.2f}</td><td class='num'>"
                    f"{m.recall:.2f}</td><td class='num'>{m.f1:.2f}</td><td class='num'>{m.support:,}</td></tr>"
                    for m in per) + "</table>"
    return text


def _plots_section(run: RunRecord, task: Task, details: ResultDetails | None) -> str:
    figures = []
    if run.history:
        steps = [float(p.get("step", i)) for i, p in enumerate(run.history)]
        series = [("Training rows", steps, [_num(p.get("train_loss")) for p in run.history]),
                  ("Validation rows", steps, [_num(p.get("val_loss")) for p in run.history])]
        label = str(run.history[0].get("loss_label", "Loss"))
        figures.append(_figure(svg_lines(series, str(run.history[0].get("step_label", "step")), label),
                               "Training curve: the loss on training and validation rows (lower is better)."))
    if details is not None and details.classification is not None:
        c = details.classification
        figures.append(_figure(svg_heatmap(c.confusion, c.classes), "Confusion matrix on the test rows: rows are "
                               "the true class, columns what the model said; the diagonal is right."))
        if c.roc:
            figures.append(_figure(svg_lines([(f"{k.label} (AUC {k.area:.2f})", k.x, k.y) for k in c.roc],
                                              "False positive rate", "True positive rate", diagonal=True,
                                              legend="bottom-right"),
                                   "ROC curves (one class against the rest); the dashed line is guessing."))
            figures.append(_figure(svg_lines([(f"{k.label} (AP {k.area:.2f})", k.x, k.y) for k in c.pr],
                                              "Recall", "Precision", unit=True, legend="bottom-left"),
                                   "Precision-recall curves."))
    if details is not None and details.regression is not None:
        r = details.regression
        figures.append(_figure(svg_scatter(r.actual, r.predicted, f"Actual {run.target}", f"Predicted {run.target}",
                                           ideal=True), "Predicted against actual; the dashed line is perfect."))
        residuals = [a - p for a, p in zip(r.actual, r.predicted, strict=True)]
        figures.append(_figure(svg_scatter(r.predicted, residuals, f"Predicted {run.target}", "Error (actual - "
                                           "predicted)", zero_line=True), "Errors against predictions."))
        figures.append(_figure(svg_histogram(r.residual_edges, r.residual_counts, f"Error in {run.target} "
                                             "(actual - predicted)"),
                               f"How large the errors are; typically off by about {r.typical_error:,.3g}."))
    importance = run.explanations.get("permutation_importance")
    if importance:
        items = [(c["column"], float(c["mean"])) for c in importance.get("columns", [])][:15]
        figures.append(_figure(svg_bars(items), "Permutation importance: how much the score drops when a column "
                               "is shuffled."))
    if details is not None and details.model_importances:
        figures.append(_figure(svg_bars(list(details.model_importances[:15])), "The model's own importances."))
    if not figures:
        return ""
    return "<h2>Plots</h2><div class='plots'>" + "".join(figures) + "</div>"


# -- tiny SVG plotting ------------------------------------------------------------------------------------------
def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _bounds(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    margin = (high - low) * 0.04
    return low - margin, high + margin


def _tick(value: float, span: float) -> str:
    if span >= 50:
        return f"{value:,.0f}"
    if span >= 5:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _frame(x_range: tuple[float, float], y_range: tuple[float, float], x_label: str, y_label: str) -> list[str]:
    x0, x1 = x_range
    y0, y1 = y_range
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' font-size='11' "
           f"font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>",
           f"<rect x='{LEFT}' y='{TOP}' width='{WIDTH - LEFT - RIGHT}' height='{HEIGHT - TOP - BOTTOM}' "
           "fill='none' stroke='#bbb'/>"]
    for i in range(5):
        fx, fy = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        px, py = _px(fx, x_range), _py(fy, y_range)
        out.append(f"<line x1='{LEFT}' y1='{py:.1f}' x2='{WIDTH - RIGHT}' y2='{py:.1f}' stroke='#eee'/>")
        out.append(f"<text x='{px:.1f}' y='{HEIGHT - BOTTOM + 15}' text-anchor='middle'>{_tick(fx, x1 - x0)}</text>")
        out.append(f"<text x='{LEFT - 4}' y='{py + 4:.1f}' text-anchor='end'>{_tick(fy, y1 - y0)}</text>")
    out.append(f"<text x='{(WIDTH + LEFT - RIGHT) / 2}' y='{HEIGHT - 8}' text-anchor='middle'>{_e(x_label)}</text>")
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    out.append(f"<text x='14' y='{middle}' text-anchor='middle' transform='rotate(-90 14 {middle})'>"
               f"{_e(y_label)}</text>")
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
                   f"text-anchor='{'end' if right else 'start'}'>{_e(name)}</text>")
    return out


def svg_lines(series: list[tuple[str, Any, Any]], x_label: str, y_label: str, diagonal: bool = False,
              legend: str = "top-right", unit: bool = False) -> str:
    """Lines; ``unit``: both axes 0..1 (curves of rates); ``diagonal``: also the dashed line of guessing."""
    xs = [float(v) for _, x, _ in series for v in x]
    ys = [_num(v) for _, _, y in series for v in y]
    x_range, y_range = _bounds(xs), _bounds(ys)
    if diagonal or unit:
        x_range, y_range = (0.0, 1.0), (0.0, 1.0)
    out = _frame(x_range, y_range, x_label, y_label)
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
    x_range, y_range = (edges[0], edges[-1]), (0.0, max(max(counts, default=1), 1) * 1.05)
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
        out.append(f"<text x='{label_width - 6}' y='{y + 13}' text-anchor='end'>{_e(str(name)[:24])}</text>")
        out.append(f"<rect x='{label_width}' y='{y + 2}' width='{length:.1f}' height='{row - 6}' fill='#2563a8'/>")
        out.append(f"<text x='{label_width + length + 4:.1f}' y='{y + 13}'>{value:.3g}</text>")
    out.append("</svg>")
    return "".join(out)


def svg_heatmap(matrix: Any, labels: Any) -> str:
    size = len(labels)
    cell = min(70, 360 // max(size, 1))
    left, top = 110, 44
    width, height = left + cell * size + 20, top + cell * size + 40
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-size='11' "
           "font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>",
           f"<text x='{left + cell * size / 2}' y='14' text-anchor='middle' fill='#555'>What the model said</text>"]
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            shade = int(255 - 180 * share)
            color = f"rgb({shade},{shade + (255 - shade) // 4},255)" if i == j else f"rgb(255,{shade},{shade})"
            x, y = left + j * cell, top + i * cell
            out.append(f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{color}' stroke='white'/>")
            out.append(f"<text x='{x + cell / 2}' y='{y + cell / 2 + 4}' text-anchor='middle'>{count}</text>")
        out.append(f"<text x='{left - 6}' y='{top + i * cell + cell / 2 + 4}' text-anchor='end'>"
                   f"{_e(str(labels[i])[:16])}</text>")
    for j, label in enumerate(labels):
        out.append(f"<text x='{left + j * cell + cell / 2}' y='{top - 4}' text-anchor='middle'>"
                   f"{_e(str(label)[:10])}</text>")
    out.append(f"<text x='{left + cell * size / 2}' y='{height - 10}' text-anchor='middle' fill='#555'>Rows: true "
               "class</text></svg>")
    return "".join(out)


def _num(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def _spread(metric: str, value: Any) -> str:
    number = _num(value)
    if math.isnan(number):
        return "–"
    return f"{number:.3f}" if metric == "r2" else f"{number:.1%}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def report_job(run: RunRecord, path: str | Path, should_stop: Any = None) -> Any:
    """Writing the report as a generator, for the window's worker."""
    from studio.core.progress import Progress

    yield Progress("Writing the report", None, Path(path).name)
    return save_report(run, path)
