"""The preparation is fitted once per fold (and once more per fold for the folds with category codes), before the
trials, and every trial on that fold reuses it: the workers get prepared numbers, never a preparation to fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from studio.core.data.target import Task
from studio.core.prep import build
from studio.core.search.modes import TuneMode
from studio.core.search.pool import TrialPool
from studio.core.search.requests import TuneRequest
from studio.core.search.scheduler import tune
from tests.core.helpers import make_request
from tests.core.test_category_codes import shops


def search_counting_fits(request: TuneRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[Any], Any]:
    """Run the search; (preparations fitted before the winner's training, the folds the workers got, result)."""
    fits = 0
    real_build = build.build_transformer

    def counted(*args: Any, **kwargs: Any) -> Any:
        transformer = real_build(*args, **kwargs)
        real_fit_transform = transformer.fit_transform

        def fit_transform(*fit_args: Any, **fit_kwargs: Any) -> Any:
            nonlocal fits
            fits += 1
            return real_fit_transform(*fit_args, **fit_kwargs)

        transformer.fit_transform = fit_transform
        return transformer

    loaded: list[Any] = []
    real_load = TrialPool.load

    def load(pool: TrialPool, folds: Any, coded: Any = ()) -> None:
        loaded.extend([*folds, *coded])
        real_load(pool, folds, coded)

    monkeypatch.setattr(build, "build_transformer", counted)
    monkeypatch.setattr(TrialPool, "load", load)
    job = tune(request)
    during_search = None
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return int(during_search if during_search is not None else fits), loaded, finished.value
        if item.stage == "Training the winner" and during_search is None:
            during_search = fits


def test_each_fold_is_prepared_once_whatever_the_number_of_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = shops(400).drop(columns=["busy"])
    base = make_request(frame, "sales", Task.REGRESSION, "linear_regression")
    for trials in (2, 6):
        request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=trials, folds=3,
                              families=("linear_regression", "decision_tree"))
        fits, folds, result = search_counting_fits(request, monkeypatch)
        assert len(result.trials) == trials
        # One untimed warm-up on a few rows, then one fit per fold: not one per trial.
        assert fits == 1 + 3
        assert len(folds) == 3 and all(isinstance(f.x_train, np.ndarray) for f in folds)


@pytest.mark.parametrize("folds", [3, 1])
def test_folds_with_category_codes_are_prepared_once_more_per_fold(monkeypatch: pytest.MonkeyPatch,
                                                                   folds: int) -> None:
    # 549 training rows: the holdout is one of 4 folds (138 rows); split again by 138 rows, other rows are held.
    frame = shops(647).drop(columns=["busy"])
    base = make_request(frame, "sales", Task.REGRESSION, "linear_regression")
    request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=4, folds=folds,
                          families=("linear_regression", "gradient_boosting"))
    fits, prepared, result = search_counting_fits(request, monkeypatch)
    assert len(result.trials) == 4
    assert fits == 1 + folds + folds
    plain, coded = prepared[:folds], prepared[folds:]
    assert [f.codes for f in prepared] == [()] * folds + [(0, 1)] * folds
    assert all(f.x_train.shape[1] == 3 for f in coded)  # town, day (codes) and size
    # The same rows in every fold (a holdout too), so the trials' held-out answers line up for the ensemble.
    for one_hot, codes in zip(plain, coded, strict=True):
        assert np.array_equal(one_hot.y_train, codes.y_train) and np.array_equal(one_hot.y_valid, codes.y_valid)
