"""Drift warnings: the training profile kept in the model file, and new rows compared with it in words."""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.core.data.drift import TOP_VALUES, bin_cuts, training_profile
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.serve.drift import DriftReport, check_drift
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.train.training import TrainResult
from studio.resources import sample_dataset

from .helpers import make_request, run_training

INPUTS = [{"name": "income", "kind": "numeric", "treatment": "numeric"},
          {"name": "age", "kind": "numeric", "treatment": "numeric"},
          {"name": "plan", "kind": "categorical", "treatment": "categorical"},
          {"name": "member", "kind": "boolean", "treatment": "categorical"},
          {"name": "note", "kind": "text", "treatment": "text"},
          {"name": "customer_id", "kind": "id", "treatment": "exclude"}]


def customers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.normal(43_000, 6_000, rows).round(),
        "age": rng.integers(18, 80, rows),
        "plan": rng.choice(["basic", "pro", "gold"], rows, p=[0.6, 0.3, 0.1]),
        "member": rng.choice([True, False], rows),
        "note": rng.choice(["called twice", "", "happy", None], rows),
        "customer_id": np.arange(rows),
    })


@pytest.fixture(scope="module")
def metadata() -> dict:
    return {"training_profile": training_profile(customers(3_000, seed=0), INPUTS)}


def report_for(metadata: dict, frame: pd.DataFrame) -> DriftReport:
    report = check_drift(metadata, frame)
    json.dumps(report.to_plain(), allow_nan=False)  # always plain JSON: NaN is written as null
    return report


def sentence_of(report: DriftReport, name: str) -> str:
    return next(c.sentence for c in report.columns if c.name == name)


# -- the profile ------------------------------------------------------------------------------------------------
def test_the_profile_describes_each_input_column_as_plain_json() -> None:
    profile = training_profile(customers(3_000, seed=0), INPUTS)
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile
    columns = profile["columns"]
    assert list(columns) == ["income", "age", "plan", "member", "note"]  # the excluded id is left out
    income = columns["income"]
    assert income["type"] == "numeric" and len(income["edges"]) == 11
    assert len(income["shares"]) == len(bin_cuts(income["edges"])) + 1
    assert sum(income["shares"]) == pytest.approx(1.0, abs=1e-3)
    assert income["median"] == pytest.approx(43_000, rel=0.02) and income["missing"] == 0.0
    assert columns["plan"]["type"] == "category" and set(columns["plan"]["values"]) == {"basic", "pro", "gold"}
    assert set(columns["member"]["values"]) == {"True", "False"}  # yes / no reads as two categories
    assert columns["note"] == {"type": "gaps", "missing": pytest.approx(0.5, abs=0.05)}  # empty text is a gap


def test_the_profile_is_small() -> None:
    rng = np.random.default_rng(0)
    numbers = pd.DataFrame({f"n{i}": rng.lognormal(8, 1, 5_000) for i in range(100)})
    profile = training_profile(numbers, [{"name": c, "kind": "numeric", "treatment": "numeric"} for c in numbers])
    text = json.dumps(profile)
    assert len(text) < 30_000, len(text)  # under 300 characters a number column
    assert len(zlib.compress(text.encode())) < 10_000  # the manifest is compressed inside the model file
    many = pd.DataFrame({"city": rng.choice([f"city {i}" for i in range(500)], 5_000)})
    described = training_profile(many, [{"name": "city", "kind": "categorical", "treatment": "categorical"}])
    city = described["columns"]["city"]
    assert len(city["values"]) == TOP_VALUES and city["other"] > 0.5


def test_numbers_written_as_text_are_read_as_numbers() -> None:
    trained = pd.DataFrame({"income": [f"{v:,.0f}" for v in customers(2_000, seed=0)["income"]]})  # "43,120"
    inputs = [{"name": "income", "kind": "numeric", "treatment": "numeric"}]
    profile = training_profile(trained, inputs)
    assert profile["columns"]["income"]["median"] == pytest.approx(43_000, rel=0.02)
    report = report_for({"training_profile": profile}, customers(2_000, seed=1)[["income"]])
    assert report.drifted == ()


# -- the check --------------------------------------------------------------------------------------------------
def test_new_rows_like_the_training_rows_have_not_drifted(metadata: dict) -> None:
    report = report_for(metadata, customers(1_000, seed=1))
    assert report.checked and report.drifted == () and report.sentences() == []
    assert report.alike_line().startswith("All 5 columns look alike")
    assert all(c.psi < 0.05 for c in report.columns if c.type != "gaps")


def test_a_number_shifted_up_is_flagged_and_said_higher(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["income"] = frame["income"] * 1.2
    report = report_for(metadata, frame)
    assert report.drifted == ("income",)
    sentence = sentence_of(report, "income")
    match = re.search(r"typically (\d+)% higher than in training \(median ([\d,]+) against ([\d,]+)\)", sentence)
    assert match, sentence
    assert 17 <= int(match.group(1)) <= 23
    plain = report.to_plain()
    assert plain["drifted"] == ["income"] and plain["columns"]["income"]["psi"] > 0.2
    assert plain["columns"]["age"]["drifted"] is False
    assert "income" not in report.alike_line() and "age" in report.alike_line()


def test_a_number_shifted_down_is_said_lower(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["age"] = frame["age"] - 15
    assert "lower than in training" in sentence_of(report_for(metadata, frame), "age")


def test_a_wider_spread_is_said(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["income"] = 43_000 + (frame["income"] - 43_000) * 2
    report = report_for(metadata, frame)
    assert report.drifted == ("income",)
    assert "more spread out than in training" in sentence_of(report, "income")


def test_a_new_category_is_flagged_with_its_share(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame.loc[frame.index[:80], "plan"] = "platinum"
    frame.loc[frame.index[80:120], "plan"] = "trial"
    report = report_for(metadata, frame)
    assert report.drifted == ("plan",)
    column = next(c for c in report.columns if c.name == "plan")
    assert column.new_share == pytest.approx(0.12)
    assert sentence_of(report, "plan") == \
        "`plan` has values never seen in training in 12% of the new rows ('platinum', 'trial')."


def test_a_vanished_category_and_a_changed_mix_are_said(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["plan"] = frame["plan"].replace("gold", "basic")
    assert "never takes the value 'gold'" in sentence_of(report_for(metadata, frame), "plan")
    frame["plan"] = np.where(np.arange(1_000) < 600, "pro", "basic")
    assert report_for(metadata, frame).drifted == ("plan", )
    frame["plan"] = np.random.default_rng(2).choice(["basic", "pro", "gold"], 1_000, p=[0.3, 0.6, 0.1])
    assert "different mix of values" in sentence_of(report_for(metadata, frame), "plan")


def test_more_gaps_are_flagged(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["age"] = frame["age"].astype(float).where(np.arange(1_000) % 4 != 0)
    frame["note"] = None
    report = report_for(metadata, frame)
    assert set(report.drifted) == {"age", "note"}
    assert sentence_of(report, "age") == "`age` is empty in 25% of the new rows, against 0% in training."
    assert sentence_of(report, "note").startswith("`note` is empty in 100% of the new rows")


def test_a_column_missing_from_the_new_rows_is_said(metadata: dict) -> None:
    report = report_for(metadata, customers(1_000, seed=1).drop(columns=["age", "note"]))
    assert report.drifted == ("age", "note")
    assert sentence_of(report, "age").startswith("`age` is not in the new rows at all, so it cannot be compared")
    assert report.to_plain()["columns"]["age"] == {"psi": None, "ks": None, "new_share": None,
                                                   "missing_before": 0.0, "missing_now": None, "drifted": True,
                                                   "absent": True}


def test_a_model_without_a_profile_says_it_cannot_check() -> None:
    for metadata in ({}, {"training_profile": None}):
        report = report_for(metadata, customers(100, seed=1))
        assert not report.checked and report.drifted == ()
        assert len(report.lines()) == 1 and "drift cannot be checked" in report.lines()[0]
        assert report.to_plain() == {"drifted": [], "columns": {}, "rows": 100, "checked": False}


def test_a_tiny_table_says_the_comparison_is_rough(metadata: dict) -> None:
    report = report_for(metadata, customers(12, seed=1))
    assert report.lines()[0].startswith("The new table has only 12 rows, so the comparison is rough")
    # Twelve rows drawn like the training rows move by chance; the limits allow for it.
    assert report.drifted == ()
    empty = report_for(metadata, customers(0, seed=1))
    assert "no rows" in empty.lines()[0] and empty.drifted == ()


def test_words_in_a_number_column_count_as_gaps(metadata: dict) -> None:
    frame = customers(1_000, seed=1)
    frame["income"] = frame["income"].astype(object).where(np.arange(1_000) % 2 == 0, "unknown")
    report = report_for(metadata, frame)
    assert report.drifted == ("income",)
    assert "empty in 50% of the new rows" in sentence_of(report, "income")


# -- with real data and real model files ------------------------------------------------------------------------
def trained_on(frame: pd.DataFrame, target: str, task: Task, model: str) -> TrainResult:
    return run_training(make_request(frame, target, task, model))[1]


def test_metadata_keeps_the_profile_of_the_training_rows(tmp_path: Path) -> None:
    penguins = load_table(sample_dataset()).frame
    result = trained_on(penguins, "species", Task.CLASSIFICATION, "random_forest")
    metadata = metadata_for(result)
    profile = metadata["training_profile"]
    assert result.rows is not None and profile["rows"] == len(result.rows.x_train)
    assert set(profile["columns"]) == {c["name"] for c in metadata["input_columns"]}
    assert "species" not in profile["columns"]
    # It survives the model file, and the same table has not drifted from it.
    bundle = load_model(save_model(tmp_path / "penguins.studio", result.pipeline, metadata))
    assert bundle.metadata["training_profile"] == profile
    assert check_drift(bundle.metadata, penguins).drifted == ()
    assert metadata_for(replace(result, rows=None))["training_profile"] is None


@pytest.mark.parametrize(("column", "factor"), [("bmi", 1.3), ("bp", 1.3), ("s5", 0.7)])
def test_diabetes_drifts_on_exactly_the_changed_column(column: str, factor: float) -> None:
    from sklearn.datasets import load_diabetes

    diabetes = load_diabetes(as_frame=True, scaled=False).frame
    result = trained_on(diabetes, "target", Task.REGRESSION, "linear_regression")
    metadata = metadata_for(result)
    assert check_drift(metadata, diabetes).drifted == ()
    changed = diabetes.copy()
    changed[column] = changed[column] * factor
    report = check_drift(metadata, changed)
    assert report.drifted == (column,)
    assert ("higher" if factor > 1 else "lower") in sentence_of(report, column)


def test_a_big_table_is_compared_on_a_sample_that_says_what_the_whole_would(
        metadata: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core.serve import drift

    frame = customers(300_000, seed=5)
    frame.loc[frame.index[::2], "income"] *= 1.4  # half the rows richer: the median moves, the spread too
    frame.loc[frame.index[::4], "plan"] = "platinum"  # a value training never showed, in a quarter of the rows
    sampled = report_for(metadata, frame)
    assert report_for(metadata, frame).to_plain() == sampled.to_plain()  # the same sample on every run
    monkeypatch.setattr(drift, "COMPARED_ROWS", len(frame))
    whole = report_for(metadata, frame)

    assert sampled.drifted == whole.drifted == ("income", "plan")
    assert sampled.rows == whole.rows == 300_000
    for column, measured in zip(sampled.columns, whole.columns, strict=True):
        for value, expected in ((column.psi, measured.psi), (column.new_share, measured.new_share),
                                (column.missing_now, measured.missing_now)):
            assert value == pytest.approx(expected, abs=0.01, nan_ok=True)
