"""The ensemble of the search's best trials: choosing the members from out-of-fold predictions, writing them down,
and the ensemble model trained, scored, saved, opened and predicting like any other model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.evaluate.explain import model_importances, permutation_importance
from studio.core.models.ensemble_spec import (
    describe_ensemble_params,
    describe_members,
    members_json,
    members_problem,
    parse_members,
)
from studio.core.models.registry import all_models, get_model, models_for
from studio.core.report.html import build_report
from studio.core.search.ensemble import blend, score_from_predictions, select_ensemble
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.store.runs import record_from_plain, run_from_result

from .helpers import make_request, run_training


def noisy_candidates(seed: int = 0, rows: int = 400) -> tuple[np.ndarray, list[np.ndarray]]:
    """A target and three guesses at it: two equally good with independent errors, one poor."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows)
    return y, [y + rng.normal(scale=0.5, size=rows), y + rng.normal(scale=0.5, size=rows),
               y + rng.normal(scale=2.0, size=rows)]


# -- selection ------------------------------------------------------------------------------------------------------
def test_selection_beats_the_best_single_candidate_on_independent_errors() -> None:
    y, candidates = noisy_candidates()
    singles = [score_from_predictions("rmse", Task.REGRESSION, y, c) for c in candidates]

    weights, score = select_ensemble(candidates, y, "rmse", Task.REGRESSION)

    assert weights[0] >= 1 and weights[1] >= 1  # the two good guesses are averaged
    assert score < min(singles) * 0.8  # averaging independent errors shrinks them by about 1/sqrt(2)
    mixed = np.average(np.vstack(candidates), axis=0, weights=weights)
    assert score == pytest.approx(score_from_predictions("rmse", Task.REGRESSION, y, mixed), rel=1e-12)


def test_selection_follows_the_metric_direction() -> None:
    y, candidates = noisy_candidates(seed=3)
    weights_r2, r2 = select_ensemble(candidates, y, "r2", Task.REGRESSION)
    weights_mae, mae = select_ensemble(candidates, y, "mae", Task.REGRESSION)
    assert r2 > max(score_from_predictions("r2", Task.REGRESSION, y, c) for c in candidates)
    assert mae < min(score_from_predictions("mae", Task.REGRESSION, y, c) for c in candidates)
    # Independent errors: even the poor guess helps a little, but it gets the smallest say.
    for weights in (weights_r2, weights_mae):
        assert weights[2] < min(weights[0], weights[1]), weights


def test_weights_are_deterministic_and_ties_keep_fewer_earlier_members() -> None:
    y, candidates = noisy_candidates(seed=1)
    first = select_ensemble(candidates, y, "rmse", Task.REGRESSION)
    assert select_ensemble(candidates, y, "rmse", Task.REGRESSION) == first
    # The same predictions twice: the copy never adds anything, so the earlier one is kept alone.
    perfect = y.copy()
    weights, score = select_ensemble([candidates[2], perfect, perfect.copy()], y, "rmse", Task.REGRESSION)
    assert weights == (0, 1, 0) and score == 0.0
    # One clearly best candidate: a single member with weight 1, no needless copies.
    weights, _ = select_ensemble([candidates[2], perfect], y, "mae", Task.REGRESSION, rounds=10)
    assert weights == (0, 1)


def test_max_members_limits_the_distinct_members() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    candidates = [y + rng.normal(scale=0.5, size=300) for _ in range(8)]
    weights, _ = select_ensemble(candidates, y, "rmse", Task.REGRESSION, rounds=30, max_members=3)
    assert sum(1 for w in weights if w) == 3
    weights, _ = select_ensemble(candidates, y, "rmse", Task.REGRESSION, rounds=30, max_members=8)
    assert sum(1 for w in weights if w) > 3


def test_classification_averages_probabilities_and_scores_like_a_fitted_model() -> None:
    rng = np.random.default_rng(2)
    classes = np.array(["no", "yes"], dtype=object)
    y = classes[rng.integers(0, 2, size=500)]
    truth = (y == "yes").astype(float)
    # Each guess is right with its own noise: their mean is right more often than either.
    guesses = [np.clip(truth + rng.normal(scale=0.7, size=500), 0, 1) for _ in range(2)]
    candidates = [np.column_stack([1 - g, g]) for g in guesses]
    for metric in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc"):
        singles = [score_from_predictions(metric, Task.CLASSIFICATION, y, c, classes) for c in candidates]
        weights, score = select_ensemble(candidates, y, metric, Task.CLASSIFICATION, classes)
        assert weights[0] >= 1 and weights[1] >= 1, metric
        assert score > max(singles), metric


def test_labels_without_probabilities_are_a_hard_vote() -> None:
    classes = np.array(["a", "b"], dtype=object)
    y = np.array(["a", "a", "a", "b"], dtype=object)
    # Each is wrong once; where they disagree the vote is a tie, which goes to the first class as in
    # VotingClassifier, and that is right on both rows.
    votes = [np.array(["a", "a", "b", "b"], dtype=object), np.array(["b", "a", "a", "b"], dtype=object)]
    weights, score = select_ensemble(votes, y, "accuracy", Task.CLASSIFICATION, classes)
    assert weights == (1, 1) and score == 1.0
    # A candidate with probabilities among labels counts as a vote for its most probable class.
    weights, score = select_ensemble([np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]]), votes[0]], y, "accuracy",
                                     Task.CLASSIFICATION, classes)
    assert weights == (1, 0) and score == 1.0
    # The blend of a vote is each class's share of the votes; the tie goes to the first class.
    shares = blend(votes, (1, 1), Task.CLASSIFICATION, classes)
    assert shares.tolist() == [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    assert score_from_predictions("accuracy", Task.CLASSIFICATION, y, shares, classes) == 1.0
    with pytest.raises(StudioError, match="No candidate"):
        select_ensemble(votes, y, "roc_auc", Task.CLASSIFICATION, classes)


def test_a_single_candidates_score_matches_the_score_of_the_fitted_models_predictions(
        penguins: pd.DataFrame) -> None:
    """The search scores a fitted model on its predicted labels (and ROC AUC on the second class's
    probability); a candidate's probabilities score the same."""
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    def score_predictions(metric: str, _task: Task, model: object, x: np.ndarray, y: np.ndarray) -> float:
        if metric == "roc_auc":
            return metrics.roc_auc_score(y == model.classes_[1], model.predict_proba(x)[:, 1])
        scorer = {"accuracy": metrics.accuracy_score, "balanced_accuracy": metrics.balanced_accuracy_score,
                  "f1_macro": lambda t, p: metrics.f1_score(t, p, average="macro", zero_division=0)}[metric]
        return scorer(y, model.predict(x))

    frame = penguins.dropna()
    x = frame[["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]].to_numpy()
    y = frame["species"].to_numpy().astype(str)
    model = LogisticRegression(max_iter=1000).fit(x[::2], y[::2])
    held_x, held_y = x[1::2], y[1::2]
    proba = model.predict_proba(held_x)
    for metric in ("accuracy", "balanced_accuracy", "f1_macro"):
        assert score_from_predictions(metric, Task.CLASSIFICATION, held_y, proba, model.classes_) == \
            pytest.approx(score_predictions(metric, Task.CLASSIFICATION, model, held_x, held_y), abs=1e-12)
    two = np.isin(y, ["Adelie", "Gentoo"])
    binary = LogisticRegression(max_iter=1000).fit(x[two][::2], y[two][::2])
    assert score_from_predictions("roc_auc", Task.CLASSIFICATION, y[two][1::2],
                                  binary.predict_proba(x[two][1::2]), binary.classes_) == \
        pytest.approx(score_predictions("roc_auc", Task.CLASSIFICATION, binary, x[two][1::2], y[two][1::2]))


def test_the_selected_ensembles_score_is_the_voting_models_cross_validated_score() -> None:
    """The selection's averages are what VotingRegressor / VotingClassifier compute with the same weights."""
    data = load_diabetes()
    x, y = data.data[:240], data.target[:240]
    folds = KFold(4, shuffle=True, random_state=0)
    members = [("linear_regression", {"alpha": 0.1}), ("knn", {"n_neighbors": 15}),
               ("random_forest", {"n_estimators": 15, "min_samples_leaf": 5})]
    oof = [cross_val_predict(get_model(k).make_estimator(Task.REGRESSION, p), x, y, cv=folds) for k, p in members]
    weights, score = select_ensemble(oof, y, "rmse", Task.REGRESSION)
    chosen = [(k, p, w) for (k, p), w in zip(members, weights, strict=True) if w]
    voting = get_model("ensemble").make_estimator(Task.REGRESSION, {"members": members_json(chosen)})
    voted = cross_val_predict(voting, x, y, cv=folds)
    assert score == pytest.approx(score_from_predictions("rmse", Task.REGRESSION, y, voted), rel=1e-9)
    assert blend(oof, weights, Task.REGRESSION) == pytest.approx(voted, rel=1e-9)

    labels = np.where(y > np.median(y), "high", "low").astype(object)
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    members = [("logistic_regression", {"C": 0.5}), ("naive_bayes", {}), ("knn", {"n_neighbors": 25})]
    oof = [cross_val_predict(get_model(k).make_estimator(Task.CLASSIFICATION, p), x, labels, cv=folds,
                             method="predict_proba") for k, p in members]
    classes = np.array(["high", "low"], dtype=object)
    weights, score = select_ensemble(oof, labels, "balanced_accuracy", Task.CLASSIFICATION, classes)
    chosen = [(k, p, w) for (k, p), w in zip(members, weights, strict=True) if w]
    voting = get_model("ensemble").make_estimator(Task.CLASSIFICATION, {"members": members_json(chosen)})
    voted = cross_val_predict(voting, x, labels, cv=folds, method="predict_proba")
    assert score == pytest.approx(score_from_predictions("balanced_accuracy", Task.CLASSIFICATION, labels, voted,
                                                         classes), abs=1e-12)
    assert blend(oof, weights, Task.CLASSIFICATION, classes) == pytest.approx(voted, abs=1e-12)


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc"])
def test_the_quick_scores_of_class_mixes_are_scikit_learns(metric: str) -> None:
    from studio.core.search.ensemble import mix_scorer

    rng = np.random.default_rng(4)
    for count, rows in ((2, 300), (4, 250), (3, 7)):
        if metric == "roc_auc" and count != 2:
            continue
        classes = np.array([f"class {k}" for k in range(count)], dtype=object)
        truth = classes[rng.integers(0, count - 1 if rows == 7 else count, size=rows)]  # one class may be absent
        scorer = mix_scorer(metric, Task.CLASSIFICATION, truth, classes)
        for _ in range(5):
            mixed = rng.dirichlet(np.ones(count), size=rows)
            assert scorer(mixed) == pytest.approx(
                score_from_predictions(metric, Task.CLASSIFICATION, truth, mixed, classes), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_the_quick_scores_of_number_mixes_are_scikit_learns(metric: str) -> None:
    from studio.core.search.ensemble import mix_scorer

    rng = np.random.default_rng(5)
    y = rng.normal(size=200) * 30 + 7
    for truth in (y, np.full(50, 3.0)):
        scorer = mix_scorer(metric, Task.REGRESSION, truth, None)
        for mixed in (truth + rng.normal(size=len(truth)), truth.copy()):
            assert scorer(mixed) == pytest.approx(score_from_predictions(metric, Task.REGRESSION, truth, mixed),
                                                  rel=1e-9, abs=1e-12)


def test_the_winning_ensemble_is_the_largest_mix_that_can_be_trained_and_none_when_averaging_loses() -> None:
    """The search keeps time at its end only for the average that beats the best single trial so far: the
    members are the largest mix the time allows, and there are none when no average wins."""
    from studio.core.search.ensemble_choice import winning_ensemble
    from studio.core.search.pool import FoldData
    from studio.core.search.requests import Trial, TrialState

    y, guesses = noisy_candidates(seed=5)
    # A fourth good guess, so a mix of three members is possible.
    guesses.insert(2, y + np.random.default_rng(9).normal(scale=0.5, size=len(y)))
    half = len(y) // 2
    folds = [FoldData(np.zeros((half, 1)), y[:half], np.zeros((half, 1)), y[half:]),
             FoldData(np.zeros((half, 1)), y[half:], np.zeros((half, 1)), y[:half])]

    def trial(number: int, guess: np.ndarray) -> Trial:
        # Out-of-fold: each fold's held-out rows are the other half.
        score = float(np.mean([score_from_predictions("rmse", Task.REGRESSION, y[half:], guess[half:]),
                               score_from_predictions("rmse", Task.REGRESSION, y[:half], guess[:half])]))
        return Trial(number, "linear_regression", (("alpha", float(number)),), score, TrialState.DONE, 1.0, 1.0,
                     score, folds_done=2, fit_s=1.0)

    candidates = [(trial(number, guess), [guess[half:], guess[:half]]) for number, guess in enumerate(guesses, 1)]
    members, scores = winning_ensemble(candidates, -1.0, folds, "rmse", Task.REGRESSION)
    assert len(members) >= 3 and scores is not None and scores[0] < scores[1]
    two, _ = winning_ensemble(candidates, -1.0, folds, "rmse", Task.REGRESSION, lambda trials: len(trials) <= 2)
    assert len(two) == 2
    assert winning_ensemble(candidates, -1.0, folds, "rmse", Task.REGRESSION, lambda trials: False) == ([], None)
    # One good guess among poor ones: averaging loses, so no time is kept for it.
    lone = [candidates[0], *[(trial(9 + k, y + 5.0 + k), [y[half:] + 5.0 + k, y[:half] + 5.0 + k])
                             for k in range(2)]]
    assert winning_ensemble(lone, -1.0, folds, "rmse", Task.REGRESSION) == ([], None)


# -- the members as text --------------------------------------------------------------------------------------------
def test_members_round_trip_through_json() -> None:
    members = [("random_forest", {"n_estimators": 50, "max_depth": None}, 2), ("knn", {"n_neighbors": 7}, 1)]
    text = members_json(members)
    assert json.loads(text)[0] == {"model": "random_forest", "params": {"max_depth": None, "n_estimators": 50},
                                   "weight": 2}
    assert parse_members(text) == members
    # Plain words, no percentages (beside a model's name they read as its score); the votes are in the settings.
    assert describe_members(parse_members(text)) == "a mix of a random forest and a k-nearest neighbours model"
    described = describe_ensemble_params({"members": text})
    assert described.startswith("Random forest, 2 of 3 votes (Number of trees: 50, Maximum depth: no limit")
    assert "k-nearest neighbours, 1 of 3 votes (Neighbours: 7)" in described


@pytest.mark.parametrize(("text", "message"), [
    ("", "has no members"),
    ("[", "not valid JSON"),
    ('{"model": "knn"}', "must be a list of models"),
    ("[]", "has no members"),
    ('[{"model": "deep_magic"}]', "Member 1 of the ensemble is a model Studio does not have: 'deep_magic'"),
    ('[{"model": "knn"}, {"model": "ensemble"}]', "Member 2 of the ensemble is itself an ensemble"),
    ('[{"model": "knn", "weight": 0}]', "whole-number weight of 1 or more; got 0"),
    ('[{"model": "knn", "weight": 1.5}]', "whole-number weight"),
    ('[{"model": "knn", "params": [1]}]', "must give its settings as names and values"),
    ('[{"model": "knn", "params": {"n_neighbors": 0}}]', "Neighbours must lie between 1 and 500"),
    ('[{"model": "knn", "params": {"trees": 3}}]', "no setting called 'trees'"),
    ('["knn"]', "must be written as"),
])
def test_bad_members_are_explained_in_words(text: str, message: str) -> None:
    with pytest.raises(StudioError, match=message):
        parse_members(text)
    with pytest.raises(StudioError, match=message):
        get_model("ensemble").make_estimator(Task.REGRESSION, {"members": text})


def test_the_ensemble_is_found_by_key_but_never_offered() -> None:
    spec = get_model("ensemble")
    assert spec.label == "Ensemble of the best models" and not spec.pickable
    assert set(spec.tasks) == set(Task)
    assert not spec.param("members").tunable
    assert "ensemble" not in {m.key for m in all_models()}
    for task in Task:
        assert "ensemble" not in {m.key for m in models_for(task)}
    from studio.core.search.policy import auto_families

    assert "ensemble" not in auto_families(Task.REGRESSION, 200, 5)
    with pytest.raises(StudioError, match="must be text"):
        spec.resolve(Task.REGRESSION, {"members": 3})


# -- the ensemble as a trained model --------------------------------------------------------------------------------
def classification_members() -> str:
    return members_json([("logistic_regression", {"C": 0.5}, 2), ("random_forest", {"n_estimators": 10}, 1),
                         ("naive_bayes", {}, 1)])


def test_an_ensemble_trains_saves_opens_and_predicts_classes(penguins: pd.DataFrame, tmp_path) -> None:
    request = make_request(penguins, "species", Task.CLASSIFICATION, "ensemble",
                           {"members": classification_members()})
    _, result = run_training(request)

    assert result.model_label == "Ensemble of the best models"
    assert result.test.get("accuracy") > result.test.baseline_of("accuracy") + 0.3
    assert result.classes == ("Adelie", "Chinstrap", "Gentoo")
    model = result.pipeline.named_steps["model"]
    assert model.voting == "soft" and list(model.weights) == [2, 1, 1]
    assert result.details is not None and result.details.classification is not None
    assert result.details.classification.confusion  # the Results page's confusion matrix has its counts
    # An average of models has no importances of its own; the Results page says so (tested in tests/ui).
    assert result.details.model_importances == () and model_importances(result.pipeline) == ()
    assert result.rows is not None
    job = permutation_importance(result.pipeline, result.rows.x_held, result.rows.y_held, "accuracy", repeats=2)
    while True:
        try:
            next(job)
        except StopIteration as finished:
            importance = finished.value
            break
    assert {i.column for i in importance.columns} >= {"bill_length_mm", "flipper_length_mm"}

    # The run history and its report give the members in words.
    record = record_from_plain(run_from_result(result))
    assert record.config()["Model: members"] == ("Logistic regression, 2 of 4 votes (Flexibility: 0.5); Random "
                                                 "forest, 1 of 4 votes (Number of trees: 10); Naive Bayes, 1 of 4 "
                                                 "votes")
    report = build_report(record)
    assert "<td>Random forest</td><td>1</td><td>Number of trees: 10</td>" in report
    assert "<td>Naive Bayes</td><td>1</td><td>its defaults</td>" in report

    path = save_model(tmp_path / "ens.studio.joblib", result.pipeline, metadata_for(result))
    bundle = load_model(path)
    assert bundle.metadata["model"] == "ensemble"
    assert parse_members(bundle.metadata["params"]["members"])[0][0] == "logistic_regression"
    rows = penguins.drop(columns=["species"]).head(12)
    predicted = predict_frame(bundle, rows)
    assert list(predicted[PREDICTION_COLUMN].astype(str)) == [str(v) for v in result.pipeline.predict(rows)]
    assert list(predicted.attrs["probability_columns"].values()) == [str(name) for name in result.classes]
    probabilities = predicted[list(predicted.attrs["probability_columns"])].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_an_ensemble_trains_and_predicts_numbers(tmp_path) -> None:
    frame = load_diabetes(as_frame=True).frame.head(240)
    members = members_json([("linear_regression", {"alpha": 0.1}, 1), ("knn", {"n_neighbors": 15}, 1),
                            ("gradient_boosting", {"max_iter": 20}, 1)])
    _, result = run_training(make_request(frame, "target", Task.REGRESSION, "ensemble", {"members": members}))

    assert result.test.get("mae") < result.test.baseline_of("mae")
    assert result.details is not None and result.details.regression is not None
    path = save_model(tmp_path / "ens.studio.joblib", result.pipeline, metadata_for(result))
    bundle = load_model(path)
    rows = frame.drop(columns=["target"]).tail(5)
    predicted = predict_frame(bundle, rows)
    assert np.allclose(predicted[PREDICTION_COLUMN].to_numpy(dtype=float), result.pipeline.predict(rows))


# -- ONNX -----------------------------------------------------------------------------------------------------------
def test_an_ensemble_exports_to_onnx_and_runs_the_same(penguins: pd.DataFrame, tmp_path) -> None:
    pytest.importorskip("skl2onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    import onnx

    from studio.core.models.ensemble_export import export_ensemble_onnx

    members = members_json([("logistic_regression", {"C": 0.5}, 2), ("svm", {}, 1), ("naive_bayes", {}, 1),
                            ("random_forest", {"n_estimators": 10}, 1)])
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "ensemble",
                                          {"members": members}))
    path = export_ensemble_onnx(result.pipeline, tmp_path / "ensemble.onnx")
    rows = penguins.drop(columns=["species"]).tail(30)
    features = result.pipeline[0].transform(rows).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path))
    labels, probabilities = session.run(None, {"features": features})
    assert np.allclose(probabilities, result.pipeline.predict_proba(rows), atol=1e-4)
    assert list(labels) == list(result.pipeline.predict(rows))
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["classes"]) == ["Adelie", "Chinstrap", "Gentoo"]
    assert json.loads(props["members"]) == ["Logistic regression", "Support vector machine", "Naive Bayes",
                                            "Random forest"]
    assert len(json.loads(props["feature_names"])) == features.shape[1]

    frame = load_diabetes(as_frame=True).frame.head(240)
    members = members_json([("linear_regression", {"alpha": 0.1}, 2), ("random_forest", {"n_estimators": 10}, 1)])
    _, result = run_training(make_request(frame, "target", Task.REGRESSION, "ensemble", {"members": members}))
    path = export_ensemble_onnx(result.pipeline, tmp_path / "numbers.onnx")
    rows = frame.drop(columns=["target"]).tail(20)
    (values,) = onnxruntime.InferenceSession(str(path)).run(
        None, {"features": result.pipeline[0].transform(rows).astype(np.float32)})
    assert np.allclose(values.ravel(), result.pipeline.predict(rows), rtol=1e-4)


def test_an_ensemble_holding_a_network_is_saved_but_says_why_it_cannot_be_onnx(tmp_path) -> None:
    pytest.importorskip("skl2onnx")
    pytest.importorskip("torch")
    from studio.core.models.ensemble_export import export_ensemble_onnx

    data = load_diabetes()
    members = members_json([("linear_regression", {}, 1), ("neural_network", {"epochs": 2, "hidden_layers": "8"}, 1)])
    model = get_model("ensemble").make_estimator(Task.REGRESSION, {"members": members}).fit(data.data, data.target)
    # The network trains inside the ensemble and the whole ensemble goes into a model file.
    import joblib

    joblib.dump(model, tmp_path / "ensemble.joblib")
    assert np.allclose(joblib.load(tmp_path / "ensemble.joblib").predict(data.data[:5]), model.predict(data.data[:5]))
    with pytest.raises(StudioError, match=r"cannot be written as ONNX: Neural network \(a neural network inside an "
                                          r"ensemble cannot be written as ONNX"):
        export_ensemble_onnx(model, tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()
    with pytest.raises(StudioError, match="Only an ensemble"):
        export_ensemble_onnx(get_model("knn").make_estimator(Task.REGRESSION).fit(data.data, data.target),
                             tmp_path / "k.onnx")


def test_a_member_the_onnx_converter_refuses_is_named_and_nothing_is_written(tmp_path) -> None:
    pytest.importorskip("skl2onnx")
    from studio.core.models.ensemble_export import export_ensemble_onnx

    data = load_diabetes()
    members = members_json([("linear_regression", {}, 1), ("gradient_boosting", {"max_iter": 5}, 1)])
    model = get_model("ensemble").make_estimator(Task.REGRESSION, {"members": members}).fit(data.data, data.target)
    with pytest.raises(StudioError, match=r"cannot be written as ONNX: Gradient boosting \(the ONNX converter "
                                          r"\(skl2onnx\) cannot convert this kind of model\)\. The Studio model file"):
        export_ensemble_onnx(model, tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()


def test_members_that_cannot_be_trained_here_are_said_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    assert members_problem({"members": classification_members()}, Task.CLASSIFICATION) == ""
    assert "not valid JSON" in members_problem({"members": "[{"}, Task.CLASSIFICATION)
    regression_only = members_json([("linear_regression", {}, 1), ("knn", {}, 1)])
    assert members_problem({"members": regression_only}, Task.CLASSIFICATION) == \
        "The ensemble holds a linear regression, which cannot do classification; pick another model."
    with_network = members_json([("knn", {}, 1), ("neural_network", {}, 1)])
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "torch" else real_find_spec(name, *args))
    assert members_problem({"members": with_network}, Task.REGRESSION).startswith(
        "The ensemble holds a neural network. Neural networks need PyTorch, which is not installed.")
