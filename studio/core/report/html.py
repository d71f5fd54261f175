"""A model report: one self-contained HTML file (no scripts, no external files; plots are inline SVG images)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError
from studio.core.common.words import local_time, number, percent, plural
from studio.core.data.target import Task
from studio.core.evaluate.details import lead_metrics, result_summary
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric, format_spread
from studio.core.evaluate.metrics import number_or_nan as _num
from studio.core.evaluate.result_details import ResultDetails
from studio.core.models.ensemble_spec import member_lines, parse_members
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec
from studio.core.prep.config import Treatment
from studio.core.report.svg import escape_text as _e
from studio.core.report.svg import svg_bars, svg_heatmap, svg_histogram, svg_lines, svg_scatter
from studio.core.store.runs import RunRecord

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
    details = ResultDetails.of_run(run.details)
    title = f"{run.model_label} predicting {run.target}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class='muted'>Run {run.id} · trained {_e(local_time(run.created))} on "
             f"{_e(run.device)} "
             f"in {run.duration_s:.1f} s · Studio model report</p>"]
    summary = _summary(run, task, details)
    if summary:
        parts.append(f"<p class='summary'>{_e(summary)}</p>")
    if details is not None and details.classification is not None and details.classification.imbalance.imbalanced:
        from studio.core.evaluate.details import imbalance_text

        parts.append(f"<p class='warning'>{_e(imbalance_text(details.classification.imbalance, run.target))}</p>")
    parts.append(_data_section(run, details))
    parts.append(_prep_section(run))
    parts.append(_model_section(run))
    parts.append(_metrics_section(run, task, details))
    parts.append(_diagnosis_section(run, task, details))
    parts.append(_plots_section(run, task, details))
    parts.append("<h2>Versions</h2><table>" + "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(run.versions.items())) + "</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def save_report(run: RunRecord, path: str | Path) -> Path:
    from studio.core.common.files import atomic_write

    path = Path(path)
    text = build_report(run).encode("utf-8")
    atomic_write(path, lambda handle: handle.write(text))
    return path


def _summary(run: RunRecord, task: Task, details: ResultDetails | None) -> str:
    scores = run.scores("test")
    if scores is None:
        return ""
    return result_summary(task, scores, run.target, details.classification if details else None,
                          "pictures" if "images" in run.prep else "rows")


def _data_section(run: RunRecord, details: ResultDetails | None) -> str:
    unit = "picture" if "images" in run.prep else "row"
    rows = run.metrics.get("rows", {})
    counts = ", ".join(f"{plural(int(rows[k]), unit)} for {use}" for k, use in _PARTS if k in rows)
    classes = ""
    if details is not None and details.classification is not None:
        shares = ", ".join(f"{_e(name)}: {percent(share, 0)}"
                           for name, share in details.classification.imbalance.shares)
        classes = f"<tr><td>Classes (training {unit}s)</td><td>{shares}</td></tr>"
    try:
        task = Task(run.task).label
    except ValueError:
        task = run.task
    return ("<h2>Data</h2><table>"
            f"<tr><td>{'Pictures' if 'images' in run.prep else 'Table'}</td>"
            f"<td>{_e(run.dataset_path or '(not saved)')}</td></tr>"
            f"<tr><td>Fingerprint</td><td><code>{_e(run.dataset_fingerprint)}</code></td></tr>"
            f"<tr><td>Predicting</td><td>{_e(run.target)}: {_e(task)}</td></tr>"
            + (f"<tr><td>{unit.capitalize()}s</td><td>{counts}</td></tr>" if counts else "") + classes
            + "<tr><td>Split</td><td>" + _e(split_words(run.split, run.task)) + "</td></tr>"
            "</table>")


_PARTS = (("train", "training"), ("validation", "validation"), ("test", "testing"))


def split_words(split: dict[str, Any], task: str) -> str:
    """How the rows were split, in words: "70% training, 15% validation, 15% test, same class shares in each part,
    random seed 42". Keeping class shares means nothing for a number to predict, so a regression does not say it."""
    parts = []
    validation, test = _num(split.get("validation")), _num(split.get("test"))
    if not any(map(math.isnan, (validation, test))):
        parts.append(f"{percent(1 - validation - test, 0)} training, {percent(validation, 0)} validation, "
                     f"{percent(test, 0)} test")
    if task == Task.CLASSIFICATION.value and "stratify" in split:
        parts.append("same class shares in each part" if split["stratify"] else "class shares left to chance")
    folds = split.get("cv_folds")
    if isinstance(folds, int) and folds > 1:
        parts.append(f"{folds}-fold cross-validation")
    if "seed" in split:
        parts.append(f"random seed {split['seed']}")
    return ", ".join(parts)


def _prep_section(run: RunRecord) -> str:
    pictures = run.prep.get("images")
    if isinstance(pictures, dict):
        rows = f"<tr><td>Size the network sees</td><td>{_e(run.prep.get('size', ''))} pixels square</td></tr>" + \
            "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in pictures.items() if k != "size")
        return f"<h2>Preparation of the pictures</h2><table>{rows}</table>"
    # The target is what is predicted, not an input the preparation works on.
    columns = [c for c in run.prep.get("columns", []) if isinstance(c, dict) and c.get("name") != run.target]
    if not columns:
        return ""
    rows = "".join(f"<tr><td>{_e(c.get('name', ''))}</td><td>{_e(_treatment_words(c.get('treatment')))}</td>"
                   f"<td>{_e(c.get('reason', '') or '')}</td></tr>" for c in columns)
    return f"<h2>Preparation</h2><table><tr><th>Column</th><th>Use</th><th>Note</th></tr>{rows}</table>"


def _model_section(run: RunRecord) -> str:
    rows = "".join(f"<tr><td>{_e(label)}</td><td>{_e(value)}</td></tr>" for label, value in setting_words(run))
    if _combines_models(run.model_key):
        rows = "<tr><th>Member</th><th>Votes</th><th>Settings</th></tr>" + "".join(
            f"<tr><td>{_e(label)}</td><td>{weight}</td><td>{_e(settings)}</td></tr>"
            for label, weight, settings in _members_or_none(run.params))
    return f"<h2>Model and settings</h2><p>{_e(run.model_label)}</p><table>{rows}</table>"


def setting_words(run: RunRecord) -> list[tuple[str, str]]:
    """Each setting as the Model step shows it: its label and its value in words ("Maximum depth", "no limit"), in
    the form's order; a setting this Studio no longer knows keeps its stored name and value."""
    try:
        spec: ModelSpec | None = get_model(run.model_key)
    except StudioError:
        spec = None
    known = {p.name: p for p in spec.params} if spec is not None else {}
    words = [(known[name].label, known[name].describe_value(run.params[name]))
             for name in known if name in run.params]
    words += [(name, str(value)) for name, value in sorted(run.params.items()) if name not in known]
    return words


def _treatment_words(treatment: Any) -> str:
    try:
        return Treatment(str(treatment)).label
    except ValueError:
        return str(treatment or "")


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
        mean, spread = format_metric(metric, _num(cv.get("mean"))), format_spread(metric, _num(cv.get("spread")))
        text += (f"<p>Cross-validation ({len(cv.get('folds', []))} folds), {_e(METRIC_LABELS.get(metric, metric))}:"
                 f" mean {mean} ± {spread} (folds: {folds}).</p>")
    if details is not None and details.classification is not None:
        per = details.classification.per_class
        text += "<h3>Per class (test rows)</h3><table><tr><th>Class</th><th>Precision</th><th>Recall</th>" \
                "<th>F1</th><th>Rows</th></tr>" + "".join(
                    f"<tr><td>{_e(m.label)}</td><td class='num'>{percent(m.precision)}</td><td class='num'>"
                    f"{percent(m.recall)}</td><td class='num'>{percent(m.f1)}</td><td class='num'>{m.support:,}</td>"
                    "</tr>"
                    for m in per) + "</table>"
    return text


def _diagnosis_section(run: RunRecord, task: Task, details: ResultDetails | None) -> str:
    from studio.core.evaluate.diagnosis import diagnose

    held = run.scores("validation") or run.scores("test")
    if details is None or held is None:
        return ""
    found = diagnose(task, dict(details.train_metrics), held.as_dict(), dict(held.baseline), run.model_key,
                     details.imbalanced, held.part, details.cross_validation is not None)
    tips = "".join(f"<li>{_e(tip)}</li>" for tip in found.suggestions)
    return (f"<h2>Diagnosis</h2><p><b>{_e(found.headline)}</b> {_e(found.explanation)}</p>"
            + (f"<p>Things to try:</p><ul>{tips}</ul>" if tips else ""))


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
        figures.append(_figure(svg_heatmap(c.confusion, c.classes, c.row_normalised), "Confusion matrix on the test "
                               "rows: rows are the true class, columns what the model said; the diagonal is right."))
        if c.roc:
            figures.append(_figure(svg_lines([(f"{k.label} (area {percent(k.area)})", k.x, k.y) for k in c.roc],
                                              "False positive rate", "True positive rate", diagonal=True,
                                              legend="bottom-right"),
                                   "ROC curves (one class against the rest); the dashed line is guessing."))
            figures.append(_figure(svg_lines([(f"{k.label} (avg. precision {percent(k.area)})", k.x, k.y)
                                              for k in c.pr],
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
                               f"How large the errors are; typically off by about {number(r.typical_error)}."))
    curve = run.explanations.get("learning_curve")
    if curve and curve.get("sizes"):
        figures.append(_figure(svg_lines([("Training rows", curve["sizes"], curve["train_scores"]),
                                          ("Held-out rows", curve["sizes"], curve["validation_scores"])],
                                         "Training rows used", METRIC_LABELS.get(curve["metric"], curve["metric"]),
                                         legend="bottom-right"),
                               "Learning curve: the score as the model gets more training rows."))
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


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def report_job(run: RunRecord, path: str | Path, should_stop: Any = None) -> Any:
    """Writing the report as a generator, for the window's worker."""
    from studio.core.common.progress import Progress

    yield Progress("Writing the report", None, Path(path).name)
    try:
        return save_report(run, path)
    except OSError as exc:
        raise StudioError(f"Studio cannot write {Path(path).name}: {exc.strerror or exc}.") from exc


def _combines_models(model_key: str) -> bool:
    try:
        return get_model(model_key).combines_models
    except StudioError:
        return False  # a model this Studio no longer has


def _members_or_none(params: dict[str, Any]) -> list[tuple[str, int, str]]:
    try:
        return member_lines(parse_members(params.get("members")))
    except StudioError as exc:  # a damaged run: the report still says what it can
        return [(str(exc), 0, "")]
