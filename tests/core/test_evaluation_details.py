"""Every metric and curve of the Results step against scikit-learn's own functions on real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.model_selection import cross_val_score

from studio.core.data.target import Task
from studio.core.evaluate.details import (
    Imbalance,
    classification_details,
    detect_imbalance,
    imbalance_of_counts,
    imbalance_text,
    regression_details,
    result_summary,
    threshold_scores,
)
from studio.core.evaluate.explain import partial_dependence, permutation_importance, value_grid
from studio.core.evaluate.metrics import Scores
from studio.core.evaluate.result_details import ResultDetails
from studio.core.train.splits import SplitConfig
from tests.core.helpers import make_request, run_training


def drive(job):
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value


@pytest.fixture(scope="module")
def cancer():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    x, y = data.data, np.where(data.target == 1, "benign", "malignant")
    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.3
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x[~test], y[~test])
    proba = model.predict_proba(x[test])
    return y[test], model.predict(x[test]), proba, model.classes_, y[~test]


def test_binary_curves_and_matrix_match_sklearn(cancer) -> None:
    y_true, y_pred, proba, classes, y_train = cancer
    details = classification_details(y_true, y_pred, proba, classes, y_train)
    assert details.confusion == tuple(map(tuple, skm.confusion_matrix(y_true, y_pred, labels=classes)))
    positive = y_true == classes[1]
    assert details.roc[0].area == pytest.approx(skm.roc_auc_score(positive, proba[:, 1]))
    assert details.pr[0].area == pytest.approx(skm.average_precision_score(positive, proba[:, 1]))
    fpr, tpr, _ = skm.roc_curve(positive, proba[:, 1])
    assert details.roc[0].x[0] == fpr[0] and details.roc[0].x[-1] == fpr[-1]
    # Thinned curves keep the area close to the full one.
    assert np.trapezoid(details.roc[0].y, details.roc[0].x) == pytest.approx(skm.auc(fpr, tpr), abs=0.01)
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=classes)
    for index, row in enumerate(details.per_class):
        assert (row.precision, row.recall, row.f1, row.support) == pytest.approx(
            (precision[index], recall[index], f1[index], support[index]))
    normalised = details.row_normalised
    assert details.row_normalised is normalised  # computed once, for the window's matrix and the report's
    assert np.allclose(normalised, skm.confusion_matrix(y_true, y_pred, labels=classes, normalize="true"))


def test_threshold_slider_scores_match_sklearn(cancer) -> None:
    y_true, y_pred, proba, classes, y_train = cancer
    details = classification_details(y_true, y_pred, proba, classes, y_train)
    positive = y_true == classes[1]
    for threshold in (0.1, 0.5, 0.9):
        called = proba[:, 1] >= threshold
        scores = threshold_scores(details, threshold)
        assert scores.confusion == tuple(map(tuple, skm.confusion_matrix(positive, called, labels=[False, True])))
        assert scores.get("recall") == pytest.approx(skm.recall_score(positive, called))
        assert scores.get("precision") == pytest.approx(skm.precision_score(positive, called, zero_division=0))
        assert scores.get("balanced_accuracy") == pytest.approx(skm.balanced_accuracy_score(positive, called))
    # At 0.5 the slider agrees with the model's own predictions.
    assert threshold_scores(details, 0.5).get("accuracy") == pytest.approx(skm.accuracy_score(y_true, y_pred))
    # A low threshold finds more positives than a high one.
    assert threshold_scores(details, 0.1).get("recall") >= threshold_scores(details, 0.9).get("recall")


def test_one_vs_rest_curves_for_three_classes() -> None:
    from sklearn.naive_bayes import GaussianNB

    data = load_iris()
    names = np.array(["setosa", "versicolor", "virginica"])[data.target]
    model = GaussianNB().fit(data.data[::2], names[::2])
    proba = model.predict_proba(data.data[1::2])
    truth = names[1::2]
    details = classification_details(truth, model.predict(data.data[1::2]), proba, model.classes_, names[::2])
    assert [c.label for c in details.roc] == list(model.classes_)
    for index, curve in enumerate(details.roc):
        assert curve.area == pytest.approx(skm.roc_auc_score(truth == model.classes_[index], proba[:, index]))
    macro = skm.roc_auc_score(truth, proba, multi_class="ovr", average="macro")
    assert np.mean([c.area for c in details.roc]) == pytest.approx(macro)
    assert details.positive_class is None  # the slider is for two classes only


def test_regression_details_match_numpy_and_sklearn() -> None:
    from sklearn.linear_model import Ridge

    data = load_diabetes()
    model = Ridge().fit(data.data[:300], data.target[:300])
    predicted = model.predict(data.data[300:])
    details = regression_details(data.target[300:], predicted)
    assert details.typical_error == pytest.approx(skm.mean_absolute_error(data.target[300:], predicted))
    counts, edges = np.histogram(data.target[300:] - predicted, bins=30)
    assert details.residual_counts == tuple(counts) and np.allclose(details.residual_edges, edges)
    assert len(details.actual) == len(data.target[300:])


def test_model_that_ignores_the_rare_class_is_called_out() -> None:
    rng = np.random.default_rng(0)
    y_train = np.where(rng.random(2000) < 0.05, "fraud", "ok")
    y_true = np.where(rng.random(400) < 0.05, "fraud", "ok")
    y_pred = np.full(400, "ok")
    proba = np.column_stack([np.full(400, 0.05), np.full(400, 0.95)])
    details = classification_details(y_true, y_pred, proba, np.array(["fraud", "ok"]), y_train)
    assert details.imbalance.imbalanced
    assert details.positive_class == "fraud" and details.negative_class == "ok"
    assert details.roc[0].label == "fraud"
    assert details.never_predicted() == [("fraud", int((y_true == "fraud").sum()))]
    from studio.core.evaluate.metrics import score_part

    scores = score_part("test", Task.CLASSIFICATION, y_true.astype(object), y_pred.astype(object), proba,
                        np.array(["fraud", "ok"], dtype=object), y_train)
    text = result_summary(Task.CLASSIFICATION, scores, "label", details)
    assert "never predicts 'fraud'" in text
    assert "no better than always guessing" in text
    assert "balanced accuracy" in text and "50%" in text
    assert "Balance classes" in text
    assert "only 6% of the training rows are 'fraud'" in imbalance_text(details.imbalance, "label")


def test_balanced_classes_are_not_flagged() -> None:
    assert not detect_imbalance(np.array(["a"] * 60 + ["b"] * 40)).imbalanced
    assert detect_imbalance(np.array(["a"] * 80 + ["b"] * 10 + ["c"] * 10)).imbalanced


def test_the_target_summary_and_the_training_rows_are_judged_by_one_rule() -> None:
    cases = {("a", 75, "b", 25): False, ("a", 76, "b", 24): True, ("a", 34, "b", 33, "c", 33): False,
             ("b", 50, "a", 50): False, ("c", 90, "b", 5, "a", 5): True}
    for flat, imbalanced in cases.items():
        counts = tuple((str(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2))
        labels = np.array([name for name, count in counts for _ in range(count)])
        from_rows = detect_imbalance(np.random.default_rng(0).permutation(labels))
        assert from_rows.imbalanced is imbalanced, flat
        # Ties are listed alike: in name order from rows, in the order given from counts (sorted here).
        assert from_rows == imbalance_of_counts(tuple(sorted(counts))), flat
    assert detect_imbalance(np.array([], dtype=str)) == imbalance_of_counts(()) == Imbalance((), False)


def test_cross_validation_matches_sklearn(penguins: pd.DataFrame) -> None:
    split = SplitConfig(cv_folds=4)
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression",
                                          split=split))
    cv = result.details.cross_validation
    assert cv is not None and len(cv.folds) == 4
    assert cv.mean() == pytest.approx(np.mean(cv.scores())) and cv.spread() >= 0
    # The same folds through scikit-learn: train+validation rows, stratified, same seed.
    from sklearn.model_selection import StratifiedKFold

    from studio.core.train.splits import split_rows

    frame = penguins.dropna(subset=["species"]).reset_index(drop=True)
    y = frame["species"].astype(str).to_numpy()
    parts = split_rows(pd.Series(y), len(frame), split)
    rows = np.sort(np.concatenate([parts.train, parts.validation]))
    folds = StratifiedKFold(4, shuffle=True, random_state=split.seed)
    expected = cross_val_score(result.rows.make_pipeline(), frame.iloc[rows], y[rows], cv=folds, scoring="accuracy")
    assert np.allclose(cv.scores("accuracy"), expected)


def test_permutation_importance_matches_sklearn(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression"))
    rows = result.rows
    ours = drive(permutation_importance(result.pipeline, rows.x_held, rows.y_held, "accuracy", repeats=4, seed=3))
    theirs = sk_permutation_importance(result.pipeline, rows.x_held, rows.y_held, scoring="accuracy", n_repeats=4,
                                       random_state=3)
    by_column = {item.column: item.mean for item in ours.columns}
    for index, column in enumerate(rows.x_held.columns):
        assert by_column[column] == pytest.approx(theirs.importances_mean[index])
    # Grouped by the original columns, not one-hot pieces: 'island' is one entry.
    assert {item.column for item in ours.columns} == set(rows.x_held.columns)


def test_partial_dependence_matches_sklearn(penguins: pd.DataFrame) -> None:
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "random_forest"))
    x = result.rows.x_held
    ours = drive(partial_dependence(result.pipeline, x, "flipper_length_mm", False, False))
    grid = np.asarray(ours.grid, dtype=float)
    theirs = sk_partial_dependence(result.pipeline, x, ["flipper_length_mm"], custom_values={
        "flipper_length_mm": grid}, kind="average")
    assert np.allclose(ours.lines[0][1], theirs["average"][0])
    assert value_grid(pd.Series(["a", "b", "a", None]), True) == ["a", "b"]


def test_model_importances_are_per_original_column(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"))
    importances = dict(result.details.model_importances)
    assert "island" in importances and not any(name.startswith("island_") for name in importances)
    assert sum(importances.values()) == pytest.approx(1.0)
    # Against the forest's own importances: the one-hot pieces of 'island' add up to its share.
    forest = result.pipeline.named_steps["model"]
    names = result.pipeline.named_steps["prep"].get_feature_names_out()
    pieces = [value for name, value in zip(names, forest.feature_importances_, strict=True)
              if str(name).startswith("island_")]
    assert len(pieces) == 3
    assert importances["island"] == pytest.approx(sum(pieces) / forest.feature_importances_.sum())


def test_details_survive_json(penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest",
                                          split=SplitConfig(cv_folds=3)))
    plain = json.loads(json.dumps(result.details.to_plain()))
    assert ResultDetails.from_plain(plain) == result.details
    _, result = run_training(make_request(penguins, "body_mass_g", Task.REGRESSION, "linear_regression"))
    again = ResultDetails.from_plain(json.loads(json.dumps(result.details.to_plain())))
    assert again.regression == result.details.regression
    assert math.isfinite(again.regression.typical_error)
    assert result.test.get("mae") == pytest.approx(again.regression.typical_error)


def test_summary_speaks_in_target_units() -> None:
    scores = Scores("test", 50, (("mae", 2.6), ("rmse", 3.0), ("r2", 0.8)), (("mae", 6.0), ("rmse", 7.0),
                                                                            ("r2", 0.0)))
    assert "off by about 2.6;" in result_summary(Task.REGRESSION, scores, "mpg", None)


def test_explanations_stop_when_asked(penguins: pd.DataFrame) -> None:
    from studio.core.common.errors import Cancelled

    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression"))
    rows = result.rows
    calls = iter([False, True])
    job = permutation_importance(result.pipeline, rows.x_held, rows.y_held, "accuracy",
                                 should_stop=lambda: next(calls, True))
    next(job)  # the first column starts
    with pytest.raises(Cancelled):
        next(job)
    job = partial_dependence(result.pipeline, rows.x_held, "island", True, True, should_stop=lambda: True)
    with pytest.raises(Cancelled):
        next(job)

