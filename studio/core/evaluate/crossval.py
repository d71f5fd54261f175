"""Cross-validation: the model trained k times, each time judged on a different fold of the rows."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck
from studio.core.data.target import Task
from studio.core.evaluate.metrics import classification_metrics, regression_metrics

MAX_FOLDS = 20


@dataclass(frozen=True)
class CrossValidation:
    """Every metric of every fold; ``metric`` is the one to lead with."""

    metric: str
    folds: tuple[tuple[tuple[str, float], ...], ...]

    def scores(self, metric: str | None = None) -> tuple[float, ...]:
        name = metric or self.metric
        return tuple(dict(fold).get(name, math.nan) for fold in self.folds)

    def mean(self, metric: str | None = None) -> float:
        return float(np.nanmean(self.scores(metric))) if self.folds else math.nan

    def spread(self, metric: str | None = None) -> float:
        """Standard deviation across folds: how much the score depends on which rows were held out."""
        return float(np.nanstd(self.scores(metric))) if self.folds else math.nan

    @staticmethod
    def from_plain(raw: dict[str, Any]) -> CrossValidation:
        return CrossValidation(str(raw["metric"]), tuple(
            tuple((str(k), math.nan if v is None else float(v)) for k, v in fold) for fold in raw["folds"]))


def fold_indices(y: np.ndarray, task: Task, folds: int, seed: int, stratify: bool) -> list[tuple[np.ndarray,
                                                                                                   np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    if task is Task.CLASSIFICATION and stratify:
        _, counts = np.unique(y.astype(str), return_counts=True)
        if counts.min() >= folds:
            return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)),
                                                                                      y.astype(str)))
    return list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y))))


def cross_validate(make_pipeline: Any, frame: pd.DataFrame, y: np.ndarray, task: Task, folds: int, seed: int,
                   stratify: bool, should_stop: StopCheck, call: InterruptibleCaller, lead_metric: str,
                   clean: Callable[[pd.DataFrame, np.ndarray], tuple[pd.DataFrame, np.ndarray]] | None = None,
                   ) -> Generator[Progress, None, CrossValidation]:
    """Train ``make_pipeline()`` on k-1 folds and score it on the k-th, for each fold; yields one item per fold."""
    from studio.core.common.errors import Cancelled

    splits = fold_indices(y, task, folds, seed, stratify)
    results = []
    for number, (train_rows, test_rows) in enumerate(splits, start=1):
        if should_stop():
            raise Cancelled()
        yield Progress("Cross-validation", None, f"Fold {number} of {len(splits)}")
        x_fold, y_fold = frame.iloc[train_rows], y[train_rows]
        if clean is not None:
            x_fold, y_fold = clean(x_fold, y_fold)
        # Fit and score on the fitting thread: OpenMP pools belong to the thread that starts them.
        def fit_and_score(x_fold: pd.DataFrame = x_fold, y_fold: np.ndarray = y_fold,
                          test_rows: np.ndarray = test_rows) -> dict[str, float]:
            return _fit_and_score(make_pipeline(), x_fold, y_fold, frame.iloc[test_rows], y[test_rows], task)

        metrics = call(fit_and_score)
        results.append(tuple(metrics.items()))
    return CrossValidation(lead_metric, tuple(results))


def _fit_and_score(pipeline: Any, x_fold: pd.DataFrame, y_fold: np.ndarray, x_held: pd.DataFrame,
                   y_held: np.ndarray, task: Task) -> dict[str, float]:
    pipeline.fit(x_fold, y_fold)
    predictions = pipeline.predict(x_held)
    if task is Task.CLASSIFICATION:
        classes = np.asarray(pipeline.classes_, dtype=object)
        proba = pipeline.predict_proba(x_held) if hasattr(pipeline, "predict_proba") else None
        return classification_metrics(y_held, np.asarray(predictions, dtype=object), proba, classes)
    return regression_metrics(y_held, predictions)
