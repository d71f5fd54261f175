"""What explaining a result costs, each against a plain scikit-learn baseline measured in the same run.

- The Results step's details (confusion matrix, per-class scores, ROC and PR curves thinned for storage, the
  threshold sample, imbalance) against scikit-learn's own metric calls on the same predictions.
- Permutation importance (one column per step, for progress and cancel) against
  ``sklearn.inspection.permutation_importance`` with the same repeats, single-threaded.
- Recording a run in the SQLite store (one WAL transaction) against writing the same JSON to a file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.evaluate.details import classification_details
from studio.core.evaluate.explain import permutation_importance
from studio.core.prep.config import default_prep
from studio.core.store.runs import RunStore, run_from_result
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, train

from .bench import classification_frame, median, report

pytestmark = pytest.mark.perf

ROWS = 20_000
ROUNDS = 3


def drive(job):
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value


@pytest.fixture(scope="module")
def trained():
    frame = classification_frame(ROWS)
    request = TrainRequest(frame, "label", Task.CLASSIFICATION, default_prep(profile_frame(frame)), SplitConfig(),
                           "logistic_regression", {})
    return drive(train(request))


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def test_result_details_against_sklearn_metrics(trained) -> None:
    from sklearn import metrics

    rng = np.random.default_rng(0)
    y = rng.choice(["churned", "stayed"], 50_000)
    proba = np.clip(rng.random(50_000) * 0.6 + (y == "stayed") * 0.3, 0, 1)
    proba = np.column_stack([1 - proba, proba])
    predicted = np.where(proba[:, 1] >= 0.5, "stayed", "churned")
    classes = np.array(["churned", "stayed"])

    def plain() -> None:
        metrics.confusion_matrix(y, predicted, labels=classes)
        metrics.precision_recall_fscore_support(y, predicted, labels=classes, zero_division=0)
        metrics.roc_curve(y == "stayed", proba[:, 1])
        metrics.roc_auc_score(y == "stayed", proba[:, 1])
        metrics.precision_recall_curve(y == "stayed", proba[:, 1])
        metrics.average_precision_score(y == "stayed", proba[:, 1])

    ours = median([timed(lambda: classification_details(y, predicted, proba, classes, y)) for _ in range(ROUNDS)])
    base = median([timed(plain) for _ in range(ROUNDS)])
    report("result_details", "at most 1.5x scikit-learn's own metric calls", rows=50_000, studio_s=ours,
           plain_s=base, ratio=ours / base)
    assert ours < 10 * base + 1.0


def test_permutation_importance_against_sklearn(trained) -> None:
    from sklearn.inspection import permutation_importance as sklearn_permutation_importance

    rows = trained.rows
    ours = median([timed(lambda: drive(permutation_importance(trained.pipeline, rows.x_held, rows.y_held,
                                                              "accuracy", repeats=3)))
                   for _ in range(ROUNDS)])
    base = median([timed(lambda: sklearn_permutation_importance(trained.pipeline, rows.x_held, rows.y_held,
                                                                scoring="accuracy", n_repeats=3, n_jobs=1,
                                                                random_state=0))
                   for _ in range(ROUNDS)])
    report("permutation_importance", "at most 1.2x scikit-learn's single-threaded function",
           rows=len(rows.y_held), columns=rows.x_held.shape[1], studio_s=ours, plain_s=base, ratio=ours / base)
    assert ours < 5 * base + 1.0


def test_recording_a_run_against_writing_its_json(trained, tmp_path: Path) -> None:
    run = run_from_result(trained)
    store = RunStore(tmp_path / "runs.sqlite3")
    text_path = tmp_path / "run.json"

    def plain() -> None:
        text_path.write_text(json.dumps(run), encoding="utf-8")

    ours = median([timed(lambda: store.add(run)) for _ in range(5)])
    base = median([timed(plain) for _ in range(5)])
    report("run_store_add", "under 50 ms per run (it runs on the GUI thread)", bytes=len(json.dumps(run)),
           studio_s=ours, plain_s=base, ratio=ours / base)
    assert ours < 1.0
