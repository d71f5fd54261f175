"""Preparation settings on disk: files for the CLI (``studio train --prep FILE.json``) and choices remembered per
dataset under the settings folder, keyed by the dataset's column names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from studio.core.common.errors import DataError, StudioError
from studio.core.common.words import plural
from studio.core.data.profile import ColumnProfile
from studio.core.prep.config import PrepConfig, load_prep, merge_prep, save_prep
from studio.core.prep.formula import parse_formula

MEMORY_FOLDER = "prep"


def dataset_key(columns: Iterable[str]) -> str:
    """The same columns in the same order give the same key, whatever the file is called or holds."""
    joined = "\x1f".join(str(c) for c in columns)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:24]


def memory_path(settings_dir: Path, columns: Iterable[str]) -> Path:
    return settings_dir / MEMORY_FOLDER / f"{dataset_key(columns)}.json"


def remember_prep(settings_dir: Path, columns: Iterable[str], prep: PrepConfig) -> Path:
    return save_prep(memory_path(settings_dir, columns), prep)


def forget_prep(settings_dir: Path, columns: Iterable[str]) -> None:
    memory_path(settings_dir, columns).unlink(missing_ok=True)


def recall_prep(settings_dir: Path, profiles: tuple[ColumnProfile, ...]) -> PrepConfig | None:
    """The choices last made for a table with these columns, or None (also for a damaged file: the defaults are
    then used, never an error at opening time)."""
    path = memory_path(settings_dir, [p.name for p in profiles])
    if not path.is_file():
        return None
    try:
        prep = merge_prep(load_prep(path), profiles)
        check_formulas(prep)
    except (StudioError, OSError, ValueError):
        return None
    return prep


def check_formulas(prep: PrepConfig, target: str | None = None) -> None:
    for index, column in enumerate(prep.columns):
        if column.formula:
            earlier = [c.name for c in prep.columns[:index]]
            try:
                formula = parse_formula(column.formula, [*prep.raw_columns(), *earlier])
            except DataError as exc:
                raise DataError(f"The formula of '{column.name}' cannot be used: {exc}") from None
            if target is not None and target in formula.names:
                raise DataError(f"The formula of '{column.name}' reads '{target}', the column to predict: the "
                                "model would be shown the answer, and new rows do not have it.")


def prep_from_file(path: Path, profiles: tuple[ColumnProfile, ...], target: str) -> PrepConfig:
    """A saved preparation applied to a table; columns the table lacks are an error, new ones get defaults."""
    saved = load_prep(path)
    present = {p.name for p in profiles}
    unknown = [c.name for c in saved.columns if not c.formula and c.used and c.name not in present
               and c.name != target]
    if unknown:
        listed = ", ".join(f"'{n}'" for n in unknown[:8])
        raise DataError(f"{path.name} prepares {plural(len(unknown), 'column')} the table does not have: {listed}.")
    # A new column may not take the name of one the table has: the user's column would be silently replaced.
    taken = [c.name for c in saved.derived() if c.name in present]
    if taken:
        raise DataError(f"{path.name} computes '{taken[0]}' by a formula, but the table has a column called "
                        f"'{taken[0]}' already; give the new column another name.")
    prep = merge_prep(saved, profiles)
    check_formulas(prep, target)
    return prep


def prep_problems(prep: PrepConfig, target: str | None = None) -> list[str]:
    """Choices that cannot be trained with, in words (for the Prepare step's Next button)."""
    import pandas as pd

    try:
        check_formulas(prep, target)
    except DataError as exc:
        return [str(exc)]
    for column in prep.columns:
        if column.used and column.date_reference:
            try:
                pd.Timestamp(column.date_reference)
            except ValueError:
                return [f"'{column.date_reference}' is not a date to count the days of '{column.name}' from; "
                        "write it like 2020-01-31."]
    return []
