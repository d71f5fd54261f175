"""A rare class handled by default: the decision threshold chosen on held-out rows, kept inside the saved model and
used wherever it predicts (the pipeline, a reopened file, the runtime, ONNX); more than two classes weighed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from studio.core.data.target import Task
from studio.core.models.imbalance import (
    best_threshold,
    decision_threshold,
    labels_from_probabilities,
    rare_class,
    with_default_weights,
)
from studio.core.models.registry import get_model
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.train.splits import explicit_split

from .helpers import make_request, run_training


@pytest.fixture(scope="module")
def rare_tumours() -> pd.DataFrame:
    """scikit-learn's breast-cancer scans with most malignant ones left out: 30 of 387 rows (7.8%) malignant."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.copy()
    frame["diagnosis"] = np.where(frame.pop("target") == 0, "malignant", "benign")
    malignant = frame.index[frame["diagnosis"] == "malignant"]
    rng = np.random.default_rng(0)
    keep = frame.index[frame["diagnosis"] == "benign"].union(rng.choice(malignant, 30, replace=False))
    return frame.loc[keep].sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_a_class_under_a_fifth_of_the_rows_is_rare() -> None:
    assert rare_class({"no": 955, "yes": 45}) is not None
    assert rare_class({"no": 955, "yes": 45}).label == "yes"  # type: ignore[union-attr]
    assert rare_class({"a": 60, "b": 40}) is None
    assert rare_class({"only": 10}) is None


def test_the_best_threshold_separates_what_scores_separate_and_prefers_half_on_ties() -> None:
    truth = np.array([False] * 8 + [True] * 2)
    scores = np.array([0.01, 0.02, 0.05, 0.1, 0.1, 0.12, 0.15, 0.2, 0.3, 0.35])
    value, score = best_threshold(truth, scores)
    assert 0.2 < value <= 0.3 and score == pytest.approx(1.0)
    # Every threshold between the classes separates them perfectly: the one nearest 0.5 is kept.
    value, _ = best_threshold(np.array([False, True]), np.array([0.0, 1.0]))
    assert value == 0.5


def test_more_than_two_classes_are_weighed_unless_the_person_said_otherwise() -> None:
    forest = get_model("random_forest")
    counts = {"a": 500, "b": 450, "c": 50}
    assert with_default_weights(forest, {}, counts) == {"balanced": True}
    assert with_default_weights(forest, {"balanced": False}, counts) == {"balanced": False}
    assert with_default_weights(forest, {}, {"a": 950, "b": 50}) == {}  # two classes: a threshold instead
    assert with_default_weights(get_model("knn"), {}, counts) == {}  # nothing to weigh


def test_two_classes_get_a_threshold_that_every_way_of_predicting_uses(rare_tumours: pd.DataFrame,
                                                                       tmp_path: Path) -> None:
    _, result = run_training(make_request(rare_tumours, "diagnosis", Task.CLASSIFICATION, "logistic_regression"))
    model = result.pipeline[-1]
    found = decision_threshold(model)
    assert found is not None and found[0] == "malignant"
    threshold = found[1]
    assert result.details is not None and result.details.classification is not None
    assert result.details.classification.decision_threshold == threshold
    assert "7.8%" in result.decision_note and "validation rows" in result.decision_note

    rows = rare_tumours.drop(columns=["diagnosis"])
    prepared = result.pipeline[0].transform(rows)
    proba = model.predict_proba(prepared)
    malignant = list(model.classes_).index("malignant")
    expected = np.where(proba[:, malignant] >= threshold, "malignant", "benign")
    assert list(result.pipeline.predict(rows)) == list(expected)
    assert list(labels_from_probabilities(model, proba)) == list(expected)

    path = save_model(tmp_path / "tumours.studio", result.pipeline, metadata_for(result))
    bundle = load_model(path)  # the safe loader: the threshold is plain scikit-learn
    assert decision_threshold(bundle.pipeline[-1]) == found
    assert list(predict_frame(bundle, rows)[PREDICTION_COLUMN]) == list(expected)


def test_the_threshold_is_inside_the_onnx_file(rare_tumours: pd.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from studio.core.models.pipeline_onnx import export_pipeline_onnx

    _, result = run_training(make_request(rare_tumours, "diagnosis", Task.CLASSIFICATION, "gradient_boosting"))
    assert decision_threshold(result.pipeline[-1]) is not None
    rows = rare_tumours.drop(columns=["diagnosis"])
    report = export_pipeline_onnx(result.pipeline, None, tmp_path / "tumours.onnx", rows)
    assert report.labels_differing == 0


def test_without_validation_rows_the_threshold_comes_from_out_of_fold_scores(rare_tumours: pd.DataFrame) -> None:
    rows = len(rare_tumours)
    split = explicit_split(list(range(0, rows - 80)), list(range(rows - 80, rows)), rows)
    _, result = run_training(make_request(rare_tumours, "diagnosis", Task.CLASSIFICATION, "random_forest",
                                          fixed_split=split))
    assert decision_threshold(result.pipeline[-1]) is not None
    assert "3 folds" in result.decision_note
    assert result.params["balanced"] is False  # two classes: the threshold alone


def test_balanced_classes_keep_the_plain_model(penguins: pd.DataFrame) -> None:
    two = penguins[penguins["species"] != "Chinstrap"]  # Adelie and Gentoo: 44% and 36%
    _, result = run_training(make_request(two, "species", Task.CLASSIFICATION, "logistic_regression"))
    assert decision_threshold(result.pipeline[-1]) is None and result.decision_note == ""


def test_a_whole_pipeline_predicts_with_its_threshold_too(rare_tumours: pd.DataFrame) -> None:
    """Retraining scores old and new models given as whole pipelines: their thresholds must count there too."""
    from studio.core.evaluate.metrics import predict_part

    _, result = run_training(make_request(rare_tumours, "diagnosis", Task.CLASSIFICATION, "logistic_regression"))
    rows = rare_tumours.drop(columns=["diagnosis"])
    assert decision_threshold(result.pipeline) == decision_threshold(result.pipeline[-1])
    labels, _ = predict_part(result.pipeline, Task.CLASSIFICATION, rows)
    assert list(labels) == list(result.pipeline.predict(rows))


@pytest.mark.parametrize(("rows", "rare"), [(40, 1), (25, 2)])
def test_a_handful_of_rare_rows_trains_without_a_threshold_rather_than_failing(rows: int, rare: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["answer"] = ["yes"] * rare + ["no"] * (rows - rare)
    for key in ("studio_choice", "logistic_regression"):
        _, result = run_training(make_request(frame, "answer", Task.CLASSIFICATION, key))
        assert decision_threshold(result.pipeline) is None, key  # too few rare rows to choose one on


def test_a_search_chooses_the_winners_threshold_on_its_own_held_out_scores(rare_tumours: pd.DataFrame,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The search has its winner's probabilities for rows it did not learn from: the threshold is chosen on those,
    with no more fits of the model on folds of the training rows."""
    from studio.core.search.modes import TuneMode
    from studio.core.search.requests import TuneRequest
    from tests.core.test_tuning import run_tuning

    def no_refits(*args: object, **kwargs: object) -> None:
        raise AssertionError("the threshold was chosen by fitting the model again")

    monkeypatch.setattr("sklearn.model_selection.cross_val_predict", no_refits)
    rows = len(rare_tumours)
    split = explicit_split(list(range(0, rows - 80)), list(range(rows - 80, rows)), rows)
    request = TuneRequest(make_request(rare_tumours, "diagnosis", Task.CLASSIFICATION, "logistic_regression",
                                       fixed_split=split), TuneMode.AUTO, budget_s=None, max_trials=3,
                          metric="f1_macro", families=("logistic_regression", "naive_bayes"))
    _items, tuned = run_tuning(request)
    result = tuned.train_result
    assert decision_threshold(result.pipeline[-1]) is not None
    assert "the search's 5 folds" in result.decision_note
