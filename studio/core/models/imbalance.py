"""Rare classes handled by default: for two classes, a decision threshold chosen for the balance of both (macro
F1) instead of 0.5; for more classes, the classes weighed where the model allows.

With one class at 4.5% of the rows, a model fitted the usual way almost never names it: every row called
"common" is right 95% of the time. Moving the threshold makes the model find the rare class, which is what people
look for (fraud, churn, a crash). The threshold travels inside the saved model as scikit-learn's
``FixedThresholdClassifier``, so the window, the CLI, serving and ONNX all predict with it.

Two classes are not also weighed by default: on four real rare-class tables (diamonds' Fair cut, J colour and
I1 clarity, mpg's rear-wheel drive) the threshold alone lifted macro F1 by 0 to 0.08; weighing as well changed
gradient boosting and logistic regression by under 0.01 either way and made the random forest worse on every one
(up to 0.04). With more than two classes there is no single threshold to move, so weighing is what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.models.params import ParamValue
from studio.core.models.spec import ModelSpec

# A class under this share of the rows counts as rare: below it, the plain 0.5 threshold rarely names it.
RARE_SHARE = 0.2
BALANCE_PARAM = "balanced"
# Thresholds tried between 1% and 99%: finer steps only fit the validation rows' noise.
THRESHOLD_STEPS = 99
# Out-of-fold probabilities stand in for validation rows when a run has none (a fixed split from the CLI).
THRESHOLD_FOLDS = 3


@dataclass(frozen=True)
class RareClass:
    label: str
    share: float


def rare_class(counts: dict[str, int]) -> RareClass | None:
    """The rarest class when one is under RARE_SHARE of the rows; None for balanced classes."""
    total = sum(counts.values())
    if total == 0 or len(counts) < 2:
        return None
    label, count = min(counts.items(), key=lambda item: (item[1], str(item[0])))
    share = count / total
    return RareClass(str(label), share) if share < RARE_SHARE else None


def class_counts(y: Any) -> dict[str, int]:
    labels, counts = np.unique(np.asarray(y).astype(str), return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts, strict=True)}


def weighs_classes(spec: ModelSpec) -> bool:
    return any(p.name == BALANCE_PARAM for p in spec.params)


def with_default_weights(spec: ModelSpec, params: dict[str, ParamValue],
                         counts: dict[str, int]) -> dict[str, ParamValue]:
    """``params`` with the classes weighed when one of more than two is rare and the person has not said
    otherwise (two classes get a threshold instead)."""
    if BALANCE_PARAM in params or not weighs_classes(spec) or len(counts) < 3 or rare_class(counts) is None:
        return params
    return {**params, BALANCE_PARAM: True}


def best_threshold(is_positive: np.ndarray, positive_scores: np.ndarray) -> tuple[float, float]:
    """The threshold on the positive class's probability that gives the best macro F1, and that F1.

    Ties go to the threshold nearest 0.5, the model's own."""
    truth = np.asarray(is_positive, dtype=bool)
    scores = np.asarray(positive_scores, dtype=float)
    thresholds = np.linspace(0.01, 0.99, THRESHOLD_STEPS)
    called = scores[None, :] >= thresholds[:, None]
    true_pos = (called & truth).sum(axis=1)
    false_pos = (called & ~truth).sum(axis=1)
    false_neg = (~called & truth).sum(axis=1)
    true_neg = (~called & ~truth).sum(axis=1)
    f1_pos = _f1(true_pos, false_pos, false_neg)
    f1_neg = _f1(true_neg, false_neg, false_pos)
    macro = (f1_pos + f1_neg) / 2
    best = np.flatnonzero(np.isclose(macro, macro.max()))
    chosen = best[np.argmin(np.abs(thresholds[best] - 0.5))]
    return float(round(thresholds[chosen], 2)), float(macro[chosen])


def class_index(classes: Any, label: str) -> int:
    """The column of ``label`` in a model's ``classes_`` (and so in its probabilities)."""
    return int(np.flatnonzero(np.asarray(classes).astype(str) == str(label))[0])


def best_threshold_for(classes: Any, positive: str, truth: Any, proba: np.ndarray) -> tuple[float, float]:
    """``best_threshold`` from a model's class probabilities (columns in ``classes`` order) and the true labels."""
    return best_threshold(np.asarray(truth).astype(str) == positive, proba[:, class_index(classes, positive)])


def _f1(hits: np.ndarray, false_alarms: np.ndarray, misses: np.ndarray) -> np.ndarray:
    denominator = 2 * hits + false_alarms + misses
    return np.divide(2 * hits, denominator, out=np.zeros(len(hits)), where=denominator > 0)


def with_threshold(model: Any, positive: str, threshold: float) -> Any:
    """A fitted two-class model that names ``positive`` from ``threshold`` of its probability on."""
    from sklearn.model_selection import FixedThresholdClassifier

    label = next(c for c in model.classes_ if str(c) == positive)
    wrapped = FixedThresholdClassifier(model, threshold=float(threshold), pos_label=label,
                                       response_method="predict_proba")
    # What its fit would have made, without fitting the model a second time (a Pipeline asks whether its last
    # step is fitted before it predicts).
    wrapped.estimator_ = model
    return wrapped


def decision_threshold(model: Any) -> tuple[str, float] | None:
    """The positive class and threshold a saved model predicts with; None when it takes the likeliest class."""
    from sklearn.model_selection import FixedThresholdClassifier

    if hasattr(model, "steps"):  # a whole Pipeline: its model is the last step
        model = model.steps[-1][1]
    if isinstance(model, FixedThresholdClassifier):
        return str(model.pos_label), float(model.threshold)
    return None


def inner_model(model: Any) -> Any:
    """The fitted model under a threshold (what the importances, ONNX and the curves look at)."""
    return model.estimator_ if decision_threshold(model) is not None else model


def labels_from_probabilities(model: Any, proba: np.ndarray) -> np.ndarray:
    """The classes a model predicts, read from its probabilities: the likeliest class, or the positive one from
    the model's threshold on."""
    classes = np.asarray(model.classes_)
    found = decision_threshold(model)
    if found is None:
        return classes[np.argmax(proba, axis=1)]
    positive, threshold = found
    index = class_index(classes, positive)
    return np.where(proba[:, index] >= threshold, classes[index], classes[1 - index])


def threshold_words(positive: str, threshold: float, where: str) -> str:
    return (f"The model says '{positive}' from {threshold:.0%} sure on (not 50%): on {where} that gave the best "
            "balance between finding the rare class and false alarms (macro F1).")
