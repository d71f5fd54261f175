"""Very wide tables: what all their columns would cost, said up front, and narrower tables to choose instead.

Looking at a column, preparing it and training on it each cost time per column, so a table of 50,000 columns
would keep Studio busy for a long while without a word. Above ``WIDE_COLUMNS`` Studio says what it would take
and offers a narrower table: the first columns, or the columns that go most with the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studio.core.common.errors import StudioError
from studio.core.common.words import plural

WIDE_COLUMNS = 500
# Seconds per column, measured on a laptop core for a table of a few thousand rows (looking at one column:
# its kind, chart and strays; preparing it; a forest's share of training). Rough on purpose: the sentence says
# "about".
PROFILE_S_PER_COLUMN = 0.006
PREPARE_S_PER_COLUMN = 0.004
TRAIN_S_PER_COLUMN = 0.03
# Rows that decide which columns go most with the target: enough to rank, few enough to take a second.
RANKING_ROWS = 2_000
RANKING_CHUNK = 1_000


@dataclass(frozen=True)
class WidthChoice:
    """Which columns of a wide table to keep: ``how`` is "useful", "first", "sample" (drawn at random, seeded) or
    "all"."""

    how: str = "useful"
    keep: int = WIDE_COLUMNS

    def words(self) -> str:
        if self.how == "all":
            return "every column"
        if self.how == "sample":
            return f"{self.keep:,} columns drawn at random"
        return (f"the {self.keep:,} columns that go most with the target" if self.how == "useful" else
                f"the first {self.keep:,} columns")


def parse_width_choice(text: str) -> WidthChoice:
    """``all``, ``first:N``, ``useful:N``, ``sample:N`` or a bare ``N`` (the N most useful), as typed after
    --columns."""
    text = text.strip().lower()
    if text == "all":
        return WidthChoice("all", 0)
    how, _, count = text.rpartition(":")
    how = how or "useful"
    if how not in ("useful", "first", "sample") or not count.isdigit() or len(count) > 9 or int(count) < 1:
        raise StudioError(f"--columns takes all, first:N, useful:N, sample:N or a number, not '{text}'.")
    return WidthChoice(how, int(count))


def is_wide(columns: int) -> bool:
    return columns > WIDE_COLUMNS


def seconds_for(rows: int, columns: int) -> float:
    """About how long looking at, preparing and training on every column takes."""
    scale = max(1.0, rows / 5_000)
    return columns * scale * (PROFILE_S_PER_COLUMN + PREPARE_S_PER_COLUMN + TRAIN_S_PER_COLUMN)


def duration_words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"


def width_sentence(rows: int, columns: int, limit: int = WIDE_COLUMNS) -> str:
    """What a wide table would cost, in words, and what Studio offers instead."""
    return (f"This table has {columns:,} columns. Looking at every one, preparing it and training on it takes about "
            f"{duration_words(seconds_for(rows, columns))}; with {limit:,} columns, about "
            f"{duration_words(seconds_for(rows, limit))}.")


def narrowed(frame: pd.DataFrame, target: str | None, choice: WidthChoice) -> pd.DataFrame:
    """``frame`` with only the columns chosen (the target always kept), in their order in the file."""
    if choice.how == "all" or frame.shape[1] <= choice.keep + (target is not None):
        return frame
    others = [c for c in frame.columns if c != target]
    if choice.how == "sample":
        drawn = np.random.default_rng(0).choice(len(others), size=choice.keep, replace=False)
        kept = {others[i] for i in drawn}
    elif choice.how == "first" or target is None:
        kept = set(others[:choice.keep])
    else:
        scores = usefulness(frame, target)
        kept = set(scores.nlargest(choice.keep, keep="first").index)
    return frame[[c for c in frame.columns if c in kept or c == target]]


def usefulness(frame: pd.DataFrame, target: str) -> pd.Series:
    """For each column but the target, how strongly it goes with the target (0 to 1), measured on a sample of
    rows at once for all number columns: the correlation ratio for a category target, the size of the
    correlation for a number target. Columns of text score below every number column (by how few distinct
    values they have: an identifier helps least), so they are kept only when room is left."""
    sample = frame.sample(RANKING_ROWS, random_state=0) if len(frame) > RANKING_ROWS else frame
    y = sample[target]
    others = [c for c in frame.columns if c != target]
    at = {name: index for index, name in enumerate(frame.columns)}
    numeric = [c for c, dtype in zip(frame.columns, frame.dtypes, strict=True)
               if c != target and pd.api.types.is_numeric_dtype(dtype)]
    scores = pd.Series(-1.0, index=pd.Index(others, dtype=object), dtype=float)
    position = {name: index for index, name in enumerate(others)}
    values = scores.to_numpy(copy=True)
    for start in range(0, len(numeric), RANKING_CHUNK):  # a slice of columns at a time: memory stays small
        chunk = numeric[start:start + RANKING_CHUNK]
        x = sample.iloc[:, [at[c] for c in chunk]].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            x = np.where(np.isfinite(x), x, np.nan)
            x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
            x = np.nan_to_num(x - x.mean(axis=0))
            values[[position[c] for c in chunk]] = _numeric_scores(x, y)
    counted = set(numeric)
    for column in others:
        if column not in counted:
            values[position[column]] = -1.0 + 0.5 / max(1, sample.iloc[:, at[column]].nunique())
    return pd.Series(values, index=scores.index)


def _numeric_scores(x: np.ndarray, y: pd.Series) -> np.ndarray:
    total = (x ** 2).sum(axis=0)
    present = y.notna().to_numpy()
    numbers = pd.to_numeric(y, errors="coerce")
    if pd.api.types.is_numeric_dtype(y.dtype) and numbers.nunique() > 20:
        t = numbers.to_numpy(dtype=float)
        t = np.where(np.isfinite(t), t, np.nanmean(t))
        t = np.nan_to_num(t - t.mean())
        spread = np.sqrt(total * (t ** 2).sum())
        return np.abs(np.divide(x.T @ t, spread, out=np.zeros(x.shape[1]), where=spread > 0))
    codes = pd.factorize(y.astype(object).where(present, "(blank)"))[0]
    groups = np.zeros((len(codes), codes.max() + 1))
    groups[np.arange(len(codes)), codes] = 1.0
    counts = groups.sum(axis=0)
    means = (groups.T @ x) / np.maximum(counts, 1)[:, None]
    between = (counts[:, None] * means ** 2).sum(axis=0)
    return np.sqrt(np.divide(between, total, out=np.zeros(x.shape[1]), where=total > 0).clip(0, 1))


def narrowed_note(before: int, after: int, choice: WidthChoice) -> str:
    return (f"Kept {choice.words()} ({plural(after, 'column')} of {before:,}); choose others with --columns "
            "(all, first:N, useful:N or sample:N).")
