"""The ensemble at the end of the automatic search: which of the best trials to average, and whether it pays.

The scheduler keeps the best trials' out-of-fold predictions; here they are put in fold order, weighed by greedy
ensemble selection (``studio.core.search.ensemble``) and compared with the best single trial fold by fold. The time
that training the winner (or every member of an ensemble) on all training rows takes is foreseen here too, so the
scheduler can keep it free.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from studio.core.data.target import Task
from studio.core.models.params import ParamValue
from studio.core.models.registry import get_model
from studio.core.models.spec import CATEGORY_SPLITS
from studio.core.search.ensemble import blend, score_from_predictions, select_ensemble
from studio.core.search.pool import FoldData
from studio.core.search.requests import Trial
from studio.core.train.request import HeldOutProbabilities

# The out-of-fold predictions of this many of the best trials of each family are kept to weigh an ensemble from.
ENSEMBLE_PER_FAMILY = 2
# An ensemble has at most this many members. Time for training the best trial of as many families is kept at
# the end of an automatic search: an ensemble that cannot be trained in time is not used.
ENSEMBLE_MEMBERS = 5
ENSEMBLE_BUDGET_SHARE = 0.15
# An ensemble must beat the best single trial on at least this share of the folds, not only on average.
ENSEMBLE_FOLD_WINS = 0.5


@dataclass(frozen=True)
class RefitCost:
    """What training the winner on all training rows costs beyond the workers' fits of one fold, measured in the
    process that trains it."""

    rows_ratio: float = 1.0  # all training rows over a fold's fitted rows
    prep_s: float = 0.0  # fitting the preparation on all training rows, foreseen from the folds' in that process
    # The rows scored at the end (test rows and a sample of the training rows) over a fold's held-out rows: a
    # model slow to predict (neighbours, large forests) spends seconds there.
    predict_ratio: float = 1.0
    # An ensemble trains its members on one preparation, with category columns one-hot encoded; a member judged
    # on category codes (``prep.codes``) fits that many times slower there: the plain folds' features over the
    # coded folds' (fitting histogram boosting costs about one pass per feature).
    one_hot_ratio: float = 1.0
    # The cores the final fit may use (those other programs leave free): a family that fits on every core by
    # itself (``ModelSpec.parallel_fit``) trains that many times faster there than a worker did on one. Foreseen
    # at one core, a forest's final fit kept three times the time it took, and the search ended at half its budget.
    cores: int = 1


def choose_ensemble(candidates: list[tuple[Trial, list[np.ndarray]]], sign: float, folds: list[FoldData], metric: str,
                    task: Task, deadline: float, cost: RefitCost
                    ) -> tuple[list[tuple[Trial, int]], tuple[float, float] | None]:
    """The best trials to average, with their weights (heaviest first), and the scores of their average and of the
    best single trial, when the average scores better on the held-out rows of every fold and there is time to
    train all its members; else no trials. ``candidates`` are the kept trials with their out-of-fold predictions
    (one array per fold), ``sign`` is 1 when a higher score is better and -1 when lower is."""
    time_left = deadline - time.perf_counter()
    chosen, scores = winning_ensemble(candidates, sign, folds, metric, task,
                                      lambda trials: refit_time(trials, cost, as_members=True) <= time_left)
    return sorted(chosen, key=lambda pair: -pair[1]), scores


def members_of(chosen: list[tuple[Trial, int]]) -> list[tuple[str, dict[str, ParamValue], int]]:
    """The ensemble's members as its settings hold them: (model, settings, weight)."""
    return [(trial.model_key, trial.params_dict(), weight) for trial, weight in chosen]


def held_out_probabilities(candidates: list[tuple[Trial, list[np.ndarray]]], chosen: list[tuple[Trial, int]],
                           folds: list[FoldData], where: str) -> HeldOutProbabilities | None:
    """The class probabilities the chosen trials (averaged by weight) gave the rows each fold held out, for
    choosing a rare class's threshold without fitting again; None when a trial's predictions were not kept or
    are labels, not probabilities."""
    kept = {trial.number: predictions for trial, predictions in candidates}
    if not chosen or any(trial.number not in kept or kept[trial.number][0].ndim != 2 for trial, _ in chosen):
        return None
    truth = np.concatenate([fold.y_valid for fold in folds])
    classes = np.unique(truth)
    outputs = [_pooled(kept[trial.number], folds, classes) for trial, _ in chosen]
    probabilities = blend(outputs, [weight for _, weight in chosen], Task.CLASSIFICATION, classes)
    return HeldOutProbabilities(probabilities, truth, tuple(str(c) for c in classes), where)


def winning_ensemble(candidates: list[tuple[Trial, list[np.ndarray]]], sign: float, folds: list[FoldData],
                     metric: str, task: Task, trainable: Callable[[list[Trial]], bool] = lambda _trials: True
                     ) -> tuple[list[tuple[Trial, int]], tuple[float, float] | None]:
    """The trials whose average beats the best single trial (with their weights), the largest such mix that
    ``trainable`` accepts, and the scores of the average and of the best single trial; no trials when none wins."""
    ranked = sorted(candidates, key=lambda pair: (-sign * (pair[0].score or 0.0), pair[0].number))
    if len(ranked) < 2:
        return [], None
    truth = np.concatenate([fold.y_valid for fold in folds])
    classes = np.unique(truth) if task is Task.CLASSIFICATION else None
    outputs = [_pooled(predictions, folds, classes) for _trial, predictions in ranked]
    single = score_from_predictions(metric, task, truth, outputs[0], classes)
    single_folds = _fold_scores(outputs[0], folds, metric, task, classes)
    best_score = ranked[0][0].score or 0.0
    # Fewer members when the best mix of more cannot be trained in the time left.
    for most in range(ENSEMBLE_MEMBERS, 1, -1):
        weights, mixed = select_ensemble(outputs, truth, metric, task, classes, max_members=most)
        chosen = [(trial, w) for (trial, _predictions), w in zip(ranked, weights, strict=True) if w]
        if len(chosen) < 2 or sign * mixed <= sign * single:
            return [], None
        # Scored like every trial (the mean of the folds' scores), so it compares with the trials table; and it
        # must win on at least half the folds: on small tables a single lucky fold (one more row right) would
        # otherwise pick an ensemble that is no better.
        mixed_folds = _fold_scores(blend(outputs, weights, task, classes), folds, metric, task, classes)
        wins = sum(sign * m > sign * s for m, s in zip(mixed_folds, single_folds, strict=True))
        fold_mean = float(np.mean(mixed_folds))
        if sign * fold_mean <= sign * best_score or wins < ENSEMBLE_FOLD_WINS * len(folds):
            return [], None
        if trainable([trial for trial, _ in chosen]):
            return chosen, (fold_mean, best_score)
    return [], None


def _fold_scores(pooled: np.ndarray, folds: list[FoldData], metric: str, task: Task,
                 classes: np.ndarray | None) -> list[float]:
    scores, start = [], 0
    for fold in folds:
        end = start + len(fold.y_valid)
        scores.append(score_from_predictions(metric, task, fold.y_valid, pooled[start:end], classes))
        start = end
    return scores


def _pooled(per_fold: list[np.ndarray], folds: list[FoldData], classes: np.ndarray | None) -> np.ndarray:
    """One trial's held-out predictions of every fold, in fold order. Probability columns follow each fold's own
    classes (a rare class can be missing from a fold's training part), so they are spread over all classes."""
    if classes is None or per_fold[0].ndim == 1:
        return np.concatenate(per_fold)
    spread = []
    for fold, predictions in zip(folds, per_fold, strict=True):
        full = np.zeros((len(predictions), len(classes)))
        full[:, np.searchsorted(classes, np.unique(fold.y_train))] = predictions
        spread.append(full)
    return np.concatenate(spread)


def refit_time(winners: list[Trial], cost: RefitCost, as_members: bool = False) -> float:
    """Time to keep for training the winner (or, ``as_members``, each member of an ensemble) on all training
    rows: the preparation, then the slowest fold's fit scaled up to all the rows, with room for the live curve's
    bookkeeping and the scoring. A worker's fit foretells the final one because this process's library threads
    are kept to the free cores while it searches (``scheduler``), as a worker's are to one."""
    done = [trial for trial in winners if trial.folds_done]
    if not done:
        return 0.5 + cost.prep_s

    def slower(trial: Trial) -> float:
        coded = as_members and dict(trial.params).get(CATEGORY_SPLITS) == "codes"
        spread = max(1, cost.cores) if get_model(trial.model_key).parallel_fit else 1
        return (cost.one_hot_ratio if coded else 1.0) / spread

    # Twice a fold's prediction: scoring predicts the test rows and a sample of the training rows in two calls,
    # and a model slow to predict (neighbours) varies most with a busy machine.
    return 0.75 + cost.prep_s + sum(slower(t) * (1.5 * t.fit_s * cost.rows_ratio + 2.0 * t.predict_s
                                                 * cost.predict_ratio) for t in done)
