"""Models as data: every spec builds a real estimator, and every setting checks its values in words."""

from __future__ import annotations

import math
import pickle

import pytest
from sklearn.base import clone, is_classifier, is_regressor

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.models.params import ParamKind, ParamSpec
from studio.core.models.registry import all_models, default_model_key, get_model, models_for

SPEC_TASKS = [(spec.key, task) for spec in all_models() for task in spec.tasks]


def test_registry_lists_the_builtin_models() -> None:
    keys = {spec.key for spec in all_models()}
    assert {"logistic_regression", "linear_regression", "decision_tree", "random_forest", "gradient_boosting",
            "knn", "svm", "naive_bayes"} <= keys
    assert {m.key for m in models_for(Task.REGRESSION)} >= {"linear_regression", "random_forest"}
    assert "logistic_regression" not in {m.key for m in models_for(Task.REGRESSION)}
    assert "linear_regression" not in {m.key for m in models_for(Task.CLASSIFICATION)}
    for task in Task:
        assert task in get_model(default_model_key(task)).tasks


@pytest.mark.parametrize(("key", "task"), SPEC_TASKS)
def test_every_spec_builds_an_estimator_with_defaults(key: str, task: Task) -> None:
    spec = get_model(key)
    estimator = spec.make_estimator(task)
    assert is_classifier(estimator) if task is Task.CLASSIFICATION else is_regressor(estimator)
    # clone() checks that the estimator follows scikit-learn's parameter conventions; pickling that it can be
    # saved inside a model file.
    clone(estimator)
    pickle.dumps(estimator)


@pytest.mark.parametrize("key", [spec.key for spec in all_models()])
def test_specs_are_complete_and_defaults_lie_in_range(key: str) -> None:
    spec = get_model(key)
    assert spec.label and spec.description and spec.tasks
    assert len({p.name for p in spec.params}) == len(spec.params)
    for param in spec.params:
        assert param.label and param.help, param.name
        for task in spec.tasks:
            if param.applies_to(task.value):
                default = param.default_for(task.value)
                assert param.check(default) == default, (param.name, task)


def test_task_defaults_and_only_for() -> None:
    forest = get_model("random_forest")
    assert forest.defaults(Task.CLASSIFICATION)["max_features"] == "sqrt"
    assert forest.defaults(Task.REGRESSION)["max_features"] == "third"
    assert "balanced" in forest.defaults(Task.CLASSIFICATION)
    assert "balanced" not in forest.defaults(Task.REGRESSION)
    # A setting for the other task is accepted and ignored, so one form can serve both tasks.
    assert "balanced" not in forest.resolve(Task.REGRESSION, {"balanced": True})


def test_resolve_overlays_and_checks_values() -> None:
    forest = get_model("random_forest")
    resolved = forest.resolve(Task.CLASSIFICATION, {"n_estimators": 12, "max_depth": None})
    assert resolved["n_estimators"] == 12 and resolved["max_depth"] is None
    assert forest.make_estimator(Task.CLASSIFICATION, {"n_estimators": 12}).n_estimators == 12
    with pytest.raises(StudioError, match="between 1 and 5000; got 0"):
        forest.resolve(Task.CLASSIFICATION, {"n_estimators": 0})
    with pytest.raises(StudioError, match=r"no setting called 'trees'.*n_estimators"):
        forest.resolve(Task.CLASSIFICATION, {"trees": 3})


def test_wrong_task_and_unknown_model_are_explained() -> None:
    with pytest.raises(StudioError, match="Linear regression cannot be used for classification"):
        get_model("linear_regression").make_estimator(Task.CLASSIFICATION)
    with pytest.raises(StudioError, match=r"no model called 'deep_magic'.*random_forest"):
        get_model("deep_magic")


# -- ParamSpec --------------------------------------------------------------------------------------------------
INT = ParamSpec("n", "Count", "How many.", ParamKind.INT, 5, low=1, high=100)
FLOAT = ParamSpec("rate", "Rate", "How fast.", ParamKind.FLOAT, 0.1, low=0.001, high=1.0, log=True)
DEPTH = ParamSpec("depth", "Depth", "How deep.", ParamKind.INT, None, low=1, high=10, none_label="No limit")
CHOICE = ParamSpec("shape", "Shape", "Which shape.", ParamKind.CHOICE, "round",
                   choices=(("round", "Round"), ("square", "Square")))
FLAG = ParamSpec("balanced", "Balance", "Whether to balance.", ParamKind.BOOL, False)


@pytest.mark.parametrize(("spec", "text", "expected"), [
    (INT, "12", 12), (INT, " 7 ", 7), (INT, "1e2", 100),
    (FLOAT, "0.5", 0.5), (FLOAT, "1e-3", 0.001),
    (DEPTH, "none", None), (DEPTH, "No limit", None), (DEPTH, "4", 4),
    (CHOICE, "square", "square"),
    (FLAG, "yes", True), (FLAG, "false", False), (FLAG, "1", True),
])
def test_parse_accepts(spec: ParamSpec, text: str, expected: object) -> None:
    value = spec.parse(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("spec", "text", "message"), [
    (INT, "abc", "'abc' is not a valid value for n (int)"),
    (INT, "inf", "'inf' is not a valid value for n"),
    (INT, "0", "Count must lie between 1 and 100; got 0"),
    (INT, "101", "Count must lie between 1 and 100; got 101"),
    (FLOAT, "2", "Rate must lie between 0.001 and 1; got 2"),
    (FLOAT, "nan", "Rate must be a number"),
    (DEPTH, "11", "Depth must lie between 1 and 10"),
    (CHOICE, "oval", "shape must be one of round, square; got 'oval'"),
    (FLAG, "maybe", "'maybe' is not a valid value for balanced (bool)"),
])
def test_parse_rejects_with_a_clear_message(spec: ParamSpec, text: str, message: str) -> None:
    with pytest.raises(StudioError) as caught:
        spec.parse(text)
    assert message in str(caught.value)


def test_check_validates_values_from_the_form() -> None:
    assert INT.check(3.0) == 3
    assert FLOAT.check(1) == 1.0
    with pytest.raises(StudioError, match="Count needs a value"):
        INT.check(None)
    with pytest.raises(StudioError, match="Rate must be a number"):
        FLOAT.check(math.nan)
    with pytest.raises(StudioError, match="Count must be a number"):
        INT.check(math.inf)
    assert DEPTH.check(None) is None


def test_describe_range() -> None:
    assert INT.describe_range() == "1..100"
    assert FLOAT.describe_range() == "0.001..1"
    assert DEPTH.describe_range() == "1..10 or none"
    assert CHOICE.describe_range() == "round | square"
    assert FLAG.describe_range() == "true | false"
