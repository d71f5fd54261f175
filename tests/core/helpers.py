"""Quick ways to train on small tables in the core tests."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

import pandas as pd

from studio.core.common.progress import Progress, result_of
from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.models.params import ParamValue
from studio.core.prep.config import default_prep
from studio.core.prep.insights import TableInsights, insights_job
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, TrainResult, train

T = TypeVar("T")

# Small settings so the whole suite stays fast; penguins is easy enough that they still beat the baseline.
FAST_PARAMS: dict[str, dict[str, ParamValue]] = {
    "random_forest": {"n_estimators": 20},
    "gradient_boosting": {"max_iter": 20},
}


def make_request(frame: pd.DataFrame, target: str, task: Task, model_key: str,
                 params: dict[str, ParamValue] | None = None, split: SplitConfig | None = None,
                 **extra: Any) -> TrainRequest:
    prep = default_prep(profile_frame(frame))
    merged = {**FAST_PARAMS.get(model_key, {}), **(params or {})}
    return TrainRequest(frame, target, task, prep, split or SplitConfig(), model_key, merged, **extra)


def drain(job: Generator[Any, None, T]) -> T:
    """Run a job (a generator of progress items) to its end; its return value."""
    return result_of(job)


def insights_of(frame: pd.DataFrame, target: str, task: Task = Task.CLASSIFICATION) -> TableInsights:
    """What the Prepare step's check finds in ``frame`` for ``target``."""
    return drain(insights_job(frame, profile_frame(frame), target, task))


def run_training(request: TrainRequest,
                 should_stop: Callable[[], bool] | None = None) -> tuple[list[Progress], TrainResult]:
    """Drive the training generator to its end; returns what it yielded and its result."""
    job = train(request) if should_stop is None else train(request, should_stop)
    items: list[Progress] = []
    while True:
        try:
            items.append(next(job))
        except StopIteration as finished:
            return items, finished.value
