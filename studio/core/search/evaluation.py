"""How the search judges a trial: cross-validation on small tables, one holdout on larger ones.

Cross-validation fits every trial once per fold, which on a small table costs little and evens out the luck of
which rows are held out. On a larger table the same five fits buy little steadiness and leave a short budget a
handful of trials; there a holdout (a share of the training rows kept aside, the rest fitted once) lets the search
try many more settings. FLAML's rule decides, by the table's size against the time there is: rows times columns
above about 2,800 cells per second of budget (10 million an hour), or more than 100,000 rows, means a holdout.
The test rows are never part of either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from studio.core.data.target import Task
from studio.core.evaluate.crossval import fold_indices

# FLAML's thresholds (flaml.automl: SMALL_LARGE_THRES, CV_HOLDOUT_THRESHOLD): cells per hour of budget, and rows.
CELLS_PER_HOUR = 10_000_000
HOLDOUT_ROWS = 100_000
# Above this many training rows 3 folds are enough to compare settings, and each trial costs 40% less.
FIVE_FOLDS_MAX_ROWS = 10_000
# The share of the training rows a holdout keeps aside: a fifth on tables of a few thousand rows (a tenth would
# judge on a couple of hundred rows, where one row more or less right moves the score), a tenth on large ones.
HOLDOUT_SHARE = 0.2
LARGE_HOLDOUT_SHARE = 0.1
LARGE_ROWS = 20_000


@dataclass(frozen=True)
class Evaluation:
    """Cross-validation with ``folds`` folds, or (``folds`` 1) a holdout of ``holdout_rows`` rows."""

    folds: int
    holdout_rows: int = 0

    @property
    def is_holdout(self) -> bool:
        return self.folds == 1

    @property
    def words(self) -> str:
        """As the window and the command line say it: "5-fold cross-validation on the training rows", "a holdout
        of 1,234 training rows"."""
        if self.is_holdout:
            return f"a holdout of {self.holdout_rows:,} training rows"
        return f"{self.folds}-fold cross-validation on the training rows"


def choose_evaluation(rows: int, columns: int, budget_s: float | None, folds_asked: int | None = None,
                      task: Task = Task.REGRESSION) -> Evaluation:
    """Folds or a holdout for ``rows`` training rows of ``columns`` columns and ``budget_s`` seconds (None: a
    number of trials, where only very long tables get a holdout). ``folds_asked``: the person's own fold count
    (1: a holdout)."""
    if folds_asked is not None and folds_asked >= 2:
        return Evaluation(max(2, min(folds_asked, rows // 2)))
    large = rows > HOLDOUT_ROWS
    if budget_s is not None:
        large = large or rows * max(1, columns) / 0.9 >= CELLS_PER_HOUR * budget_s / 3600
    if folds_asked == 1 or (large and rows >= 20):
        share = LARGE_HOLDOUT_SHARE if rows > LARGE_ROWS else HOLDOUT_SHARE
        return Evaluation(1, max(1, round(rows * share)))
    count = 5 if rows <= FIVE_FOLDS_MAX_ROWS else 3
    return Evaluation(max(2, min(count, rows // 2)))


def evaluation_rows(evaluation: Evaluation, y: np.ndarray, task: Task, seed: int
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fitted rows, held-out rows) per fold, as positions in ``y``; one pair for a holdout, stratified by class
    for classification like the folds."""
    if not evaluation.is_holdout:
        return fold_indices(y, task, evaluation.folds, seed, stratify=True)
    # The first fold of k folds holds out about 1/k of the rows, stratified and seeded like cross-validation.
    parts = max(2, math.floor(len(y) / max(1, evaluation.holdout_rows)))
    fit_rows, held_rows = fold_indices(y, task, parts, seed, stratify=True)[0]
    return [(fit_rows, held_rows)]
