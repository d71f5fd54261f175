"""A search that spends a short budget well: cheap starts that grow only where they pay, a holdout on larger
tables, pruning at shared sizes that keeps the best setting reachable, determinism with a trial count, and
extremely randomised trees as a kind of forest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from studio.core.data.target import Task
from studio.core.models.registry import get_model
from studio.core.search.evaluation import Evaluation, choose_evaluation, evaluation_rows
from studio.core.search.frugal import CostCeilings, frugal_space
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.pool import growth_rungs
from studio.core.search.requests import TrialState, TuneRequest, TuneResult
from studio.core.search.spaces import build_space
from tests.core.helpers import make_request, run_training
from tests.core.test_tuning import regression_frame, run_tuning


def test_small_tables_are_cross_validated_and_larger_ones_use_a_holdout() -> None:
    assert choose_evaluation(300, 8, 30.0) == Evaluation(5)
    assert choose_evaluation(12_000, 3, None) == Evaluation(3)  # no budget: folds up to 100,000 rows
    # FLAML's rule: rows x columns against the time there is (30 s: about 83,000 cells).
    holdout = choose_evaluation(2_200, 80, 30.0)
    assert holdout.is_holdout and holdout.holdout_rows == 440  # a fifth of a few thousand rows
    assert choose_evaluation(2_200, 80, 600.0) == Evaluation(5)  # ten minutes: folds pay again
    assert choose_evaluation(50_000, 10, 30.0).holdout_rows == 5_000  # a tenth of a large table
    assert choose_evaluation(150_000, 5, None).is_holdout
    # The person's own choice wins: a fold count, or 1 for a holdout.
    assert choose_evaluation(50_000, 10, 30.0, folds_asked=4) == Evaluation(4)
    assert choose_evaluation(300, 8, 30.0, folds_asked=1).is_holdout
    assert Evaluation(5).words == "5-fold cross-validation on the training rows"
    assert Evaluation(1, 1234).words == "a holdout of 1,234 training rows"


def test_a_holdout_keeps_a_stratified_share_of_the_rows_aside() -> None:
    y = np.array(["rare"] * 50 + ["common"] * 950, dtype=object)
    [(fitted, held)] = evaluation_rows(Evaluation(1, 200), y, Task.CLASSIFICATION, seed=0)
    assert len(held) == 200 and len(fitted) == 800 and not set(fitted) & set(held)
    assert (y[held] == "rare").sum() == 10  # the rare class keeps its share


def test_cost_settings_start_cheap_and_grow_only_when_a_bigger_model_improves() -> None:
    spec = get_model("gradient_boosting")
    space = frugal_space(spec, build_space(spec, Task.REGRESSION))
    assert space.get("max_iter").low == 24 and space.get("max_leaf_nodes").low == 8  # the cheap values fit in
    ceilings = CostCeilings.of(spec, space)
    assert ceilings.ceilings == {"max_iter": 48, "max_leaf_nodes": 16}
    distributions = ceilings.distributions(space)
    assert distributions["max_iter"].high == 48 and distributions["learning_rate"].high == 0.3
    # A known start (the defaults) may go past the ceiling without raising it.
    assert ceilings.distributions(space, {"max_iter": 200})["max_iter"].high == 200
    ceilings.improved({"max_iter": 20, "max_leaf_nodes": 12})  # small rounds won: only the leaves grow
    assert ceilings.ceilings == {"max_iter": 48, "max_leaf_nodes": 32}
    ceilings.improved({"max_iter": 200, "max_leaf_nodes": 8})  # the defaults won: rounds may reach twice them
    assert ceilings.ceilings == {"max_iter": 400, "max_leaf_nodes": 32}
    for _ in range(5):
        ceilings.improved({"max_iter": 800, "max_leaf_nodes": 128})
    assert ceilings.ceilings == {"max_iter": 800, "max_leaf_nodes": 128}  # never past the search range


def test_growth_is_scored_at_sizes_every_trial_shares() -> None:
    assert growth_rungs(24) == [4, 8, 16, 24]
    assert growth_rungs(200) == [16, 32, 64, 128, 200]
    assert growth_rungs(3) == [3]


def test_the_automatic_search_tries_each_family_cheap_first_then_at_its_defaults(penguins: pd.DataFrame) -> None:
    request = TuneRequest(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"), TuneMode.AUTO,
                          budget_s=None, max_trials=4, folds=1, families=("gradient_boosting", "random_forest"))
    _items, result = run_tuning(request)
    first = {t.model_key: t for t in reversed(result.trials)}
    assert [t.model_key for t in result.trials[:2]] == ["gradient_boosting", "random_forest"]
    boosting, forest = first["gradient_boosting"].params_dict(), first["random_forest"].params_dict()
    assert (boosting["max_iter"], boosting["max_leaf_nodes"], forest["n_estimators"]) == (24, 8, 12)
    assert not any(t.at_defaults for t in result.trials[:2])
    # Then each family's defaults (200 rounds, 31 leaves; 100 trees).
    defaults = [t for t in result.trials if t.at_defaults]
    assert defaults and all(t.params_dict() == get_model(t.model_key).resolve(Task.CLASSIFICATION, {})
                            for t in defaults)
    sampled = [t for t in result.trials if t.number > 2 and not t.at_defaults]
    assert all(t.params_dict().get("max_iter", 0) <= 400 for t in sampled)


def test_the_search_says_it_judges_by_a_holdout(penguins: pd.DataFrame) -> None:
    request = TuneRequest(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"), TuneMode.AUTO,
                          budget_s=None, max_trials=3, folds=1, families=("logistic_regression", "knn"))
    items, result = run_tuning(request)
    messages = [item.message for item in items]
    training_rows = result.train_result.split_sizes[0]
    assert any(m.endswith(f"each judged by {result.evaluation}") for m in messages)
    # A fifth of the training rows (the final model then learns from all of them).
    held = int(result.evaluation.split()[3])
    assert result.evaluation == f"a holdout of {held} training rows" and abs(held - training_rows / 5) <= 1
    assert all(t.folds_done == 1 for t in result.trials if t.state is TrialState.DONE)
    assert result.train_result.test.get("accuracy") > 0.9


def test_pruning_keeps_the_best_setting_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every point of a grid scored in full (no pruning) names the best setting; the search with pruning must
    still finish that setting and pick it, though it prunes others on the way."""
    base = make_request(regression_frame(300, seed=3), "y", Task.REGRESSION, "gradient_boosting")
    spec = get_model("gradient_boosting")
    space = build_space(spec, Task.REGRESSION)
    # Slow learning with many rounds can win while it still trails at a few dozen rounds: the case where pruning
    # by early scores could lose the best setting.
    ranges = (space.get("learning_rate").narrowed(spec.param("learning_rate"), 0.01, 0.3),
              space.get("max_iter").narrowed(spec.param("max_iter"), 20, 200))
    request = TuneRequest(base, TuneMode.TUNE, budget_s=None, max_trials=9, method=SearchMethod.GRID,
                          ranges=ranges, seed=2, folds=3)

    def best_of(result: TuneResult) -> tuple:
        return tuple(sorted(result.best.params_dict().items()))

    with monkeypatch.context() as patched:
        patched.setattr(optuna.pruners, "MedianPruner", lambda **_kwargs: optuna.pruners.NopPruner())
        _items, full = run_tuning(request)
    assert all(t.state is TrialState.DONE for t in full.trials) and len(full.trials) == 9
    _items, pruned = run_tuning(request)
    assert any(t.state is TrialState.PRUNED for t in pruned.trials)
    assert best_of(pruned) == best_of(full)
    assert pruned.best.state is TrialState.DONE and pruned.best.score == pytest.approx(full.best.score)


def test_the_same_seed_and_trial_count_give_the_same_frugal_search(penguins: pd.DataFrame) -> None:
    request = TuneRequest(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"), TuneMode.AUTO,
                          budget_s=None, max_trials=6, seed=3, folds=2,
                          families=("gradient_boosting", "random_forest"))

    def outline(result: TuneResult) -> list[tuple]:
        return [(t.model_key, t.params, t.score, t.state, t.folds_done) for t in result.trials]

    first = outline(run_tuning(request)[1])
    assert len(first) == 6
    assert outline(run_tuning(request)[1]) == first


def test_extremely_randomised_trees_are_a_kind_of_forest_and_export_alike(penguins: pd.DataFrame,
                                                                          tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from studio.core.models.pipeline_onnx import export_pipeline_onnx
    from studio.core.store.model_file import metadata_for

    spec = get_model("random_forest")
    assert type(spec.make_estimator(Task.REGRESSION, {"splits": "random"})).__name__ == "ExtraTreesRegressor"
    assert type(spec.make_estimator(Task.REGRESSION, {})).__name__ == "RandomForestRegressor"
    assert build_space(spec, Task.CLASSIFICATION).get("splits").choices == ("best", "random")
    result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest",
                                       {"splits": "random", "n_estimators": 20}))[1]
    assert type(result.pipeline.named_steps["model"]).__name__ == "ExtraTreesClassifier"
    assert result.test.get("accuracy") > 0.9
    report = export_pipeline_onnx(result.pipeline, metadata_for(result), tmp_path / "trees.onnx",
                                  result.rows.x_held)
    assert report.labels_differing == 0


def test_a_short_search_leaves_out_families_that_must_first_import_a_large_library() -> None:
    from studio.core.search.policy import auto_families

    pytest.importorskip("torch")
    assert "neural_network" in auto_families(Task.REGRESSION, 500, 5, budget_s=60.0)
    assert "neural_network" in auto_families(Task.REGRESSION, 500, 5)  # a number of trials: no clock to save
    short = auto_families(Task.REGRESSION, 500, 5, budget_s=30.0)
    assert "neural_network" not in short and "gradient_boosting" in short
    # Asked for by name, it is tried all the same.
    assert auto_families(Task.REGRESSION, 500, 5, ("neural_network",), budget_s=30.0) == ("neural_network",)


def test_row_rungs_prune_on_a_subsample_and_a_promising_trial_reaches_all_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A long table's trials are scored first on a quarter of their rows; those that keep up with the earlier
    trials there go on to all of them. The best setting (known from a search without row rungs) is still found,
    fitted on all the rows, while worse ones stop at the quarter."""
    from studio.core.search import scheduler

    base = make_request(regression_frame(6000, seed=4), "y", Task.REGRESSION, "decision_tree")
    spec = get_model("decision_tree")
    space = build_space(spec, Task.REGRESSION)
    ranges = (space.get("max_depth").narrowed(spec.param("max_depth"), 2, 12),
              space.get("min_samples_leaf").narrowed(spec.param("min_samples_leaf"), 1, 50))
    request = TuneRequest(base, TuneMode.TUNE, budget_s=None, max_trials=12, method=SearchMethod.GRID,
                          ranges=ranges, seed=1, folds=1)
    with monkeypatch.context() as patched:
        patched.setattr(scheduler, "row_rungs", lambda rows: ())
        _items, full = run_tuning(request)
    assert all(t.rows_rung == 0 and t.state is TrialState.DONE for t in full.trials)
    _items, rungs = run_tuning(request)
    fitted = rungs.train_result.split_sizes[0] * 4 // 5  # the holdout keeps a fifth aside
    quarter = fitted // 4
    assert all(t.rows_rung == quarter for t in rungs.trials)
    pruned = [t for t in rungs.trials if t.state is TrialState.PRUNED]
    assert pruned and all(t.note == f"stopped after a fit on {quarter:,} of its {fitted:,} rows: worse than "
                                     "earlier trials on the same rows" for t in pruned)
    # The promising trial went on to all its rows: its score is the full fit's, the same as without rungs.
    assert rungs.best.state is TrialState.DONE and rungs.best.folds_done == 1
    assert rungs.best.params_dict() == full.best.params_dict()
    assert rungs.best.score == pytest.approx(full.best.score)


def test_with_a_time_budget_row_rungs_are_kept_for_families_whose_trials_take_a_while() -> None:
    """A quick family's trials go straight to all their rows (stopping them early saves little, and each rung
    waits for a verdict); a family whose trials take longer than ``ROW_RUNG_MIN_S`` is scored on a quarter
    first. With a trial count the rungs do not depend on time, so the same seed gives the same search."""
    from types import SimpleNamespace

    from studio.core.search import scheduler

    base = make_request(regression_frame(50), "y", Task.REGRESSION, "decision_tree")
    search = scheduler._Search.__new__(scheduler._Search)
    search.row_rungs = (1200,)
    search.request = TuneRequest(base, TuneMode.AUTO, budget_s=30.0)
    assert search._row_rungs(SimpleNamespace(seconds=[])) == ()  # nothing known yet: no rungs
    assert search._row_rungs(SimpleNamespace(seconds=[0.05, 0.2, 0.1])) == ()
    assert search._row_rungs(SimpleNamespace(seconds=[0.5, 2.5, 3.0])) == (1200,)
    search.request = TuneRequest(base, TuneMode.AUTO, budget_s=None, max_trials=10)
    assert search._row_rungs(SimpleNamespace(seconds=[])) == (1200,)


def test_every_family_tries_its_defaults_after_the_cheap_starts_whatever_those_scored() -> None:
    """A cheap start underfits by design (24 rounds of boosting on a target in the thousands); the family's strong
    defaults come next, not only once its cheap score earns them a trial, which it may never do."""
    frame = regression_frame(rows=300)
    frame["y"] = 5_000 + 400 * frame["y"]
    request = TuneRequest(make_request(frame, "y", Task.REGRESSION, "random_forest"), TuneMode.AUTO,
                          budget_s=None, max_trials=5, folds=1,
                          families=("linear_regression", "gradient_boosting", "random_forest"))
    _items, result = run_tuning(request)
    keys = [t.model_key for t in result.trials]
    assert keys[:3] == ["linear_regression", "gradient_boosting", "random_forest"]
    assert not any(t.at_defaults for t in result.trials[1:3])  # the cheap starts
    assert {t.model_key for t in result.trials[3:5]} == {"gradient_boosting", "random_forest"}
    assert all(t.at_defaults for t in result.trials[3:5])


def test_defaults_foreseen_to_take_more_than_half_the_time_left_wait_for_the_family_to_earn_them() -> None:
    from studio.core.search.scheduler import _Family, _pick_family

    def family(key: str, best: float, cost: float) -> _Family:
        spec = get_model(key)
        defaults = spec.resolve(Task.REGRESSION, {})
        return _Family(spec, build_space(spec, Task.REGRESSION), study=None, trials=1, best=best, seconds=[1.0],
                       queue=[("defaults", defaults)], defaults_cost=cost)

    boosting, forest = family("gradient_boosting", -9.0, 32.0), family("random_forest", -5.0, 8.0)
    assert _pick_family([boosting, forest], remaining=100.0) is boosting  # 32 s fits in half of 100 s
    # 32 s would take more than half of 40 s: the forest's defaults (8 s) come first, then the better score.
    assert _pick_family([boosting, forest], remaining=40.0) is forest
    forest.queue.clear()
    assert _pick_family([boosting, forest], remaining=40.0) is forest  # its better score (-5 against -9)


def test_the_final_fit_of_a_family_that_fits_on_every_core_is_foreseen_on_the_free_cores() -> None:
    from studio.core.search.ensemble_choice import RefitCost, refit_time
    from studio.core.search.requests import Trial, TrialState

    forest = Trial(1, "random_forest", (), 1.0, TrialState.DONE, 4.0, 4.0, 1.0, folds_done=1, fit_s=4.0)
    boosting = replace(forest, model_key="gradient_boosting")
    fixed = refit_time([], RefitCost()) + 0.25  # the part that fits nothing
    assert get_model("random_forest").parallel_fit and not get_model("gradient_boosting").parallel_fit
    one, two = RefitCost(cores=1), RefitCost(cores=2)
    assert refit_time([forest], two) - fixed == pytest.approx((refit_time([forest], one) - fixed) / 2)
    assert refit_time([boosting], two) == refit_time([boosting], one)


def test_free_cores_are_read_from_the_idle_time_now_not_the_trailing_load_average(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core.search import cores

    stat = tmp_path / "stat"
    monkeypatch.setattr(cores, "PROC_STAT", stat)
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (2.0, 2.0, 2.0))  # a minute of a busy machine behind

    def sample(after: tuple[int, int, int, int]) -> int:
        """Two readings of /proc/stat, ``after`` (user, system, idle, iowait ticks) apart."""
        user, system, idle, iowait = after

        def write(extra: int) -> None:
            stat.write_text(f"cpu  {100 + user * extra} 0 {50 + system * extra} {1000 + idle * extra} "
                            f"{5 + iowait * extra} 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\n")

        write(0)
        monkeypatch.setattr(cores.time, "sleep", lambda _s: write(1))
        return cores.free_cores()

    assert sample((0, 2, 38, 0)) == 2  # idle now, whatever the load average says
    assert sample((20, 0, 20, 0)) == 1  # another program keeps one core busy
    assert sample((38, 2, 0, 0)) == 1  # never fewer than one
    assert sample((10, 0, 20, 10)) == 2  # waiting for the disk is free time
    # /proc/stat counting other cores than this process sees (part of a larger machine): the load average.
    stat.write_text("cpu  1 0 0 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0\n")
    monkeypatch.setattr(cores.time, "sleep", lambda _s: None)
    assert cores.free_cores() == 1  # round(2 - 2.0), at least one
    monkeypatch.setattr(cores, "PROC_STAT", tmp_path / "missing")
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.4, 0.4, 0.4))
    assert cores.free_cores() == 2


def test_a_growing_trial_that_would_end_after_the_deadline_is_foreseen_from_its_pace() -> None:
    """With a holdout there is no second fold to foresee a trial's time from: the pace of its trees does, measured
    between two growth reports (the first trees also paid for starting up)."""
    import time
    from types import SimpleNamespace

    from studio.core.search.scheduler import _Search

    def overruns(run: SimpleNamespace, step: int, size: int, seconds_left: float, pace_s: float) -> bool:
        """Whether growth to ``step`` of ``size``, ``pace_s`` seconds a tree since the previous report, overruns."""
        now = time.perf_counter()
        if run.grown is not None:
            run.grown = (run.grown[0], now - pace_s * (step - run.grown[0]))
        event = SimpleNamespace(job_id=7, step=step)
        return _Search._growth_overruns(None, run, event, size, now + seconds_left)  # type: ignore[arg-type]

    run = SimpleNamespace(grown=None, share_deadline=float("inf"))
    assert not overruns(run, 8, 200, seconds_left=0.1, pace_s=0.0)  # one report: no pace yet
    assert overruns(run, 16, 200, seconds_left=5.0, pace_s=0.05)  # 184 trees more at 0.05 s: 9.2 s
    run.grown = (16, 0.0)
    assert not overruns(run, 32, 200, seconds_left=12.0, pace_s=0.05)  # 8.4 s of 12 s
    run.grown = (32, 0.0)
    assert not overruns(run, 200, 200, seconds_left=0.1, pace_s=0.05)  # grown: its score is a moment away
    run.grown, run.share_deadline = (16, 0.0), time.perf_counter() + 5.0  # its share of the budget ends first
    assert overruns(run, 32, 200, seconds_left=12.0, pace_s=0.05)
