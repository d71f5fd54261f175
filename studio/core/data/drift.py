"""A compact description of the rows a model was trained on, kept in the model file to spot drift later.

The profile is plain JSON data (``training_profile``): per input column the share of gaps and, for numbers, the
quantile edges with the share of rows in each bin, the mean and the median; for categories the shares of the most
common values. It lives in the data layer so the model file (store) can write it; the comparison with new rows is
``studio.core.serve.drift``. Both sides read values with the helpers here, so training and new rows are read alike.

Format (version 1)::

    {"version": 1, "rows": 1234, "columns": {
        "income": {"type": "numeric", "missing": 0.02, "mean": 43812.5, "median": 43300.0,
                   "edges": [min, q10, q20, ..., q90, max], "shares": [...]},
        "plan":   {"type": "category", "missing": 0.0, "values": {"basic": 0.61, "pro": 0.3}, "other": 0.09},
        "notes":  {"type": "gaps", "missing": 0.4}}}

``edges`` are the 0%, 10%, ..., 100% quantiles (actual values, so ties repeat). The bins are cut at the distinct
inner edges (``bin_cuts``): bin 0 holds values up to the first cut, bin i values above cut i-1 up to cut i, the last
one everything above the last cut; ``shares`` has one entry per bin and, like the category shares, counts rows that
have a value (gaps are ``missing``, a share of all rows). Category shares keep the ``TOP_VALUES`` most common values;
``other`` is the rest.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from studio.core.data.profile import to_number

PROFILE_VERSION = 1
QUANTILES = np.linspace(0.0, 1.0, 11)
TOP_VALUES = 50
# Longer values are almost always free text; keeping them would make the profile large for nothing.
MAX_VALUE_LENGTH = 100
NUMERIC, CATEGORY, GAPS = "numeric", "category", "gaps"


def training_profile(frame: pd.DataFrame, input_columns: list[dict[str, str]]) -> dict[str, Any]:
    """The profile of ``frame`` (raw training rows) for the model's ``input_columns`` (name, kind, treatment as
    the model file's metadata writes them). Excluded columns and columns not in ``frame`` are left out."""
    columns: dict[str, dict[str, Any]] = {}
    for column in input_columns:
        name = str(column.get("name", ""))
        how = profile_type(str(column.get("kind", "")), str(column.get("treatment", "")))
        if how is None or name not in frame.columns or name in columns:
            continue
        columns[name] = describe_column(frame[name], how)
    return {"version": PROFILE_VERSION, "rows": len(frame), "columns": columns}


def profile_type(kind: str, treatment: str) -> str | None:
    """How a column is described: as numbers, as categories, by its gaps only, or (excluded) not at all."""
    if treatment == "exclude":
        return None
    if kind == "boolean":  # yes / no reads as two categories, whichever way the model takes it
        return CATEGORY
    if treatment == "numeric":
        return NUMERIC
    if treatment == "categorical":
        return CATEGORY
    if treatment == "formula input":  # read only by a formula: described by what the column holds
        return {"numeric": NUMERIC, "categorical": CATEGORY}.get(kind, GAPS)
    return GAPS  # dates and free text: their values rarely repeat, so only their gaps are compared


def describe_column(series: pd.Series, how: str) -> dict[str, Any]:
    rows = len(series)
    if how == NUMERIC:
        values = numeric_values(series)
        present = values[~np.isnan(values)]
        if len(present) == 0:
            return {"type": GAPS, "missing": 1.0 if rows else 0.0}
        edges = [significant(v) for v in np.quantile(present, QUANTILES, method="lower")]
        return {"type": NUMERIC, "missing": share(rows - len(present), rows),
                "mean": significant(float(np.mean(present))), "median": significant(float(np.median(present))),
                "edges": edges, "shares": [round(s, 4) for s in bin_shares(present, bin_cuts(edges))]}
    if how == CATEGORY:
        texts = category_texts(series)
        present_texts = texts.dropna()
        counts = present_texts.value_counts()
        counts = counts[[len(str(v)) <= MAX_VALUE_LENGTH for v in counts.index]].head(TOP_VALUES)
        total = len(present_texts)
        shares = {str(value): share(int(count), total) for value, count in counts.items()}
        return {"type": CATEGORY, "missing": share(rows - total, rows), "values": shares,
                "other": share(total - int(counts.sum()), total)}
    return {"type": GAPS, "missing": share(int(gaps(series).sum()), rows)}


# -- reading values, the same way for training rows and new rows -------------------------------------------------
def numeric_values(series: pd.Series) -> np.ndarray:
    """Floats as the preparation reads them (numbers written as text included); gaps and infinities are NaN."""
    values = to_number(series).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def category_texts(series: pd.Series) -> pd.Series:
    """Values as the text the preparation compares (2007.0 reads "2007", spaces trimmed), NaN for gaps."""
    values = series.astype(object).where(~gaps(series), np.nan)
    if pd.api.types.infer_dtype(values, skipna=True) in _UNIFORM_KINDS:
        # Each distinct value is turned into text once (code -1, a gap, takes the last entry).
        codes, uniques = pd.factorize(values)
        texts = np.array([*(_category_text(u) for u in uniques), np.nan], dtype=object)
        return pd.Series(texts[codes], index=series.index, dtype=object)
    # In a mixed column True and 1 hash alike but read "True" and "1", so each value is converted.
    return values.map(_category_text, na_action="ignore")


# Columns whose values are all of one kind, where values that hash alike also read alike.
_UNIFORM_KINDS = frozenset({"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"})


def gaps(series: pd.Series) -> pd.Series:
    """Empty cells: missing values and text of spaces only."""
    missing = series.isna()
    if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
        return missing
    try:
        blank = series.str.strip().eq("")
    except AttributeError:  # an object column without text
        return missing
    return missing | blank.fillna(False).astype(bool)


def _category_text(value: object) -> str:
    # The text the preparation's category encoding gives (prep.values._category_text, which data cannot import).
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def bin_cuts(edges: list[float]) -> np.ndarray:
    """The distinct inner edges, where the bins are cut (see the module's docstring)."""
    return np.unique(np.asarray(edges[1:-1], dtype=float)) if len(edges) > 2 else np.asarray(edges[:1], dtype=float)


def bin_counts(present: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Rows per bin: bin i holds the values above cut i-1 up to and including cut i."""
    return np.bincount(np.searchsorted(cuts, present, side="left"), minlength=len(cuts) + 1)


def bin_shares(present: np.ndarray, cuts: np.ndarray) -> list[float]:
    counts = bin_counts(present, cuts)
    return [float(c) / len(present) for c in counts] if len(present) else [0.0] * len(counts)


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def significant(value: float, digits: int = 6) -> float:
    """``value`` to a few significant digits: the profile stays small, and the edges read back exactly."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value
