"""Warnings with fixes on a messy table, relations to the target, settings files and what is remembered per
dataset, and a saved model facing new rows unlike the training data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import DataError
from studio.core.data.profile import ColumnKind, profile_frame
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.config import Encoding, Missing, PrepConfig, Treatment, default_prep, load_prep, save_prep
from studio.core.prep.files import dataset_key, prep_from_file, recall_prep, remember_prep
from studio.core.prep.insights import apply_fix, is_fixed
from studio.core.prep.preview import make_preview
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame, schema_problems
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest
from studio.resources import resources_dir

from .helpers import insights_of, run_training

MESSY = resources_dir() / "samples" / "messy_customers.csv"


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    return load_table(MESSY).frame


def test_messy_table_warnings_and_their_fixes(messy: pd.DataFrame) -> None:
    insights = insights_of(messy, "churned", Task.CLASSIFICATION)
    found = {(f.code, f.column) for f in insights.findings}
    assert found >= {("duplicates", ""), ("id", "customer_id"), ("constant", "country"),
                     ("leak", "cancellation_reason"), ("blank_none", "discount_pct")}
    # monthly_spend is written " 1,067.00 ": the reader finds the thousands separator consistent in the file and
    # reads the column as numbers, so it is no longer "numbers written as text"; the same values as text still are.
    assert messy["monthly_spend"].dtype == float and messy["monthly_spend"].max() == 1531.5
    assert ("text_numbers", "monthly_spend") not in found
    as_text = messy.assign(monthly_spend=pd.read_csv(MESSY, dtype=str)["monthly_spend"])
    assert ("text_numbers", "monthly_spend") in {
        (f.code, f.column) for f in insights_of(as_text, "churned", Task.CLASSIFICATION).findings}
    assert insights.duplicates == 5
    assert insights.outliers["age"][0] >= 2  # the two typing mistakes (240 and 199 years)
    prep = default_prep(profile_frame(messy))
    by_code = {f.code: f for f in insights.findings if f.column in ("", "customer_id", "country",
                                                                    "cancellation_reason", "discount_pct")}
    by_code["blank_none"] = next(f for f in insights.findings if (f.code, f.column) == ("blank_none", "discount_pct"))
    # Identifier and constant are left out by default; a leak, duplicates and blanks need a click.
    assert is_fixed(prep, by_code["id"]) and is_fixed(prep, by_code["constant"])
    for code in ("leak", "duplicates", "blank_none"):
        assert not is_fixed(prep, by_code[code])
        prep = apply_fix(prep, by_code[code])
        assert is_fixed(prep, by_code[code])
    assert prep.get("cancellation_reason").treatment is Treatment.EXCLUDE
    assert "leaks the answer" in prep.get("cancellation_reason").reason
    assert prep.drop_duplicates
    assert (prep.get("discount_pct").missing, prep.get("discount_pct").fill_value) == (Missing.CONSTANT, "0")
    # The missing-value map: one band per stretch of rows, one column per table column.
    assert insights.missing_map.shape[1] == messy.shape[1]
    column = list(insights.missing_columns).index("discount_pct")
    assert 0.4 < insights.missing_map[:, column].mean() < 0.8


def test_relations_to_the_target(penguins: pd.DataFrame) -> None:
    insights = insights_of(penguins, "species", Task.CLASSIFICATION)
    assert insights.relations["flipper_length_mm"].strength > 0.8
    assert "Gentoo" in insights.relations["flipper_length_mm"].summary
    assert insights.relations["year"].strength < 0.2
    regression = insights_of(penguins, "body_mass_g", Task.REGRESSION)
    assert regression.relations["flipper_length_mm"].summary.startswith("correlation +0.87")
    assert "Gentoo" in regression.relations["species"].summary  # the heaviest species first


def test_preview_counts_features_and_says_where_they_come_from(penguins: pd.DataFrame) -> None:
    prep = default_prep(profile_frame(penguins))
    preview = make_preview(penguins, prep, "species", Task.CLASSIFICATION)
    assert preview.error == ""
    assert preview.feature_count == 10 == preview.after.shape[1]
    assert dict(preview.sources)["island"] == ("island_Biscoe", "island_Dream", "island_Torgersen")
    assert list(preview.before.columns) == [c.name for c in prep.features("species")]
    ordinal = make_preview(penguins, prep.with_column("island", encoding=Encoding.ORDINAL), "species",
                           Task.CLASSIFICATION)
    assert ordinal.feature_count == 8
    nothing = make_preview(penguins, PrepConfig(tuple(c.__class__(c.name, c.kind, Treatment.EXCLUDE)
                                                      for c in prep.columns)), "species", Task.CLASSIFICATION)
    assert "Every column is left out" in nothing.error


def test_prep_file_round_trip_and_clear_errors(tmp_path: Path, penguins: pd.DataFrame) -> None:
    profiles = profile_frame(penguins)
    prep = default_prep(profiles).with_column("island", encoding=Encoding.TARGET).with_derived(
        "bill_ratio", "bill_length_mm / bill_depth_mm")
    path = save_prep(tmp_path / "prep.json", prep)
    assert load_prep(path) == prep
    assert prep_from_file(path, profiles, "species") == prep
    raw = json.loads(path.read_text())
    raw["columns"][0]["encoding"] = "magic"
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match="unknown encoding: 'magic'"):
        load_prep(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataError, match="not a valid JSON"):
        load_prep(tmp_path / "broken.json")
    fewer = profile_frame(penguins.drop(columns=["bill_depth_mm"]))
    with pytest.raises(DataError, match="'bill_depth_mm'"):
        prep_from_file(path, fewer, "species")


def test_choices_are_remembered_per_set_of_columns(tmp_path: Path, penguins: pd.DataFrame) -> None:
    profiles = profile_frame(penguins)
    assert recall_prep(tmp_path, profiles) is None
    prep = default_prep(profiles).with_treatment("year", Treatment.EXCLUDE)
    remember_prep(tmp_path, [p.name for p in profiles], prep)
    assert recall_prep(tmp_path, profiles) == prep
    # A table with other columns has its own memory.
    other = profile_frame(penguins.drop(columns=["year"]))
    assert recall_prep(tmp_path, other) is None
    assert dataset_key(["a", "b"]) != dataset_key(["b", "a"])
    # A damaged memory file falls back to the defaults rather than fail.
    next((tmp_path / "prep").glob("*.json")).write_text("garbage")
    assert recall_prep(tmp_path, profiles) is None


def test_saved_model_predicts_raw_rows_that_differ_from_training(tmp_path: Path, messy: pd.DataFrame) -> None:
    profiles = profile_frame(messy)
    prep = default_prep(profiles)
    prep = prep.with_treatment("cancellation_reason", Treatment.EXCLUDE).with_treatment("feedback", Treatment.TEXT)
    prep = prep.with_derived("spend_per_visit", "monthly_spend / (visits_per_month + 1)")
    prep = PrepConfig(prep.columns, drop_duplicates=True)
    assert prep.get("signup_date").date_format == "%d/%m/%Y"
    request = TrainRequest(messy, "churned", Task.CLASSIFICATION, prep, SplitConfig(), "logistic_regression", {})
    _, result = run_training(request)
    inputs = {name: treatment for name, _, treatment in result.feature_columns}
    assert "spend_per_visit" not in inputs and inputs["feedback"] == "text"
    path = save_model(tmp_path / "churn.studio.joblib", result.pipeline, metadata_for(result))
    bundle = load_model(path)

    new = messy.drop(columns=["churned", "age"]).head(6).copy()  # 'age' had gaps in training: optional
    new["plan"] = ["gold", "basic", "plus", None, "pro", "basic"]  # an unseen plan and a gap
    new["monthly_spend"] = ["cheap", "12.50", " 1,234.00 ", None, "40", "n/a"]  # words in a number column
    new["extra"] = 1
    assert schema_problems(bundle, new) == []
    out = predict_frame(bundle, new)
    assert out[PREDICTION_COLUMN].isin(["yes", "no"]).all()
    np.testing.assert_allclose(out.filter(like="probability of").sum(axis=1), 1.0, atol=1e-6)
    notes = " ".join(out.attrs["notes"])
    assert "no column 'age'" in notes
    assert "'extra'" in notes and "ignored" in notes
    assert "'monthly_spend' are not numbers ('cheap', 'n/a')" in notes
    assert "value of 'plan' the model never saw ('gold')" in notes
    # A column without gaps in training is required, with its name in the message.
    with pytest.raises(DataError, match="'visits_per_month'"):
        predict_frame(bundle, new.drop(columns=["visits_per_month"]))
    assert bundle.metadata["input_columns"][0]["kind"] in {k.value for k in ColumnKind}


def test_prepare_step_problems_name_a_broken_formula_or_date(penguins: pd.DataFrame) -> None:
    from studio.core.prep.files import prep_problems

    prep = default_prep(profile_frame(penguins)).with_derived("ratio", "bill_length_mm / bill_depth_mm")
    assert prep_problems(prep) == []
    # A formula reading a derived column that was removed since.
    broken = prep.with_derived("double", "ratio * 2").without("ratio")
    assert "formula of 'double'" in prep_problems(broken)[0] and "'ratio'" in prep_problems(broken)[0]
    dated = default_prep(profile_frame(penguins)).with_treatment("year", Treatment.DATE).with_column(
        "year", date_reference="last spring")
    assert "'last spring' is not a date" in prep_problems(dated)[0]


def test_a_formula_may_not_read_the_target_and_unused_ones_need_nothing(penguins: pd.DataFrame) -> None:
    from studio.core.prep.build import input_columns
    from studio.core.prep.files import prep_problems

    prep = default_prep(profile_frame(penguins))
    leaking = prep.with_derived("cheat", "body_mass_g * 2")
    assert "the column to predict" in prep_problems(leaking, "body_mass_g")[0]
    assert prep_problems(leaking, "species") == []
    # A derived column left out does not make new rows bring the columns its formula reads.
    unused = prep.with_treatment("year", Treatment.EXCLUDE).with_derived("age", "2025 - year").with_treatment(
        "age", Treatment.EXCLUDE)
    assert "year" not in input_columns(unused, "species")
    chained = unused.with_derived("decades", "age / 10")
    assert "year" in input_columns(chained, "species")
