"""What the Results step draws: confusion matrix, ROC and precision-recall curves, per-class scores, regression
residuals, class imbalance, and the decision threshold for two classes.

Everything here is plain, JSON-friendly data (tuples of numbers and strings), so a run can be stored and shown again
later without the model or the data. Curves are thinned to a few hundred points; areas use every point.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np

from studio.core.common.words import percent, plural
from studio.core.data.target import Task
from studio.core.evaluate.metrics import Scores, plain_summary

MAX_CURVE_POINTS = 200
MAX_SCATTER_POINTS = 2_000
MAX_THRESHOLD_ROWS = 5_000
HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class Curve:
    """One ROC or precision-recall curve (one class against the rest) and the area under it."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    area: float


@dataclass(frozen=True)
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Imbalance:
    """How the classes are shared among the training rows, largest first."""

    shares: tuple[tuple[str, float], ...]
    imbalanced: bool

    @property
    def smallest(self) -> tuple[str, float]:
        return self.shares[-1]

    @property
    def largest(self) -> tuple[str, float]:
        return self.shares[0]


@dataclass(frozen=True)
class ClassificationDetails:
    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: true class, columns: predicted class
    per_class: tuple[ClassMetrics, ...]
    roc: tuple[Curve, ...]
    pr: tuple[Curve, ...]
    imbalance: Imbalance
    # Two classes only: the positive class's probability and whether each test row is positive (the slider's data).
    positive_scores: tuple[float, ...] = ()
    positive_truth: tuple[bool, ...] = ()
    # Two classes: the class the slider and the curves are about, the rarer one (what people look for: fraud,
    # churn, disease), or the second when both are equally common.
    positive_index: int = 1
    # The positive class's probability from which the saved model names it (models.imbalance): the slider's start.
    decision_threshold: float = 0.5

    @property
    def positive_class(self) -> str | None:
        return self.classes[self.positive_index] if len(self.classes) == 2 and self.positive_scores else None

    @property
    def negative_class(self) -> str:
        return self.classes[1 - self.positive_index] if len(self.classes) == 2 else ""

    @cached_property
    def row_normalised(self) -> np.ndarray:
        """The confusion matrix with each true class's row as shares of it (what the matrix's colours show)."""
        return row_shares(self.confusion)

    def never_predicted(self) -> list[tuple[str, int]]:
        """Classes present among the test rows that the model never names, with how many rows it missed."""
        counts = np.asarray(self.confusion)
        return [(label, int(counts[i].sum())) for i, label in enumerate(self.classes)
                if counts[i].sum() > 0 and counts[:, i].sum() == 0]


@dataclass(frozen=True)
class RegressionDetails:
    actual: tuple[float, ...]  # a sample of the test rows, for the scatter plots
    predicted: tuple[float, ...]
    residual_edges: tuple[float, ...]  # histogram of every test row's residual (actual - predicted)
    residual_counts: tuple[int, ...]
    typical_error: float  # mean absolute error, in the target's units


@dataclass(frozen=True)
class ThresholdScores:
    threshold: float
    confusion: tuple[tuple[int, int], tuple[int, int]]
    metrics: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float:
        return dict(self.metrics)[name]


# -- computing ------------------------------------------------------------------------------------------------
def classification_details(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                           classes: np.ndarray, y_train: np.ndarray, seed: int = 0) -> ClassificationDetails:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = [str(c) for c in classes]
    truth = np.asarray(y_true).astype(str)
    predicted = np.asarray(y_pred).astype(str)
    confusion = confusion_matrix(truth, predicted, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                                     zero_division=0)
    per_class = tuple(ClassMetrics(label, float(p), float(r), float(f), int(s))
                      for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True))
    roc: list[Curve] = []
    pr: list[Curve] = []
    positive_scores: tuple[float, ...] = ()
    positive_truth: tuple[bool, ...] = ()
    imbalance = detect_imbalance(y_train)
    positive = positive_index(labels, imbalance)
    if proba is not None:
        # Two classes: one curve, for the positive class (against the other); more: one per class against the rest.
        curve_classes = [positive] if len(labels) == 2 else range(len(labels))
        for index in curve_classes:
            is_class = truth == labels[index]
            if 0 < is_class.sum() < len(is_class):
                roc.append(roc_curve_of(labels[index], is_class, proba[:, index]))
                pr.append(pr_curve_of(labels[index], is_class, proba[:, index]))
        if len(labels) == 2:
            rows = _sample_rows(len(truth), MAX_THRESHOLD_ROWS, seed)
            positive_scores = tuple(float(v) for v in proba[rows, positive])
            positive_truth = tuple(bool(v) for v in truth[rows] == labels[positive])
    return ClassificationDetails(tuple(labels), tuple(tuple(int(v) for v in row) for row in confusion), per_class,
                                 tuple(roc), tuple(pr), imbalance, positive_scores, positive_truth, positive)


def positive_index(labels: list[str], imbalance: Imbalance) -> int:
    shares = dict(imbalance.shares)
    if len(labels) != 2 or shares.get(labels[0], 0.0) == shares.get(labels[1], 0.0):
        return 1
    return 0 if shares.get(labels[0], 0.0) < shares.get(labels[1], 0.0) else 1


def roc_curve_of(label: str, is_class: np.ndarray, scores: np.ndarray) -> Curve:
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(is_class, scores)
    return Curve(label, *_thin(fpr, tpr), float(roc_auc_score(is_class, scores)))


def pr_curve_of(label: str, is_class: np.ndarray, scores: np.ndarray) -> Curve:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(is_class, scores)
    return Curve(label, *_thin(recall, precision), float(average_precision_score(is_class, scores)))


def row_shares(counts: Any) -> np.ndarray:
    """A confusion matrix's rows as shares of their true class (a row without rows stays zero)."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def detect_imbalance(y_train: np.ndarray) -> Imbalance:
    """The imbalance of the training rows' classes (see ``imbalance_of_counts``)."""
    values, counts = np.unique(np.asarray(y_train).astype(str), return_counts=True)
    return imbalance_of_counts(tuple((str(value), int(count)) for value, count in zip(values, counts, strict=True)))


def imbalance_of_counts(class_counts: tuple[tuple[str, int], ...]) -> Imbalance:
    """Imbalanced when the rarest class has less than half of its fair share (under 25% of rows for two classes).

    From counts, so a TargetSummary's (before any split) and the training rows' are judged alike; ties keep the
    order given."""
    total = sum(count for _, count in class_counts) or 1
    shares = tuple(sorted(((str(name), count / total) for name, count in class_counts), key=lambda kv: -kv[1]))
    return Imbalance(shares, len(shares) >= 2 and shares[-1][1] < 0.5 / len(shares))


def balance_hint(class_counts: tuple[tuple[str, int], ...], model_label: str, can_balance: bool,
                 balanced: bool) -> str:
    """What the Model step says about class weighting when the target's classes are imbalanced ('' if they are not)."""
    imbalance = imbalance_of_counts(class_counts)
    if not imbalance.imbalanced:
        return ""
    rare, share = imbalance.smallest
    text = f"Only {share:.0%} of the rows are '{rare}'. "
    if balanced:
        return text + "'Balance classes' is on: rare classes count as much as common ones while training."
    if can_balance:
        return text + ("Tick 'Balance classes' below so the model pays as much attention to rare classes as to "
                       "common ones; otherwise it may learn to ignore them.")
    return text + (f"{model_label} cannot weigh classes; logistic regression, trees, forests, gradient boosting "
                   "and support vector machines can ('Balance classes').")


def regression_details(y_true: np.ndarray, y_pred: np.ndarray, seed: int = 0) -> RegressionDetails:
    actual = np.asarray(y_true, dtype=float)
    predicted = np.asarray(y_pred, dtype=float)
    residuals = actual - predicted
    counts, edges = np.histogram(residuals, bins=min(HISTOGRAM_BINS, max(len(residuals), 1)))
    rows = _sample_rows(len(actual), MAX_SCATTER_POINTS, seed)
    return RegressionDetails(tuple(float(v) for v in actual[rows]), tuple(float(v) for v in predicted[rows]),
                             tuple(float(v) for v in edges), tuple(int(v) for v in counts),
                             float(np.mean(np.abs(residuals))) if len(residuals) else math.nan)


def threshold_scores(details: ClassificationDetails, threshold: float) -> ThresholdScores:
    """The two-class confusion matrix and metrics when rows scoring at least ``threshold`` are called positive."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    truth = np.asarray(details.positive_truth, dtype=bool)
    called = np.asarray(details.positive_scores, dtype=float) >= threshold
    matrix = confusion_matrix(truth, called, labels=[False, True])
    metrics = {
        "accuracy": accuracy_score(truth, called),
        "balanced_accuracy": balanced_accuracy_score(truth, called) if len(set(truth)) > 1 else math.nan,
        "precision": precision_score(truth, called, zero_division=0),
        "recall": recall_score(truth, called, zero_division=0),
        "f1": f1_score(truth, called, zero_division=0),
    }
    return ThresholdScores(threshold, ((int(matrix[0, 0]), int(matrix[0, 1])), (int(matrix[1, 0]),
                                                                                 int(matrix[1, 1]))),
                           tuple((k, float(v)) for k, v in metrics.items()))


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if len(x) > MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_CURVE_POINTS).round().astype(int))
        x, y = x[keep], y[keep]
    return tuple(float(v) for v in x), tuple(float(v) for v in y)


def _sample_rows(rows: int, limit: int, seed: int) -> np.ndarray:
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


# -- words ------------------------------------------------------------------------------------------------------
def lead_metrics(task: Task, imbalanced: bool) -> tuple[str, ...]:
    """The measures to show first: with imbalanced classes accuracy misleads, so it goes last."""
    if task is Task.REGRESSION:
        return ("mae", "rmse", "r2")
    if imbalanced:
        return ("balanced_accuracy", "f1_macro", "recall_macro", "precision_macro", "roc_auc", "accuracy")
    return ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc")


def imbalance_text(imbalance: Imbalance, target: str) -> str:
    if not imbalance.imbalanced:
        return ""
    (common, common_share), (rare, rare_share) = imbalance.largest, imbalance.smallest
    return (f"The classes of {target} are imbalanced: only {rare_share:.0%} of the training rows are '{rare}', "
            f"while {common_share:.0%} are '{common}'. Accuracy misleads here (always guessing '{common}' already "
            "scores high), so Studio leads with balanced accuracy and macro F1, which count every class equally. "
            "'Balance classes' in the Model step makes rare classes count more during training.")


def result_summary(task: Task, scores: Scores, target: str, details: ClassificationDetails | None,
                   unit: str = "rows") -> str:
    """The Results step's first sentences; calls out a model that ignores a rare class."""
    if task is Task.REGRESSION or details is None:
        return plain_summary(task, scores, target, unit)
    missed = details.never_predicted()
    balanced = scores.get("balanced_accuracy") or 0.0
    f1 = scores.get("f1_macro") or 0.0
    accuracy = scores.get("accuracy") or 0.0
    if details.imbalance.imbalanced:
        text = (f"On {plural(scores.rows, unit.removesuffix('s'), unit)} it never saw, averaged over the classes the "
                f"model was right {percent(balanced, 0)} of the time (balanced accuracy; guessing gives "
                f"{percent(scores.baseline_of('balanced_accuracy') or 0, 0)}), with a macro F1 of {percent(f1)}.")
    else:
        text = plain_summary(task, scores, target, unit)
    if missed:
        names = ", ".join(f"'{label}'" for label, _ in missed)
        rows = sum(count for _, count in missed)
        text += (f" Warning: the model never predicts {names}, so it missed "
                 + ("the one such test " + unit.removesuffix("s") if rows == 1 else
                    f"all {plural(rows, 'test ' + unit.removesuffix('s'), 'test ' + unit)}") + ".")
        if accuracy >= (scores.baseline_of("accuracy") or 0.0) - 1e-9:
            text += (f" Its {percent(accuracy, 0)} accuracy only reflects how common the other class"
                     f"{'es are' if len(details.classes) > 2 else ' is'}: it is no better than always guessing.")
        text += (" Try 'Balance classes' in the Model step, or another model." if unit == "rows" else
                 " Train for more epochs, add pictures of that class, or try another model.")
    return text


# -- storage ----------------------------------------------------------------------------------------------------
def to_plain(value: Any) -> Any:
    """A dataclass as JSON-friendly dicts and lists: text keys, NaN and infinity kept as None."""
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(math.nan if v is None else float(v) for v in values or ())


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def classification_from_plain(raw: dict[str, Any]) -> ClassificationDetails:
    def curve(c: dict[str, Any]) -> Curve:
        return Curve(str(c["label"]), _floats(c["x"]), _floats(c["y"]), _nan(c["area"]))

    imbalance = raw["imbalance"]
    return ClassificationDetails(
        classes=tuple(str(c) for c in raw["classes"]),
        confusion=tuple(tuple(int(v) for v in row) for row in raw["confusion"]),
        per_class=tuple(ClassMetrics(str(m["label"]), _nan(m["precision"]), _nan(m["recall"]), _nan(m["f1"]),
                                     int(m["support"])) for m in raw["per_class"]),
        roc=tuple(curve(c) for c in raw["roc"]), pr=tuple(curve(c) for c in raw["pr"]),
        imbalance=Imbalance(tuple((str(k), float(v)) for k, v in imbalance["shares"]),
                            bool(imbalance["imbalanced"])),
        positive_scores=_floats(raw.get("positive_scores")),
        positive_truth=tuple(bool(v) for v in raw.get("positive_truth") or ()),
        positive_index=int(raw.get("positive_index", 1)),
        decision_threshold=float(raw.get("decision_threshold", 0.5)),
    )


def regression_from_plain(raw: dict[str, Any]) -> RegressionDetails:
    return RegressionDetails(_floats(raw["actual"]), _floats(raw["predicted"]), _floats(raw["residual_edges"]),
                             tuple(int(v) for v in raw["residual_counts"]), _nan(raw["typical_error"]))
