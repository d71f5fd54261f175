"""An ensemble of the automatic search's best trials: which trials to average, and how the choice is written down.

``select_ensemble`` is greedy forward selection with replacement (Caruana et al., "Ensemble selection from
libraries of models", 2004; the method auto-sklearn uses): start empty, and in each round add the candidate whose
addition gives the best score of the averaged out-of-fold predictions; a candidate may be added again, which gives
it more weight. The averages are exactly what scikit-learn's VotingRegressor / VotingClassifier compute with the
same integer weights, so the cross-validated score of the selection is the score of the model that is trained.

The members are kept as one JSON text (the ensemble model's single setting), so an ensemble travels through the
Project, the run history and the model file like any other model's settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import reduce

import numpy as np

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.evaluate.metrics import HIGHER_IS_BETTER

# Two scores closer than this are a tie (sums of the same floats in another order differ in the last bits).
TIE = 1e-12



# -- scores ---------------------------------------------------------------------------------------------------------
def score_from_predictions(metric: str, task: Task, y: np.ndarray, predictions: np.ndarray,
                           classes: np.ndarray | None = None) -> float:
    """The metric of out-of-fold predictions, as ``pool.score_predictions`` scores a fitted model.

    Regression: ``predictions`` are numbers. Classification: class probabilities whose columns follow ``classes``
    (the predicted class is the most probable one, as a classifier's ``predict`` gives it), or the predicted
    labels themselves (a model without probabilities; ROC AUC then cannot be computed).
    """
    from sklearn import metrics

    predictions = np.asarray(predictions)
    if task is Task.REGRESSION:
        values = predictions.astype(float)
        if metric == "rmse":
            return float(math.sqrt(metrics.mean_squared_error(y, values)))
        if metric == "mae":
            return float(metrics.mean_absolute_error(y, values))
        if metric == "r2":
            return float(metrics.r2_score(y, values))
        raise StudioError(f"'{metric}' cannot judge regression; use rmse, mae or r2.")
    if classes is None:
        raise StudioError("Scoring class predictions needs the list of classes.")
    classes = np.asarray(classes)
    if metric == "roc_auc":
        if predictions.ndim != 2 or len(classes) != 2:
            raise StudioError("ROC AUC needs exactly two classes and a model that gives probabilities.")
        return float(metrics.roc_auc_score(np.asarray(y) == classes[1], predictions[:, 1]))
    truth, guessed = _codes(np.asarray(y), predictions, classes)
    if metric == "accuracy":
        return float(metrics.accuracy_score(truth, guessed))
    if metric == "balanced_accuracy":
        return float(metrics.balanced_accuracy_score(truth, guessed))
    if metric == "f1_macro":
        return float(metrics.f1_score(truth, guessed, average="macro", zero_division=0))
    raise StudioError(f"'{metric}' cannot judge classification; use accuracy, balanced_accuracy, f1_macro or "
                      "roc_auc.")


def _codes(y: np.ndarray, predictions: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted labels as whole numbers. The metrics give the same values (they only compare labels),
    and scikit-learn checks whole numbers many times faster than text, which matters when a selection scores
    hundreds of mixes."""
    names = classes.astype(str)
    truth_text = y.astype(str)
    if predictions.ndim == 2 and np.all(names[:-1] < names[1:]):
        truth = np.searchsorted(names, truth_text).clip(0, len(names) - 1)
        if np.array_equal(names[truth], truth_text):
            return truth, np.argmax(predictions, axis=1)  # the most probable class, as predict gives it
    predicted = names[np.argmax(predictions, axis=1)] if predictions.ndim == 2 else predictions.astype(str)
    known = np.unique(np.concatenate([names, truth_text, predicted]))
    return np.searchsorted(known, truth_text), np.searchsorted(known, predicted)


def mix_scorer(metric: str, task: Task, y: np.ndarray, classes: np.ndarray | None) -> Callable[[np.ndarray], float]:
    """``score_from_predictions`` for many mixes of the same rows: the true labels are coded once and the common
    measures are computed with numpy. scikit-learn's checks cost a millisecond or two a call, and a selection
    scores hundreds of mixes; a search that weighs its ensemble after each new trial spent a third of its
    budget there. The values are scikit-learn's (a test compares them)."""
    y = np.asarray(y)
    if task is Task.REGRESSION:
        truth = y.astype(float)
        if metric == "rmse":
            return lambda mixed: math.sqrt(float(np.mean((truth - mixed) ** 2)))
        if metric == "mae":
            return lambda mixed: float(np.mean(np.abs(truth - mixed)))
        if metric == "r2":
            spread = float(np.sum((truth - truth.mean()) ** 2))

            def r2(mixed: np.ndarray) -> float:
                residual = float(np.sum((truth - mixed) ** 2))
                if spread == 0.0:  # scikit-learn's finite answer for a constant target
                    return 1.0 if residual == 0.0 else 0.0
                return 1.0 - residual / spread

            return r2
    elif classes is not None:
        names = np.asarray(classes).astype(str)
        text = y.astype(str)
        codes = np.searchsorted(names, text).clip(0, max(0, len(names) - 1)) if len(names) else np.zeros(0, int)
        if len(names) and np.all(names[:-1] < names[1:]) and np.array_equal(names[codes], text):
            fast = _label_scorer(metric, codes, len(names))
            if fast is not None:
                return fast
    return lambda mixed: score_from_predictions(metric, task, y, mixed, classes)


def _label_scorer(metric: str, truth: np.ndarray, count: int) -> Callable[[np.ndarray], float] | None:
    """Scores of class probabilities (or vote counts), one column per class, against ``truth`` as column numbers."""
    true_counts = np.bincount(truth, minlength=count)
    if metric == "accuracy":
        return lambda mixed: float(np.mean(np.argmax(mixed, axis=1) == truth))
    if metric == "balanced_accuracy":
        present = true_counts > 0

        def balanced(mixed: np.ndarray) -> float:
            hits = np.bincount(truth[np.argmax(mixed, axis=1) == truth], minlength=count)
            return float(np.mean(hits[present] / true_counts[present]))

        return balanced
    if metric == "f1_macro":
        def f1(mixed: np.ndarray) -> float:
            guessed = np.argmax(mixed, axis=1)
            hits = np.bincount(truth[guessed == truth], minlength=count)
            guessed_counts = np.bincount(guessed, minlength=count)
            labels = (true_counts + guessed_counts) > 0  # the labels either side names, as scikit-learn takes
            scores = 2 * hits[labels] / (true_counts[labels] + guessed_counts[labels])
            return float(np.mean(scores))

        return f1
    return None


# -- selection ------------------------------------------------------------------------------------------------------
def select_ensemble(predictions: Sequence[np.ndarray], y: np.ndarray, metric: str, task: Task,
                    classes: np.ndarray | None = None, rounds: int = 25,
                    max_members: int = 5) -> tuple[tuple[int, ...], float]:
    """Integer weights per candidate (0: unused) and the weighted average's score with ``metric``.

    Ties go to a candidate already in the ensemble, then to the earlier candidate, and over the rounds to the
    earlier (smaller) ensemble, so the same inputs always give the same weights. At most ``max_members``
    candidates get a weight. The weights are divided by their greatest common divisor (2, 2 is 1, 1).
    """
    if not predictions:
        raise StudioError("There are no candidates to choose an ensemble from.")
    if rounds < 1 or max_members < 1:
        raise StudioError("An ensemble needs at least one round and one member.")
    y = np.asarray(y)
    averages, votes = _comparable_outputs(predictions, len(y), task, classes)
    usable = [index for index, (average, vote) in enumerate(zip(averages, votes, strict=True))
              if (average is not None or metric != "roc_auc")
              and np.all(np.isfinite(average if average is not None else _present(vote)))]
    if not usable:
        raise StudioError("No candidate gives predictions the ensemble's score can be computed from.")
    sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
    score_of = mix_scorer(metric, task, y, classes)
    weights = [0] * len(predictions)
    # Sums of the members' outputs: averaged while every member gives probabilities (or numbers), as soft voting
    # does; voted on labels once one gives labels only, as VotingClassifier then does.
    average_total: np.ndarray | float = 0.0
    vote_total: np.ndarray | float = 0.0
    all_average = True
    best_weights: tuple[int, ...] = tuple(weights)
    best_score = -math.inf
    for round_number in range(1, rounds + 1):
        members = {index for index, weight in enumerate(weights) if weight}
        allowed = usable if len(members) < max_members else sorted(members)
        # Members first: an equal score is better reached without another model.
        order = sorted(allowed, key=lambda index: (index not in members, index))
        chosen, chosen_score = -1, -math.inf
        for index in order:
            average = averages[index]
            if all_average and average is not None:
                mixed = (average_total + average) / round_number
            else:
                # A tie of votes goes to the first class, as np.argmax in VotingClassifier's hard vote does.
                mixed = (vote_total + _present(votes[index])) / round_number
            score = sign * score_of(mixed)
            if score > chosen_score + TIE:
                chosen, chosen_score = index, score
        weights[chosen] += 1
        chosen_average, chosen_vote = averages[chosen], votes[chosen]
        if chosen_average is not None:
            average_total = average_total + chosen_average
        all_average = all_average and chosen_average is not None
        if chosen_vote is not None:
            vote_total = vote_total + chosen_vote
        if chosen_score > best_score + TIE:
            best_score, best_weights = chosen_score, tuple(weights)
    divisor = reduce(math.gcd, (w for w in best_weights if w))
    return tuple(w // divisor for w in best_weights), sign * best_score


def blend(predictions: Sequence[np.ndarray], weights: Sequence[int], task: Task,
          classes: np.ndarray | None = None) -> np.ndarray:
    """The weighted average that ``select_ensemble`` scored, in a form ``score_from_predictions`` takes."""
    averages, votes = _comparable_outputs(predictions, len(predictions[0]), task, classes)
    used = [index for index, weight in enumerate(weights) if weight]
    # Averaged while every member gives numbers or probabilities (soft voting), else a vote on labels.
    outputs = averages if all(averages[index] is not None for index in used) else votes
    total = sum(weights[index] * _present(outputs[index]) for index in used)
    blended = total / sum(weights[index] for index in used)
    assert isinstance(blended, np.ndarray)  # sum() gives 0 only for no members, and then the division fails first
    return blended


def _present(output: np.ndarray | None) -> np.ndarray:
    """An output the caller relies on a candidate having: every classifier has votes, and a candidate without
    votes (a regressor) always has numbers to average, so the vote branches never meet a regressor."""
    assert output is not None
    return output


def _comparable_outputs(predictions: Sequence[np.ndarray], rows: int, task: Task, classes: np.ndarray | None,
                        ) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
    """Per candidate, what soft voting averages (numbers; class probabilities; None for a classifier that gives
    labels only) and what hard voting counts (one vote per row for the predicted class; None for regression)."""
    if task is Task.REGRESSION:
        numbers = [np.asarray(p, dtype=float).reshape(-1) for p in predictions]
        if any(len(o) != rows for o in numbers):
            raise StudioError("Every candidate must predict every row once.")
        return list(numbers), [None] * len(numbers)
    if classes is None:
        raise StudioError("Choosing an ensemble of classifiers needs the list of classes.")
    classes = np.asarray(classes)
    text_classes = classes.astype(str)
    averages: list[np.ndarray | None] = []
    votes: list[np.ndarray | None] = []
    for prediction in predictions:
        array = np.asarray(prediction)
        if len(array) != rows or (array.ndim == 2 and array.shape[1] != len(classes)) or array.ndim > 2:
            raise StudioError("Every candidate must give one row per row and one column per class.")
        averages.append(array.astype(float) if array.ndim == 2 else None)
        labels = classes[np.argmax(array, axis=1)] if array.ndim == 2 else array
        votes.append((labels.astype(str)[:, None] == text_classes[None, :]).astype(float))
    return averages, votes


# -- the members as text --------------------------------------------------------------------------------------------
