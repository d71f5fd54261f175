"""Automatic tuning on small tables: valid search spaces, the budget, finishing early, cancel, determinism."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest

from studio.core.common.errors import Cancelled, StudioError
from studio.core.data.target import Task
from studio.core.models.ensemble_spec import parse_members
from studio.core.models.params import ParamKind
from studio.core.models.registry import all_models, describe_params, get_model
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.policy import auto_families, default_metric, resolve_metric
from studio.core.search.requests import TrialState, TuneProgress, TuneRequest, TuneResult
from studio.core.search.scheduler import tune
from studio.core.search.spaces import build_space
from tests.core.helpers import make_request

FAST_FAMILIES = ("logistic_regression", "knn", "decision_tree", "naive_bayes")


def run_tuning(request: TuneRequest, should_stop: Callable[[], bool] | None = None,
               finish_now: Callable[[], bool] | None = None) -> tuple[list[TuneProgress], TuneResult]:
    job = tune(request, should_stop or (lambda: False), finish_now or (lambda: False))
    items: list[TuneProgress] = []
    while True:
        try:
            items.append(next(job))
        except StopIteration as finished:
            return items, finished.value


def regression_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] ** 2 + rng.normal(scale=0.3, size=rows)
    return frame


@pytest.mark.parametrize("spec", [m for m in all_models() if not m.choices], ids=lambda s: s.key)
def test_every_model_spec_gives_a_valid_search_space(spec) -> None:
    for task in spec.tasks:
        space = build_space(spec, task)
        assert space.ranges, f"{spec.key} has nothing to search for {task.value}"
        for param_range in space.ranges:
            param = spec.param(param_range.name)
            if param_range.is_numeric:
                # Inside what the spec allows, so every sampled value passes ParamSpec.check.
                assert param.low is None or param_range.low >= param.low
                assert param.high is None or param_range.high <= param.high
                assert param_range.low < param_range.high
            for point in param_range.grid_points():
                assert param.check(point) == point or (point is None and param.none_label)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        study.enqueue_trial(space.encode(spec.resolve(task, {})))
        for _ in range(12):
            trial = study.ask(space.distributions())
            params = space.params_from(trial.params)
            resolved = spec.resolve(task, params)  # raises on any value outside a spec's range
            assert set(resolved) == {p.name for p in spec.params_for(task)}
            spec.make_estimator(task, params)
            study.tell(trial, 0.0)
        first = spec.resolve(task, space.params_from(study.trials[0].params))
        defaults = spec.defaults(task)
        # The search starts from the defaults (clipped into the searched range).
        for param_range in space.ranges:
            if param_range.kind in (ParamKind.BOOL, ParamKind.CHOICE):
                assert first[param_range.name] == defaults[param_range.name]


def test_default_metric_follows_the_task_and_the_class_balance() -> None:
    assert default_metric(Task.REGRESSION) == "rmse"
    assert default_metric(Task.CLASSIFICATION, (("a", 50), ("b", 45))) == "accuracy"
    assert default_metric(Task.CLASSIFICATION, (("a", 90), ("b", 10))) == "balanced_accuracy"


def test_the_default_measure_counts_classes_as_the_window_does() -> None:
    # A whole-number column with gaps is read as decimals; its classes are "1" and "2", 60 rows against 15: uneven.
    frame = pd.DataFrame({"x": range(80), "y": [1.0] * 60 + [2.0] * 15 + [None] * 5})
    base = make_request(frame, "y", Task.CLASSIFICATION, "knn")
    assert resolve_metric(TuneRequest(base)) == "balanced_accuracy"


def test_narrowing_a_range_is_checked_in_words() -> None:
    spec = get_model("random_forest")
    space = build_space(spec, Task.CLASSIFICATION)
    trees = space.get("n_estimators")
    narrowed = trees.narrowed(spec.param("n_estimators"), 60, 80)
    assert (narrowed.low, narrowed.high) == (60, 80)
    with pytest.raises(StudioError, match="above the highest"):
        trees.narrowed(spec.param("n_estimators"), 300, 100)
    with pytest.raises(StudioError, match="between"):
        trees.narrowed(spec.param("n_estimators"), 10, 99_999)
    with pytest.raises(StudioError, match="at least one option"):
        space.get("max_features").narrowed(spec.param("max_features"), choices=())


def test_wide_and_long_tables_skip_the_families_that_do_not_pay() -> None:
    # A quick linear model first (a sound model within a moment); on small tables the quick neighbours and kernel
    # machines next, on larger ones the ensembles that usually win.
    small = auto_families(Task.CLASSIFICATION, 500, 10)
    assert small[:5] == ("logistic_regression", "knn", "svm", "gradient_boosting", "random_forest")
    larger = auto_families(Task.REGRESSION, 8000, 10)
    assert larger[:3] == ("linear_regression", "gradient_boosting", "random_forest")
    assert larger.index("svm") > larger.index("random_forest")
    assert "svm" not in auto_families(Task.CLASSIFICATION, 100_000, 10)
    assert "knn" not in auto_families(Task.CLASSIFICATION, 500, 400)


def test_automatic_search_finds_a_model_and_scores_it_once_on_the_test_rows(penguins: pd.DataFrame) -> None:
    request = TuneRequest(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"),
                          TuneMode.AUTO, budget_s=None, max_trials=6, families=FAST_FAMILIES)
    items, result = run_tuning(request)
    trials = [i.trial for i in items if i.trial is not None]
    assert [t.number for t in trials] == list(range(1, 7))
    # Every family's defaults are tried first, then the budget goes to the promising ones.
    assert [t.model_key for t in trials[:4]] == list(FAST_FAMILIES)
    assert result.metric == "accuracy"
    done = [t for t in trials if t.state is TrialState.DONE]
    assert result.best.score == max(t.score for t in done)
    assert trials[-1].best_score == result.best.score
    final = result.train_result
    assert final.model_key == result.best.model_key
    assert final.params == get_model(final.model_key).resolve(Task.CLASSIFICATION, result.best.params_dict())
    # The winner learns from all training rows (train and validation parts); the test rows are scored once.
    train_rows, validation_rows, test_rows = final.split_sizes
    assert validation_rows == 0 and final.validation is None
    assert train_rows + test_rows == len(penguins) - final.dropped_rows
    assert final.test.get("accuracy") > 0.9
    assert describe_params(result.best.params, result.best.model_key)


def test_budget_is_respected_including_a_trial_that_runs_long() -> None:
    frame = regression_frame(3000)
    # Forests of thousands of trees: a single trial takes far longer than the budget.
    base = make_request(frame, "y", Task.REGRESSION, "random_forest", {"n_estimators": 4000})
    space = build_space(get_model("random_forest"), Task.REGRESSION)
    ranges = (space.get("n_estimators").narrowed(get_model("random_forest").param("n_estimators"), 3000, 5000),)
    request = TuneRequest(base, TuneMode.TUNE, budget_s=3.0, ranges=ranges)
    started = time.perf_counter()
    with pytest.raises(StudioError, match="No trial finished within 3 seconds"):
        run_tuning(request)
    assert time.perf_counter() - started < 3.0 + 3.0


def test_a_preparation_that_eats_the_budget_still_leaves_time_to_try_the_quick_models(
        penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy computer preparing the rows (and the first imports) can take a whole short budget. The search then
    still gets its minimum time, says it ends later than asked, and finds a model instead of nothing."""
    from studio.core.prep.build import build_transformer
    from studio.core.search import pool as trial_pool
    from studio.core.search import scheduler

    base = make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression")
    # The preparation's first imports are paid here: inside the search's timing they made its 2.5 s read as 4 s
    # whenever this test ran before any other that prepares a table.
    frame, y, _dropped, _parts = scheduler.usable_split(base)
    build_transformer(base.prep, base.target).fit_transform(frame, y)
    slow_split = scheduler.usable_split

    def busy_computer(*args: object, **kwargs: object) -> object:
        time.sleep(2.5)
        return slow_split(*args, **kwargs)

    monkeypatch.setattr(scheduler, "usable_split", busy_computer)
    with trial_pool.trial_pool(2) as pool:  # ready workers, as a window that started them ahead has
        ready_by = time.perf_counter() + 60
        while pool.idle() < 2 and time.perf_counter() < ready_by:
            pool.events(0.1)
    started = time.perf_counter()
    items, result = run_tuning(TuneRequest(base, TuneMode.AUTO, budget_s=2.0, families=FAST_FAMILIES, workers=2))
    took = time.perf_counter() - started
    assert result.best is not None and result.best.state is TrialState.DONE
    said = [item.message for item in items if "later than asked" in item.message]
    assert len(said) == 1 and "Preparing the data took 3 s of the 2 s given" in said[0]
    assert took < 2.5 + scheduler.MIN_SEARCH_S + 10.0  # the minimum search, the final fit, a busy machine's slack


def test_a_long_fit_with_no_steps_is_ended_at_the_deadline_not_left_running() -> None:
    from studio.core.search import pool as trial_pool

    frame = regression_frame(6000)
    # A kernel machine this flexible takes several seconds per fold and cannot stop between steps: it has none.
    base = make_request(frame, "y", Task.REGRESSION, "svm", {"C": 3000.0})
    space = build_space(get_model("svm"), Task.REGRESSION)
    ranges = (space.get("C").narrowed(get_model("svm").param("C"), 2000.0, 5000.0),)
    with trial_pool.trial_pool(2) as pool:
        # Ready workers (their imports done): on a busy machine starting them alone can take the whole budget.
        ready_by = time.perf_counter() + 60
        while pool.idle() < 2 and time.perf_counter() < ready_by:
            pool.events(0.1)
        before = set(pool.pids())
    started = time.perf_counter()
    with pytest.raises(StudioError, match=r"No trial finished within 2\.5 seconds"):
        run_tuning(TuneRequest(base, TuneMode.TUNE, budget_s=2.5, ranges=ranges, workers=2))
    assert time.perf_counter() - started < 2.5 + 3.0
    # The processes that were fitting were ended with the search, so no core stays busy with a dropped fit.
    ended = before - set(trial_pool._shared.pids()) if trial_pool._shared else before
    assert ended
    for pid in ended:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_that_dies_during_a_search_is_replaced_and_the_search_goes_on(penguins: pd.DataFrame) -> None:
    import signal

    from studio.core.search import pool as trial_pool

    base = make_request(penguins, "species", Task.CLASSIFICATION, "random_forest")
    job = tune(TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=6, families=FAST_FAMILIES))
    killed = None
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            result = finished.value
            break
        if item.trial is not None and killed is None:
            killed = trial_pool._shared.pids()[0]
            os.kill(killed, signal.SIGKILL)
    assert killed is not None
    assert len(result.trials) == 6 and result.best.state is TrialState.DONE
    # A trial whose fold was on the ended worker failed in words; the others went on with a new worker.
    assert all("stopped unexpectedly" in t.note for t in result.trials if t.state is TrialState.FAILED)
    assert killed not in trial_pool._shared.pids()


def test_automatic_search_ends_within_its_budget() -> None:
    base = make_request(regression_frame(400), "y", Task.REGRESSION, "random_forest")
    started = time.perf_counter()
    items, result = run_tuning(TuneRequest(base, TuneMode.AUTO, budget_s=4.0))
    assert time.perf_counter() - started < 4.0 + 3.0
    assert result.metric == "rmse"
    assert result.trials and result.best in result.trials
    assert items[-1].fraction == 1.0
    assert result.train_result.test.get("rmse") < result.train_result.test.baseline_of("rmse")


def test_an_average_of_the_best_trials_wins_when_it_scores_better_in_cross_validation() -> None:
    from sklearn import datasets

    frame = datasets.load_diabetes(as_frame=True).frame  # a real table where a line and a forest err differently
    base = make_request(frame, "target", Task.REGRESSION, "random_forest")
    request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=2,
                          families=("linear_regression", "random_forest"))
    _items, result = run_tuning(request)
    assert result.final_key == "ensemble" and result.train_result.model_key == "ensemble"
    members = parse_members(result.final_params["members"])
    assert {key for key, _params, _weight in members} == {"linear_regression", "random_forest"}
    assert "Linear regression" in describe_params(result.params, "ensemble")
    assert result.ensemble_scores is not None
    mixed, single = result.ensemble_scores
    assert mixed < single  # root mean squared error on the held-out rows of the folds
    # The best single trial, trained on the same rows, does worse on the same test rows.
    assert result.best.model_key == "linear_regression"
    _items, alone = run_tuning(replace(request, max_trials=1, families=("linear_regression",)))
    assert alone.final_key == "linear_regression"
    assert result.train_result.test.get("rmse") < alone.train_result.test.get("rmse")


def test_no_ensemble_when_averaging_does_not_help() -> None:
    from sklearn import datasets

    frame = datasets.load_diabetes(as_frame=True).frame
    base = make_request(frame, "target", Task.REGRESSION, "random_forest")
    _items, result = run_tuning(TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=2,
                                            families=("linear_regression", "knn")))
    assert result.final_key == result.best.model_key == "linear_regression"
    assert result.final_params == result.best.params_dict()


def test_finishing_early_keeps_the_best_model_so_far(penguins: pd.DataFrame) -> None:
    base = make_request(penguins, "species", Task.CLASSIFICATION, "random_forest")
    seen: list[TuneProgress] = []
    request = TuneRequest(base, TuneMode.AUTO, budget_s=120.0, families=FAST_FAMILIES)
    job = tune(request, lambda: False, lambda: sum(1 for i in seen if i.trial) >= 3)
    while True:
        try:
            seen.append(next(job))
        except StopIteration as finished:
            result = finished.value
            break
    assert result.finished_early
    # Trials overlap (one per free core), so a trial still running when the person finishes is ended and listed.
    ended_before = [t for t in result.trials if t.note != "the user asked to finish"]
    assert len(ended_before) == 3
    assert all(t.state is TrialState.STOPPED for t in result.trials[3:])
    best = max((t for t in result.trials if t.state is TrialState.DONE), key=lambda t: t.score)
    assert result.best == best
    assert result.train_result.model_key == best.model_key


def test_cancel_abandons_the_search(penguins: pd.DataFrame) -> None:
    base = make_request(penguins, "species", Task.CLASSIFICATION, "random_forest")
    seen: list[TuneProgress] = []
    with pytest.raises(Cancelled):
        job = tune(TuneRequest(base, TuneMode.AUTO, budget_s=60.0, families=FAST_FAMILIES),
                   lambda: sum(1 for i in seen if i.trial) >= 2)
        while True:
            seen.append(next(job))


def test_the_same_seed_gives_the_same_search(penguins: pd.DataFrame) -> None:
    base = make_request(penguins, "species", Task.CLASSIFICATION, "random_forest")
    request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=8, seed=7,
                          families=("logistic_regression", "knn", "decision_tree"))

    def outline(result: TuneResult) -> list[tuple]:
        return [(t.model_key, t.params, t.score, t.state) for t in result.trials]

    first = outline(run_tuning(request)[1])
    assert first == outline(run_tuning(request)[1])
    other_seed = outline(run_tuning(TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=8, seed=8,
                                                families=("logistic_regression", "knn", "decision_tree")))[1])
    assert other_seed != first


@pytest.mark.parametrize("method", list(SearchMethod))
def test_tuning_one_model_searches_only_the_users_ranges(penguins: pd.DataFrame, method: SearchMethod) -> None:
    spec = get_model("knn")
    base = make_request(penguins, "species", Task.CLASSIFICATION, "knn")
    space = build_space(spec, Task.CLASSIFICATION)
    ranges = (space.get("n_neighbors").narrowed(spec.param("n_neighbors"), 3, 9),)
    request = TuneRequest(base, TuneMode.TUNE, budget_s=None, max_trials=5, method=method, ranges=ranges)
    _items, result = run_tuning(request)
    assert {t.model_key for t in result.trials} == {"knn"}
    for trial in result.trials:
        params = trial.params_dict()
        assert 3 <= params["n_neighbors"] <= 9
        assert params["weights"] == "distance"  # left out of the search: keeps its value
    if method is SearchMethod.GRID:
        assert sorted(t.params_dict()["n_neighbors"] for t in result.trials) == [3, 5, 9]  # the whole grid
    assert result.train_result.model_key == "knn"


def test_a_metric_that_does_not_fit_the_task_is_refused_in_words(penguins: pd.DataFrame) -> None:
    base = make_request(penguins, "species", Task.CLASSIFICATION, "knn")
    with pytest.raises(StudioError, match="cannot judge classification"):
        run_tuning(TuneRequest(base, TuneMode.TUNE, budget_s=5, metric="rmse"))


def test_optuna_prunes_iterative_models_part_way_through_growing() -> None:
    base = make_request(regression_frame(300), "y", Task.REGRESSION, "gradient_boosting")
    request = TuneRequest(base, TuneMode.TUNE, budget_s=None, max_trials=10, method=SearchMethod.RANDOM, seed=1)
    _items, result = run_tuning(request)
    pruned = [t for t in result.trials if t.state is TrialState.PRUNED]
    # Pruned while growing its first fold (at a size every trial is scored at), or after a fold.
    assert any("rounds of its first fold" in t.note for t in pruned)
    assert all("of its first fold" in t.note or " folds: worse" in t.note for t in pruned)
    assert all(t.folds_done < 5 for t in pruned)
    assert result.best.state is TrialState.DONE and result.best.folds_done == 5
