"""Column kinds: what Studio thinks each column holds, and the notes it gives when the data is messy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from studio.core.data.profile import ColumnKind, profile_column, profile_frame
from studio.core.data.tabular import LoadedTable, load_table

ROWS = 40


def kinds(frame: pd.DataFrame) -> dict[str, ColumnKind]:
    return {p.name: p.kind for p in profile_frame(frame)}


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "height": rng.normal(170, 10, ROWS),
        "colour": rng.choice(["red", "green", "blue"], ROWS),
        "member": rng.choice(["yes", "no"], ROWS),
        "flag01": rng.integers(0, 2, ROWS),
        "joined": [f"2021-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(ROWS)],
        "comment": [f"this is a rather long free text comment number {i} about nothing much" for i in range(ROWS)],
        "row_id": np.arange(1000, 1000 + ROWS),
        "code": [f"C{i:05d}" for i in range(ROWS)],
        "country": ["NO"] * ROWS,
    })


def test_each_kind_is_recognised(mixed_frame: pd.DataFrame) -> None:
    assert kinds(mixed_frame) == {
        "height": ColumnKind.NUMERIC,
        "colour": ColumnKind.CATEGORICAL,
        "member": ColumnKind.BOOLEAN,
        "flag01": ColumnKind.BOOLEAN,
        "joined": ColumnKind.DATE,
        "comment": ColumnKind.TEXT,
        "row_id": ColumnKind.ID,
        "code": ColumnKind.ID,
        "country": ColumnKind.CONSTANT,
    }


def test_kinds_survive_a_csv_round_trip(tmp_path: Path, mixed_frame: pd.DataFrame) -> None:
    # What matters is what the loader hands over (e.g. dates parsed by pyarrow, booleans as bool dtype).
    path = tmp_path / "mixed.csv"
    mixed_frame.to_csv(path, index=False)
    assert kinds(load_table(path).frame) == kinds(mixed_frame)


def test_penguins_profile(penguins_table: LoadedTable) -> None:
    profiles = {p.name: p for p in profile_frame(penguins_table.frame)}
    assert profiles["species"].kind is ColumnKind.CATEGORICAL
    assert profiles["species"].distinct == 3
    assert profiles["body_mass_g"].kind is ColumnKind.NUMERIC
    assert profiles["body_mass_g"].missing == 2
    assert profiles["sex"].missing == 11
    assert 0 < profiles["sex"].missing_share < 0.05


def test_sklearn_dataset_is_all_numeric() -> None:
    frame = load_wine(as_frame=True).data
    assert set(kinds(frame).values()) == {ColumnKind.NUMERIC}


def test_constant_notes_the_value_and_all_missing_is_constant() -> None:
    constant = profile_column(pd.Series(["x"] * 10, name="c"))
    assert constant.kind is ColumnKind.CONSTANT
    assert "'x'" in constant.note
    empty = profile_column(pd.Series([np.nan] * 10, name="e"))
    assert empty.kind is ColumnKind.CONSTANT
    assert empty.missing == 10 and "missing" in empty.note


def test_bool_dtype_is_boolean() -> None:
    assert profile_column(pd.Series([True, False, True], name="b")).kind is ColumnKind.BOOLEAN


def test_short_unique_text_is_not_an_id_on_tiny_tables() -> None:
    # With a handful of rows, "every value different" says nothing.
    assert profile_column(pd.Series(["a", "b", "c"], name="letters")).kind is ColumnKind.CATEGORICAL


def test_mostly_numbers_with_a_few_words_is_numeric_with_a_note() -> None:
    values = [str(i * 1.5) for i in range(ROWS - 2)] + ["unknown", "see notes"]
    profile = profile_column(pd.Series(values, name="weight"))
    assert profile.kind is ColumnKind.NUMERIC
    assert profile.nonconforming == 2
    assert "2 values are not numbers" in profile.note
    assert "missing" in profile.note


def test_numbers_with_thousands_separators_are_numeric() -> None:
    profile = profile_column(pd.Series(["1,234", "12,500", "300", "4,000,000"] * 5, name="amount"))
    assert profile.kind is ColumnKind.NUMERIC
    assert profile.nonconforming == 0


def test_a_real_mix_of_numbers_and_words_is_categorical_with_a_note() -> None:
    values = ["1", "2", "apple", "pear", "3"] * 8
    profile = profile_column(pd.Series(values, name="mixed"))
    assert profile.kind is ColumnKind.CATEGORICAL
    assert "mix of numbers and words" in profile.note
    assert "24 of 40" in profile.note


def test_examples_are_short() -> None:
    profile = profile_column(pd.Series(["x" * 100, "y" * 100, "z"] * 5, name="long"))
    assert all(len(example) <= 24 for example in profile.examples)
    assert ColumnKind.TEXT.label == "Free text"
