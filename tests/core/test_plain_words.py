"""Counts, numbers, times and chart ticks said the same way everywhere; a text target is a classification; the
report shows labels, not internal values."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from studio.core.common.words import local_time, number, percent, plural, plural_of
from studio.core.data.profile import ColumnKind, profile_column
from studio.core.data.target import Task, allowed_tasks, infer_task, summarize_target, target_problems
from studio.core.evaluate.metrics import Scores, format_metric, format_spread, plain_summary
from studio.core.report.html import build_report, setting_words, split_words
from studio.core.report.svg import nice_range, nice_ticks, svg_lines, tick_text
from studio.core.store.runs import record_from_plain


# -- counts --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("count", "noun", "expected"), [
    (0, "row", "0 rows"), (1, "row", "1 row"), (2345, "row", "2,345 rows"), (1, "class", "1 class"),
    (3, "class", "3 classes"), (2, "category", "2 categories"), (2, "day", "2 days"), (4, "box", "4 boxes"),
])
def test_plural_says_one_or_many_with_thousands_separators(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected


def test_plural_takes_a_plural_the_rule_does_not_know() -> None:
    assert plural(1, "test picture", "test pictures") == "1 test picture"
    assert plural(2, "more class", "more classes") == "2 more classes"
    assert plural_of("person") == "people"


# -- numbers -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-0.0, -0.0001, -0.00049, -1e-12])
def test_a_value_that_rounds_to_zero_has_no_sign(value: float) -> None:
    assert percent(value) == "0.0%"
    assert percent(value, 0) == "0%"
    assert not format_metric("r2", value).startswith("-")


def test_negative_numbers_that_do_not_round_to_zero_keep_their_sign() -> None:
    assert percent(-0.123) == "-12.3%"
    assert number(-1234.5) == "-1,234"
    assert format_metric("r2", -0.35) == "-35.0%"


@pytest.mark.parametrize(("value", "expected"), [
    (12345.6, "12,346"), (123.456, "123"), (3.14159, "3.14"), (0.0012345, "0.00123"), (0, "0"), (3.1, "3.1"),
    (0.00001, "0.00001"),
    (float("nan"), "–"), (None, "–"),
])
def test_numbers_have_a_few_meaningful_digits_and_no_exponent(value: float | None, expected: str) -> None:
    assert number(value) == expected


def test_every_score_is_a_percentage_and_errors_are_in_the_target_s_units() -> None:
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc", "r2"):
        assert format_metric(name, 0.818) == "81.8%"
    assert format_metric("mae", 12345.678) == "12,346"  # not "1.235e+04"
    assert format_metric("rmse", 0.0456789) == "0.0457"
    assert format_metric("accuracy", math.nan) == "–"
    assert format_spread("r2", 0.0123) == "1.2%"


def test_local_time_is_the_computer_s_own_clock() -> None:
    stamp = "2026-03-05T14:07:00+00:00"
    moment = dt.datetime.fromisoformat(stamp).astimezone()
    assert local_time(stamp) == f"{moment.day} {moment:%B %Y}, {moment:%H:%M}"
    assert "T" not in local_time(stamp) and "+00:00" not in local_time(stamp)
    assert local_time("2026-03-05T09:30:00") == "5 March 2026, 09:30"  # no zone: already local
    assert local_time("not a time") == "not a time"


def test_the_summary_names_what_always_guessing_guesses() -> None:
    scores = Scores("test", 1, (("accuracy", 0.8),), (("accuracy", 0.6),))
    text = plain_summary(Task.CLASSIFICATION, scores, "survived")
    assert "the most common value of survived would be right 60%" in text
    assert text.startswith("On 1 row it never saw")


# -- ticks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.0, 1.0, ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
    (0.0, 95.0, ["0", "20", "40", "60", "80", "100"]),
    (3.2, 7.9, ["3", "4", "5", "6", "7", "8"]),
    (0.0, 12345.0, ["0", "2,500", "5,000", "7,500", "10,000", "12,500"]),
    (-0.003, 0.002, ["-0.003", "-0.002", "-0.001", "0", "0.001", "0.002"]),
])
def test_chart_axes_have_round_ticks(low: float, high: float, expected: list[str]) -> None:
    start, end = nice_range(low, high)
    assert start <= low and end >= high
    ticks = nice_ticks(start, end)
    step = ticks[1] - ticks[0]
    assert [tick_text(t, step) for t in ticks] == expected
    assert ticks[0] == start and ticks[-1] == pytest.approx(end)


def test_an_svg_chart_labels_its_axes_with_round_numbers() -> None:
    svg = svg_lines([("a", [0.0, 4.0, 9.0], [130.0, 710.0, 920.0])], "x", "y")
    assert ">0</text>" in svg and ">200</text>" in svg and ">1,000</text>" in svg
    assert ">130</text>" not in svg and ">920</text>" not in svg
    rates = svg_lines([("a", [0.0, 0.5, 1.0], [0.13, 0.71, 0.92])], "x", "y", unit=True)
    assert ">20%</text>" in rates and ">100%</text>" in rates  # rates as percentages, like every score
    assert ">0.1</text>" not in rates and ">0.9</text>" not in rates  # no 0.1–0.9 grid


# -- what a text target suggests -----------------------------------------------------------------------------
def test_a_column_of_text_is_a_classification_target() -> None:
    series = pd.Series(["red", "green", "blue", "green"] * 10, name="colour")
    profile = profile_column(series)
    assert profile.kind is ColumnKind.CATEGORICAL
    assert infer_task(series, profile) is Task.CLASSIFICATION
    assert allowed_tasks(profile) == (Task.CLASSIFICATION,)


def test_a_text_column_with_a_value_per_row_does_not_suggest_regression() -> None:
    series = pd.Series([f"passenger {i}" for i in range(300)], name="name")
    profile = profile_column(series)
    assert infer_task(series, profile) is Task.CLASSIFICATION
    problem = target_problems(summarize_target(series, Task.CLASSIFICATION))[0]
    assert "too many to treat as classes" in problem
    assert "regression" not in problem.lower() and "number" not in problem.lower()


def test_a_column_of_many_numbers_as_classes_offers_regression() -> None:
    series = pd.Series([str(i * 7) for i in range(300)], name="price")
    problem = target_problems(summarize_target(series, Task.CLASSIFICATION))[0]
    assert "Regression (predict a number)" in problem


# -- the report ----------------------------------------------------------------------------------------------
def _regression_run() -> dict:
    return {"created": "2026-03-05T14:07:00+00:00", "target": "price", "task": "regression",
            "model_key": "random_forest", "model_label": "Random forest",
            "params": {"n_estimators": 200, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt"},
            "prep": {"columns": [{"name": "price", "treatment": "numeric"},
                                 {"name": "rooms", "treatment": "numeric", "reason": ""},
                                 {"name": "town", "treatment": "categorical", "reason": ""}]},
            "split": {"validation": 0.15, "test": 0.15, "stratify": True, "seed": 42, "cv_folds": 0},
            "duration_s": 1.0, "metrics": {"test": {"mae": 1234.5, "rmse": 12345.6, "r2": -0.0001},
                                           "rows": {"train": 70, "validation": 15, "test": 1}},
            "history": [], "details": {}, "versions": {"studio": "x"}, "device": "CPU"}


def test_the_report_shows_the_settings_labels_not_internal_values() -> None:
    record = record_from_plain(_regression_run(), 7)
    words = dict(setting_words(record))
    assert words["Maximum depth"] == "no limit"
    assert words["Columns per question"] == "square root of the column count"
    text = build_report(record)
    assert "max_depth" not in text and ">sqrt<" not in text and ">None<" not in text


def test_the_report_leaves_out_the_target_under_preparation_and_stratify_for_a_regression() -> None:
    record = record_from_plain(_regression_run(), 7)
    text = build_report(record)
    preparation = text.split("<h2>Preparation</h2>")[1].split("<h2>")[0]
    assert "rooms" in preparation and "town" in preparation and ">price<" not in preparation
    assert "Use as category" in preparation
    assert "stratify" not in text and "class shares" not in text
    assert split_words(record.split, "regression") == "70% training, 15% validation, 15% test, random seed 42"
    assert "same class shares in each part" in split_words(record.split, "classification")
    assert "1 row for testing" in text and "70 rows for training" in text


def test_the_report_writes_local_times_and_no_negative_zero() -> None:
    text = build_report(record_from_plain(_regression_run(), 7))
    assert "2026-03-05T14:07" not in text and local_time("2026-03-05T14:07:00+00:00") in text
    assert "-0.0" not in text and ">12,346<" in text
