"""Train / validation / test splits, stratified and seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError

MIN_TRAIN_ROWS = 10


@dataclass(frozen=True)
class SplitConfig:
    validation: float = 0.15
    test: float = 0.15
    stratify: bool = True
    seed: int = 42
    # Cross-validation folds on the training and validation rows (0: off); the test rows stay aside either way.
    cv_folds: int = 0

    @property
    def train(self) -> float:
        return 1.0 - self.validation - self.test


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    stratified: bool
    note: str = ""

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.validation), len(self.test)


def split_sizes(rows: int, config: SplitConfig) -> tuple[int, int, int]:
    """Row counts per part, rounded the way scikit-learn's train_test_split rounds (test parts up)."""
    test = _part_size(rows, config.test)
    rest = rows - test
    relative_val = config.validation / (1.0 - config.test) if config.test < 1 else 0.0
    validation = _part_size(rest, relative_val) if config.validation > 0 else 0
    return rest - validation, validation, test


def _part_size(rows: int, fraction: float) -> int:
    # Round before ceil: 85 * (0.15 / 0.85) is 15.000000000000002, which must give 15 rows, not 16.
    return int(np.ceil(round(rows * fraction, 9))) if fraction > 0 else 0


def split_problems(rows: int, config: SplitConfig, classes: int = 0) -> list[str]:
    problems = []
    if config.validation < 0 or config.test < 0 or config.train < 0.3:
        problems.append("Keep at least 30% of the rows for training.")
        return problems
    train, validation, test = split_sizes(rows, config)
    needed = max(MIN_TRAIN_ROWS, 2 * classes)
    if train < needed or (config.validation > 0 and validation < 1) or (config.test > 0 and test < 1):
        problems.append(
            f"There are only {rows:,} usable rows: training would get {train}, validation {validation} and test "
            f"{test}. Studio needs at least {needed} training rows and one row in each other part. "
            "Add rows or make the validation and test parts smaller."
        )
    if config.cv_folds >= 2 and train + validation < 2 * config.cv_folds:
        problems.append(f"Cross-validation with {config.cv_folds} folds needs at least {2 * config.cv_folds} training "
                        "and validation rows; choose fewer folds or turn it off.")
    return problems


def split_rows(labels: pd.Series | None, rows: int, config: SplitConfig) -> SplitIndices:
    """Split positions 0..rows-1; ``labels`` (classification only) drive stratification."""
    problems = split_problems(rows, config, 0 if labels is None else labels.nunique())
    if problems:
        raise DataError(problems[0])
    positions = np.arange(rows)
    stratify = labels.to_numpy() if (config.stratify and labels is not None) else None
    note = ""
    if stratify is not None:
        assert labels is not None  # stratify is only set from labels
        counts = labels.value_counts()
        if counts.min() < 3:
            rare = ", ".join(repr(str(c)) for c in counts[counts < 3].index[:3])
            few = int((counts < 3).sum())
            note = (f"Not stratified: the class {rare} has fewer than 3 rows." if few == 1 else
                    f"Not stratified: the classes {rare} have fewer than 3 rows.")
            stratify = None
    # Whole row counts, not fractions: scikit-learn would round the relative validation share up on its own.
    _, validation_rows, test_rows = split_sizes(rows, config)
    try:
        rest, test = _split(positions, test_rows, stratify, config.seed)
        rest_labels = None if stratify is None else stratify[rest]
        train, validation = _split(rest, validation_rows, rest_labels, config.seed)
    except ValueError:
        # A class too small for one of the parts: fall back to a plain shuffle rather than refusing.
        note = "Not stratified: some classes are too small to appear in every part."
        stratify = None
        rest, test = _split(positions, test_rows, None, config.seed)
        train, validation = _split(rest, validation_rows, None, config.seed)
    return SplitIndices(np.sort(train), np.sort(validation), np.sort(test), stratify is not None, note)


def _split(positions: np.ndarray, count: int, stratify: np.ndarray | None,
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    if count <= 0:
        return positions, positions[:0]
    first, second = train_test_split(positions, test_size=count, stratify=stratify, random_state=seed)
    return np.asarray(first), np.asarray(second)


def explicit_split(train: list[int], test: list[int], rows: int) -> SplitIndices:
    """A split given by row numbers (for comparing with other tools on exactly the same rows)."""
    train_arr = np.asarray(train, dtype=int)
    test_arr = np.asarray(test, dtype=int)
    for name, arr in (("train", train_arr), ("test", test_arr)):
        if arr.size and (arr.min() < 0 or arr.max() >= rows):
            raise DataError(f"The {name} row numbers must lie between 0 and {rows - 1}.")
    if np.intersect1d(train_arr, test_arr).size:
        raise DataError("Some rows are listed both for training and for testing.")
    if train_arr.size < MIN_TRAIN_ROWS or test_arr.size < 1:
        raise DataError(f"Give at least {MIN_TRAIN_ROWS} training rows and one test row.")
    return SplitIndices(train_arr, train_arr[:0], test_arr, False, "Rows chosen by a split file.")
