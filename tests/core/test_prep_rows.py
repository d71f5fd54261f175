"""Which choices remove training rows: the training and the Prepare page's preview must agree on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.prep import preview as prep_preview
from studio.core.prep.config import Outliers, PrepConfig, Treatment, default_prep
from studio.core.prep.preview import make_preview
from studio.core.prep.rows import removes_outlier_rows, removes_rows, rows_to_keep, training_rows


@pytest.fixture
def frame(penguins: pd.DataFrame) -> pd.DataFrame:
    frame = penguins.copy()
    frame.loc[10, "body_mass_g"] = 90_000.0  # far outside every fence
    return frame


@pytest.fixture
def prep(frame: pd.DataFrame) -> PrepConfig:
    return default_prep(profile_frame(frame))


@pytest.mark.parametrize("outliers", [Outliers.IQR_REMOVE, Outliers.Z_REMOVE])
def test_removing_outliers_of_a_number_column_removes_rows(frame: pd.DataFrame, prep: PrepConfig,
                                                          outliers: Outliers) -> None:
    prep = prep.with_column("body_mass_g", outliers=outliers)
    assert removes_outlier_rows(prep.get("body_mass_g"))
    assert removes_rows(prep, "species")
    keep, removal = rows_to_keep(prep, "species", frame)
    assert removal.outliers >= 1 and not keep[10]


@pytest.mark.parametrize("treatment", [Treatment.CATEGORICAL, Treatment.EXCLUDE])
def test_a_stale_outlier_choice_on_a_column_no_longer_a_number_removes_nothing(
        frame: pd.DataFrame, prep: PrepConfig, treatment: Treatment, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chosen while the column was a number, then the column was switched to another use: the choice stays
    # in the config but means nothing any more.
    prep = prep.with_column("body_mass_g", outliers=Outliers.IQR_REMOVE).with_treatment("body_mass_g", treatment)
    assert not removes_outlier_rows(prep.get("body_mass_g"))
    assert not removes_rows(prep, "species")
    keep, removal = rows_to_keep(prep, "species", frame)
    assert keep.all() and removal.total == 0
    y = frame["species"].to_numpy(dtype=object)
    x = frame.drop(columns=["species"])
    kept_x, kept_y, removal = training_rows(prep, "species", x, y)
    assert kept_x is x and np.array_equal(kept_y, y) and removal.total == 0

    # The preview takes the sampled path, as training keeps every row: counting removals over the whole table
    # would be wasted work on a large one.
    def whole_table_path(*_args: object) -> None:
        raise AssertionError("the preview counted removed rows although nothing removes rows")

    monkeypatch.setattr(prep_preview, "rows_to_keep", whole_table_path)
    preview = make_preview(frame, prep, "species", Task.CLASSIFICATION)
    assert preview.error == "" and preview.removal.total == 0
    assert preview.fitted_rows == frame["species"].notna().sum()
