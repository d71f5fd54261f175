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

import json
import math
from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.evaluation import HIGHER_IS_BETTER
from studio.core.models.params import ParamValue
from studio.core.target import Task

ENSEMBLE_KEY = "ensemble"
# Two scores closer than this are a tie (sums of the same floats in another order differ in the last bits).
TIE = 1e-12

Member = tuple[str, dict[str, ParamValue], int]


# -- scores ---------------------------------------------------------------------------------------------------------
def score_from_predictions(metric: str, task: Task, y: np.ndarray, predictions: np.ndarray,
                           classes: np.ndarray | None = None) -> float:
    """The metric of out-of-fold predictions, as ``tuning.score_predictions`` scores a fitted model.

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
    usable = [index for index in range(len(predictions))
              if (averages[index] is not None or metric != "roc_auc")
              and np.all(np.isfinite(averages[index] if averages[index] is not None else votes[index]))]
    if not usable:
        raise StudioError("No candidate gives predictions the ensemble's score can be computed from.")
    sign = 1.0 if HIGHER_IS_BETTER.get(metric, True) else -1.0
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
                mixed = (vote_total + votes[index]) / round_number
            score = sign * score_from_predictions(metric, task, y, mixed, classes)
            if score > chosen_score + TIE:
                chosen, chosen_score = index, score
        weights[chosen] += 1
        if averages[chosen] is not None:
            average_total = average_total + averages[chosen]
        all_average = all_average and averages[chosen] is not None
        if votes[chosen] is not None:
            vote_total = vote_total + votes[chosen]
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
    total = sum(weights[index] * outputs[index] for index in used)
    return total / sum(weights[index] for index in used)


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
def members_json(members: Sequence[tuple[str, dict[str, ParamValue], int]]) -> str:
    """The ensemble model's ``members`` setting: a JSON list of {"model", "params", "weight"}, checked."""
    checked = _check_members([{"model": key, "params": dict(params), "weight": weight}
                              for key, params, weight in members])
    return json.dumps([{"model": key, "params": dict(sorted(params.items())), "weight": weight}
                       for key, params, weight in checked], separators=(", ", ": "))


def parse_members(text: Any) -> list[Member]:
    """The (model key, settings, weight) of each member; a StudioError in words for text that is not that."""
    if not isinstance(text, str) or not text.strip():
        raise StudioError("The ensemble has no members: its 'members' setting is empty. Run the automatic search "
                          "again, or pick one model.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudioError(f"The ensemble's members cannot be read: they are not valid JSON (line {exc.lineno}, "
                          f"column {exc.colno}: {exc.msg}).") from None
    if not isinstance(raw, list):
        raise StudioError("The ensemble's members must be a list of models, each "
                          '{"model": ..., "params": {...}, "weight": ...}.')
    return _check_members(raw)


def _check_members(raw: list[Any]) -> list[Member]:
    from studio.core.models.registry import get_model

    if not raw:
        raise StudioError("The ensemble has no members. Run the automatic search again, or pick one model.")
    members: list[Member] = []
    for number, item in enumerate(raw, start=1):
        where = f"Member {number} of the ensemble"
        if not isinstance(item, dict) or not isinstance(item.get("model"), str):
            raise StudioError(f"{where} must be written as "
                              '{"model": "random_forest", "params": {...}, "weight": 1}.')
        key = item["model"]
        if key == ENSEMBLE_KEY:
            raise StudioError(f"{where} is itself an ensemble; an ensemble holds single models only.")
        try:
            spec = get_model(key)
        except StudioError:
            raise StudioError(f"{where} is a model Studio does not have: '{key}'.") from None
        params = item.get("params", {})
        if not isinstance(params, dict):
            raise StudioError(f"{where} ({spec.label}) must give its settings as names and values.")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight != int(weight) or weight < 1:
            raise StudioError(f"{where} ({spec.label}) needs a whole-number weight of 1 or more; got {weight!r}.")
        checked: dict[str, ParamValue] = {}
        for name, value in params.items():
            checked[str(name)] = spec.param(str(name)).check(value)
        members.append((key, checked, int(weight)))
    return members


def members_problem(params: dict[str, ParamValue], task: Task | None) -> str:
    """Why an ensemble with these settings cannot be trained here, in words ("" when it can): members that
    cannot be read, a member that cannot do the task, or one that needs a library this computer lacks (the
    network without PyTorch)."""
    from studio.core.models.registry import get_model

    try:
        members = parse_members(params.get("members"))
    except StudioError as exc:
        return str(exc)
    for key, _settings, _weight in members:
        spec = get_model(key)
        if task is not None and task not in spec.tasks:
            return f"The ensemble holds a {spec.label.lower()}, which cannot do {task.value}; pick another model."
        missing = spec.missing_requirement()
        if missing:
            return f"The ensemble holds a {spec.label.lower()}. {missing}"
    return ""


# -- in words -------------------------------------------------------------------------------------------------------
def describe_members(members: Sequence[Member]) -> str:
    """"an average of 3 models (Linear regression, Support vector machine, Random forest)", or with unequal
    weights "a weighted average of 2 models (Linear regression 67%, Random forest 33%)"."""
    count = len(members)
    parts = _labels_with_shares(members)
    if count == 1:
        return f"a single model ({parts[0]})"
    return f"{'a weighted average' if _weighted(members) else 'an average'} of {count} models ({', '.join(parts)})"


def _weighted(members: Sequence[Member]) -> bool:
    return len({weight for *_x, weight in members}) > 1


def _labels_with_shares(members: Sequence[Member]) -> list[str]:
    """Each member's name, with its share of the votes when the shares differ (a share reads more plainly than
    a count of votes)."""
    from studio.core.models.registry import get_model

    total = sum(weight for *_x, weight in members)
    weighted = _weighted(members)
    return [get_model(key).label + (f" {round(100 * weight / total)}%" if weighted else "")
            for key, _params, weight in members]


def member_lines(members: Sequence[Member]) -> list[tuple[str, int, str]]:
    """Each member as (model label, weight, its settings in words), for tables of the members."""
    from studio.core.models.registry import get_model
    from studio.core.tuning import describe_params

    return [(get_model(key).label, weight, describe_params(settings, key) or "its defaults")
            for key, settings, weight in members]


def describe_ensemble_params(params: tuple[tuple[str, ParamValue], ...] | dict[str, ParamValue],
                             limit: int | None = None) -> str:
    """The ensemble's settings in words, for ``tuning.describe_params``: each member with its own settings,
    "Random forest 67% (Number of trees: 120, ...); Linear regression 33% (Shrinkage: 0.5)". Members that cannot be
    read are said so in words."""
    from studio.core.tuning import describe_params

    try:
        members = parse_members(dict(params).get("members"))
    except StudioError as exc:
        return str(exc)
    shown = []
    for label, (key, settings, _weight) in zip(_labels_with_shares(members), members, strict=True):
        described = describe_params(settings, key, limit=limit)
        shown.append(f"{label} ({described})" if described else label)
    return "; ".join(shown)
