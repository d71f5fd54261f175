"""Every cleaning and feature step on small real data, and that its statistics come from the training rows only."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import TargetEncoder

from studio.core.data.profile import ColumnKind, profile_frame
from studio.core.data.target import Task
from studio.core.prep.build import build_transformer, column_step, feature_sources
from studio.core.prep.config import (
    Binning,
    Encoding,
    Missing,
    Outliers,
    PrepConfig,
    Scaling,
    Treatment,
    default_prep,
    with_use_choice,
)
from studio.core.prep.rows import rows_to_keep, training_rows
from studio.core.train.splits import explicit_split

from .helpers import make_request, run_training


@pytest.fixture
def prep(penguins: pd.DataFrame) -> PrepConfig:
    return default_prep(profile_frame(penguins))


def fitted(prep: PrepConfig, frame: pd.DataFrame, target: str = "species") -> Any:
    transformer = build_transformer(prep, target)
    transformer.fit(frame, frame[target].astype(str).to_numpy(dtype=object))
    return transformer


def features(transformer: Any, frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(transformer.transform(frame), columns=transformer.get_feature_names_out(), index=frame.index)


@pytest.mark.parametrize(("missing", "expected"), [
    (Missing.MEAN, lambda s: s.mean()), (Missing.MEDIAN, lambda s: s.median()),
    (Missing.MOST_FREQUENT, lambda s: s.mode().min()), (Missing.CONSTANT, lambda s: -1.0),
])
def test_missing_numbers_are_filled_as_chosen_with_an_indicator(
        penguins: pd.DataFrame, prep: PrepConfig, missing: Missing, expected: Callable[[pd.Series], float]) -> None:
    prep = prep.with_column("bill_length_mm", missing=missing, fill_value="-1", scaling=Scaling.NONE,
                            missing_indicator=True)
    out = features(fitted(prep, penguins), penguins)
    gaps = penguins["bill_length_mm"].isna()
    assert gaps.sum() == 2
    fill = expected(penguins["bill_length_mm"].dropna())
    assert out.loc[gaps, "bill_length_mm"].tolist() == pytest.approx([fill, fill])
    assert out["bill_length_mm (was missing)"].tolist() == gaps.astype(float).tolist()


def test_missing_categories_as_a_constant_with_indicator(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    prep = prep.with_column("sex", missing=Missing.CONSTANT, fill_value="unknown", missing_indicator=True)
    out = features(fitted(prep, penguins), penguins)
    gaps = penguins["sex"].isna()
    assert (out.loc[gaps, "sex_unknown"] == 1).all() and (out.loc[~gaps, "sex_unknown"] == 0).all()
    assert out["sex (was missing)"].sum() == gaps.sum() == 11


def test_statistics_come_from_the_training_rows_only(penguins: pd.DataFrame) -> None:
    """No leakage: with a fixed split, the fitted imputer and scaler hold the training rows' figures."""
    train_rows, test_rows = list(range(0, 344, 3)), [r for r in range(344) if r % 3]
    request = make_request(penguins, "species", Task.CLASSIFICATION, "logistic_regression",
                           fixed_split=explicit_split(train_rows, test_rows, len(penguins)))
    _, result = run_training(request)
    steps = column_step(result.pipeline.named_steps["prep"], "body_mass_g").named_steps
    training = penguins["body_mass_g"].iloc[train_rows]
    assert steps["impute"].statistics_[0] == training.median()
    assert steps["scale"].mean_[0] == pytest.approx(training.fillna(training.median()).mean())
    assert steps["scale"].mean_[0] != pytest.approx(penguins["body_mass_g"].mean(), abs=1.0)


def test_outliers_are_clipped_to_fences_learnt_from_training(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    prep = prep.with_column("body_mass_g", outliers=Outliers.IQR_CLIP, scaling=Scaling.NONE)
    transformer = fitted(prep, penguins)
    mass = penguins["body_mass_g"]
    q1, q3 = mass.quantile([0.25, 0.75])
    wild = penguins.head(2).assign(body_mass_g=[100_000.0, -5.0])
    out = features(transformer, wild)["body_mass_g"].tolist()
    assert out == pytest.approx([q3 + 1.5 * (q3 - q1), q1 - 1.5 * (q3 - q1)])


def test_outliers_duplicates_and_gaps_remove_training_rows_only(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    frame = pd.concat([penguins, penguins.head(3)], ignore_index=True)
    frame.loc[10, "body_mass_g"] = 90_000.0
    prep = PrepConfig(prep.with_column("body_mass_g", outliers=Outliers.Z_REMOVE).columns, drop_duplicates=True)
    prep = prep.with_column("sex", missing=Missing.DROP_ROWS)
    keep, removal = rows_to_keep(prep, "species", frame)
    assert removal.duplicates == 3
    assert removal.outliers == 1 and not keep[10]
    # Birds without a recorded sex, among the rows still kept after duplicates and the outlier.
    assert removal.gaps == int(frame.loc[~frame.duplicated()].drop(index=10)["sex"].isna().sum()) > 5
    assert keep.sum() == len(frame) - removal.total
    y = frame["species"].to_numpy(dtype=object)
    x, y_kept, _ = training_rows(prep, "species", frame.drop(columns=["species"]), y)
    assert len(x) == len(y_kept) == keep.sum()
    # The fitted preparation still fills a gap in a new row rather than drop it.
    transformer = fitted(prep, frame.loc[keep])
    assert np.isfinite(transformer.transform(frame.head(5))).all()


@pytest.mark.parametrize(("scaling", "check"), [
    (Scaling.MINMAX, lambda v: (v.min(), v.max()) == pytest.approx((0.0, 1.0))),
    (Scaling.STANDARD, lambda v: (v.mean(), v.std()) == pytest.approx((0.0, 1.0), abs=1e-6)),
    (Scaling.ROBUST, lambda v: np.median(v) == pytest.approx(0.0)),
    (Scaling.NONE, lambda v: v.max() == 6300.0),
])
def test_scalers(penguins: pd.DataFrame, prep: PrepConfig, scaling: Scaling,
                 check: Callable[[np.ndarray], bool]) -> None:
    out = features(fitted(prep.with_column("body_mass_g", scaling=scaling), penguins), penguins)
    assert check(out["body_mass_g"].to_numpy())


def test_one_hot_groups_rare_categories_and_caps_their_number(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    frame = penguins.assign(island=penguins["island"].where(penguins.index % 50 != 0, "Rare Rock"))
    grouped = features(fitted(prep.with_column("island", rare_share=0.05), frame), frame)
    assert [c for c in grouped.columns if c.startswith("island")] == [
        "island_Biscoe", "island_Dream", "island_Torgersen", "island_infrequent_sklearn"]
    capped = features(fitted(prep.with_column("island", max_categories=2), frame), frame)
    assert len([c for c in capped.columns if c.startswith("island")]) == 2


def test_ordinal_and_cross_fitted_target_encoding(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    ordinal = fitted(prep.with_column("island", encoding=Encoding.ORDINAL), penguins)
    unseen = penguins.head(2).assign(island=["Atlantis", "Dream"])
    out = features(ordinal, unseen)
    assert out["island"].tolist() == [-1.0, 1.0]

    target_prep = prep.with_column("island", encoding=Encoding.TARGET)
    transformer = build_transformer(target_prep, "species")
    y = penguins["species"].to_numpy(dtype=object)
    train_out = transformer.fit_transform(penguins, y)
    encoder = column_step(transformer, "island").named_steps["encode"]
    assert isinstance(encoder, TargetEncoder)
    # Cross-fitting: the training rows are encoded by folds that did not see them, unlike a plain transform.
    assert not np.allclose(train_out, transformer.transform(penguins))
    island = [c for c in transformer.get_feature_names_out() if c.startswith("island")]
    assert len(island) == 3  # one per class


def test_date_parts_with_a_chosen_format() -> None:
    frame = pd.DataFrame({"when": ["31/01/2024 13:00", "01/02/2024 08:30", None, "not a date"],
                          "y": ["a", "b", "a", "b"]})
    prep = default_prep(profile_frame(frame)).with_treatment("when", Treatment.DATE).with_column(
        "when", date_parts=("year", "month", "weekday", "hour", "days"), date_format="%d/%m/%Y %H:%M",
        scaling=Scaling.NONE)
    transformer = build_transformer(prep, "y").fit(frame, frame["y"])
    out = features(transformer, frame)
    assert list(out.columns) == ["when year", "when month", "when weekday", "when hour", "when days"]
    assert out.iloc[0].tolist() == [2024, 1, 2, 13, pytest.approx(19753 + 13 / 24)]
    assert out.iloc[1, :4].tolist() == [2024, 2, 3, 8]
    # Days counted from a chosen reference date instead of 1970.
    counted = build_transformer(prep.with_column("when", date_parts=("days",), date_reference="2024-01-01"), "y")
    assert features(counted.fit(frame, frame["y"]), frame)["when days"].iloc[0] == pytest.approx(30 + 13 / 24)
    assert np.isfinite(out.to_numpy()).all()  # gaps and non-dates filled with the median


def test_text_becomes_tf_idf_with_the_chosen_vocabulary() -> None:
    words = ["great value", "slow support", "great support", "too slow", "value for money", None]
    frame = pd.DataFrame({"feedback": words * 5, "y": list("ab") * 15})
    prep = with_use_choice(default_prep(profile_frame(frame)), "feedback", 4).with_column("feedback",
                                                                                           text_vocabulary=4)
    assert prep.get("feedback").kind is ColumnKind.TEXT
    transformer = build_transformer(prep, "y").fit(frame, frame["y"])
    names = list(transformer.get_feature_names_out())
    assert len(names) == 4 and all(n.startswith("feedback '") for n in names)
    row = features(transformer, frame.head(1))
    assert row["feedback 'great'"].iloc[0] > 0


@pytest.mark.parametrize("binning", [Binning.UNIFORM, Binning.QUANTILE])
def test_binning(penguins: pd.DataFrame, prep: PrepConfig, binning: Binning) -> None:
    prep = prep.with_column("body_mass_g", binning=binning, bins=4)
    out = features(fitted(prep, penguins), penguins)
    bins = out[[c for c in out.columns if c.startswith("body_mass_g")]]
    assert bins.shape[1] == 4
    assert (bins.sum(axis=1) == 1).all()
    if binning is Binning.QUANTILE:
        assert bins.sum().min() >= 80  # about a quarter of 344 rows each


def test_derived_column_is_computed_inside_the_pipeline(penguins: pd.DataFrame, prep: PrepConfig) -> None:
    prep = prep.with_derived("density", "body_mass_g / flipper_length_mm").with_column(
        "density", scaling=Scaling.NONE).with_treatment("body_mass_g", Treatment.EXCLUDE)
    transformer = fitted(prep, penguins)
    out = features(transformer, penguins)
    expected = penguins["body_mass_g"] / penguins["flipper_length_mm"]
    assert out["density"].iloc[0] == pytest.approx(expected.iloc[0])
    assert "body_mass_g" not in out.columns
    sources = dict(feature_sources(transformer))
    assert sources["density"] == ["density"]
    # It pickles (module-level functions only) and still needs the formula's source column.
    clone = pickle.loads(pickle.dumps(transformer))
    np.testing.assert_allclose(clone.transform(penguins), transformer.transform(penguins))


def test_model_files_from_before_the_move_still_find_their_functions() -> None:
    from studio.core.prep import build as prep_build

    # How pickle names a module-level function: by module and name.
    old_reference = b"cstudio.core.prep\nframe_to_numbers\n."
    assert pickle.loads(old_reference) is prep_build.frame_to_numbers


def test_every_choice_has_its_own_label() -> None:
    from studio.core.prep.config import choice_label

    # Outliers, scaling and binning all have a "none" value; each keeps its own words.
    assert [choice_label(o) for o in (Outliers.NONE, Scaling.NONE, Binning.NONE)] == [
        "Keep as they are", "No scaling", "No binning"]
