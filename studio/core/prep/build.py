"""The preparation as one scikit-learn transformer: a Pipeline of RawInputs and a ColumnTransformer.

Every column gets its own small pipeline of scikit-learn pieces, named after the column, so the features the model
sees can be traced back to it. Everything is picklable (module-level functions and classes, no lambdas): the
transformer travels inside the model file and predicts from raw rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from studio.core.common.errors import DataError
from studio.core.common.words import plural
from studio.core.data.profile import to_number
from studio.core.prep.config import (
    Binning,
    ColumnPrep,
    Encoding,
    Infinite,
    Missing,
    Outliers,
    PrepConfig,
    Scaling,
    Treatment,
)
from studio.core.prep.formula import parse_formula

# Re-exported: model files pickled these functions under this module's name, and callers import them here.
from studio.core.prep.values import (  # noqa: F401
    IQR_FACTOR,
    MISSING_SUFFIX,
    Z_LIMIT,
    FeatureNames,
    _formula_sources,
    column_step,
    column_to_text,
    date_part_names,
    feature_name,
    feature_sources,
    frame_to_categories,
    frame_to_date_parts,
    frame_to_days,
    frame_to_numbers,
    input_columns,
    inputs_of,
    needed_derived,
    outlier_fences,
    same_names,
)

if TYPE_CHECKING:
    from studio.core.prep.images import ImageTraining


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
        raise DataError(f"The data lacks {plural(len(absent), 'column')} the preparation needs: {listed}.")


class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clips numbers to fences learnt from the training rows (IQR fences, mean ± 3 standard deviations, or for
    infinite values the finite range)."""

    def __init__(self, method: str = "iqr") -> None:
        self.method = method

    def fit(self, x: np.ndarray, y: Any = None) -> OutlierClipper:
        self.lower_, self.upper_ = outlier_fences(np.asarray(x, dtype=float), self.method)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=float), self.lower_, self.upper_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


# -- building ---------------------------------------------------------------------------------------------------
def build_transformer(prep: PrepConfig | ImageTraining, target: str | None, category_codes: bool = False) -> Any:
    """The preparation as one picklable scikit-learn transformer taking raw rows (for pictures: the reader of
    their files). ``category_codes``: the category columns that would be one-hot encoded become one number per
    category instead, placed first (``codes.coded_columns`` says how many), for a model that splits on categories
    itself."""
    from sklearn.compose import ColumnTransformer

    from studio.core.prep.images import ImageTraining

    if isinstance(prep, ImageTraining):
        return prep.reader()
    from sklearn.pipeline import Pipeline

    from studio.core.prep.codes import coded_columns, coded_steps

    features = prep.features(target)
    coded = coded_columns(prep, target) if category_codes else ()
    # The coded columns come first, so the model is told which features are categories before anything is fitted.
    features = (*coded, *(c for c in features if c not in coded))
    transformers: list[tuple[str, Any, Any]] = []
    # Steps get internal names ("column 3"): scikit-learn refuses names such as 'remainder', 'verbose' or 'a__b'
    # and two names it would read alike, and any of those may head a spreadsheet column. The features keep the
    # user's column names through FeatureNames.
    shown: dict[str, str] = {}
    for index, column in enumerate(features, start=1):
        name = f"column {index}"
        shown[name] = column.name
        pipe = Pipeline(coded_steps(column, _imputer(column, add_indicator=False))) if column in coded \
            else _column_pipeline(column)
        transformers.append((name, pipe, [column.name] if column.treatment is not Treatment.TEXT else column.name))
        binned = column.treatment is Treatment.NUMERIC and column.binning is not Binning.NONE
        if column.missing_indicator and (column.treatment is Treatment.CATEGORICAL or binned):
            transformers.append((name + MISSING_SUFFIX, _indicator(column), [column.name]))
            shown[name + MISSING_SUFFIX] = column.name + MISSING_SUFFIX
    raw, derived = inputs_of(prep, target)
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0,
                                verbose_feature_names_out=FeatureNames(shown))
    return Pipeline([("inputs", RawInputs(raw, derived)), ("columns", columns)])


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

    clip_infinite = column.infinite is Infinite.CLIP
    steps: list[tuple[str, Any]] = [("parse", FunctionTransformer(
        frame_to_numbers, feature_names_out="one-to-one", kw_args={"keep_infinite": True} if clip_infinite else None))]
    if clip_infinite:
        steps.append(("finite", OutlierClipper("finite")))
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


