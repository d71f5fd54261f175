"""From column profiles to one scikit-learn ColumnTransformer that takes raw rows.

Everything here is picklable (module-level functions, no lambdas), so the transformer travels inside the model
file and the exported model predicts from the same raw columns the user loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from studio.core.data.profile import ColumnKind, ColumnProfile, to_number

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

MAX_ONE_HOT_CATEGORIES = 50


class Treatment(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATE = "date"
    EXCLUDE = "exclude"

    @property
    def label(self) -> str:
        return _TREATMENT_LABELS[self]


_TREATMENT_LABELS = {
    Treatment.NUMERIC: "Use as number",
    Treatment.CATEGORICAL: "Use as category",
    Treatment.DATE: "Use as date",
    Treatment.EXCLUDE: "Leave out",
}

_STEP_DESCRIPTIONS = {
    Treatment.NUMERIC: "fill gaps with the median, then scale",
    Treatment.CATEGORICAL: "fill gaps with the most common value, then one column per category",
    Treatment.DATE: "turn into days since 1970, fill gaps with the median, then scale",
    Treatment.EXCLUDE: "not used",
}


@dataclass(frozen=True)
class ColumnPrep:
    name: str
    kind: ColumnKind
    treatment: Treatment
    reason: str = ""

    def describe(self) -> str:
        if self.treatment is Treatment.EXCLUDE:
            return f"Left out: {self.reason}" if self.reason else "Left out"
        return _STEP_DESCRIPTIONS[self.treatment].capitalize()


@dataclass(frozen=True)
class PrepConfig:
    columns: tuple[ColumnPrep, ...] = ()

    def get(self, name: str) -> ColumnPrep | None:
        return next((c for c in self.columns if c.name == name), None)

    def with_treatment(self, name: str, treatment: Treatment) -> PrepConfig:
        updated = tuple(
            replace(c, treatment=treatment, reason="chosen by you" if treatment is Treatment.EXCLUDE else c.reason)
            if c.name == name else c
            for c in self.columns
        )
        return replace(self, columns=updated)

    def features(self, target: str | None) -> tuple[ColumnPrep, ...]:
        return tuple(c for c in self.columns if c.name != target and c.treatment is not Treatment.EXCLUDE)


def default_treatment(profile: ColumnProfile) -> tuple[Treatment, str]:
    """The preparation Studio proposes for a column, with the reason when it is left out."""
    kind = profile.kind
    if kind is ColumnKind.NUMERIC:
        if profile.missing_share > 0.95:
            return Treatment.EXCLUDE, f"{profile.missing_share:.0%} of its values are missing"
        return Treatment.NUMERIC, ""
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        if profile.missing_share > 0.95:
            return Treatment.EXCLUDE, f"{profile.missing_share:.0%} of its values are missing"
        return Treatment.CATEGORICAL, ""
    if kind is ColumnKind.DATE:
        return Treatment.DATE, ""
    if kind is ColumnKind.ID:
        return Treatment.EXCLUDE, "it looks like an identifier (a different value in every row), which says " \
            "nothing about new rows"
    if kind is ColumnKind.CONSTANT:
        return Treatment.EXCLUDE, f"it has the same value in every row ({profile.note})" if profile.note else \
            "it has the same value in every row"
    return Treatment.EXCLUDE, "it is free text; text features come with the text tools of the Prepare step"


def default_prep(profiles: tuple[ColumnProfile, ...]) -> PrepConfig:
    columns = []
    for profile in profiles:
        treatment, reason = default_treatment(profile)
        columns.append(ColumnPrep(profile.name, profile.kind, treatment, reason))
    return PrepConfig(tuple(columns))


def frame_to_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Numbers stored as text, booleans and stray words become floats; anything unparseable becomes NaN."""
    return np.column_stack([to_number(frame[c]).to_numpy(dtype=float) for c in frame.columns])


def frame_to_categories(frame: pd.DataFrame) -> np.ndarray:
    """Categories as plain Python strings with NaN for missing, so every pandas string dtype behaves alike."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).where(column.notna(), np.nan)
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
    columns = []
    for name in frame.columns:
        parsed = pd.to_datetime(frame[name], errors="coerce", format="mixed", utc=True)
        days = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds() / 86_400.0
        columns.append(days.to_numpy(dtype=float))
    return np.column_stack(columns)


def build_transformer(prep: PrepConfig, target: str | None) -> ColumnTransformer:
    """The ColumnTransformer for the chosen columns; columns not listed are dropped."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    groups: dict[Treatment, list[str]] = {t: [] for t in Treatment}
    for column in prep.features(target):
        groups[column.treatment].append(column.name)
    transformers = []
    if groups[Treatment.NUMERIC]:
        transformers.append(("numbers", Pipeline([
            ("parse", FunctionTransformer(frame_to_numbers, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), groups[Treatment.NUMERIC]))
    if groups[Treatment.CATEGORICAL]:
        transformers.append(("categories", Pipeline([
            ("text", FunctionTransformer(frame_to_categories, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
            ("one_hot", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONE_HOT_CATEGORIES,
                                      sparse_output=False)),
        ]), groups[Treatment.CATEGORICAL]))
    if groups[Treatment.DATE]:
        transformers.append(("dates", Pipeline([
            ("days", FunctionTransformer(frame_to_days, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), groups[Treatment.DATE]))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
