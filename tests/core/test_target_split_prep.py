"""What to predict, how rows are split, and how columns are prepared."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import DataError
from studio.core.data.profile import ColumnKind, profile_column, profile_frame
from studio.core.data.target import (
    Task,
    allowed_tasks,
    infer_task,
    require_usable,
    summarize_target,
    target_problems,
)
from studio.core.prep.build import build_transformer
from studio.core.prep.config import Treatment, default_prep
from studio.core.train.splits import SplitConfig, explicit_split, split_problems, split_rows, split_sizes


def task_of(values: list, name: str = "y") -> Task:
    series = pd.Series(values, name=name)
    return infer_task(series, profile_column(series))


# -- target -----------------------------------------------------------------------------------------------------
def test_strings_are_classification() -> None:
    assert task_of(["cat", "dog", "bird", "dog"] * 10) is Task.CLASSIFICATION


def test_fractional_numbers_are_regression() -> None:
    assert task_of(list(np.linspace(0.5, 99.5, 60))) is Task.REGRESSION


def test_whole_numbers_with_few_values_are_classification() -> None:
    assert task_of([1, 2, 3, 4, 5] * 12) is Task.CLASSIFICATION


def test_whole_numbers_with_many_values_are_regression() -> None:
    assert task_of(list(range(0, 600, 7)) * 2) is Task.REGRESSION


def test_penguins_targets(penguins: pd.DataFrame) -> None:
    profiles = {p.name: p for p in profile_frame(penguins)}
    assert infer_task(penguins["species"], profiles["species"]) is Task.CLASSIFICATION
    assert infer_task(penguins["body_mass_g"], profiles["body_mass_g"]) is Task.REGRESSION
    assert allowed_tasks(profiles["species"]) == (Task.CLASSIFICATION,)
    assert set(allowed_tasks(profiles["body_mass_g"])) == {Task.CLASSIFICATION, Task.REGRESSION}


def test_summary_counts_classes_and_missing(penguins: pd.DataFrame) -> None:
    summary = summarize_target(penguins["sex"], Task.CLASSIFICATION)
    assert summary.missing_rows == 11
    assert summary.usable_rows == len(penguins) - 11
    assert {name for name, _ in summary.class_counts} == {"male", "female"}
    assert 0.5 <= summary.majority_share < 0.6
    assert target_problems(summary) == []


def test_single_class_target_is_a_problem() -> None:
    summary = summarize_target(pd.Series(["yes"] * 30 + [None] * 5, name="churn"), Task.CLASSIFICATION)
    problems = target_problems(summary)
    assert len(problems) == 1
    assert "'churn' has a single class ('yes')" in problems[0]
    with pytest.raises(DataError, match="single class"):
        require_usable(summary)


def test_all_missing_target_is_a_problem() -> None:
    summary = summarize_target(pd.Series([np.nan] * 20, name="price"), Task.REGRESSION)
    assert summary.usable_rows == 0
    assert target_problems(summary) == [
        "Every value of 'price' is missing, so there is nothing to learn from. Pick another column to predict."]


def test_too_many_classes_is_a_problem() -> None:
    summary = summarize_target(pd.Series([f"c{i}" for i in range(300)], name="code"), Task.CLASSIFICATION)
    assert "too many to treat as classes" in target_problems(summary)[0]


def test_whole_float_labels_read_as_integers() -> None:
    summary = summarize_target(pd.Series([1.0, 2.0, np.nan, 1.0], name="grade"), Task.CLASSIFICATION)
    assert dict(summary.class_counts) == {"1": 2, "2": 1}


# -- splits -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rows", "expected"), [(100, (70, 15, 15)), (200, (140, 30, 30)), (1000, (700, 150, 150))])
def test_default_split_is_70_15_15(rows: int, expected: tuple[int, int, int]) -> None:
    parts = split_rows(None, rows, SplitConfig())
    assert parts.sizes() == expected
    assert split_sizes(rows, SplitConfig()) == expected
    every = np.concatenate([parts.train, parts.validation, parts.test])
    assert sorted(every.tolist()) == list(range(rows))


def test_stratified_split_keeps_class_shares() -> None:
    labels = pd.Series(["a"] * 600 + ["b"] * 300 + ["c"] * 100)
    parts = split_rows(labels, len(labels), SplitConfig())
    assert parts.stratified and parts.note == ""
    for rows in (parts.train, parts.validation, parts.test):
        shares = labels.iloc[rows].value_counts(normalize=True)
        assert shares["a"] == pytest.approx(0.6, abs=0.01)
        assert shares["b"] == pytest.approx(0.3, abs=0.01)
        assert shares["c"] == pytest.approx(0.1, abs=0.01)


def test_tiny_class_turns_stratification_off_with_a_note() -> None:
    labels = pd.Series(["a"] * 50 + ["b"] * 48 + ["rare"] * 2)
    parts = split_rows(labels, len(labels), SplitConfig())
    assert not parts.stratified
    assert "'rare'" in parts.note
    assert sum(parts.sizes()) == 100


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    labels = pd.Series(["x", "y"] * 100)
    first = split_rows(labels, 200, SplitConfig(seed=7))
    again = split_rows(labels, 200, SplitConfig(seed=7))
    other = split_rows(labels, 200, SplitConfig(seed=8))
    for a, b in zip((first.train, first.validation, first.test), (again.train, again.validation, again.test),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.test, other.test)


def test_no_validation_part() -> None:
    parts = split_rows(None, 100, SplitConfig(validation=0.0, test=0.2))
    assert parts.sizes() == (80, 0, 20)


def test_too_few_rows_is_a_problem_in_words() -> None:
    problems = split_problems(12, SplitConfig())
    assert len(problems) == 1
    assert "only 12 usable rows" in problems[0]
    assert "at least 10 training rows" in problems[0]
    with pytest.raises(DataError, match="only 12 usable rows"):
        split_rows(None, 12, SplitConfig())


def test_classes_raise_the_minimum() -> None:
    assert split_problems(30, SplitConfig(), classes=15)
    assert not split_problems(30, SplitConfig(), classes=2)


def test_training_share_below_30_percent_is_a_problem() -> None:
    assert split_problems(1000, SplitConfig(validation=0.4, test=0.4)) == ["Keep at least 30% of the rows for "
                                                                          "training."]


def test_explicit_split_checks_its_rows() -> None:
    parts = explicit_split(list(range(10)), [10, 11], rows=12)
    assert parts.sizes() == (10, 0, 2)
    with pytest.raises(DataError, match="between 0 and 11"):
        explicit_split(list(range(10)), [12], rows=12)
    with pytest.raises(DataError, match="both for training and for testing"):
        explicit_split(list(range(10)), [9], rows=12)
    with pytest.raises(DataError, match="at least 10 training rows"):
        explicit_split([0, 1], [2], rows=12)


# -- preparation ------------------------------------------------------------------------------------------------
@pytest.fixture
def shop() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = 60
    return pd.DataFrame({
        "order_id": np.arange(1, rows + 1),
        "price": rng.uniform(1, 100, rows).round(2),
        "shop": rng.choice(["north", "south", "east"], rows),
        "review": [f"a long and entirely unique review text, written by customer number {i}" for i in range(rows)],
        "currency": ["EUR"] * rows,
        "day": [f"2024-03-{i % 28 + 1:02d}" for i in range(rows)],
        "returned": rng.choice(["yes", "no"], rows),
    })


def test_default_prep_leaves_out_ids_constants_and_text_with_reasons(shop: pd.DataFrame) -> None:
    prep = default_prep(profile_frame(shop))
    treatments = {c.name: c.treatment for c in prep.columns}
    assert treatments == {
        "order_id": Treatment.EXCLUDE,
        "price": Treatment.NUMERIC,
        "shop": Treatment.CATEGORICAL,
        "review": Treatment.EXCLUDE,
        "currency": Treatment.EXCLUDE,
        "day": Treatment.DATE,
        "returned": Treatment.CATEGORICAL,
    }
    assert "identifier" in prep.get("order_id").reason
    assert "same value in every row" in prep.get("currency").reason
    assert "'EUR'" in prep.get("currency").reason
    assert "free text" in prep.get("review").reason
    assert prep.get("order_id").describe().startswith("Left out: ")
    assert [c.name for c in prep.features("returned")] == ["price", "shop", "day"]


def test_mostly_missing_column_is_left_out() -> None:
    frame = pd.DataFrame({"sparse": [1.0, 3.0] + [np.nan] * 98, "x": np.arange(100) % 7})
    prep = default_prep(profile_frame(frame))
    assert prep.get("sparse").treatment is Treatment.EXCLUDE
    assert "missing" in prep.get("sparse").reason


def test_with_treatment_replaces_not_mutates(shop: pd.DataFrame) -> None:
    prep = default_prep(profile_frame(shop))
    changed = prep.with_treatment("shop", Treatment.EXCLUDE)
    assert prep.get("shop").treatment is Treatment.CATEGORICAL
    assert changed.get("shop").treatment is Treatment.EXCLUDE
    assert changed.get("shop").reason == "chosen by you"
    assert changed != prep


def test_transformer_copes_with_unseen_categories_and_text_in_numbers(shop: pd.DataFrame) -> None:
    prep = default_prep(profile_frame(shop))
    transformer = build_transformer(prep, target="returned")
    fitted = transformer.fit_transform(shop)
    assert np.isfinite(fitted).all()

    new = shop.head(4).copy()
    new["shop"] = ["west", None, "north", "ÖSTER"]  # unseen, missing, known, unseen
    new["price"] = ["cheap", None, "12.5", "1,234"]  # words and thousands separators in a number column
    new["day"] = ["not a date", None, "2024-05-01", "2024-03-02"]
    out = transformer.transform(new)
    assert out.shape == (4, fitted.shape[1])
    assert np.isfinite(out).all()
    # An unseen category sets no one-hot column; a known one sets exactly one.
    one_hot = [i for i, name in enumerate(transformer.get_feature_names_out()) if name.startswith("shop_")]
    assert out[0, one_hot].sum() == 0
    assert out[2, one_hot].sum() == 1


def test_transformer_pickles_and_ignores_excluded_and_extra_columns(shop: pd.DataFrame) -> None:
    prep = default_prep(profile_frame(shop))
    transformer = build_transformer(prep, target="returned").fit(shop)
    clone = pickle.loads(pickle.dumps(transformer))
    extra = shop.assign(unrelated=1).drop(columns=["order_id", "review", "currency"])
    np.testing.assert_allclose(clone.transform(extra), transformer.transform(shop))


def test_kind_labels() -> None:
    assert ColumnKind.ID.label == "Identifier"
    assert Treatment.EXCLUDE.label == "Leave out"
