"""The parts of the preparation that need no scikit-learn: value conversions, outlier fences, feature names and
which raw columns a preparation reads.

The window uses these as it opens (the Prepare page, the Predict page), and importing scikit-learn takes about a
second, so they live apart from :mod:`studio.core.prep.build`, which re-exports them. The conversions are
module-level functions so the model file pickles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import DataError
from studio.core.data.profile import parse_dates, to_number, too_large
from studio.core.prep.config import PrepConfig
from studio.core.prep.formula import parse_formula

Z_LIMIT = 3.0
IQR_FACTOR = 1.5
MISSING_SUFFIX = " (was missing)"


def outlier_fences(values: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the (lower, upper) fences; gaps are ignored."""
    values = values.reshape(len(values), -1)
    with np.errstate(all="ignore"):
        if method == "finite":  # infinite values clipped to the largest and smallest finite numbers
            finite = np.where(too_large(values), np.nan, values)
            empty = np.full(values.shape[1], np.nan)
            lower = np.nanmin(finite, axis=0) if len(values) and np.isfinite(finite).any() else empty
            upper = np.nanmax(finite, axis=0) if len(values) and np.isfinite(finite).any() else empty
        elif method == "iqr":
            q1, q3 = np.nanpercentile(values, [25, 75], axis=0) if len(values) else (np.zeros(1), np.zeros(1))
            spread = q3 - q1
            lower, upper = q1 - IQR_FACTOR * spread, q3 + IQR_FACTOR * spread
        else:
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
            lower, upper = mean - Z_LIMIT * std, mean + Z_LIMIT * std
    # A column of gaps has no fences: nothing is clipped.
    return np.nan_to_num(lower, nan=-np.inf), np.nan_to_num(upper, nan=np.inf)


# -- raw values to arrays (module-level so the model file pickles) ----------------------------------------------
def frame_to_numbers(frame: pd.DataFrame, keep_infinite: bool = False) -> np.ndarray:
    """Numbers stored as text, booleans and stray words become floats; anything unparseable becomes NaN, and so
    does an infinite number ("inf", "1e400") unless a later step clips it (``keep_infinite``): text in a number
    column and infinity are both gaps, in training and in prediction alike."""
    numbers = np.column_stack([to_number(frame[c]).to_numpy(dtype=float) for c in frame.columns])
    if not keep_infinite:
        numbers[too_large(numbers)] = np.nan
    return numbers


# Columns whose values are all of one kind, where values that hash alike also read alike: each distinct value is
# turned into text once. In a mixed column True and 1 hash alike but read "True" and "1", so each row is converted.
_UNIFORM_KINDS = frozenset({"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"})


def frame_to_categories(frame: pd.DataFrame) -> np.ndarray:
    """Categories as plain Python strings with NaN for missing, so every pandas string dtype behaves alike."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).where(column.notna(), np.nan)
        if pd.api.types.infer_dtype(values, skipna=True) in _UNIFORM_KINDS:
            codes, uniques = pd.factorize(values)
            # Code -1 (a gap) takes the last entry.
            texts = np.array([*(_category_text(u) for u in uniques), np.nan], dtype=object)
            columns.append(texts[codes])
        else:
            columns.append(values.map(_category_text).to_numpy(dtype=object))
    return np.column_stack(columns)


def _category_text(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def frame_to_days(frame: pd.DataFrame) -> np.ndarray:
    """Dates become days since 1970-01-01; text that is not a date becomes NaN."""
    return frame_to_date_parts(frame, ("days",))


def frame_to_date_parts(frame: pd.DataFrame, parts: tuple[str, ...] = ("days",), date_format: str = "",
                        reference: str = "") -> np.ndarray:
    try:
        start = pd.Timestamp(reference or "1970-01-01", tz="UTC")
    except ValueError:
        raise DataError(f"'{reference}' is not a date to count days from; write it like 2020-01-31.") from None
    columns = []
    for name in frame.columns:
        parsed = parse_dates(frame[name], date_format)
        for part in parts:
            if part == "days":
                values = (parsed - start).dt.total_seconds() / 86_400.0
            elif part == "weekday":
                values = parsed.dt.day_of_week
            else:
                values = getattr(parsed.dt, part)
            columns.append(values.to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns)


def date_part_names(transformer: Any, input_features: Any) -> list[str]:
    parts = (transformer.kw_args or {}).get("parts", ("days",))
    return [f"{feature} {part}" for feature in input_features for part in parts]


def column_to_text(values: Any) -> list[str]:
    series = values.iloc[:, 0] if isinstance(values, pd.DataFrame) else pd.Series(values)
    return series.astype(object).where(series.notna(), "").astype(str).tolist()


def same_names(transformer: Any, input_features: Any) -> list[str]:
    return list(input_features) if input_features is not None else []


def feature_name(transformer_name: str, feature: str) -> str:
    """Feature names that say where they came from, without repeating the column name."""
    if feature.startswith("missingindicator_"):
        return feature.removeprefix("missingindicator_") + MISSING_SUFFIX
    if feature == transformer_name or feature.startswith(f"{transformer_name} "):
        return feature
    if transformer_name.endswith(MISSING_SUFFIX):
        return transformer_name
    if feature.startswith(f"{transformer_name}_"):
        return feature
    return f"{transformer_name} '{feature}'"


class FeatureNames:
    """The preparation's feature names, after the user's columns rather than the steps' internal names.

    A picklable callable (``verbose_feature_names_out``) holding which column each step reads: "column 3" stands
    for 'remainder', 'a__b' or any other name scikit-learn would refuse as a step's name.
    """

    def __init__(self, columns: dict[str, str] | None = None) -> None:
        self.columns = dict(columns or {})

    def __call__(self, transformer_name: str, feature: str) -> str:
        return feature_name(self.columns.get(transformer_name, transformer_name), feature)


def needed_derived(prep: PrepConfig, target: str | None) -> tuple[tuple[str, str], ...]:
    """(name, formula) of the derived columns to compute: those used, and those their formulas read."""
    derived = [c for c in prep.derived() if c.name != target]
    names = [*prep.raw_columns(), *(c.name for c in derived)]
    needed = {c.name for c in derived if c.used}
    for column in reversed(derived):
        if column.name in needed:
            needed |= set(parse_formula(column.formula, names).names)
    return tuple((c.name, c.formula) for c in derived if c.name in needed)


def _formula_sources(prep: PrepConfig, derived: tuple[tuple[str, str], ...]) -> list[str]:
    raw = prep.raw_columns()
    sources: list[str] = []
    for index, (_, text) in enumerate(derived):
        # A formula may read raw columns and derived columns defined before it.
        usable = [*raw, *(n for n, _ in derived[:index])]
        sources += [n for n in parse_formula(text, usable).names if n in raw]
    return sources


def inputs_of(prep: PrepConfig, target: str | None) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The raw columns the preparation reads from new rows (used columns and the sources of formulas), and the
    derived columns it computes from them (see ``needed_derived``)."""
    derived = needed_derived(prep, target)
    used = [c.name for c in prep.features(target) if not c.formula]
    return tuple(dict.fromkeys([*used, *_formula_sources(prep, derived)])), derived


def input_columns(prep: PrepConfig, target: str | None) -> tuple[str, ...]:
    """The raw columns the preparation reads from new rows (used columns and the sources of formulas)."""
    return inputs_of(prep, target)[0]


def feature_sources(fitted: Any) -> list[tuple[str, list[str]]]:
    """For a fitted preparation, each source column with the names of the features made from it."""
    columns = fitted.named_steps["columns"]
    names = list(columns.get_feature_names_out())
    # Steps are named "column 3" (files from before: after the column); what each reads names its source.
    read = {name: selected[0] if isinstance(selected, list | tuple) else str(selected)
            for name, _, selected in columns.transformers}
    sources: list[tuple[str, list[str]]] = []
    for transformer_name, part in columns.output_indices_.items():
        if transformer_name == "remainder" or part.stop == part.start:
            continue
        source = read.get(transformer_name, transformer_name.removesuffix(MISSING_SUFFIX))
        if sources and sources[-1][0] == source:
            sources[-1][1].extend(names[part])
        else:
            sources.append((source, names[part]))
    return sources


def column_step(fitted: Any, column: str) -> Any:
    """The fitted pipeline that prepares ``column`` (its steps carry internal names, see FeatureNames)."""
    columns = fitted.named_steps["columns"]
    for name, part, selected in columns.transformers_:
        read = selected[0] if isinstance(selected, list | tuple) else str(selected)
        if read == column and not name.endswith(MISSING_SUFFIX) and name != "remainder":
            return part
    raise KeyError(column)
