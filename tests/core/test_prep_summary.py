"""The Prepare step in words: the summary read from the preparation, stray values raised as warnings with what
Studio does about them, and column examples taken from the whole column."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import ColumnKind, is_placeholder, profile_column, profile_frame
from studio.core.prep.config import Scaling, Treatment, default_prep
from studio.core.prep.insights import (
    Finding,
    Relation,
    TableInsights,
    apply_fix,
    handled_words,
    is_fixed,
)
from studio.core.prep.summary import summarise

from .helpers import insights_of

ROWS = 600


@pytest.fixture
def passengers() -> pd.DataFrame:
    """A small passenger list: an identifier, names, numbers with gaps, categories, one stray '*' far down."""
    rng = np.random.default_rng(3)
    embarked = rng.choice(["S", "C", "Q"], ROWS, p=[0.7, 0.2, 0.1]).astype(object)
    embarked[450] = "*"
    age = rng.normal(30, 12, ROWS).round()
    age[rng.random(ROWS) < 0.2] = np.nan
    return pd.DataFrame({
        "PassengerId": np.arange(1, ROWS + 1),
        "Name": [f"Passenger {i}, {rng.integers(10**6)}" for i in range(ROWS)],
        "Sex": rng.choice(["male", "female"], ROWS),
        "Age": age,
        "Fare": rng.gamma(2, 15, ROWS).round(2),
        "Embarked": embarked,
        "survived": rng.choice(["yes", "no"], ROWS),
    })


def finding(insights: TableInsights, code: str, column: str) -> Finding:
    return next(f for f in insights.findings if (f.code, f.column) == (code, column))


# -- the summary ------------------------------------------------------------------------------------------------
def test_the_summary_says_what_is_used_and_what_is_left_out_from_the_config(passengers: pd.DataFrame) -> None:
    profiles = profile_frame(passengers)
    prep = default_prep(profiles)
    text = summarise(prep, "survived", profiles).text()
    assert text.startswith("4 columns are used: ")
    assert "2 numbers (gaps filled with the middle value, put on a common scale)" in text
    assert "2 categories (gaps filled with the most common value, each value becomes its own yes/no column)" in text
    assert "2 columns are left out: PassengerId (a different number on every row) and Name (text that differs on " \
           "every row)." in text
    assert "survived" not in text.split(".")[0]  # the target is what is predicted, not a column used

    # Every choice shows: a number no longer scaled gets a group of its own, a column left out by hand is named.
    changed = prep.with_column("Fare", scaling=Scaling.NONE).with_treatment("Sex", Treatment.EXCLUDE)
    summary = summarise(changed, "survived", profiles)
    assert "1 number (gaps filled with the middle value, put on a common scale)" in summary.text()
    assert "1 number (gaps filled with the middle value)" in summary.text()
    assert "Sex (you left it out)" in summary.text()
    assert summary.headline() == "3 columns are used, 3 left out"
    assert summarise(changed.with_column("Fare", treatment=Treatment.EXCLUDE).with_treatment(
        "Age", Treatment.EXCLUDE).with_treatment("Embarked", Treatment.EXCLUDE), "survived",
        profiles).lines()[0][0] == "No column is used,"


def test_column_descriptions_use_plain_words() -> None:
    frame = pd.DataFrame({"n": np.arange(40) * 1.5, "c": ["a", "b"] * 20})
    prep = default_prep(profile_frame(frame))
    number, category = prep.get("n"), prep.get("c")
    assert number is not None and category is not None
    assert number.describe() == "Gaps filled with the middle value; put on a common scale"
    assert "each value becomes its own yes/no column" in category.describe()
    words = " ".join(c.describe() for c in prep.columns).lower()
    assert "standard scaling" not in words and "feature" not in words and "median" not in words
    assert Relation(0.66, "").linked_to("survived") == "strongly linked to survived"
    assert Relation(0.3, "").linked_to("survived") == "moderately linked to survived"
    assert Relation(float("nan"), "").word == "unknown"


# -- stray values -----------------------------------------------------------------------------------------------
def test_a_stray_placeholder_among_categories_is_a_warning_that_studio_handles(passengers: pd.DataFrame) -> None:
    profile = profile_column(passengers["Embarked"])
    assert profile.kind is ColumnKind.CATEGORICAL
    assert profile.stray_values == (("*", 1),)
    insights = insights_of(passengers, "survived")
    stray = finding(insights, "stray_value", "Embarked")
    assert "'*' in 1 row (under 1% of the rows)" in stray.message and "'S'" in stray.message
    assert stray.fix_label == ""  # nothing to click
    prep = default_prep(profile_frame(passengers))
    assert is_fixed(prep, stray)
    assert handled_words(prep, stray).startswith("Studio handles this: ")
    assert handled_words(prep, stray).endswith("; nothing to do.")


@pytest.mark.parametrize(("value", "placeholder"), [
    ("*", True), ("?", True), ("-", True), ("--", True), (" ", True), ("n/a", True), ("NULL", True),
    ("none", False), ("unknown", False), ("Zurich", False), ("3", False), ("a-b", False)])
def test_a_placeholder_is_punctuation_or_a_known_missing_marker(value: str, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder


def test_only_rare_placeholders_are_strays() -> None:
    rng = np.random.default_rng(0)
    # A dash in a third of the rows is a category chosen on purpose; a rare real word is no placeholder.
    common_dash = pd.Series(rng.choice(["-", "red", "blue"], ROWS), name="colour")
    assert profile_column(common_dash).stray_values == ()
    rare_word = pd.Series(["red", "blue"] * (ROWS // 2 - 1) + ["Zurich", "blue"], name="colour")
    assert profile_column(rare_word).stray_values == ()
    # On a small table a single placeholder is over 1% of the rows, and still a stray.
    small = pd.Series(["red", "blue"] * 20 + ["?"], name="colour")
    assert profile_column(small).stray_values == (("?", 1),)


def test_a_lone_non_number_in_a_number_column_becomes_a_gap(passengers: pd.DataFrame) -> None:
    passengers["Fare"] = passengers["Fare"].astype(str)
    passengers.loc[300, "Fare"] = "?"
    profile = profile_column(passengers["Fare"])
    assert profile.kind is ColumnKind.NUMERIC and profile.stray_values == (("?", 1),)
    insights = insights_of(passengers, "survived")
    stray = finding(insights, "stray_value", "Fare")
    assert "a value that is not a number ('?')" in stray.message
    # Said once, as a stray value, not also as "numbers written as text".
    assert not [f for f in insights.findings if (f.code, f.column) == ("text_numbers", "Fare")]
    prep = default_prep(profile_frame(passengers))
    assert is_fixed(prep, stray)
    assert "treated as a gap" in handled_words(prep, stray)
    # Used as a category by hand, the fix reads it as numbers again.
    as_category = prep.with_treatment("Fare", Treatment.CATEGORICAL)
    assert not is_fixed(as_category, stray) and handled_words(as_category, stray) == ""
    assert apply_fix(as_category, stray).get("Fare").treatment is Treatment.NUMERIC  # type: ignore[union-attr]


# -- examples ---------------------------------------------------------------------------------------------------
def test_examples_come_from_the_whole_column() -> None:
    # The first 200 rows hold only 'a' and 'b'; the most common value shows up after them.
    values = ["a", "b"] * 100 + ["late"] * 700 + ["a"] * 50
    profile = profile_column(pd.Series(values, name="letters"))
    assert profile.examples[0] == "late"
    assert set(profile.examples) == {"late", "a", "b"}
    assert profile.top_values[0] == ("late", 700)


def test_examples_of_a_million_rows_are_quick() -> None:
    rng = np.random.default_rng(1)
    column = pd.Series(rng.choice(["north", "south", "east", "west"], 1_000_000), name="region")
    column.iloc[999_000] = "?"
    started = time.perf_counter()
    profile = profile_column(column)
    # Generous for a busy machine: one counting pass, not one per row.
    assert time.perf_counter() - started < 5.0
    assert set(profile.examples) <= {"north", "south", "east", "west"}
    assert profile.stray_values == (("?", 1),)
