"""Is the model overfitting, underfitting or fine? Rules on the train and validation scores, told in words with
concrete things to try, and a learning curve (score against training-set size) computed as a generator."""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, StudioError
from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck
from studio.core.common.words import percent
from studio.core.data.target import Task
from studio.core.models.registry import get_model

# Skill is the score rescaled so that the naive baseline is 0 and perfect is 1 (for regression R² already is).
OVERFIT_GAP = 0.15
UNDERFIT_SKILL = 0.3
NO_SKILL = 0.05
LEARNING_CURVE_SIZES = (0.1, 0.25, 0.5, 0.75, 1.0)


class Verdict(StrEnum):
    OVERFITTING = "overfitting"
    UNDERFITTING = "underfitting"
    FINE = "fine"


@dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    headline: str
    explanation: str
    suggestions: tuple[str, ...]


def diagnosis_metric(task: Task, imbalanced: bool) -> str:
    if task is Task.REGRESSION:
        return "r2"
    return "balanced_accuracy" if imbalanced else "accuracy"


def skill(task: Task, score: float, baseline: float) -> float:
    if task is Task.REGRESSION:
        return score
    return (score - baseline) / (1.0 - baseline) if baseline < 1.0 else 0.0


def _tips_of(model_key: str) -> tuple[str, str]:
    """The family's own first tips against overfitting and underfitting ("" where it has none)."""
    try:
        spec = get_model(model_key)
    except StudioError:
        return "", ""  # a model this Studio no longer has
    return spec.overfit_tip, spec.underfit_tip


def _learns_pictures(model_key: str) -> bool:
    from studio.core.data.kinds import DataKind

    try:
        return get_model(model_key).input_kinds == (DataKind.IMAGES,)
    except StudioError:
        return False


def _overfit_tips(model_key: str) -> tuple[str, ...]:
    first = _tips_of(model_key)[0] or "Choose simpler settings for the model."
    if _learns_pictures(model_key):
        return (first, "Add more pictures of each class if you can: more examples make memorising harder than "
                "learning.", "Check that the classes differ in what matters, not in background, lighting or "
                "camera: a model learns whatever tells the folders apart.")
    return (first, "Add more rows if you can: more examples make memorising harder than learning.",
            "Leave out columns that cannot be known in advance or that identify single rows.")


def _underfit_tips(model_key: str) -> tuple[str, ...]:
    first = _tips_of(model_key)[1] or "Raise 'Flexibility' or try gradient boosting or a random forest."
    if _learns_pictures(model_key):
        return (first, "Check that the pictures are in the right class folders.",
                "Use a larger picture size in the Prepare step, so the details that tell the classes apart stay "
                "visible.")
    return (first, "Check in the Prepare step that useful columns are not left out.",
            "Add columns that carry information about the target; the present ones may not say enough.")


def diagnose(task: Task, train: dict[str, float], validation: dict[str, float], baseline: dict[str, float],
             model_key: str, imbalanced: bool = False, part: str = "validation",
             cross_validated: bool = False) -> Diagnosis:
    """Compare the score on the training rows with the score on held-out rows (and the naive baseline)."""
    metric = diagnosis_metric(task, imbalanced)
    unit = "pictures" if _learns_pictures(model_key) else "rows"
    on_train, on_held = train.get(metric, math.nan), validation.get(metric, math.nan)
    base = baseline.get(metric, 0.0 if task is Task.REGRESSION else math.nan)
    if any(map(math.isnan, (on_train, on_held, base))):
        return Diagnosis(Verdict.FINE, f"Not enough held-out {unit} to judge.", "Studio needs scores on the "
                         f"training {unit} and on held-out {unit} to tell whether the model learns well.", ())
    train_skill, held_skill = skill(task, on_train, base), skill(task, on_held, base)
    name = {"r2": "R²", "accuracy": "accuracy", "balanced_accuracy": "balanced accuracy"}[metric]
    shown = partial(percent, digits=0)
    scores = f"{name} {shown(on_train)} on the training {unit}, {shown(on_held)} on the {part} {unit}"
    if train_skill - held_skill > OVERFIT_GAP and train_skill > UNDERFIT_SKILL:
        return Diagnosis(Verdict.OVERFITTING, f"The model is overfitting: it memorises the training {unit}.",
                         f"It does much better on {unit} it learned from than on new {unit} ({scores}). Part of what "
                         "it learned is noise that does not carry over.", _overfit_tips(model_key))
    if train_skill < UNDERFIT_SKILL or held_skill < NO_SKILL:
        return Diagnosis(Verdict.UNDERFITTING, "The model is underfitting: it has not found much to learn.",
                         f"It does poorly even on the {unit} it learned from ({scores}; always guessing gives "
                         f"{shown(base)}).", _underfit_tips(model_key))
    if unit == "pictures":
        return Diagnosis(Verdict.FINE, "The model learns well: it does about as well on new pictures as on the "
                         "pictures it learned from.", f"{scores[0].upper()}{scores[1:]}.",
                         ("Compare a few other models on the Runs page to see whether one does better.",
                          "Look at the Mistakes tab: the pictures it gets wrong show what confuses it.",
                          "More pictures usually still help a little."))
    return Diagnosis(Verdict.FINE, "The model learns well: it does about as well on new rows as on the rows it "
                     "learned from.", f"{scores[0].upper()}{scores[1:]}.",
                     ("Compare a few other models on the Runs page to see whether one does better.",
                      "Check the spread of the cross-validation folds below: a large spread means the score "
                      "depends on luck in which rows are held out." if cross_validated else
                      "Turn on cross-validation in the Split step to see how steady the score is.",
                      "More rows usually still help a little; the learning curve shows whether they would."))


@dataclass(frozen=True)
class LearningCurve:
    metric: str
    sizes: tuple[int, ...]
    train_scores: tuple[float, ...]
    validation_scores: tuple[float, ...]

    def still_improving(self) -> bool:
        """True when the last step in training-set size still raised the held-out score noticeably."""
        if len(self.validation_scores) < 2:
            return False
        return self.validation_scores[-1] - self.validation_scores[-2] > 0.01


def learning_curve(make_pipeline: Any, x_train: pd.DataFrame, y_train: np.ndarray, x_held: pd.DataFrame,
                   y_held: np.ndarray, metric: str, should_stop: StopCheck,
                   sizes: tuple[float, ...] = LEARNING_CURVE_SIZES, seed: int = 0,
                   ) -> Generator[Progress, None, LearningCurve]:
    """Train on growing shares of the training rows; score each on them and on the held-out rows."""
    from sklearn.metrics import get_scorer

    scorer = get_scorer(metric)
    order = np.random.default_rng(seed).permutation(len(y_train))
    counts, on_train, on_held = [], [], []
    with InterruptibleCaller(should_stop) as call:
        for number, share in enumerate(sizes):
            if should_stop():
                raise Cancelled()
            count = max(round(share * len(y_train)), 2)
            rows = np.sort(order[:count])
            if len(np.unique(y_train[rows].astype(str))) < 2 and metric != "r2":
                continue  # a tiny share may hold a single class; nothing can be learned from it
            yield Progress("Learning curve", number / len(sizes), f"Training on {count:,} rows")
            pipeline = make_pipeline()
            x_part, y_part = x_train.iloc[rows], y_train[rows]
            call(partial(pipeline.fit, x_part, y_part))
            counts.append(count)
            on_train.append(float(scorer(pipeline, x_part, y_part)))
            on_held.append(float(scorer(pipeline, x_held, y_held)))
    yield Progress("Learning curve", 1.0, "Done")
    return LearningCurve(metric, tuple(counts), tuple(on_train), tuple(on_held))
