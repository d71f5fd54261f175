"""Training as a generator: yields Progress items, returns a TrainResult, honours ``should_stop``.

The preparation is fitted once on the training rows only; iterative models are then grown in chunks on the
prepared arrays so a live curve can be reported without refitting the preparation. Pictures take their own path
(train.images), with the same contract.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.common.errors import DataError, StudioError
from studio.core.common.progress import CurvePoint, InterruptibleCaller, Progress, StopCheck, never_stop
from studio.core.data.target import Task
from studio.core.evaluate.metrics import predict_part, score_part
from studio.core.evaluate.result_details import describe_training
from studio.core.models.imbalance import (
    BALANCE_PARAM,
    THRESHOLD_FOLDS,
    RareClass,
    best_threshold_for,
    class_counts,
    rare_class,
    threshold_words,
    with_default_weights,
    with_threshold,
)
from studio.core.models.params import ParamValue
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec
from studio.core.prep.rows import input_feature_columns, training_rows
from studio.core.train.categories import code_features, with_codes

if TYPE_CHECKING:
    pass
from studio.core.train.choice import choose_family
from studio.core.train.fitting import (  # noqa: F401 - the training module's names, where callers find them
    CHUNK_SECONDS,
    CURVE_POINTS,
    CURVE_TICK_SECONDS,
    LOSS_SAMPLE_ROWS,
    _check_stop,
    _fit_boosting,
    _fit_epochs,
    _fit_forest,
    _fit_single,
    _LossMeter,
    _next_chunk,
    _usable_rows,
    fit_style,
    usable_split,
)
from studio.core.train.request import HeldOutProbabilities, TrainRequest, TrainResult


def train(request: TrainRequest, should_stop: StopCheck = never_stop) -> Generator[Progress, None, TrainResult]:
    with InterruptibleCaller(should_stop) as call:
        return (yield from _train(request, should_stop, call))


def _train(request: TrainRequest, should_stop: StopCheck,
           call: InterruptibleCaller) -> Generator[Progress, None, TrainResult]:
    started = time.perf_counter()
    spec = get_model(request.model_key)
    if request.task not in spec.tasks:
        raise StudioError(f"{spec.label} cannot do {request.task.value}. Pick another model.")
    params = spec.resolve(request.task, request.params)
    from studio.core.prep.images import ImageTraining

    if isinstance(request.prep, ImageTraining):
        from studio.core.train.images import train_images

        return (yield from train_images(request, spec, params, should_stop, call, started))
    yield Progress("Preparing data", 0.0, "Checking the target and splitting the rows")

    frame, y, dropped, parts = usable_split(request)
    _check_stop(should_stop)
    features = request.prep.features(request.target)
    if not features:
        raise DataError("No columns are left to learn from: every column is left out. Put at least one back in "
                        "the Prepare step.")
    x_train, y_train = frame.iloc[parts.train], y[parts.train]
    x_val, y_val = frame.iloc[parts.validation], y[parts.validation]
    x_test, y_test = frame.iloc[parts.test], y[parts.test]
    # Duplicates, outliers and gaps the user chose to drop leave the training rows only.
    x_train, y_train, removal = training_rows(request.prep, request.target, x_train, y_train)
    if request.task is Task.CLASSIFICATION and len(np.unique(y_train)) < 2:
        raise DataError("The training rows hold a single class, so there is nothing to tell apart. Use more rows "
                        "or a different split.")

    from studio.core.prep.build import build_transformer  # scikit-learn, only once training starts

    codes = code_features(spec, params, request.prep, request.target, x_train)
    transformer = build_transformer(request.prep, request.target, category_codes=bool(codes))
    xt_train = call(lambda: transformer.fit_transform(x_train, y_train))
    xt_val = transformer.transform(x_val) if len(x_val) else None
    xt_test = transformer.transform(x_test)
    yield Progress("Preparing data", 0.1, f"{xt_train.shape[1]} features from {len(features)} columns"
                   + (f". {removal.describe()}" if removal.total else ""))
    _check_stop(should_stop)

    choice_note = ""
    if spec.choices:
        choice = yield from choose_family(spec, request.task, xt_train, y_train, xt_val, y_val, should_stop, call)
        spec, params, choice_note = choice.spec, choice.spec.resolve(request.task, {}), choice.note
        yield Progress("Chose a model", None, choice_note)
    rare = rare_class(class_counts(y_train)) if request.task is Task.CLASSIFICATION else None
    if rare is not None:
        params = spec.resolve(request.task, with_default_weights(spec, request.params, class_counts(y_train)))
    estimator = with_codes(spec, spec.make_estimator(request.task, params), codes)
    history: list[CurvePoint] = []
    fit = fit_style(spec.growth)
    yield from fit(spec, estimator, xt_train, y_train, xt_val, y_val, history, should_stop, call)
    _check_stop(should_stop)
    threshold: ChosenThreshold | None = None
    if rare is not None and len(np.unique(y_train)) == 2 and hasattr(estimator, "predict_proba"):
        yield Progress("Scoring", 0.9, f"Choosing how sure the model must be to say '{rare.label}'")
        threshold = call(lambda: choose_threshold(estimator, rare.label, xt_train, y_train, xt_val, y_val,
                                                  request.held_out))
        if threshold is not None:
            estimator = with_threshold(estimator, rare.label, threshold.value)
        _check_stop(should_stop)

    yield Progress("Scoring", 0.95, "Scoring on the validation and test rows")
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("prep", transformer), ("model", estimator)])
    classes = tuple(str(c) for c in getattr(estimator, "classes_", ()))
    class_array = np.asarray(classes, dtype=object) if classes else None
    validation = None
    if xt_val is not None:
        # On the fitting thread: OpenMP thread pools belong to the thread that starts them, and a thread that has
        # used one slows every later OpenMP fit on another thread (gradient boosting fitted 1.6x slower).
        val_output = call(lambda: predict_part(estimator, request.task, xt_val))
        validation = score_part("validation", request.task, y_val, *val_output, class_array, y_train)
    test_output = call(lambda: predict_part(estimator, request.task, xt_test))
    test = score_part("test", request.task, y_test, *test_output, class_array, y_train)
    chosen = (rare.label, threshold.value) if rare is not None and threshold is not None else None
    details, rows = yield from describe_training(request, pipeline, partial(pipeline_for, request, spec, params,
                                                                            chosen, codes),
                                                 frame, y, parts, x_train, y_train, xt_train, test_output,
                                                 should_stop, call)
    if threshold is not None and details is not None and details.classification is not None:
        details = replace(details, classification=replace(details.classification,
                                                          decision_threshold=threshold.value))
    yield Progress("Done", 1.0, "Training finished")
    return TrainResult(
        pipeline=pipeline, task=request.task, target=request.target, model_key=spec.key, params=params,
        feature_columns=input_feature_columns(request.prep, request.target),
        classes=classes, validation=validation, test=test, history=tuple(history),
        split_sizes=(len(parts.train), len(parts.validation), len(parts.test)), dropped_rows=dropped,
        duration_s=time.perf_counter() - started, fingerprint=request.fingerprint(),
        source_path=request.source_path, read_options=request.read_options, split_note=parts.note,
        details=details, rows=rows, decision_note=imbalance_words(params, rare, threshold), choice_note=choice_note,
    )


@dataclass(frozen=True)
class ChosenThreshold:
    value: float
    where: str  # the rows it was chosen on, in words


def choose_threshold(estimator: Any, positive: str, xt_train: Any, y_train: np.ndarray, xt_val: Any,
                     y_val: np.ndarray, held_out: HeldOutProbabilities | None = None) -> ChosenThreshold | None:
    """The decision threshold for the best macro F1: on the validation rows, or when there are none (a fixed
    split) on ``held_out`` probabilities the caller has (a search's), or on out-of-fold probabilities of the
    training rows. None when there are too few rare rows to choose on (the model then keeps its own 50%)."""
    classes = tuple(str(c) for c in estimator.classes_)
    if xt_val is not None and len(np.unique(y_val)) == 2:
        proba, truth, where = estimator.predict_proba(xt_val), y_val, "the validation rows"
    elif held_out is not None and held_out.classes == classes and len(np.unique(held_out.truth)) == 2:
        proba, truth, where = held_out.probabilities, held_out.truth, held_out.where
    else:
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        # Every fold's training part needs both classes: no more folds than rare rows.
        folds = min(THRESHOLD_FOLDS, int((np.asarray(y_train).astype(str) == positive).sum()))
        if folds < 2:
            return None
        try:
            proba = cross_val_predict(clone(estimator), xt_train, y_train, method="predict_proba",
                                      cv=StratifiedKFold(folds, shuffle=True, random_state=0))
        except ValueError:  # a fold the model cannot learn from (too few rows of a class)
            return None
        truth, where = y_train, f"the training rows, each scored by a model that did not learn from it " \
                                f"({folds} folds)"
    value, _score = best_threshold_for(estimator.classes_, positive, truth, proba)
    return ChosenThreshold(value, where)


def imbalance_words(params: dict[str, ParamValue], rare: RareClass | None,
                    threshold: ChosenThreshold | None) -> str:
    """What Studio did about a rare class, in words ("" when no class is rare)."""
    if rare is None:
        return ""
    parts = [f"'{rare.label}' is only {rare.share:.1%} of the training rows."]
    if params.get(BALANCE_PARAM):
        parts.append("The classes were weighed so the model pays as much attention to it as to the others.")
    if threshold is not None:
        parts.append(threshold_words(rare.label, threshold.value, threshold.where))
    return " ".join(parts)


def pipeline_for(request: TrainRequest, spec: ModelSpec, params: dict[str, ParamValue],
                 threshold: tuple[str, float] | None = None, codes: list[int] | None = None) -> Any:
    """An unfitted pipeline with the run's settings (and its decision threshold: positive class, value; and where
    its category codes are, when it takes codes), for cross-validation and the learning curve."""
    from sklearn.pipeline import Pipeline

    from studio.core.prep.build import build_transformer

    model = with_codes(spec, spec.make_estimator(request.task, params), codes or [])
    if threshold is not None:
        from sklearn.model_selection import FixedThresholdClassifier

        # Cross-validation and the learning curve score the model as it predicts: at the run's threshold.
        model = FixedThresholdClassifier(model, threshold=threshold[1], pos_label=threshold[0],
                                         response_method="predict_proba")
    return Pipeline([("prep", build_transformer(request.prep, request.target, category_codes=bool(codes))),
                     ("model", model)])
