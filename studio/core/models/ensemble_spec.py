"""The ensemble as a ModelSpec: a weighted vote of single models, which the automatic search makes from its best
trials (see studio.core.search.ensemble). It is never offered in a list: its one setting, the members, is
written by the search, and a person who wants another model picks that model instead. The members' format (JSON
text) lives here too, so the run history and the model file read it without the search.

Nothing here imports scikit-learn until an ensemble is built.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from studio.core.common.errors import StudioError
from studio.core.data.target import Task

# The families an ensemble's members come from register themselves on import.
from studio.core.models import network_specs, sklearn_models  # noqa: F401
from studio.core.models.params import ParamKind, ParamSpec, ParamValue
from studio.core.models.pipeline_onnx import pipeline_onnx_job
from studio.core.models.spec import Member, ModelSpec, register, registered

if TYPE_CHECKING:
    pass


def _ensemble(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.ensemble import VotingClassifier, VotingRegressor

    members = parse_members(p["members"])
    # Voting estimators need unique member names without "__" (their settings' separator).
    estimators = [(f"{number}_{key}", registered(key).make_estimator(task, params))
                  for number, (key, params, _weight) in enumerate(members, start=1)]
    weights = [weight for _key, _params, weight in members]
    if task is Task.REGRESSION:
        return VotingRegressor(estimators, weights=weights)
    # Averaging probabilities (soft voting) keeps ROC AUC and the prediction file's probabilities; a member
    # without probabilities leaves a vote on labels only.
    soft = all(hasattr(estimator, "predict_proba") for _name, estimator in estimators)
    return VotingClassifier(estimators, voting="soft" if soft else "hard", weights=weights)


# -- the members, written as JSON text -------------------------------------------------------------------------
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
    if not raw:
        raise StudioError("The ensemble has no members. Run the automatic search again, or pick one model.")
    members: list[Member] = []
    for number, item in enumerate(raw, start=1):
        where = f"Member {number} of the ensemble"
        if not isinstance(item, dict) or not isinstance(item.get("model"), str):
            raise StudioError(f"{where} must be written as "
                              '{"model": "random_forest", "params": {...}, "weight": 1}.')
        key = item["model"]
        try:
            spec = registered(key)
        except StudioError:
            raise StudioError(f"{where} is a model Studio does not have: '{key}'.") from None
        if spec.combines_models:
            raise StudioError(f"{where} is itself an ensemble; an ensemble holds single models only.")
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
    try:
        members = parse_members(params.get("members"))
    except StudioError as exc:
        return str(exc)
    for key, _settings, _weight in members:
        spec = registered(key)
        if task is not None and task not in spec.tasks:
            return f"The ensemble holds a {spec.label.lower()}, which cannot do {task.value}; pick another model."
        missing = spec.missing_requirement()
        if missing:
            return f"The ensemble holds a {spec.label.lower()}. {missing}"
    return ""


# -- in words -------------------------------------------------------------------------------------------------------
def describe_members(members: Sequence[Member]) -> str:
    """The members in plain words, heaviest first: "a mix of two decision trees", "a mix of a random forest and a
    logistic regression". Their shares of the vote are left to the members' table: a percentage beside a model's
    name reads as its score."""
    counts: dict[str, int] = {}
    votes: dict[str, int] = {}
    for key, _params, weight in members:
        counts[key] = counts.get(key, 0) + 1
        votes[key] = votes.get(key, 0) + weight
    order = sorted(counts, key=lambda key: -votes[key])  # stable: ties keep the members' order
    if len(members) == 1:
        return f"a single {_noun(order[0], 1)}"
    parts = [_noun(key, counts[key], counted=True) for key in order]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"a mix of {listed}"


_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
# Labels that name a method rather than a thing are counted as models: "two gradient boosting models".
_NOT_COUNTABLE = ("boosting", "neighbours", "bayes", "baseline")


def _noun(key: str, count: int, counted: bool = False) -> str:
    """A model as a noun for a sentence: "decision tree", "a decision tree", "two decision trees", "a naive Bayes
    model"."""
    label = registered(key).label
    name = label if label[1:2].isupper() else label[:1].lower() + label[1:]  # "k-nearest", "naive Bayes"
    countable = not name.lower().endswith(_NOT_COUNTABLE)
    if count == 1:
        name = name if countable else f"{name} model"
        if not counted:
            return name
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
    plural = f"{name}s" if countable else f"{name} models"
    number = _COUNTS[count] if count < len(_COUNTS) else str(count)
    return f"{number} {plural}"


def _weighted(members: Sequence[Member]) -> bool:
    return len({weight for *_x, weight in members}) > 1


def _labels_with_shares(members: Sequence[Member]) -> list[str]:
    """Each member's name, with its votes when they differ ("Random forest, 2 of 3 votes"): a percentage beside a
    model's name would read as its score."""
    total = sum(weight for *_x, weight in members)
    weighted = _weighted(members)
    return [registered(key).label + (f", {weight} of {total} votes" if weighted else "")
            for key, _params, weight in members]


def member_lines(members: Sequence[Member]) -> list[tuple[str, int, str]]:
    """Each member as (model label, weight, its settings in words), for tables of the members."""
    return [(registered(key).label, weight, registered(key).describe(settings) or "its defaults")
            for key, settings, weight in members]


def describe_ensemble_params(params: tuple[tuple[str, ParamValue], ...] | dict[str, ParamValue],
                             limit: int | None = None) -> str:
    """The ensemble's settings in words, for ``tuning.describe_params``: each member with its own settings,
    "Random forest, 2 of 3 votes (Number of trees: 120, ...); Linear regression, 1 of 3 votes (Shrinkage: 0.5)".
    Members that cannot be read are said so in words."""
    try:
        members = parse_members(dict(params).get("members"))
    except StudioError as exc:
        return str(exc)
    shown = []
    for label, (key, settings, _weight) in zip(_labels_with_shares(members), members, strict=True):
        described = registered(key).describe(settings, limit)
        shown.append(f"{label} ({described})" if described else label)
    return "; ".join(shown)


MEMBERS = ParamSpec(
    "members", "Members", "The models averaged and how many votes each has, written by the automatic search "
    "from its best trials (JSON: a list of {\"model\", \"params\", \"weight\"}).", ParamKind.TEXT,
    members_json([("random_forest", {}, 1)]),
    task_defaults=(("classification", members_json([("logistic_regression", {}, 1), ("random_forest", {}, 1)])),
                   ("regression", members_json([("linear_regression", {}, 1), ("random_forest", {}, 1)]))),
    tunable=False)

SPEC = register(ModelSpec(
    key="ensemble",
    label="Ensemble of the best models",
    description="A weighted average of the best models the automatic search found: each predicts, and their "
    "answers are averaged. Often a little more accurate and steadier than any one of them; it takes as long to "
    "train and predict as its members together, and it has no importances of its own.",
    tasks=(Task.CLASSIFICATION, Task.REGRESSION),
    params=(MEMBERS,),
    build=_ensemble,
    pickable=False,
    importances=False,
    no_importances_note="An ensemble averages the answers of several models, so it has no importances of its "
    "own. The shuffling test (the first tab) works for it as for every model.",
    onnx_export=pipeline_onnx_job,
    short_name="the ensemble",
    members=lambda values: parse_members(values.get("members")),
    settings_problem=members_problem,
    describe_settings=describe_ensemble_params,
))
