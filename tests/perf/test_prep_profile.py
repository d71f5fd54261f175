"""Profiling a 1,000,000-row, 20-column table for the Prepare step, histograms and top values included, on a worker.

The Data page's profiler (``profile_job``) runs in a ``JobRunner`` exactly as the window runs it, timed from
``start`` to the ``succeeded`` signal on the GUI thread. The baseline is what a programmer would type in a
notebook: ``DataFrame.describe()`` plus ``value_counts()`` of every column, on the same frame in the same run.
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QApplication

from studio.core.data.profile import ColumnKind, profile_job
from studio.workers.runner import JobRunner

from .bench import median, report

pytestmark = pytest.mark.perf

ROWS = 1_000_000
ROUNDS = 3


def big_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """20 columns as a loaded CSV holds them: decimals and whole numbers with gaps, categories, a yes/no flag,
    numbers written as text ("1,234.5") and dates written as text."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"num_{i}": rng.normal(100 * i, 10 + i, rows).round(3) for i in range(8)})
    for i in range(4):
        frame[f"int_{i}"] = rng.integers(0, 1000 * (i + 1), rows).astype(float)
    for column in ("num_0", "int_0"):
        frame.loc[rng.random(rows) < 0.02, column] = np.nan
    for i, (word, count) in enumerate((("city", 40), ("colour", 8), ("plan", 3), ("segment", 15), ("code", 200))):
        choices = np.array([f"{word}_{k}" for k in range(count)], dtype=object)
        values = choices[rng.integers(0, count, rows)]
        values[rng.random(rows) < 0.03] = None
        frame[f"cat_{i}"] = values
    frame["flag"] = np.where(rng.random(rows) < 0.3, "yes", "no").astype(object)
    amounts = rng.gamma(2.0, 800.0, rows).round(1)
    frame["amount_text"] = pd.Series(amounts).map("{:,}".format).astype(object)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    frame["signup"] = days.strftime("%Y-%m-%d").astype(object)
    return frame


def baseline(frame: pd.DataFrame) -> None:
    frame.describe()
    for column in frame.columns:
        frame[column].value_counts()


def profile_in_worker(qapp: QApplication, runner: JobRunner, frame: pd.DataFrame) -> tuple[float, tuple]:
    result: list[tuple] = []
    runner.succeeded.connect(result.append)
    started = time.perf_counter()
    assert runner.start(lambda stop: profile_job(frame, stop))
    while not result:
        qapp.processEvents()
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    runner.succeeded.disconnect(result.append)
    while runner.is_running():
        qapp.processEvents()
    return elapsed, result[0]


def test_profiling_with_histograms_in_a_worker(qapp: QApplication) -> None:
    frame = big_frame()
    runner = JobRunner()
    baseline_s: list[float] = []
    studio_s: list[float] = []
    try:
        for _ in range(ROUNDS):  # interleaved, so a burst of load on a shared machine hits both alike
            gc.collect()
            started = time.perf_counter()
            baseline(frame)
            baseline_s.append(time.perf_counter() - started)
            gc.collect()
            elapsed, profiles = profile_in_worker(qapp, runner, frame)
            studio_s.append(elapsed)
    finally:
        runner.stop()
    kinds = {p.name: p.kind for p in profiles}
    assert kinds["amount_text"] is ColumnKind.NUMERIC and kinds["signup"] is ColumnKind.DATE
    assert kinds["cat_4"] is ColumnKind.CATEGORICAL and kinds["flag"] is ColumnKind.BOOLEAN
    by_name = {p.name: p for p in profiles}
    assert sum(by_name["num_3"].histogram[1]) == ROWS
    assert sum(by_name["amount_text"].histogram[1]) == ROWS
    assert by_name["cat_2"].top_values and by_name["signup"].histogram[1]
    studio, plain = median(studio_s), median(baseline_s)
    report("prep_profile", "profiling in a worker at most 3x describe() + value_counts()",
           rows=str(ROWS), columns=str(frame.shape[1]), studio_worker_s=studio, describe_value_counts_s=plain,
           ratio=studio / plain, studio_runs="/".join(f"{t:.2f}" for t in studio_s),
           baseline_runs="/".join(f"{t:.2f}" for t in baseline_s))
    assert 0 < studio < 300 and 0 < plain < 300
