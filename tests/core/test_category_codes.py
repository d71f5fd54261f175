"""Gradient boosting takes wide category columns as codes (one feature each, split on directly) instead of one-hot
columns: it trains, answers the same after saving, handles unknown categories and gaps, exports to ONNX that
answers like Studio, and retrains; narrow category columns and the "one_hot" setting keep one-hot encoding."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.data.target import Task
from studio.core.prep.codes import code_positions, codes_pay
from studio.core.serve.retrain import retrain_job
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.train.training import TrainResult

from .helpers import make_request, run_training

TOWNS = [f"town {i:02d}" for i in range(40)]


def shops(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Sales that depend on the town (40 values), a little on the weekday (7) and on a number."""
    rng = np.random.default_rng(seed)
    effect = dict(zip(TOWNS, np.random.default_rng(99).normal(size=len(TOWNS)), strict=True))
    town = np.asarray(TOWNS, dtype=object)[rng.integers(0, len(TOWNS), rows)]
    day = rng.choice(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], rows)
    size = rng.normal(size=rows)
    sales = np.array([effect[t] for t in town]) + 0.2 * (day == "Sat") + size + rng.normal(scale=0.3, size=rows)
    frame = pd.DataFrame({"town": town, "day": day, "size": size, "sales": sales,
                          "busy": np.where(sales > 0, "busy", "quiet")})
    frame.loc[frame.index[::37], "town"] = np.nan  # gaps in training too
    return frame


def train(frame: pd.DataFrame, target: str, task: Task, params: dict[str, Any] | None = None,
          missing_flag: bool = False) -> TrainResult:
    frame = frame.drop(columns=["busy" if target == "sales" else "sales"])
    request = make_request(frame, target, task, "gradient_boosting", params)
    if missing_flag:  # a gap flag beside the town's codes: the codes are no longer the first features in a row
        columns = tuple(replace(c, missing_indicator=True) if c.name == "town" else c for c in request.prep.columns)
        request = replace(request, prep=replace(request.prep, columns=columns))
    return run_training(request)[1]


def new_rows(result: TrainResult) -> pd.DataFrame:
    """Held-out rows with a town never seen, gaps in the town and in a number."""
    rows = result.rows.x_held.copy()
    rows.loc[rows.index[:6], "town"] = "Atlantis"
    rows.loc[rows.index[6:12], "town"] = np.nan
    rows.loc[rows.index[12:18], "size"] = np.nan
    rows.loc[rows.index[18:24], "day"] = "Holiday"
    return rows


@pytest.fixture(scope="module")
def regression() -> TrainResult:
    return train(shops(), "sales", Task.REGRESSION)


@pytest.fixture(scope="module")
def classification() -> TrainResult:
    return train(shops(), "busy", Task.CLASSIFICATION)


def test_wide_categories_reach_the_boosting_as_codes(regression: TrainResult) -> None:
    model = regression.pipeline[-1]
    features = regression.pipeline[0].transform(shops(50, seed=1))
    # town and day as one feature each (codes), then the number: 3 features, not 40 + 7 + 1.
    assert features.shape[1] == 3
    assert list(model.is_categorical_) == [True, True, False]
    assert regression.test is not None and regression.test.get("r2") > 0.8


def test_the_model_answers_the_same_after_saving_with_unknown_categories_and_gaps(
        regression: TrainResult, classification: TrainResult, tmp_path: Path) -> None:
    for number, result in enumerate((regression, classification)):
        rows = new_rows(result)
        bundle = load_model(save_model(tmp_path / f"m{number}.studio", result.pipeline, metadata_for(result)))
        answers = bundle.pipeline.predict(rows)
        assert np.array_equal(answers, result.pipeline.predict(rows))
        assert not pd.isna(answers).any()
        if result.task is Task.CLASSIFICATION:
            assert np.allclose(bundle.pipeline.predict_proba(rows), result.pipeline.predict_proba(rows))
    # An unknown town reaches the model as a gap in its codes (a gap in the data is filled before, as with
    # one-hot encoding).
    features = regression.pipeline[0].transform(new_rows(regression).iloc[:6])
    assert np.isnan(features[:, 0]).all() and not np.isnan(features[:, 1:]).any()


@pytest.mark.parametrize("task", [Task.REGRESSION, Task.CLASSIFICATION])
@pytest.mark.parametrize("missing_flag", [False, True])
def test_the_onnx_export_answers_like_studio_with_unknown_categories_and_gaps(
        tmp_path: Path, task: Task, missing_flag: bool) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    from studio.core.models.pipeline_onnx import (
        PROBABILITY_TOLERANCE,
        RELATIVE_TOLERANCE,
        export_pipeline_onnx,
    )

    result = train(shops(), "sales" if task is Task.REGRESSION else "busy", task, missing_flag=missing_flag)
    assert np.any(result.pipeline[-1].is_categorical_)
    report = export_pipeline_onnx(result.pipeline, metadata_for(result), tmp_path / "m.onnx", new_rows(result))
    assert report.labels_differing == 0
    assert report.largest_difference < (PROBABILITY_TOLERANCE if task is Task.CLASSIFICATION
                                        else RELATIVE_TOLERANCE)


def test_narrow_categories_and_the_one_hot_setting_keep_one_hot_columns() -> None:
    narrow = shops().assign(town=lambda f: np.where(f["town"].isin(TOWNS[:3]), f["town"], "elsewhere"))
    result = train(narrow, "sales", Task.REGRESSION)
    assert result.pipeline[-1].is_categorical_ is None  # 4 towns and 7 days: few one-hot columns
    assert not codes_pay(result.prep, "sales", narrow)
    forced = train(shops(), "sales", Task.REGRESSION, {"categories": "one_hot"})
    assert forced.pipeline[-1].is_categorical_ is None
    assert forced.pipeline[0].transform(shops(20, seed=2)).shape[1] > 40
    coded = train(narrow, "sales", Task.REGRESSION, {"categories": "codes"})
    assert list(coded.pipeline[-1].is_categorical_) == [True, True, False]
    assert code_positions(coded.prep, "sales") == [0, 1]


def test_a_model_with_codes_retrains_on_new_rows(regression: TrainResult, tmp_path: Path) -> None:
    bundle = load_model(save_model(tmp_path / "m.studio", regression.pipeline, metadata_for(regression)))
    job: Generator[Any, None, Any] = retrain_job(bundle, shops(800, seed=5).drop(columns=["busy"]))
    while True:
        try:
            next(job)
        except StopIteration as finished:
            retrained = finished.value
            break
    assert list(retrained.result.pipeline[-1].is_categorical_) == [True, True, False]
    assert retrained.new_scores.get("r2") > 0.7


def test_the_search_judges_boosting_on_codes_and_trains_the_winner_the_same_way() -> None:
    from studio.core.search.modes import TuneMode
    from studio.core.search.requests import TrialState, TuneRequest

    from .test_tuning import run_tuning

    frame = shops(600).drop(columns=["busy"])
    base = make_request(frame, "sales", Task.REGRESSION, "gradient_boosting")
    request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=3, folds=2,
                          families=("gradient_boosting", "linear_regression"))
    _items, result = run_tuning(request)
    boosting = [t for t in result.trials if t.model_key == "gradient_boosting"]
    linear = [t for t in result.trials if t.model_key == "linear_regression"]
    assert boosting and all(t.params_dict()["categories"] == "codes" for t in boosting)
    assert all(t.state is TrialState.DONE for t in result.trials)
    assert linear and "categories" not in linear[0].params_dict()
    # Tuning boosting alone: its winner is trained with codes, as its trials were.
    tuned = run_tuning(TuneRequest(base, TuneMode.TUNE, budget_s=None, max_trials=2, folds=2))[1]
    assert tuned.final_params["categories"] == "codes"
    assert list(tuned.train_result.pipeline[-1].is_categorical_) == [True, True, False]


def test_an_ensemble_member_judged_on_codes_is_foreseen_slower_on_one_hot_columns() -> None:
    """An ensemble trains its members on one-hot columns, so the time kept for it counts a boosting member judged
    on codes as that many times slower; the winner alone is trained on codes, as judged."""
    from studio.core.search.ensemble_choice import RefitCost, refit_time
    from studio.core.search.requests import Trial, TrialState

    coded = Trial(1, "gradient_boosting", (("categories", "codes"),), 1.0, TrialState.DONE, 2.0, 2.0, 1.0,
                  folds_done=1, fit_s=2.0)
    plain = replace(coded, params=())
    cost = RefitCost(one_hot_ratio=3.0)
    assert refit_time([coded], cost) == refit_time([plain], cost) == refit_time([plain], cost, as_members=True)
    base = refit_time([], RefitCost()) + 0.25  # the fixed part, with nothing to fit
    assert refit_time([coded], cost, as_members=True) - base == pytest.approx(3 * (refit_time([plain], cost) - base))
