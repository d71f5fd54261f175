"""The preparation as one scikit-learn transformer: a Pipeline of RawInputs and a ColumnTransformer.

Every column gets its own small pipeline of scikit-learn pieces, named after the column, so the features the model
sees can be traced back to it. Everything is picklable (module-level functions and classes, no lambdas): the
transformer travels inside the model file and predicts from raw rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from studio.core.data.profile import parse_dates, to_number
from studio.core.errors import DataError
from studio.core.formula import parse_formula
from studio.core.prep import Binning, ColumnPrep, Encoding, Missing, Outliers, PrepConfig, Scaling, Treatment

Z_LIMIT = 3.0
IQR_FACTOR = 1.5
MISSING_SUFFIX = " (was missing)"


class RawInputs(TransformerMixin, BaseEstimator):
    """Checks the raw columns of new rows and adds the derived ones.

    Learns from the training rows which columns had gaps: those may be absent from new data (they are then all
    gaps, filled as in training); any other absent column is a clear error.
    """

    def __init__(self, columns: tuple[str, ...] = (), derived: tuple[tuple[str, str], ...] = ()) -> None:
        self.columns = columns
        self.derived = derived

    def fit(self, x: pd.DataFrame, y: Any = None) -> RawInputs:
        frame = _require_frame(x)
        _require_columns(frame, self.columns, optional=())
        self.optional_ = tuple(c for c in self.columns if bool(frame[c].isna().any()))
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        frame = _require_frame(x)
        _require_columns(frame, self.columns, optional=self.optional_)
        out = pd.DataFrame({c: frame[c] if c in frame.columns else np.nan for c in self.columns}, index=frame.index)
        for name, text in self.derived:
            out[name] = parse_formula(text, out.columns).evaluate(out)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*self.columns, *(n for n, _ in self.derived)], dtype=object)


def _require_frame(x: Any) -> pd.DataFrame:
    if not isinstance(x, pd.DataFrame):
        raise DataError("The preparation needs a table with named columns.")
    return x


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], optional: tuple[str, ...]) -> None:
    absent = [c for c in columns if c not in frame.columns and c not in optional]
    if absent:
        listed = ", ".join(f"'{c}'" for c in absent[:8]) + (" …" if len(absent) > 8 else "")
        raise DataError(f"The data lacks {len(absent)} column(s) the preparation needs: {listed}.")


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clips numbers to fences learnt from the training rows (IQR fences or mean ± 3 standard deviations)."""

    def __init__(self, method: str = "iqr") -> None:
        self.method = method

    def fit(self, x: np.ndarray, y: Any = None) -> OutlierClipper:
        self.lower_, self.upper_ = outlier_fences(np.asarray(x, dtype=float), self.method)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=float), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def outlier_fences(values: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the (lower, upper) fences; gaps are ignored."""
    values = values.reshape(len(values), -1)
    with np.errstate(all="ignore"):
        if method == "iqr":
            q1, q3 = np.nanpercentile(values, [25, 75], axis=0) if len(values) else (np.zeros(1), np.zeros(1))
            spread = q3 - q1
            lower, upper = q1 - IQR_FACTOR * spread, q3 + IQR_FACTOR * spread
        else:
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
            lower, upper = mean - Z_LIMIT * std, mean + Z_LIMIT * std
    # A column of gaps has no fences: nothing is clipped.
    return np.nan_to_num(lower, nan=-np.inf), np.nan_to_num(upper, nan=np.inf)


# -- raw values to arrays (module-level so the model file pickles) ----------------------------------------------
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


# -- building ---------------------------------------------------------------------------------------------------
def build_preparation(prep: PrepConfig, target: str | None) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    features = prep.features(target)
    transformers: list[tuple[str, Any, Any]] = []
    for column in features:
        name = column.name.replace("__", "_")
        transformers.append((name, _column_pipeline(column), [column.name] if column.treatment is not Treatment.TEXT
                             else column.name))
        binned = column.treatment is Treatment.NUMERIC and column.binning is not Binning.NONE
        if column.missing_indicator and (column.treatment is Treatment.CATEGORICAL or binned):
            transformers.append((name + MISSING_SUFFIX, _indicator(column), [column.name]))
    derived = needed_derived(prep, target)
    sources = _formula_sources(prep, derived)
    raw = tuple(dict.fromkeys([*(c.name for c in features if not c.formula), *sources]))
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0,
                                verbose_feature_names_out=feature_name)
    return Pipeline([("inputs", RawInputs(raw, derived)), ("columns", columns)])


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


def input_columns(prep: PrepConfig, target: str | None) -> tuple[str, ...]:
    """The raw columns the preparation reads from new rows (used columns and the sources of formulas)."""
    used = [c.name for c in prep.features(target) if not c.formula]
    return tuple(dict.fromkeys([*used, *_formula_sources(prep, needed_derived(prep, target))]))


def _column_pipeline(column: ColumnPrep) -> Any:
    from sklearn.pipeline import Pipeline

    if column.treatment is Treatment.NUMERIC:
        return Pipeline(_numeric_steps(column))
    if column.treatment is Treatment.CATEGORICAL:
        return Pipeline(_category_steps(column))
    if column.treatment is Treatment.DATE:
        return Pipeline(_date_steps(column))
    return Pipeline(_text_steps(column))


def _numeric_steps(column: ColumnPrep) -> list[tuple[str, Any]]:
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer

    steps: list[tuple[str, Any]] = [("parse", FunctionTransformer(frame_to_numbers, feature_names_out="one-to-one"))]
    if column.outliers is not Outliers.NONE:
        steps.append(("clip", OutlierClipper("iqr" if column.outliers.value.startswith("iqr") else "z")))
    binned = column.binning is not Binning.NONE
    steps.append(("impute", _imputer(column, add_indicator=column.missing_indicator and not binned)))
    if binned:
        steps.append(("bins", KBinsDiscretizer(n_bins=column.bins, encode="onehot-dense",
                                               strategy=column.binning.value, quantile_method="averaged_inverted_cdf")))
    elif column.scaling is not Scaling.NONE:
        steps.append(("scale", _scaler(column.scaling)))
    return steps


def _category_steps(column: ColumnPrep) -> list[tuple[str, Any]]:
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, TargetEncoder

    steps: list[tuple[str, Any]] = [
        ("text", FunctionTransformer(frame_to_categories, feature_names_out="one-to-one")),
        ("impute", _imputer(column, add_indicator=False)),
    ]
    if column.encoding is Encoding.ORDINAL:
        steps.append(("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)))
    elif column.encoding is Encoding.TARGET:
        steps.append(("encode", TargetEncoder(cv=KFold(5, shuffle=True, random_state=0))))
    else:
        steps.append(("encode", OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=column.max_categories,
            min_frequency=column.rare_share if column.rare_share > 0 else None, sparse_output=False)))
    return steps


def _date_steps(column: ColumnPrep) -> list[tuple[str, Any]]:
    from sklearn.preprocessing import FunctionTransformer

    parts = FunctionTransformer(frame_to_date_parts, kw_args={"parts": column.date_parts,
                                                              "date_format": column.date_format,
                                                              "reference": column.date_reference},
                                feature_names_out=date_part_names)
    steps: list[tuple[str, Any]] = [("parts", parts), ("impute", _imputer(column, column.missing_indicator))]
    if column.scaling is not Scaling.NONE:
        steps.append(("scale", _scaler(column.scaling)))
    return steps


def _text_steps(column: ColumnPrep) -> list[tuple[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import FunctionTransformer

    return [("text", FunctionTransformer(column_to_text, feature_names_out=same_names)),
            ("tfidf", TfidfVectorizer(max_features=column.text_vocabulary))]


def _indicator(column: ColumnPrep) -> Any:
    from sklearn.impute import MissingIndicator
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    convert = frame_to_categories if column.treatment is Treatment.CATEGORICAL else frame_to_numbers
    return Pipeline([("values", FunctionTransformer(convert, feature_names_out="one-to-one")),
                     ("flag", MissingIndicator(features="all"))])


def _imputer(column: ColumnPrep, add_indicator: bool) -> Any:
    from sklearn.impute import SimpleImputer

    strategy = column.fill_strategy()
    fill: Any = None
    if strategy is Missing.CONSTANT:
        if column.treatment is Treatment.CATEGORICAL:
            fill = column.fill_value or "none"
        else:
            number = to_number(pd.Series([column.fill_value])).iloc[0]
            fill = 0.0 if pd.isna(number) else float(number)
    return SimpleImputer(strategy=strategy.value, fill_value=fill, add_indicator=add_indicator,
                         keep_empty_features=True)


def _scaler(scaling: Scaling) -> Any:
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    return {Scaling.STANDARD: StandardScaler, Scaling.MINMAX: MinMaxScaler, Scaling.ROBUST: RobustScaler}[scaling]()


def feature_sources(fitted: Any) -> list[tuple[str, list[str]]]:
    """For a fitted preparation, each source column with the names of the features made from it."""
    columns = fitted.named_steps["columns"]
    names = list(columns.get_feature_names_out())
    sources: list[tuple[str, list[str]]] = []
    for transformer_name, part in columns.output_indices_.items():
        if transformer_name == "remainder" or part.stop == part.start:
            continue
        source = transformer_name.removesuffix(MISSING_SUFFIX)
        if sources and sources[-1][0] == source:
            sources[-1][1].extend(names[part])
        else:
            sources.append((source, names[part]))
    return sources
