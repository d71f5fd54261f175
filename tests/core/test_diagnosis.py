"""The diagnosis rules (overfitting, underfitting, fine) and the learning curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import Cancelled
from studio.core.data.target import Task
from studio.core.evaluate.diagnosis import Verdict, diagnose, learning_curve
from tests.core.helpers import make_request, run_training


def test_large_gap_between_train_and_validation_is_overfitting() -> None:
    found = diagnose(Task.CLASSIFICATION, {"accuracy": 1.0}, {"accuracy": 0.7}, {"accuracy": 0.5}, "decision_tree")
    assert found.verdict is Verdict.OVERFITTING
    assert "100%" in found.explanation and "70%" in found.explanation
    assert 2 <= len(found.suggestions) <= 3
    assert "Maximum depth" in found.suggestions[0]


def test_low_score_even_on_training_rows_is_underfitting() -> None:
    found = diagnose(Task.REGRESSION, {"r2": 0.12}, {"r2": 0.1}, {"r2": 0.0}, "linear_regression")
    assert found.verdict is Verdict.UNDERFITTING
    assert "more flexible model" in found.suggestions[0]


def test_no_better_than_guessing_is_underfitting_and_imbalance_uses_balanced_accuracy() -> None:
    # 95% accuracy equals the baseline; balanced accuracy shows there is no skill at all.
    found = diagnose(Task.CLASSIFICATION, {"accuracy": 0.95, "balanced_accuracy": 0.5},
                     {"accuracy": 0.95, "balanced_accuracy": 0.5}, {"accuracy": 0.95, "balanced_accuracy": 0.5},
                     "random_forest", imbalanced=True)
    assert found.verdict is Verdict.UNDERFITTING
    assert "balanced accuracy" in found.explanation


def test_close_scores_well_above_baseline_are_fine() -> None:
    found = diagnose(Task.CLASSIFICATION, {"accuracy": 0.93}, {"accuracy": 0.9}, {"accuracy": 0.4}, "knn")
    assert found.verdict is Verdict.FINE
    assert len(found.suggestions) == 3


def test_deep_tree_on_noise_is_diagnosed_as_overfitting() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    frame["label"] = np.where(frame["a"] + rng.normal(scale=2.0, size=300) > 0, "yes", "no")
    _, result = run_training(make_request(frame, "label", Task.CLASSIFICATION, "decision_tree",
                                          {"max_depth": None, "min_samples_leaf": 1}))
    train = dict(result.details.train_metrics)
    found = diagnose(Task.CLASSIFICATION, train, result.validation.as_dict(), dict(result.validation.baseline),
                     result.model_key)
    assert train["accuracy"] == 1.0
    assert found.verdict is Verdict.OVERFITTING


def test_learning_curve_grows_and_can_be_cancelled(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression"))
    rows = result.rows
    job = learning_curve(rows.make_pipeline, rows.x_train, rows.y_train, rows.x_held, rows.y_held, "accuracy",
                         lambda: False)
    items = []
    while True:
        try:
            items.append(next(job))
        except StopIteration as finished:
            curve = finished.value
            break
    assert list(curve.sizes) == sorted(curve.sizes) and curve.sizes[-1] == len(rows.y_train)
    assert len(curve.train_scores) == len(curve.validation_scores) == len(curve.sizes)
    assert curve.validation_scores[-1] > 0.8
    assert any(item.stage == "Learning curve" for item in items)
    stopped = learning_curve(rows.make_pipeline, rows.x_train, rows.y_train, rows.x_held, rows.y_held, "accuracy",
                             lambda: True)
    with pytest.raises(Cancelled):
        next(stopped)
