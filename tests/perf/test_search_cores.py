"""How many cores the automatic search keeps busy, against scikit-learn's own parallel search in the same run.

Both get the same table and the same wall time. The figure is CPU seconds (this process and every process it
started, sampled from /proc) over wall seconds while searching: 2.0 means both cores of a 2-core machine worked
the whole time. The baseline is ``RandomizedSearchCV(n_jobs=-1)`` over a random forest's settings, run until the
same time is spent, which is how a script would use every core. The ratio is Studio's over the baseline's.

Linux only (it reads /proc). Budget: ``STUDIO_CORES_BUDGET`` seconds per table (default 20).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from tests.perf.bench import report

pytestmark = [pytest.mark.perf,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads CPU times from /proc")]

BUDGET_S = float(os.environ.get("STUDIO_CORES_BUDGET", "20"))
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def _descendants(root: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(parent, []).append(int(entry))
    found, queue = set(), [root]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.add(child)
            queue.append(child)
    return found


@contextmanager
def cpu_meter() -> Iterator[Callable[[], float]]:
    """CPU seconds used inside the block by this process and its children, sampled every 0.1 s (a child that
    ends between samples loses at most its last 0.1 s)."""
    me = os.getpid()
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        for pid in {me} | _descendants(me):
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                first.setdefault(pid, seconds if pid == me or pid in start_set else 0.0)
                last[pid] = seconds

    start_set = _descendants(me)
    sample()

    def loop() -> None:
        while not stop.wait(0.1):
            sample()

    sampler = threading.Thread(target=loop, daemon=True)
    sampler.start()
    try:
        yield lambda: sum(last[pid] - first[pid] for pid in last)
    finally:
        stop.set()
        sampler.join()
        sample()


def _digits() -> tuple[object, str]:
    from sklearn import datasets

    frame = datasets.load_digits(as_frame=True).frame
    frame["target"] = frame["target"].map(lambda v: f"digit_{v}")
    return frame, "target"


def _studio_search(frame: object, target: str) -> tuple[float, float, int]:
    from studio.core.data.profile import profile_frame
    from studio.core.data.target import Task
    from studio.core.prep.config import default_prep
    from studio.core.search.modes import TuneMode
    from studio.core.search.requests import TuneRequest
    from studio.core.search.scheduler import tune
    from studio.core.train.splits import SplitConfig
    from studio.core.train.training import TrainRequest

    base = TrainRequest(frame, target, Task.CLASSIFICATION, default_prep(profile_frame(frame)), SplitConfig(),
                        "random_forest", {})
    job = tune(TuneRequest(base, TuneMode.AUTO, budget_s=BUDGET_S))
    search_started = search_ended = None
    cpu_at_start = 0.0
    with cpu_meter() as used:
        while True:
            try:
                item = next(job)
            except StopIteration as finished:
                result = finished.value
                break
            if item.stage == "Searching" and search_started is None:
                search_started, cpu_at_start = time.perf_counter(), used()
            if item.stage == "Training the winner" and search_ended is None:
                search_ended, cpu_at_end = time.perf_counter(), used()
    assert search_started is not None and search_ended is not None
    return cpu_at_end - cpu_at_start, search_ended - search_started, len(result.trials)


def _sklearn_search(frame: object, target: str, seconds: float) -> tuple[float, float, int]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import RandomizedSearchCV

    x = frame.drop(columns=[target]).to_numpy()  # type: ignore[attr-defined]
    y = frame[target].to_numpy()  # type: ignore[index]
    rng = np.random.default_rng(0)
    fits = 0
    started = time.perf_counter()
    with cpu_meter() as used:
        while time.perf_counter() - started < seconds:
            search = RandomizedSearchCV(RandomForestClassifier(), {"n_estimators": [20, 50, 100],
                                                                   "max_depth": [None, 8, 16],
                                                                   "min_samples_leaf": [1, 2, 4]},
                                        n_iter=4, cv=5, n_jobs=-1, random_state=int(rng.integers(1 << 30)))
            search.fit(x, y)
            fits += 4
        wall = time.perf_counter() - started
        cpu = used()
    return cpu, wall, fits


def test_the_search_keeps_every_core_busy() -> None:
    frame, target = _digits()
    studio_cpu, studio_wall, trials = _studio_search(frame, target)
    baseline_cpu, baseline_wall, fits = _sklearn_search(frame, target, studio_wall)
    studio_cores = studio_cpu / studio_wall
    baseline_cores = baseline_cpu / baseline_wall
    print(f"\nStudio: {studio_cpu:.1f} CPU s in {studio_wall:.1f} s of searching ({trials} trials)"
          f"\nRandomizedSearchCV(n_jobs=-1): {baseline_cpu:.1f} CPU s in {baseline_wall:.1f} s ({fits} settings)")
    report("search_cores", "the search keeps as many cores busy as scikit-learn's parallel search (ratio >= 0.9)",
           cores=os.cpu_count() or 1, studio_cores_busy=studio_cores, baseline_cores_busy=baseline_cores,
           ratio=studio_cores / baseline_cores)
    assert studio_cores > 0.5 and baseline_cores > 0.5
