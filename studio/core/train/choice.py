"""The quick choice behind "Let Studio choose": each candidate family fitted once at its defaults on (at most
CHOICE_ROWS of) the training rows and scored on the validation rows; a run without validation rows scores on a
few folds of small tables' training rows, or on a quarter of larger ones' held out; the best is then trained on
every training row like a model the person picked.

The score is the default measure: macro F1 for classes (after the best decision threshold on the same rows when
one of two classes is rare, as the trained model will use one) and RMSE for numbers.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from studio.core.common.errors import StudioError
from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck
from studio.core.data.target import Task
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric
from studio.core.models.imbalance import best_threshold_for, class_counts, rare_class
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec
from studio.core.train.fitting import _check_stop

# Enough rows to tell the families apart; fitting three candidates on 50,000 rows would take longer than the
# final model itself.
CHOICE_ROWS = 20_000
CHOICE_FOLDS = 3
# Without validation rows, tables up to this size are scored on folds (one held-out quarter of a few hundred rows
# is too noisy to choose by); larger ones on one held-out quarter, a third of the folds' time.
FOLD_ROWS = 5_000
MIN_VALIDATION_ROWS = 30


@dataclass(frozen=True)
class Choice:
    spec: ModelSpec
    note: str  # what was tried and why this one, in one sentence


def choose_family(spec: ModelSpec, task: Task, xt_train: Any, y_train: np.ndarray, xt_val: Any,
                  y_val: np.ndarray, should_stop: StopCheck,
                  call: InterruptibleCaller) -> Generator[Progress, None, Choice]:
    candidates = [get_model(key) for key in spec.candidates(task)]
    candidates = [c for c in candidates if task in c.tasks and not c.missing_requirement()]
    if not candidates:
        raise StudioError(f"{spec.label} has nothing to choose from for {task.value}. Pick a model yourself.")
    metric = "f1_macro" if task is Task.CLASSIFICATION else "rmse"
    rows = _sample(y_train, task)
    on_validation = xt_val is not None and len(y_val) >= MIN_VALIDATION_ROWS and (
        task is Task.REGRESSION or len(np.unique(y_val)) >= 2)
    scores: list[tuple[ModelSpec, float]] = []
    for index, candidate in enumerate(candidates):
        _check_stop(should_stop)
        # No share of the whole: the chosen model's own fit reports the run's progress from where preparing ended.
        yield Progress("Choosing a model", None,
                       f"Trying {candidate.label.lower()} ({index + 1} of {len(candidates)})")
        try:
            score = call(partial(_score, candidate, task, metric, xt_train[rows], y_train[rows],
                                 xt_val if on_validation else None, y_val))
        except ValueError:
            # A candidate that cannot learn from these rows (a fold without one of two classes on a tiny table)
            # is left out of the choice rather than failing the run.
            continue
        if np.isfinite(score):
            scores.append((candidate, score))
    if not scores:
        return Choice(candidates[0], f"Studio trained {candidates[0].label.lower()}: there were too few rows to "
                                     "compare models on.")
    higher_is_better = metric != "rmse"
    ordered = sorted(scores, key=lambda pair: -pair[1] if higher_is_better else pair[1])
    best = ordered[0][0]
    where = ("the validation rows" if on_validation else f"{CHOICE_FOLDS} folds of the training rows"
             if len(rows) <= FOLD_ROWS else "a quarter of the training rows held out")
    label = METRIC_LABELS[metric]
    others = ", ".join(f"{format_metric(metric, score)} ({other.label.lower()})" for other, score in ordered[1:])
    note = (f"Studio tried {_listed(c.label.lower() for c, _ in scores)} on {where} and chose "
            f"{best.label.lower()}: its {label} was {format_metric(metric, ordered[0][1])}"
            + (f", against {others}." if others else "."))
    return Choice(best, note)


def _sample(y: np.ndarray, task: Task) -> np.ndarray:
    if len(y) <= CHOICE_ROWS:
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    stratify = y if task is Task.CLASSIFICATION and min(class_counts(y).values()) >= 2 else None
    kept, _ = train_test_split(np.arange(len(y)), train_size=CHOICE_ROWS, stratify=stratify, random_state=0)
    return np.sort(kept)


def _score(candidate: ModelSpec, task: Task, metric: str, x: Any, y: np.ndarray, x_val: Any,
           y_val: np.ndarray) -> float:
    if x_val is not None:
        model = candidate.make_estimator(task, {}).fit(x, y)
        return _measure(model, task, metric, x_val, y_val, y)
    from sklearn.model_selection import KFold, StratifiedKFold, StratifiedShuffleSplit

    folds: Any = (StratifiedKFold(CHOICE_FOLDS, shuffle=True, random_state=0) if task is Task.CLASSIFICATION
                  else KFold(CHOICE_FOLDS, shuffle=True, random_state=0))
    if len(y) > FOLD_ROWS:
        from sklearn.model_selection import ShuffleSplit

        stratified = task is Task.CLASSIFICATION and min(class_counts(y).values()) >= 2
        folds = (StratifiedShuffleSplit if stratified else ShuffleSplit)(1, test_size=0.25, random_state=0)
    results = []
    for fit_rows, score_rows in folds.split(x, y):
        model = candidate.make_estimator(task, {}).fit(x[fit_rows], y[fit_rows])
        results.append(_measure(model, task, metric, x[score_rows], y[score_rows], y[fit_rows]))
    return float(np.mean(results))


def _measure(model: Any, task: Task, metric: str, x: Any, y: np.ndarray, y_fit: np.ndarray) -> float:
    from sklearn.metrics import f1_score, mean_squared_error

    if task is Task.REGRESSION:
        return float(np.sqrt(mean_squared_error(y, model.predict(x))))
    rare = rare_class(class_counts(y_fit))
    if rare is not None and len(model.classes_) == 2 and hasattr(model, "predict_proba"):
        return best_threshold_for(model.classes_, rare.label, y, model.predict_proba(x))[1]
    return float(f1_score(np.asarray(y).astype(str), np.asarray(model.predict(x)).astype(str), average="macro"))


def _listed(names: Any) -> str:
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
