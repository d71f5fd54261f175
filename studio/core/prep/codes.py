"""Category columns as one number per category, for a model that splits on categories itself.

A one-hot encoded category column becomes as many features as it has values: a column of 40 towns is 40 columns
of zeros and ones. Gradient boosting can split on the categories directly (scikit-learn's histogram boosting with
``categorical_features``), so it gets one column of codes instead: far fewer features to build histograms for,
and one split can group several categories where one-hot needs a split per category. ``codes_pay`` decides when
that is worth it; ``build_transformer(..., category_codes=True)`` builds that preparation, and ``code_positions``
tells the model which features are codes.

Codes follow the encoder's order of the categories seen in training; a category never seen there, and a gap the
filling step did not fill, become a gap (NaN), which the boosting sends where training gaps went.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studio.core.prep.config import ColumnPrep, Encoding, PrepConfig, Treatment

# Histogram boosting takes at most 255 categories per feature (its bins); infrequent ones share one code.
MAX_CODES = 250
# Codes pay once one-hot encoding would add this many category features in all, or one column alone this many:
# below that the features are few either way, and one-hot keeps every model alike.
WIDE_TOTAL = 24
WIDE_COLUMN = 12


def coded_columns(prep: PrepConfig, target: str | None) -> tuple[ColumnPrep, ...]:
    """The category columns that would be one-hot encoded: the ones codes replace."""
    return tuple(c for c in prep.features(target)
                 if c.treatment is Treatment.CATEGORICAL and c.encoding is Encoding.ONE_HOT)


def code_positions(prep: PrepConfig, target: str | None) -> list[int]:
    """Where the codes are among the features of ``build_transformer(prep, target, category_codes=True)``: the
    coded columns come first, each followed by its gap flag when it has one."""
    positions, at = [], 0
    for column in coded_columns(prep, target):
        positions.append(at)
        at += 2 if column.missing_indicator else 1
    return positions


def one_hot_width(prep: PrepConfig, target: str | None, frame: pd.DataFrame) -> tuple[int, int]:
    """(features all coded columns would make one-hot encoded, the most any one of them would), from the rows."""
    widths = []
    for column in coded_columns(prep, target):
        if column.name not in frame.columns:
            continue
        distinct = int(frame[column.name].nunique(dropna=True))
        widths.append(min(distinct, column.max_categories))
    return sum(widths), max(widths, default=0)


def codes_pay(prep: PrepConfig, target: str | None, frame: pd.DataFrame) -> bool:
    """Whether codes beat one-hot encoding on these rows: the category columns would make many features."""
    total, widest = one_hot_width(prep, target, frame)
    return total >= WIDE_TOTAL or widest >= WIDE_COLUMN


def coded_steps(column: ColumnPrep, imputer: Any) -> list[tuple[str, Any]]:
    """The column's steps with codes: its text, its gaps filled as with one-hot, then one number per category."""
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    from studio.core.prep.values import frame_to_categories

    # The same categories as one-hot encoding keeps (the rest grouped as one): boosting's splits on a column of
    # hundreds of categories fit noise in the rare ones, as scikit-learn warns.
    limit = min(MAX_CODES, column.max_categories)
    return [("text", FunctionTransformer(frame_to_categories, feature_names_out="one-to-one")),
            ("impute", imputer),
            ("codes", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                     max_categories=limit,
                                     min_frequency=column.rare_share if column.rare_share > 0 else None))]
