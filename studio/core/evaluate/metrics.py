"""Metrics for each task, a naive baseline to compare with, and the result told in plain words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.common.words import number, percent, plural
from studio.core.data.target import Task
from studio.core.models.imbalance import labels_from_probabilities

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "f1_macro": "F1 (macro)",
    "roc_auc": "ROC AUC",
    "mae": "Mean absolute error",
    "rmse": "Root mean squared error",
    "r2": "R²",
}
HIGHER_IS_BETTER = {"mae": False, "rmse": False}
# Measured in the target's own units rather than as a share.
ERROR_METRICS = ("mae", "rmse")


@dataclass(frozen=True)
class Scores:
    """Metrics of one part of the data (validation or test) with the naive baseline's on the same rows."""

    part: str
    rows: int
    metrics: tuple[tuple[str, float], ...]
    baseline: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float | None:
        return dict(self.metrics).get(name)

    def baseline_of(self, name: str) -> float | None:
        return dict(self.baseline).get(name)

    def as_dict(self) -> dict[str, float]:
        return dict(self.metrics)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                           classes: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    metrics = {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "precision_macro": precision_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_macro": recall_score(y_true, y_pred, average="macro", zero_division=0),
        "f1_macro": f1_score(y_true, y_pred, average="macro", zero_division=0),
    }
    if proba is not None and len(classes) == 2 and len(np.unique(y_true)) == 2:
        metrics["roc_auc"] = roc_auc_score(y_true == classes[1], proba[:, 1])
    return {k: float(v) for k, v in metrics.items()}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    metrics = {
        "mae": mean_absolute_error(y_true, y_pred),
        "rmse": math.sqrt(mean_squared_error(y_true, y_pred)),
    }
    metrics["r2"] = r2_score(y_true, y_pred) if len(y_true) > 1 else float("nan")
    return {k: float(v) for k, v in metrics.items()}


def score_part(part: str, task: Task, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
               classes: np.ndarray | None, y_train: np.ndarray) -> Scores:
    """Score predictions, and the naive baseline fitted on the training targets, on the same rows."""
    if task is Task.CLASSIFICATION:
        assert classes is not None
        metrics = classification_metrics(y_true, y_pred, proba, classes)
        values, counts = np.unique(y_train, return_counts=True)
        majority = values[np.argmax(counts)]
        naive = np.full(len(y_true), majority, dtype=object)
        naive_proba = np.tile([np.mean(y_train == c) for c in classes], (len(y_true), 1))
        baseline = classification_metrics(y_true, naive, naive_proba, classes)
    else:
        metrics = regression_metrics(y_true, y_pred)
        baseline = regression_metrics(y_true, np.full(len(y_true), float(np.mean(y_train))))
    return Scores(part, len(y_true), tuple(metrics.items()), tuple(baseline.items()))


def headline_metric(task: Task) -> str:
    return "accuracy" if task is Task.CLASSIFICATION else "mae"


def format_metric(name: str, value: float | None) -> str:
    """One format per quantity, on every page and in every report: errors in the target's own units with a few
    meaningful digits, every score (R² included: the share of the variation explained) as a percentage."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if name in ERROR_METRICS:
        return number(value)
    return percent(value)


def format_spread(name: str, value: float | None) -> str:
    """How much a cross-validated score varies across folds, in the score's own format."""
    return format_metric(name, value)


def number_or_nan(value: Any) -> float:
    """A stored number as a float: None (how NaN is stored as JSON) and anything unreadable become NaN."""
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def plain_summary(task: Task, scores: Scores, target: str, unit: str = "rows") -> str:
    """One or two sentences a non-programmer understands, comparing the model with guessing. ``unit``: what
    the data is made of ("rows", or "pictures")."""
    if task is Task.CLASSIFICATION:
        acc, base = scores.get("accuracy") or 0.0, scores.baseline_of("accuracy") or 0.0
        text = (f"On {_count(scores.rows, unit)} it never saw, the model was right {percent(acc, 0)} of the time; "
                f"always guessing the most common value of {target} would be right {percent(base, 0)} of the time.")
        bal = scores.get("balanced_accuracy")
        if bal is not None and acc - bal > 0.1:
            text += (f" Rare classes are harder for it: averaged over the classes it was right {percent(bal, 0)} of "
                     "the time.")
        elif acc <= base + 0.01:
            text += " That is no better than guessing: the columns may not say much about the target."
        return text
    mae, base = scores.get("mae") or 0.0, scores.baseline_of("mae") or 0.0
    text = (f"On {_count(scores.rows, unit)} it never saw, the model's predictions of {target} were typically off "
            f"by about {number(mae)}; always guessing the average would be off by about {number(base)}.")
    r2 = scores.get("r2")
    if r2 is not None and not math.isnan(r2):
        text += f" It explains {percent(max(r2, 0.0), 0)} of the variation in {target}."
    return text


def _count(count: int, unit: str) -> str:
    """``unit`` is a plural ("rows", "pictures"): the count says it in the singular for one."""
    return plural(count, unit.removesuffix("s"), unit)


def predict_part(estimator: Any, task: Task, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions (class labels as objects) and, for classifiers that have them, class probabilities."""
    proba = estimator.predict_proba(x) if task is Task.CLASSIFICATION and hasattr(estimator, "predict_proba") \
        else None
    # A classifier's predict is the most probable class (or the rare class from its threshold on); a forest's
    # predict would compute the probabilities a second time, which took as long as the rest of scoring.
    predictions = labels_from_probabilities(estimator, proba) if proba is not None else estimator.predict(x)
    if task is Task.CLASSIFICATION:
        predictions = predictions.astype(object)
    return predictions, proba
