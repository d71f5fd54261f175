"""Cleaning steps that remove rows: applied to the training rows only, before the preparation is fitted.

Validation, test and new rows are never dropped (a prediction is owed for every row); they go through the fitted
preparation instead, which fills their gaps and leaves their extreme values as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from studio.core.data.profile import to_number
from studio.core.prep.config import ColumnPrep, Missing, Outliers, PrepConfig, Treatment
from studio.core.prep.formula import parse_formula
from studio.core.prep.values import outlier_fences

if TYPE_CHECKING:
    from studio.core.prep.images import ImageTraining


@dataclass(frozen=True)
class RowRemoval:
    duplicates: int = 0
    outliers: int = 0
    gaps: int = 0

    @property
    def total(self) -> int:
        return self.duplicates + self.outliers + self.gaps

    def describe(self) -> str:
        parts = [f"{count:,} {what}" for count, what in ((self.duplicates, "duplicated"),
                                                        (self.outliers, "with outliers"), (self.gaps, "with gaps"))
                 if count]
        return f"Training rows removed: {', '.join(parts)}." if parts else ""


def rows_to_keep(prep: PrepConfig, target: str | None, frame: pd.DataFrame) -> tuple[np.ndarray, RowRemoval]:
    """A boolean mask of the rows of ``frame`` (training rows, target included) to train on, and why others go."""
    keep = np.ones(len(frame), dtype=bool)
    duplicates = outliers = gaps = 0
    if prep.drop_duplicates and len(frame):
        duplicated = frame.duplicated(keep="first").to_numpy()
        duplicates = int(duplicated.sum())
        keep &= ~duplicated
    values = _with_derived(prep, frame)
    for column in prep.features(target):
        if column.name not in values.columns:
            continue
        if column.missing is Missing.DROP_ROWS:
            gap = values[column.name].isna().to_numpy() & keep
            gaps += int(gap.sum())
            keep &= ~gap
        if removes_outlier_rows(column):
            numbers = to_number(values[column.name]).to_numpy(dtype=float)
            lower, upper = outlier_fences(numbers[keep], "iqr" if column.outliers is Outliers.IQR_REMOVE else "z")
            outside = ((numbers < lower[0]) | (numbers > upper[0])) & keep
            outliers += int(outside.sum())
            keep &= ~outside
    return keep, RowRemoval(duplicates, outliers, gaps)


def _with_derived(prep: PrepConfig, frame: pd.DataFrame) -> pd.DataFrame:
    derived = prep.derived()
    if not derived:
        return frame
    values = frame.copy()
    for column in derived:
        values[column.name] = parse_formula(column.formula, values.columns).evaluate(values)
    return values


def removes_outlier_rows(column: ColumnPrep) -> bool:
    """Outliers are looked for only in a column used as a number: a column switched to another use keeps its
    earlier "remove outliers" choice, which must then remove nothing."""
    return column.treatment is Treatment.NUMERIC and column.outliers in (Outliers.IQR_REMOVE, Outliers.Z_REMOVE)


def removes_rows(prep: PrepConfig, target: str | None) -> bool:
    return prep.drop_duplicates or any(
        c.missing is Missing.DROP_ROWS or removes_outlier_rows(c) for c in prep.features(target))


def training_rows(prep: PrepConfig | ImageTraining, target: str, x: pd.DataFrame, y: np.ndarray
                  ) -> tuple[pd.DataFrame, np.ndarray, RowRemoval]:
    """The training rows left after the row-removing cleaning steps (x without the target column is fine).
    Pictures have none: their unreadable files and copies were left out when the folder was checked."""
    if not isinstance(prep, PrepConfig) or not removes_rows(prep, target):
        return x, y, RowRemoval()
    with_target = x.assign(**{target: y}) if target not in x.columns else x
    keep, removal = rows_to_keep(prep, target, with_target)
    return x.loc[keep], y[keep], removal


def input_feature_columns(prep: PrepConfig, target: str) -> tuple[tuple[str, str, str], ...]:
    """(name, kind, treatment) of the raw columns new rows must bring; a column read only by a formula is listed
    with the treatment "formula input"."""
    from studio.core.prep.values import input_columns

    rows = []
    for name in input_columns(prep, target):
        column = prep.get(name)
        assert column is not None
        rows.append((name, column.kind.value, column.treatment.value if column.used else "formula input"))
    return tuple(rows)
