"""Training on pictures: the same generator contract as tables (Progress items, a TrainResult, cancel), with the
steps pictures need. Near copies stay on one side of the split; every picture is read once, at the network's
size, into memory; a pretrained network's weights download first when they are not here yet.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.common.errors import DataError
from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck
from studio.core.data.images import IMAGE_COLUMN
from studio.core.evaluate.metrics import predict_part, score_part
from studio.core.evaluate.result_details import describe_training
from studio.core.models.params import ParamValue
from studio.core.models.spec import Growth, ModelSpec
from studio.core.prep.images import ImageTraining
from studio.core.train.splits import SplitIndices

if TYPE_CHECKING:
    from studio.core.train.request import TrainRequest, TrainResult

CASES_KEPT = 2_000  # test pictures remembered with their predictions, for the Results galleries


@dataclass(frozen=True)
class ImageCase:
    """One test picture as the Results galleries show it."""

    path: str
    true: str
    predicted: str
    confidence: float  # the probability of the predicted class
    margin: float  # how far the predicted class is ahead of the runner-up: small means unsure


def keep_groups_together(parts: SplitIndices, groups: tuple[tuple[int, ...], ...]) -> SplitIndices:
    """Each group of near copies moved to the part that holds most of it (training on a tie): a picture must
    not be tested on when its near twin was learned from."""
    if not groups:
        return parts
    where = np.full(max((int(r) for g in groups for r in g), default=-1) + 1, -1, dtype=np.int64)
    for name, rows in enumerate((parts.train, parts.validation, parts.test)):
        inside = rows[rows < len(where)]
        where[inside] = name
    move: dict[int, int] = {}
    for group in groups:
        sides = [int(where[r]) for r in group if where[r] >= 0]
        if len(set(sides)) <= 1:
            continue
        counts = np.bincount(sides, minlength=3)
        chosen = int(np.argmax(counts)) if counts.max() > counts.sum() / 2 else 0
        for row in group:
            move[int(row)] = chosen
    if not move:
        return parts
    new: list[list[int]] = [[], [], []]
    for name, rows in enumerate((parts.train, parts.validation, parts.test)):
        for row in rows.tolist():
            new[move.get(row, name)].append(row)
    moved = sum(1 for row, side in move.items() if where[row] != side)
    note = (parts.note + " " if parts.note else "") + \
        f"{moved} near-copy picture{'s' if moved != 1 else ''} moved so each group sits on one side of the split."
    return SplitIndices(np.sort(np.asarray(new[0], dtype=np.int64)), np.sort(np.asarray(new[1], dtype=np.int64)),
                        np.sort(np.asarray(new[2], dtype=np.int64)), parts.stratified, note)


def train_images(request: TrainRequest, spec: ModelSpec, params: dict[str, ParamValue], should_stop: StopCheck,
                 call: InterruptibleCaller, started: float) -> Generator[Progress, None, TrainResult]:
    from sklearn.pipeline import Pipeline

    from studio.core.train.fitting import _check_stop, fit_style, usable_split
    from studio.core.train.request import TrainResult

    training = request.prep
    assert isinstance(training, ImageTraining)
    yield Progress("Preparing data", 0.0, "Splitting the pictures")
    frame, y, dropped, parts = usable_split(request)
    if request.fixed_split is None:
        parts = keep_groups_together(parts, training.near_groups)
    if len(np.unique(y[parts.train])) < 2:
        raise DataError("The training pictures hold a single class, so there is nothing to tell apart. Add "
                        "pictures or change the split.")
    estimator = spec.make_estimator(request.task, params)
    if "augmentation" in estimator.get_params():
        from studio.core.models.torch.image_estimator import augmentation_text

        estimator.set_params(augmentation=augmentation_text(training.prep) if training.prep.augments else "")
    if spec.pretrained and not str(params.get("weights_file") or ""):
        from studio.core.models.torch.weights import download_weights

        yield from download_weights(str(params.get("backbone")), should_stop)
    reader = training.reader()
    total = len(frame)
    yield Progress("Reading pictures", 0.02, f"Reading {total:,} pictures at {training.size} × {training.size} "
                                             "pixels")
    x_train, y_train = frame.iloc[parts.train], y[parts.train]
    x_val, y_val = frame.iloc[parts.validation], y[parts.validation]
    x_test, y_test = frame.iloc[parts.test], y[parts.test]
    xt_train = call(lambda: reader.fit_transform(x_train))
    _check_stop(should_stop)
    xt_val = call(lambda: reader.transform(x_val)) if len(x_val) else None
    xt_test = call(lambda: reader.transform(x_test))
    megabytes = (xt_train.nbytes + xt_test.nbytes + (xt_val.nbytes if xt_val is not None else 0)) / 1e6
    yield Progress("Preparing data", 0.1, f"{total:,} pictures read into memory ({megabytes:,.0f} MB)")
    _check_stop(should_stop)

    history: list[Any] = []
    fit = fit_style(spec.growth if spec.growth is Growth.EPOCHS else Growth.NONE)
    yield from fit(spec, estimator, xt_train, y_train, xt_val, y_val, history, should_stop, call)
    _check_stop(should_stop)

    yield Progress("Scoring", 0.95, "Scoring on the validation and test pictures")
    pipeline = Pipeline([("prep", reader), ("model", estimator)])
    classes = tuple(str(c) for c in estimator.classes_)
    class_array = np.asarray(classes, dtype=object)
    validation = None
    if xt_val is not None:
        val_output = call(lambda: predict_part(estimator, request.task, xt_val))
        validation = score_part("validation", request.task, y_val, *val_output, class_array, y_train)
    test_output = call(lambda: predict_part(estimator, request.task, xt_test))
    test = score_part("test", request.task, y_test, *test_output, class_array, y_train)
    cases = image_cases(list(x_test[IMAGE_COLUMN]), y_test, *test_output)
    no_cv = _without_cross_validation(request)
    details, rows = yield from describe_training(no_cv, pipeline, partial(_unfitted, request, spec, params),
                                                 frame, y, parts, x_train, y_train, xt_train, test_output,
                                                 should_stop, call)
    yield Progress("Done", 1.0, "Training finished")
    return TrainResult(
        pipeline=pipeline, task=request.task, target=request.target, model_key=spec.key, params=params,
        feature_columns=((IMAGE_COLUMN, "image", "read as pixels"),), classes=classes, validation=validation,
        test=test, history=tuple(history), split_sizes=(len(parts.train), len(parts.validation), len(parts.test)),
        dropped_rows=dropped, duration_s=time.perf_counter() - started, fingerprint=request.fingerprint(),
        source_path=request.source_path, split_note=parts.note, details=details, rows=rows,
        image_cases=cases,
    )


def _without_cross_validation(request: TrainRequest) -> TrainRequest:
    """Cross-validating a picture network trains it again per fold: far too slow to do unasked in the
    background, so picture runs are scored on their held-out parts only."""
    from dataclasses import replace

    if request.split.cv_folds < 2:
        return request
    return replace(request, split=replace(request.split, cv_folds=0))


def _unfitted(request: TrainRequest, spec: ModelSpec, params: dict[str, ParamValue]) -> Any:
    from sklearn.pipeline import Pipeline

    training = request.prep
    assert isinstance(training, ImageTraining)
    estimator = spec.make_estimator(request.task, params)
    return Pipeline([("prep", training.reader()), ("model", estimator)])


def image_cases(paths: list[str], truth: np.ndarray, predictions: np.ndarray,
                proba: np.ndarray | None) -> tuple[ImageCase, ...]:
    if proba is None or not len(paths):
        return ()
    ordered = np.sort(proba, axis=1)
    confidence = ordered[:, -1]
    margin = ordered[:, -1] - (ordered[:, -2] if proba.shape[1] > 1 else 0.0)
    cases = [ImageCase(str(p), str(t), str(pred), float(c), float(m))
             for p, t, pred, c, m in zip(paths, truth, predictions, confidence, margin, strict=True)]
    return tuple(cases[:CASES_KEPT])


def mistakes(cases: tuple[ImageCase, ...]) -> list[ImageCase]:
    """The test pictures the model got wrong, most confident first (the most telling mistakes)."""
    return sorted((c for c in cases if c.true != c.predicted), key=lambda c: -c.confidence)


def most_uncertain(cases: tuple[ImageCase, ...], count: int = 48) -> list[ImageCase]:
    """The test pictures the model was least sure about (its top two classes closest)."""
    return sorted(cases, key=lambda c: c.margin)[:count]
