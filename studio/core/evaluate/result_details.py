"""Everything a result shows beyond the metrics table, computed at the end of training (in the worker).

``ResultDetails`` is plain data that the run store keeps; ``EvaluationRows`` holds the raw training and held-out
rows in memory only, for the explanations computed on demand (importance, partial dependence, learning curve).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck
from studio.core.data.target import Task
from studio.core.evaluate.crossval import CrossValidation, cross_validate
from studio.core.evaluate.details import (
    ClassificationDetails,
    RegressionDetails,
    classification_details,
    classification_from_plain,
    regression_details,
    regression_from_plain,
    to_plain,
)
from studio.core.evaluate.diagnosis import diagnosis_metric
from studio.core.evaluate.explain import model_importances
from studio.core.evaluate.metrics import classification_metrics, predict_part, regression_metrics

if TYPE_CHECKING:
    from studio.core.train.splits import SplitIndices
    from studio.core.train.training import TrainRequest

TRAIN_SCORE_ROWS = 5_000
EXPLAIN_TRAIN_ROWS = 20_000
EXPLAIN_HELD_ROWS = 5_000


@dataclass(frozen=True)
class ResultDetails:
    task: Task
    classification: ClassificationDetails | None
    regression: RegressionDetails | None
    train_metrics: tuple[tuple[str, float], ...]
    cross_validation: CrossValidation | None
    model_importances: tuple[tuple[str, float], ...]
    data_fingerprint: str

    @property
    def imbalanced(self) -> bool:
        return self.classification is not None and self.classification.imbalance.imbalanced

    def to_plain(self) -> dict[str, Any]:
        return to_plain(self)

    @staticmethod
    def of_run(details: dict[str, Any]) -> ResultDetails | None:
        """A stored run's details; None for a run that has none, such as a trial of a search (its details hold
        only the trial)."""
        return ResultDetails.from_plain(details) if details and "task" in details else None

    @staticmethod
    def from_plain(raw: dict[str, Any]) -> ResultDetails:
        return ResultDetails(
            task=Task(raw["task"]),
            classification=classification_from_plain(raw["classification"]) if raw.get("classification") else None,
            regression=regression_from_plain(raw["regression"]) if raw.get("regression") else None,
            train_metrics=tuple((str(k), float("nan") if v is None else float(v))
                                for k, v in raw.get("train_metrics") or ()),
            cross_validation=CrossValidation.from_plain(raw["cross_validation"])
            if raw.get("cross_validation") else None,
            model_importances=tuple((str(k), float(v)) for k, v in raw.get("model_importances") or ()),
            data_fingerprint=str(raw.get("data_fingerprint", "")),
        )


@dataclass(frozen=True)
class EvaluationRows:
    """Raw rows for explanations: a sample of the training rows and the held-out rows they are judged on."""

    x_train: pd.DataFrame
    y_train: np.ndarray
    x_held: pd.DataFrame
    y_held: np.ndarray
    part: str  # "validation", or "test" when there are no validation rows
    make_pipeline: Callable[[], Any]  # an unfitted pipeline with the run's settings


# Fingerprints by the id of the frame they were computed from, each entry removed when its frame is collected (so
# an id reused by a later frame never finds an old entry). Keyed by id because DataFrames cannot be hashed, and
# guarded by the frame's shape, columns and types so a frame edited in place in any of those is hashed again.
_fingerprints: dict[int, tuple[tuple[Any, ...], str]] = {}


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A short hash of the table's contents and column names: equal tables give equal fingerprints.

    Hashing a large table takes a while and every run of the same table asks again, so the fingerprint is kept
    for as long as the frame lives. Studio never edits a loaded frame's values in place (a change makes a new
    frame); a caller that does must pass a copy."""
    key = id(frame)
    shape = (frame.shape, tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)))
    cached = _fingerprints.get(key)
    if cached is not None and cached[0] == shape:
        return cached[1]
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except UnicodeEncodeError:
        # Text that is not valid UTF-8 (a file name read from disk as it is) is hashed by its escaped form.
        hashed = pd.util.hash_pandas_object(frame.map(
            lambda v: v.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(v, str) else v),
            index=False)
    digest.update(hashed.to_numpy().tobytes())
    fingerprint = digest.hexdigest()[:16]
    if cached is None:
        weakref.finalize(frame, _fingerprints.pop, key, None)
    _fingerprints[key] = (shape, fingerprint)
    return fingerprint


def describe_training(request: TrainRequest, pipeline: Any, make_pipeline: Callable[[], Any], frame: pd.DataFrame,
                      y: np.ndarray, parts: SplitIndices, x_train: pd.DataFrame, y_train: np.ndarray,
                      xt_train: np.ndarray, test_output: tuple[np.ndarray, np.ndarray | None], should_stop: StopCheck,
                      call: InterruptibleCaller) -> Generator[Progress, None, tuple[ResultDetails, EvaluationRows]]:
    """``x_train`` / ``y_train`` / ``xt_train`` are the training rows the model was fitted on (after any
    row-removing cleaning), ``parts`` the split of ``frame`` / ``y``, ``test_output`` the test rows' predictions
    and class probabilities (see ``evaluation.predict_part``)."""
    from studio.core.prep.rows import training_rows

    y_test = y[parts.test]
    task = request.task
    estimator = pipeline.named_steps["model"]
    rng = np.random.default_rng(0)
    sample = np.arange(len(y_train)) if len(y_train) <= TRAIN_SCORE_ROWS else \
        np.sort(rng.choice(len(y_train), TRAIN_SCORE_ROWS, replace=False))
    # On the fitting thread, like the rest of scoring: OpenMP pools belong to the thread that starts them.
    classification, regression, train_metrics = call(lambda: _score_details(
        task, estimator, test_output, y_test, xt_train[sample], y_train[sample], y_train))
    cross_validation = None
    folds = request.split.cv_folds
    if folds >= 2 and request.fixed_split is None:
        modelling = np.sort(np.concatenate([parts.train, parts.validation]))
        lead = diagnosis_metric(task, classification is not None and classification.imbalance.imbalanced)

        def clean(x: pd.DataFrame, y_part: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
            # Each fold's training rows get the same row-removing cleaning as the real training rows.
            cleaned_x, cleaned_y, _ = training_rows(request.prep, request.target, x, y_part)
            return cleaned_x, cleaned_y

        cross_validation = yield from cross_validate(make_pipeline, frame.iloc[modelling], y[modelling], task, folds,
                                                     request.split.seed, request.split.stratify, should_stop, call,
                                                     lead, clean)
    held = parts.validation if len(parts.validation) else parts.test
    rng = np.random.default_rng(1)
    train_rows = np.arange(len(y_train)) if len(y_train) <= EXPLAIN_TRAIN_ROWS else \
        np.sort(rng.choice(len(y_train), EXPLAIN_TRAIN_ROWS, replace=False))
    held_rows = held if len(held) <= EXPLAIN_HELD_ROWS else np.sort(rng.choice(held, EXPLAIN_HELD_ROWS,
                                                                                replace=False))
    features = _input_columns(pipeline, request, frame)
    rows = EvaluationRows(x_train.iloc[train_rows][features], y_train[train_rows],
                          frame.iloc[held_rows][features], y[held_rows],
                          "validation" if len(parts.validation) else "test", make_pipeline)
    details = ResultDetails(task, classification, regression, tuple(train_metrics.items()), cross_validation,
                            _safe_importances(pipeline, tuple(features)), data_fingerprint(request.frame))
    return details, rows


def _input_columns(pipeline: Any, request: TrainRequest, frame: pd.DataFrame) -> list[str]:
    """The raw columns the pipeline reads (formulas may read columns the model does not use directly)."""
    inputs = getattr(pipeline.named_steps["prep"], "named_steps", {}).get("inputs")
    declared = getattr(inputs, "columns", None)
    names = list(declared) if declared else [c.name for c in request.prep.features(request.target)]
    return [str(name) for name in names if name in frame.columns and name != request.target]


def _score_details(task: Task, estimator: Any, test_output: tuple[np.ndarray, np.ndarray | None], y_test: np.ndarray,
                   x_fit_sample: np.ndarray, y_fit_sample: np.ndarray, y_train: np.ndarray,
                   ) -> tuple[ClassificationDetails | None, RegressionDetails | None, dict[str, float]]:
    predictions, proba = test_output
    train_predictions, train_proba = predict_part(estimator, task, x_fit_sample)
    if task is Task.REGRESSION:
        return None, regression_details(y_test, predictions), regression_metrics(y_fit_sample, train_predictions)
    classes = np.asarray([str(c) for c in estimator.classes_], dtype=object)
    details = classification_details(y_test, predictions, proba, classes, y_train)
    return details, None, classification_metrics(y_fit_sample, train_predictions, train_proba, classes)


def _safe_importances(pipeline: Any, columns: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    try:
        return model_importances(pipeline, columns)
    except (AttributeError, KeyError, ValueError):
        return ()  # a model or preparation step shaped differently from the built-in ones: no importances
