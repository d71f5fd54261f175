"""Fitting each family with its live curve, and the rows a run learns from; shared by tables and pictures."""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError
from studio.core.common.progress import CurvePoint, InterruptibleCaller, Progress, StopCheck
from studio.core.data.target import Task, require_usable, summarize_target, target_values
from studio.core.models.spec import Growth, ModelSpec
from studio.core.train.splits import SplitIndices, split_rows

if TYPE_CHECKING:
    pass
from studio.core.train.request import TrainRequest

CHUNK_SECONDS = 1.0
# How often a model that records its own progress is looked at while it fits.
CURVE_TICK_SECONDS = 0.1
CURVE_POINTS = 40
LOSS_SAMPLE_ROWS = 5_000


def fit_style(growth: Growth) -> Any:
    """How a family is fitted and its live curve read, by the way it grows."""
    return {Growth.ROUNDS: _fit_boosting, Growth.TREES: _fit_forest, Growth.EPOCHS: _fit_epochs,
            Growth.NONE: _fit_single}[growth]


def usable_split(request: TrainRequest) -> tuple[pd.DataFrame, np.ndarray, int, SplitIndices]:
    """The rows that have a target (with the target as the model sees it), how many were left out, and their
    split: the caller's fixed one, or the request's."""
    frame, y, dropped = _usable_rows(request)
    parts = request.fixed_split or split_rows(
        pd.Series(y) if request.task is Task.CLASSIFICATION else None, len(frame), request.split)
    return frame, y, dropped, parts


def _usable_rows(request: TrainRequest) -> tuple[pd.DataFrame, np.ndarray, int]:
    if request.target not in request.frame.columns:
        raise DataError(f"The table has no column called '{request.target}'.")
    summary = summarize_target(request.frame[request.target], request.task)
    require_usable(summary)
    values = target_values(request.frame[request.target], request.task)
    keep = values.notna().to_numpy()
    if request.fixed_split is not None:
        # Fixed row numbers refer to the file as loaded; rows without a target cannot be used.
        if (~keep[request.fixed_split.train]).any() or (~keep[request.fixed_split.test]).any():
            raise DataError("Some rows in the split file have no target value.")
        # A new array: under pandas copy-on-write ``to_numpy`` above may return a read-only view.
        keep = np.ones(len(keep), dtype=bool)
    frame = request.frame.loc[keep].reset_index(drop=True)
    y = values[keep].to_numpy()
    # Class labels as a fixed-width string array, not objects: estimators re-check the labels with np.unique on
    # every fit call, which is several times slower on objects and holds the GIL (a stuttering window).
    y = y.astype(float) if request.task is Task.REGRESSION else y.astype(str)
    return frame, y, int((~keep).sum())


def _check_stop(should_stop: StopCheck) -> None:
    if should_stop():
        raise Cancelled()


class _LossMeter:
    """Loss of one part's predictions, computed often (every boosting round), so kept to a few array operations.

    Classification: log loss; a rare class can land in validation only (unstratified split) and the model has no
    column for it, so those rows are left out of the curve rather than fail. Regression: root mean squared
    error, which is in the target's own units.
    """

    def __init__(self, task: Task, y: np.ndarray, classes: np.ndarray | None) -> None:
        self.task = task
        self.y = y
        if task is Task.CLASSIFICATION:
            assert classes is not None
            self.known = np.isin(y, classes)
            self.index = np.searchsorted(classes, y[self.known])
        self.label = "Log loss" if task is Task.CLASSIFICATION else "Typical error (RMSE)"

    def __call__(self, output: np.ndarray) -> float:
        if self.task is Task.REGRESSION:
            return float(np.sqrt(np.mean((self.y - output) ** 2)))
        if not self.known.any():
            return float("nan")
        chosen = output[self.known][np.arange(self.index.size), self.index]
        return float(-np.mean(np.log(np.clip(chosen, 1e-12, 1.0))))


def _loss_sample(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= LOSS_SAMPLE_ROWS:
        return x, y
    rows = np.random.default_rng(0).choice(len(y), LOSS_SAMPLE_ROWS, replace=False)
    return x[rows], y[rows]


def _fit_epochs(spec: ModelSpec, estimator: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
                y_val: np.ndarray, history: list[CurvePoint], should_stop: StopCheck,
                call: InterruptibleCaller) -> Generator[Progress]:
    """Neural networks: their own loop reports every epoch and every few batches (see models.torch.loop)."""
    from studio.core.models.torch.loop import fit_epochs

    yield from fit_epochs(spec, estimator, x, y, x_val, y_val, history, should_stop, call)


def _fit_single(spec: ModelSpec, estimator: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
                y_val: np.ndarray, history: list[CurvePoint], should_stop: StopCheck,
                call: InterruptibleCaller) -> Generator[Progress]:
    yield Progress("Fitting", 0.15, f"Fitting the {spec.label.lower()} on {len(y):,} rows")
    call(lambda: estimator.fit(x, y))
    yield Progress("Fitting", 0.9, "Fitted")


def _fit_boosting(spec: ModelSpec, estimator: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
                  y_val: np.ndarray, history: list[CurvePoint], should_stop: StopCheck,
                  call: InterruptibleCaller) -> Generator[Progress]:
    """One plain fit, with the curve read live from the per-round losses the booster records as it goes.

    Early stopping that can never trigger (more rounds of patience than rounds) makes the booster keep
    ``train_score_`` / ``validation_score_`` (negated losses, one per round, from the predictions it maintains
    anyway), so the curve costs nothing and the model is the one a plain fit gives. Fitting in warm-start chunks
    instead re-bins the data and re-predicts every earlier tree on each chunk, which made training several times
    slower than the plain fit.
    """
    total = int(estimator.max_iter)
    task = Task.CLASSIFICATION if hasattr(estimator, "predict_proba") else Task.REGRESSION
    fit_params: dict[str, Any] = {}
    if x_val is not None and len(y_val):
        # A rare class can land in the validation rows only (unstratified split); the booster cannot score a
        # class it never saw, so those rows are left out of the curve rather than fail the fit.
        known = np.isin(y_val, np.unique(y)) if task is Task.CLASSIFICATION else np.ones(len(y_val), dtype=bool)
        if known.any():
            fit_params = {"X_val": x_val[known], "y_val": y_val[known]}
    original = {k: estimator.get_params()[k] for k in ("early_stopping", "n_iter_no_change", "scoring",
                                                       "validation_fraction")}
    estimator.set_params(early_stopping=True, n_iter_no_change=total + 1, scoring="loss",
                         validation_fraction=None)
    label = "Log loss" if task is Task.CLASSIFICATION else "Typical error (RMSE)"

    def loss(score: float) -> float:
        # Scores are negated losses; for regression the loss is half the mean squared error.
        return -score if task is Task.CLASSIFICATION else float(np.sqrt(max(-2.0 * score, 0.0)))

    reported = 0

    def new_points() -> Iterator[Progress]:
        nonlocal reported
        train_scores = list(getattr(estimator, "train_score_", ()))
        val_scores = list(getattr(estimator, "validation_score_", ())) if fit_params else []
        # Index 0 is the model before the first tree; round r is at index r.
        available = len(train_scores) - 1
        if fit_params:
            available = min(available, len(val_scores) - 1)
        while reported < available:
            reported += 1
            val_loss = loss(val_scores[reported]) if fit_params else None
            point = CurvePoint(reported, loss(train_scores[reported]), val_loss, "boosting round", label)
            history.append(point)
            yield Progress("Fitting", 0.1 + 0.85 * reported / total, f"Round {reported:,} of {total:,}", point)

    yield Progress("Fitting", 0.1, f"Fitting {total:,} rounds on {len(y):,} rows")
    try:
        for _ in call.ticking(lambda: estimator.fit(x, y, **fit_params), CURVE_TICK_SECONDS):
            yield from new_points()
        yield from new_points()
    finally:
        estimator.set_params(**original)


def _fit_quietly(forest: Any, x: np.ndarray, y: np.ndarray) -> Any:
    import warnings

    with warnings.catch_warnings():
        # scikit-learn warns that "balanced" class weights suit warm starts only when every chunk sees the same
        # rows; here every chunk of trees is fitted on exactly the same rows, so the weights are the same.
        warnings.filterwarnings("ignore", message='class_weight presets "balanced"', category=UserWarning)
        return forest.fit(x, y)


def _fit_forest(spec: ModelSpec, estimator: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
                y_val: np.ndarray, history: list[CurvePoint], should_stop: StopCheck,
                call: InterruptibleCaller) -> Generator[Progress]:
    total = int(estimator.n_estimators)
    task = Task.CLASSIFICATION if hasattr(estimator, "predict_proba") else Task.REGRESSION
    x_loss, y_loss = _loss_sample(x, y)
    x_loss32 = np.asarray(x_loss, dtype=np.float32)
    x_val32 = np.asarray(x_val, dtype=np.float32) if x_val is not None else None
    classes = np.unique(y) if task is Task.CLASSIFICATION else None
    train_meter = _LossMeter(task, y_loss, classes)
    val_meter = _LossMeter(task, y_val, classes) if x_val is not None else None
    # Sums of the trees' outputs so far: each chunk only runs its new trees, keeping the curve O(1) per tree.
    train_sum: np.ndarray | float = 0.0
    val_sum: np.ndarray | float = 0.0
    estimator.set_params(warm_start=True)
    cores = max(1, os.cpu_count() or 1)
    done, chunk = 0, min(total, cores)
    while done < total:
        _check_stop(should_stop)
        step_started = time.perf_counter()
        previous, done = done, min(total, done + chunk)
        estimator.set_params(n_estimators=done)
        call(lambda: _fit_quietly(estimator, x, y))
        new_trees = estimator.estimators_[previous:done]
        train_sum = train_sum + _tree_sum(new_trees, x_loss32, task)
        train_loss = train_meter(train_sum / done)
        val_loss = None
        if x_val32 is not None and val_meter is not None:
            val_sum = val_sum + _tree_sum(new_trees, x_val32, task)
            val_loss = val_meter(val_sum / done)
        point = CurvePoint(done, train_loss, val_loss, "trees", train_meter.label)
        history.append(point)
        yield Progress("Fitting", 0.1 + 0.85 * done / total, f"{done:,} of {total:,} trees grown", point)
        # A forest fits the trees of one chunk in parallel, so a chunk smaller than the core count idles cores.
        chunk = _next_chunk(chunk, time.perf_counter() - step_started, total, minimum=cores)
    estimator.set_params(warm_start=False)


def _tree_sum(trees: list[Any], x: np.ndarray, task: Task) -> np.ndarray:
    if task is Task.CLASSIFICATION:
        return np.sum([tree.predict_proba(x, check_input=False) for tree in trees], axis=0)
    return np.sum([tree.predict(x, check_input=False) for tree in trees], axis=0)


def _next_chunk(chunk: int, seconds: float, total: int, minimum: int = 1) -> int:
    """Grow or shrink the chunk so each takes about CHUNK_SECONDS, with at most CURVE_POINTS-ish steps."""
    per_step = max(seconds / chunk, 1e-6)
    wanted = int(CHUNK_SECONDS / per_step)
    floor = max(minimum, total // (CURVE_POINTS * 4))
    ceiling = max(1, total // 10)
    return max(floor, min(wanted, ceiling, chunk * 2 if wanted > chunk else wanted))
