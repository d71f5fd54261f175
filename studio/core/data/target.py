"""Choosing what to predict: the task it implies and the rows that can be used."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError
from studio.core.data.profile import ColumnKind, ColumnProfile, to_number, too_large

# A numeric target with at most this many distinct whole numbers is offered as classification (ratings, counts
# of classes coded as 0/1/2...).
MAX_CLASSES_FOR_NUMERIC = 10
# More classes than this cannot be learned from a table of ordinary size.
MAX_CLASSES = 200


class Task(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"

    @property
    def label(self) -> str:
        return "Classification (predict a category)" if self is Task.CLASSIFICATION \
            else "Regression (predict a number)"


def infer_task(series: pd.Series, profile: ColumnProfile) -> Task:
    """The task a column suggests: text, categories, yes / no, dates and codes are classes to tell apart; only a
    column of numbers can be predicted as a number, and then only when it holds more than a few whole values."""
    if profile.kind is not ColumnKind.NUMERIC:
        return Task.CLASSIFICATION
    values = to_number(series).dropna()
    values = values[~too_large(values.to_numpy(dtype=float))]  # an infinite answer is left out (target_values)
    whole = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if whole and values.nunique() <= MAX_CLASSES_FOR_NUMERIC:
        return Task.CLASSIFICATION
    return Task.REGRESSION


def allowed_tasks(profile: ColumnProfile) -> tuple[Task, ...]:
    if profile.kind is ColumnKind.NUMERIC:
        return (Task.CLASSIFICATION, Task.REGRESSION)
    return (Task.CLASSIFICATION,)


@dataclass(frozen=True)
class TargetSummary:
    name: str
    task: Task
    usable_rows: int
    missing_rows: int
    class_counts: tuple[tuple[str, int], ...] = ()

    @property
    def majority_share(self) -> float:
        if not self.class_counts or not self.usable_rows:
            return 0.0
        return self.class_counts[0][1] / self.usable_rows


def target_values(series: pd.Series, task: Task) -> pd.Series:
    """The target as the model sees it: numbers for regression, clean strings for classification."""
    if task is Task.REGRESSION:
        # An infinite number is no answer to learn from: a row without one, left out like a gap.
        numbers = to_number(series)
        return numbers.where(~too_large(numbers.to_numpy(dtype=float)))
    present = series.notna()
    if pd.api.types.is_float_dtype(series.dtype) and bool(np.all(np.mod(series[present], 1) == 0)):
        # 1.0 and 1 must be the same class "1": whole floats come from integer columns with gaps.
        text = series.astype("Int64").astype(str)
    else:
        # Vectorised, because this runs on the GUI thread when a target is picked, on tables of any size.
        text = series.astype(str).str.strip()
    return text.astype(object).where(present, None)


def summarize_target(series: pd.Series, task: Task) -> TargetSummary:
    values = target_values(series, task)
    usable = values.notna()
    counts: tuple[tuple[str, int], ...] = ()
    if task is Task.CLASSIFICATION:
        vc = values[usable].value_counts()
        counts = tuple((str(k), int(v)) for k, v in vc.items())
    return TargetSummary(str(series.name), task, int(usable.sum()), int((~usable).sum()), counts)


def target_problems(summary: TargetSummary) -> list[str]:
    """Why this target cannot be trained on, in words; empty when it can."""
    if summary.usable_rows == 0:
        return [f"Every value of '{summary.name}' is missing, so there is nothing to learn from. "
                "Pick another column to predict."]
    if summary.task is Task.CLASSIFICATION:
        if len(summary.class_counts) < 2:
            only = summary.class_counts[0][0] if summary.class_counts else "?"
            return [f"'{summary.name}' has a single class ({only!r}) in every usable row; a model needs at least "
                    "two classes to tell apart. Pick another column, or add rows of the other classes."]
        if len(summary.class_counts) > MAX_CLASSES:
            return [_too_many_classes(summary)]
    return []


def _too_many_classes(summary: TargetSummary) -> str:
    count = f"'{summary.name}' has {len(summary.class_counts):,} different values, too many to treat as classes."
    # Only a column of numbers can be predicted as a number: text, dates and codes cannot, so regression is no way
    # out for them.
    names = pd.Series([name for name, _ in summary.class_counts[:1000]], dtype=object)
    if bool(to_number(names).notna().all()):
        return (f"{count} If it measures an amount, choose \"{Task.REGRESSION.label}\" as the kind of task; if it "
                "is a code or a row number, pick another column.")
    return (f"{count} It looks like a name, a code or free text, different in nearly every row. Pick the column "
            "you want to predict: one whose values repeat, such as yes / no or a few categories.")


def require_usable(summary: TargetSummary) -> None:
    problems = target_problems(summary)
    if problems:
        raise DataError(problems[0])
