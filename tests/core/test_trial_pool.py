"""The search's worker processes: a fold is fitted and scored in another process; a fit that does not stop when
abandoned is ended with its process; a worker that dies is reported and replaced; workers that cannot start are
said in words."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.search.pool import FoldData, FoldEvent, FoldJob, TrialPool


def _folds(rows: int = 200, seed: int = 0) -> list[FoldData]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    y = 2 * x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=rows)
    cut = rows * 4 // 5
    return [FoldData(x[:cut], y[:cut], x[cut:], y[cut:])]


def _wait_for(pool: TrialPool, job_id: int, timeout: float = 30.0) -> FoldEvent:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for event in pool.events(0.05):
            if event.job_id == job_id and event.final:
                return event
    raise AssertionError(f"no final event for job {job_id} within {timeout} s")


def _wait_idle(pool: TrialPool, count: int, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while pool.idle() < count:
        assert time.perf_counter() < deadline, "the workers did not start"
        pool.events(0.05)


@pytest.fixture
def pool() -> Iterator[TrialPool]:
    created = TrialPool(2)
    try:
        yield created
    finally:
        created.close()


def test_a_fold_is_fitted_and_scored_in_a_worker(pool: TrialPool) -> None:
    folds = _folds()
    pool.load(folds)
    _wait_idle(pool, 2)
    pool.submit(FoldJob(1, "linear_regression", Task.REGRESSION, {"alpha": 0.01}, 0, "rmse", keep_predictions=True))
    event = _wait_for(pool, 1)
    assert event.kind == "done" and event.score < 0.2
    assert event.predictions is not None and event.predictions.shape == (40,)
    assert os.getpid() not in pool.pids()


def test_a_searchs_networks_train_on_the_cpu_whatever_device_they_name(pool: TrialPool) -> None:
    pytest.importorskip("torch")
    pool.load(_folds())
    _wait_idle(pool, 2)
    # Without a CUDA card, a network told to use one would fail; in a worker it trains on the CPU.
    params = {"device": "cuda", "epochs": 3, "hidden_layers": "8"}
    pool.submit(FoldJob(1, "neural_network", Task.REGRESSION, params, 0, "rmse"))
    event = _wait_for(pool, 1, timeout=60)
    assert event.kind == "done", event.message


def test_settings_a_model_refuses_are_a_failed_fold_not_a_dead_worker(pool: TrialPool) -> None:
    pool.load(_folds(rows=20))
    _wait_idle(pool, 2)
    pids = pool.pids()
    pool.submit(FoldJob(1, "knn", Task.REGRESSION, {"n_neighbors": 50}, 0, "rmse"))  # more neighbours than rows
    event = _wait_for(pool, 1)
    assert event.kind == "failed" and "n_neighbors" in event.message
    assert pool.pids() == pids


def test_a_fit_that_does_not_stop_when_abandoned_is_ended_with_its_process(pool: TrialPool) -> None:
    # A kernel machine this flexible on 4,000 rows fits for several seconds and has no steps to stop between.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 20))
    y = 3 * x[:, 0] + np.sin(x[:, 1]) + rng.normal(size=5000)
    pool.load([FoldData(x[:4000], y[:4000], x[4000:], y[4000:])])
    _wait_idle(pool, 2)
    pool.submit(FoldJob(1, "svm", Task.REGRESSION, {"C": 3000.0}, 0, "rmse"))
    busy = next(w.process.pid for w in pool._workers if w.job is not None)
    time.sleep(0.3)
    abandoned_at = time.perf_counter()
    pool.abandon(1)
    event = _wait_for(pool, 1)
    assert event.kind == "abandoned" and event.message == "ended"
    assert time.perf_counter() - abandoned_at < 4.0
    assert busy not in pool.pids()
    with pytest.raises(ProcessLookupError):
        os.kill(busy, 0)
    _wait_idle(pool, 2)  # the worker that took its place is ready for the next fold


def test_a_worker_that_dies_loses_its_fold_and_is_replaced(pool: TrialPool) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5000, 20))
    y = x[:, 0] + rng.normal(size=5000)
    pool.load([FoldData(x[:4000], y[:4000], x[4000:], y[4000:])])
    _wait_idle(pool, 2)
    pool.submit(FoldJob(1, "svm", Task.REGRESSION, {"C": 3000.0}, 0, "rmse"))
    busy = next(w.process.pid for w in pool._workers if w.job is not None)
    os.kill(busy, signal.SIGKILL)
    event = _wait_for(pool, 1)
    assert event.kind == "lost" and "stopped unexpectedly" in event.message
    assert busy not in pool.pids()
    _wait_idle(pool, 2)


def test_workers_that_cannot_start_are_said_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    import studio.core.search.pool as trial_pool

    monkeypatch.setattr(trial_pool, "serve", _exit_at_once)  # the spawned process runs this module's function
    pool = TrialPool(1)
    try:
        with pytest.raises(StudioError, match="could not start its helper processes"):
            deadline = time.perf_counter() + 60
            while time.perf_counter() < deadline:
                pool.events(0.1)
    finally:
        pool.close()


def _exit_at_once(connection: object) -> None:
    raise SystemExit(3)


def test_idle_workers_end_after_a_while_and_a_search_brings_them_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import studio.core.search.pool as trial_pool

    monkeypatch.setattr(trial_pool, "IDLE_CLOSE_S", 0.5)
    with trial_pool.trial_pool(2) as pool:
        pids = pool.pids()
        time.sleep(0.8)  # in use: the idle clock has not started
        assert trial_pool._shared is pool and pool.pids() == pids
    deadline = time.perf_counter() + 10
    while trial_pool._shared is not None and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert trial_pool._shared is None
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with trial_pool.trial_pool(2) as pool:  # the next search starts new ones
        assert len(pool.pids()) == 2 and not set(pool.pids()) & set(pids)



def test_a_fold_with_row_rungs_waits_for_the_verdict_after_each_subsample(pool: TrialPool) -> None:
    from studio.core.search.pool import row_rungs

    folds = _folds(rows=5000)
    pool.load(folds)
    _wait_idle(pool, 2)
    assert row_rungs(4000) == (1000,) and row_rungs(16_000) == (1000, 4000) and row_rungs(3999) == ()
    pool.submit(FoldJob(1, "decision_tree", Task.REGRESSION, {"max_depth": 6}, 0, "rmse", row_rungs=(1000,)))
    pool.submit(FoldJob(2, "decision_tree", Task.REGRESSION, {"max_depth": 6}, 0, "rmse", row_rungs=(1000,)))
    rungs: dict[int, FoldEvent] = {}
    deadline = time.perf_counter() + 30
    while len(rungs) < 2:
        assert time.perf_counter() < deadline, "no row rung was reported"
        rungs.update({e.job_id: e for e in pool.events(0.05) if e.kind == "rows"})
    assert all(e.step == 1000 and not e.final and e.score > 0 for e in rungs.values())
    # Both wait: neither reports a final event before its verdict.
    assert not [e for e in pool.events(0.5) if e.final]
    pool.go(1)
    pool.abandon(2)
    ended: dict[int, FoldEvent] = {}
    while len(ended) < 2:
        assert time.perf_counter() < deadline + 30, "the folds did not end"
        ended.update({e.job_id: e for e in pool.events(0.05) if e.final})
    done, abandoned = ended[1], ended[2]
    assert done.kind == "done" and done.score < rungs[1].score + 0.5  # then fitted on all 4,000 rows
    assert abandoned.kind == "abandoned" and abandoned.message == ""  # stopped by itself, not ended
    _wait_idle(pool, 2)
