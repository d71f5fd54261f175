"""The ensemble as a ModelSpec: a weighted vote of single models, which the automatic search makes from its best
trials (see studio.core.ensemble). It is never offered in a list: its one setting, the members, is written by the
search, and a person who wants another model picks that model instead.

Nothing here imports scikit-learn until an ensemble is built.
"""

from __future__ import annotations

from typing import Any

from studio.core.ensemble import ENSEMBLE_KEY, members_json, parse_members
from studio.core.models.params import ParamKind, ParamSpec, ParamValue
from studio.core.models.registry import ModelSpec, get_model, register
from studio.core.target import Task


def _ensemble(task: Task, p: dict[str, ParamValue]) -> Any:
    from sklearn.ensemble import VotingClassifier, VotingRegressor

    members = parse_members(p["members"])
    # Voting estimators need unique member names without "__" (their settings' separator).
    estimators = [(f"{number}_{key}", get_model(key).make_estimator(task, params))
                  for number, (key, params, _weight) in enumerate(members, start=1)]
    weights = [weight for _key, _params, weight in members]
    if task is Task.REGRESSION:
        return VotingRegressor(estimators, weights=weights)
    # Averaging probabilities (soft voting) keeps ROC AUC and the prediction file's probabilities; a member
    # without probabilities leaves a vote on labels only.
    soft = all(hasattr(estimator, "predict_proba") for _name, estimator in estimators)
    return VotingClassifier(estimators, voting="soft" if soft else "hard", weights=weights)


MEMBERS = ParamSpec(
    "members", "Members", "The models averaged and how many votes each has, written by the automatic search "
    "from its best trials (JSON: a list of {\"model\", \"params\", \"weight\"}).", ParamKind.TEXT,
    members_json([("random_forest", {}, 1)]),
    task_defaults=(("classification", members_json([("logistic_regression", {}, 1), ("random_forest", {}, 1)])),
                   ("regression", members_json([("linear_regression", {}, 1), ("random_forest", {}, 1)]))),
    tunable=False)

SPEC = register(ModelSpec(
    key=ENSEMBLE_KEY,
    label="Ensemble of the best models",
    description="A weighted average of the best models the automatic search found: each predicts, and their "
    "answers are averaged. Often a little more accurate and steadier than any one of them; it takes as long to "
    "train and predict as its members together, and it has no importances of its own.",
    tasks=(Task.CLASSIFICATION, Task.REGRESSION),
    params=(MEMBERS,),
    build=_ensemble,
    pickable=False,
))
