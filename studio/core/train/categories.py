"""Whether a model takes the category columns as codes, and telling it which features those are.

A family with ``ModelSpec.category_codes`` (gradient boosting) splits on categories itself; its ``CATEGORY_SPLITS``
setting says when: "auto" where one-hot encoding would make many features (``prep.codes.codes_pay``), "codes"
always, "one_hot" never. The same rule runs in the search and in the final fit on the same rows, so the model
trained is the one the search judged; retraining a saved model decides again on its new rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from studio.core.models.params import ParamValue
from studio.core.models.spec import CATEGORY_SPLITS, ModelSpec
from studio.core.prep.codes import code_positions, codes_pay
from studio.core.prep.config import PrepConfig


def code_features(spec: ModelSpec, params: dict[str, ParamValue], prep: Any, target: str | None,
                  rows: pd.DataFrame) -> list[int]:
    """Where the codes are among the prepared features when this model takes codes on these rows; [] when it
    takes one-hot columns (then the preparation is built as usual)."""
    if not spec.category_codes or not isinstance(prep, PrepConfig):
        return []
    choice = params.get(CATEGORY_SPLITS, "auto")
    if choice == "one_hot":
        return []
    positions = code_positions(prep, target)
    if not positions or (choice != "codes" and not codes_pay(prep, target, rows)):
        return []
    return positions


def with_codes(spec: ModelSpec, estimator: Any, positions: list[int]) -> Any:
    """``estimator`` told which features are category codes (unchanged when there are none)."""
    if positions and spec.category_codes:
        estimator.set_params(**{spec.category_codes: np.asarray(positions, dtype=int)})
    return estimator
