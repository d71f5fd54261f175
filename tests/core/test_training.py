"""Training on real data: every model learns, curves are reported, cancel is quick and failures surface."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from studio.core.common.errors import Cancelled, DataError, StudioError
from studio.core.common.progress import CurvePoint
from studio.core.data.target import Task
from studio.core.models.registry import models_for
from studio.core.prep.config import Treatment
from studio.core.train.splits import SplitConfig, explicit_split, split_rows
from studio.core.train.training import train

from .helpers import make_request, run_training

CLASSIFIERS = [spec.key for spec in models_for(Task.CLASSIFICATION)]
REGRESSORS = [spec.key for spec in models_for(Task.REGRESSION)]


@pytest.mark.parametrize("key", CLASSIFIERS)
def test_every_classifier_beats_the_majority_baseline_on_penguins(penguins: pd.DataFrame, key: str) -> None:
    items, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, key))

    accuracy, baseline = result.test.get("accuracy"), result.test.baseline_of("accuracy")
    assert baseline == pytest.approx(0.44, abs=0.02)
    assert accuracy > baseline + 0.2, (key, accuracy)
    assert result.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert result.split_sizes == (240, 52, 52)
    assert result.validation is not None and result.validation.rows == 52
    assert result.test.rows == 52
    assert items[0].stage == "Preparing data" and items[-1].stage == "Done"
    fractions = [i.fraction for i in items if i.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


@pytest.mark.parametrize("key", REGRESSORS)
def test_every_regressor_beats_the_mean_on_body_mass(penguins: pd.DataFrame, key: str) -> None:
    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, key))

    metrics = result.test.as_dict()
    assert set(metrics) == {"mae", "rmse", "r2"}
    assert metrics["mae"] < 0.6 * result.test.baseline_of("mae"), (key, metrics)
    assert metrics["rmse"] >= metrics["mae"]
    assert metrics["r2"] > 0.6, (key, metrics)
    assert result.classes == ()


def test_regression_on_an_sklearn_dataset(tmp_path) -> None:
    frame = load_diabetes(as_frame=True).frame
    _, result = run_training(make_request(frame, "target", Task.REGRESSION, "linear_regression"))
    assert result.test.get("r2") > 0.3
    assert result.dropped_rows == 0


@pytest.mark.parametrize(("key", "total", "label"), [("random_forest", 20, "trees"),
                                                     ("gradient_boosting", 20, "boosting round")])
def test_iterative_models_report_a_curve(penguins: pd.DataFrame, key: str, total: int, label: str) -> None:
    items, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, key))

    curve = [i.curve for i in items if i.curve is not None]
    assert len(curve) >= 3
    assert list(result.history) == curve
    assert all(isinstance(p, CurvePoint) and p.step_label == label for p in curve)
    assert all(p.train_loss is not None and p.val_loss is not None for p in curve)
    assert all(np.isfinite([p.train_loss, p.val_loss]).all() for p in curve)
    steps = [p.step for p in curve]
    assert steps == sorted(set(steps)) and steps[-1] == total
    # The model learns: training loss ends well below where it started.
    assert curve[-1].train_loss < curve[0].train_loss or curve[0].train_loss < 0.1


def test_regression_curve_reports_squared_error(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "gradient_boosting"))
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.history[-1].val_loss > 0


def test_single_fit_models_report_stages_without_a_curve(penguins: pd.DataFrame) -> None:
    items, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "knn"))
    assert [i.stage for i in items] == ["Preparing data", "Preparing data", "Fitting", "Fitting", "Scoring", "Done"]
    assert result.history == ()


def test_should_stop_before_fitting_cancels_at_once(penguins: pd.DataFrame) -> None:
    job = train(make_request(penguins, "species", Task.CLASSIFICATION, "svm"), should_stop=lambda: True)
    next(job)  # the first item comes before any work
    with pytest.raises(Cancelled):
        next(job)


def test_should_stop_during_a_long_fit_cancels_quickly(penguins: pd.DataFrame) -> None:
    request = make_request(penguins, "species", Task.CLASSIFICATION, "random_forest", {"n_estimators": 5000})
    stop = {"now": False}
    job = train(request, should_stop=lambda: stop["now"])
    grown = 0
    with pytest.raises(Cancelled):
        for item in job:
            if item.curve is not None:
                grown = item.curve.step
                stop["now"] = True
                asked = time.perf_counter()
    assert time.perf_counter() - asked < 2.0
    assert 0 < grown < 5000


def test_failure_inside_fit_propagates(penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.tree import DecisionTreeClassifier

    def broken_fit(self, *args, **kwargs):
        raise RuntimeError("the tree fell over")

    monkeypatch.setattr(DecisionTreeClassifier, "fit", broken_fit)
    with pytest.raises(RuntimeError, match="the tree fell over"):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, "decision_tree"))


def test_settings_scikit_learn_refuses_propagate(penguins: pd.DataFrame) -> None:
    # Within the spec's range, but more neighbours than there are training rows.
    with pytest.raises(ValueError, match="n_neighbors"):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, "knn", {"n_neighbors": 400}))


def test_rows_without_target_are_dropped_and_counted(penguins: pd.DataFrame) -> None:
    penguins.loc[[0, 5, 9, 200], "species"] = np.nan
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression"))
    assert result.dropped_rows == 4
    assert sum(result.split_sizes) == len(penguins) - 4

    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "linear_regression"))
    assert result.dropped_rows == 2
    assert sum(result.split_sizes) == 342


def test_fixed_split_trains_and_scores_on_exactly_those_rows(penguins: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    order = rng.permutation(len(penguins))
    train_rows, test_rows = sorted(order[:250].tolist()), sorted(order[250:300].tolist())
    fixed = explicit_split(train_rows, test_rows, len(penguins))
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest",
                                          fixed_split=fixed))
    assert result.split_sizes == (250, 0, 50)
    assert result.validation is None
    assert result.split_note == "Rows chosen by a split file."
    assert all(p.val_loss is None for p in result.history)
    expected = result.pipeline.predict(penguins.iloc[test_rows])
    assert result.test.get("accuracy") == pytest.approx(np.mean(expected == penguins["species"].iloc[test_rows]))


def test_fixed_split_with_missing_targets_is_refused(penguins: pd.DataFrame) -> None:
    fixed = explicit_split(list(range(3, 200)), [200, 201], len(penguins))  # row 3 has no body mass
    with pytest.raises(DataError, match="no target value"):
        run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "linear_regression", fixed_split=fixed))


def test_user_mistakes_are_studio_errors(penguins: pd.DataFrame) -> None:
    with pytest.raises(StudioError, match="cannot do classification"):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, "linear_regression"))
    with pytest.raises(DataError, match="no column called 'weight'"):
        run_training(make_request(penguins, "weight", Task.REGRESSION, "linear_regression"))
    with pytest.raises(DataError, match="only 9 usable rows"):  # row 3 has no body mass
        run_training(make_request(penguins.head(10), "body_mass_g", Task.REGRESSION, "linear_regression"))
    request = make_request(penguins, "species", Task.CLASSIFICATION, "knn")
    prep = request.prep
    for column in prep.features("species"):
        prep = prep.with_treatment(column.name, Treatment.EXCLUDE)
    from dataclasses import replace

    with pytest.raises(DataError, match="No columns are left"):
        run_training(replace(request, prep=prep))


def test_result_records_what_it_was_trained_with(penguins: pd.DataFrame) -> None:
    request = make_request(penguins, "species", Task.CLASSIFICATION, "gradient_boosting",
                           split=SplitConfig(validation=0.2, test=0.2, seed=1), source_path="/data/penguins.csv")
    _, result = run_training(request)
    assert result.params["max_iter"] == 20 and result.params["learning_rate"] == 0.1
    assert result.fingerprint == request.fingerprint()
    assert result.model_label == "Gradient boosting"
    assert ("species", "categorical", "categorical") not in result.feature_columns
    assert ("island", "categorical", "categorical") in result.feature_columns
    assert result.duration_s > 0
    assert result.source_path == "/data/penguins.csv"


@pytest.mark.parametrize("key", ["random_forest", "gradient_boosting"])
def test_class_seen_only_in_validation_does_not_break_the_curve(key: str) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=100), "y": ["a"] * 50 + ["b"] * 49 + ["rare"]})
    # A seed whose (unstratified: the class has one row) split puts the rare row in validation.
    seed = next(s for s in range(100) if 99 in split_rows(frame["y"], 100, SplitConfig(seed=s)).validation)
    _, result = run_training(make_request(frame, "y", Task.CLASSIFICATION, key, split=SplitConfig(seed=seed)))
    assert "rare" not in result.classes
    assert all(np.isfinite(p.val_loss) for p in result.history)


@pytest.mark.parametrize("task", [Task.CLASSIFICATION, Task.REGRESSION])
def test_boosting_curve_costs_nothing_the_model_is_the_plain_fit(penguins: pd.DataFrame, task: Task) -> None:
    from sklearn.base import clone
    from sklearn.metrics import log_loss, mean_squared_error

    target = "species" if task is Task.CLASSIFICATION else "body_mass_g"
    penguins = penguins.dropna(subset=[target]).reset_index(drop=True)
    request = make_request(penguins, target, task, "gradient_boosting", {"max_iter": 60})
    _, result = run_training(request)

    pipeline = result.pipeline
    model = pipeline.named_steps["model"]
    # The settings used to record the curve are not left in the saved model.
    assert model.get_params()["early_stopping"] is False
    parts = split_rows(penguins[target].astype(str) if task is Task.CLASSIFICATION else None, len(penguins),
                       request.split)
    x_train, x_val = penguins.iloc[parts.train], penguins.iloc[parts.validation]
    y_train, y_val = penguins[target].iloc[parts.train], penguins[target].iloc[parts.validation]
    plain = clone(pipeline).fit(x_train, y_train.astype(str) if task is Task.CLASSIFICATION else y_train)
    if task is Task.CLASSIFICATION:
        np.testing.assert_allclose(pipeline.predict_proba(x_val), plain.predict_proba(x_val))
        expected_val = log_loss(y_val, plain.predict_proba(x_val), labels=plain.classes_)
    else:
        np.testing.assert_allclose(pipeline.predict(x_val), plain.predict(x_val))
        expected_val = np.sqrt(mean_squared_error(y_val, plain.predict(x_val)))
    assert [p.step for p in result.history] == list(range(1, 61))
    assert result.history[-1].val_loss == pytest.approx(expected_val, rel=1e-6)
