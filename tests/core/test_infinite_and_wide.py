"""Infinite numbers are read one way in training and prediction, with the fix offered; very wide tables are said
and narrowed; model files name the Studio that made them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import studio
from studio.core.common.errors import StudioError
from studio.core.data.profile import profile_frame
from studio.core.data.width import WidthChoice, narrowed, parse_width_choice, usefulness, width_sentence
from studio.core.prep.build import build_transformer, column_step
from studio.core.prep.config import Infinite, PrepConfig, default_prep
from studio.core.prep.insights import apply_fix, handled_words, is_fixed
from studio.core.prep.safety import input_notes
from studio.core.store.model_file import studio_version_note

from .helpers import insights_of


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    spend = rng.normal(100, 10, 80).round(1).astype(object)
    spend[[3, 9]] = ["inf", "1e400"]
    spend[20] = "-Infinity"
    return pd.DataFrame({"spend": spend, "age": rng.normal(40, 5, 80).round(), "label": ["yes", "no"] * 40})


def test_infinite_numbers_are_counted_warned_about_and_fixed_in_one_click(frame: pd.DataFrame) -> None:
    profile = profile_frame(frame)[0]
    assert profile.infinite == 3 and set(profile.infinite_examples) == {"inf", "1e400", "-Infinity"}
    finding = next(f for f in insights_of(frame, "label").findings if f.code == "infinite")
    assert finding.column == "spend" and "3 infinite numbers" in finding.message and "gaps" in finding.message
    prep = default_prep(profile_frame(frame))
    assert not is_fixed(prep, finding)
    clipped = apply_fix(prep, finding)
    assert clipped.get("spend").infinite is Infinite.CLIP and is_fixed(clipped, finding)
    assert "clipped" in handled_words(clipped, finding)
    assert "infinite values clipped" in clipped.get("spend").describe()
    # The choice travels in the preparation file.
    assert PrepConfig.from_dict(clipped.to_dict()).get("spend").infinite is Infinite.CLIP


@pytest.mark.parametrize(("choice", "expected"), [(Infinite.AUTO, "gap"), (Infinite.CLIP, "clip")])
def test_training_and_prediction_read_infinity_alike(frame: pd.DataFrame, choice: Infinite, expected: str) -> None:
    prep = default_prep(profile_frame(frame)).with_column("spend", infinite=choice)
    transformer = build_transformer(prep, "label").fit(frame, frame["label"])
    parsed = column_step(transformer, "spend")[:-2].transform(frame[["spend"]])  # before filling and scaling
    finite = pd.to_numeric(frame["spend"], errors="coerce").replace([np.inf, -np.inf], np.nan)
    if expected == "gap":
        assert np.isnan(parsed[[3, 9, 20], 0]).all()
    else:
        assert parsed[3, 0] == parsed[9, 0] == finite.max() and parsed[20, 0] == finite.min()
    new = frame.copy()
    new.loc[0, "spend"] = "inf"
    out = transformer.transform(new)
    assert np.isfinite(out).all()
    notes = input_notes(_pipeline(transformer), new, [])
    assert any("'spend'" in note and "infinite" in note for note in notes)


def _pipeline(transformer: object) -> object:
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline([("prep", transformer), ("model", DummyClassifier())])


def test_a_wide_table_is_said_and_narrowed_to_the_columns_that_matter() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 1200)), columns=[f"c{i}" for i in range(1200)])
    frame["words"] = rng.choice(["a", "b"], size=300)
    frame["label"] = np.where(frame["c1100"] + 0.3 * frame["c7"] > 0, "yes", "no")
    assert "1,202 columns" in width_sentence(300, 1202) and "about" in width_sentence(300, 1202)
    useful = narrowed(frame, "label", WidthChoice("useful", 20))
    assert {"c1100", "c7", "label"} <= set(useful.columns) and useful.shape[1] == 21
    assert list(narrowed(frame, "label", WidthChoice("first", 5)).columns) == ["c0", "c1", "c2", "c3", "c4",
                                                                               "label"]
    assert narrowed(frame, "label", WidthChoice("sample", 30)).shape[1] == 31
    assert narrowed(frame, "label", WidthChoice("all", 0)) is frame
    scores = usefulness(frame, "label")
    assert scores["words"] < scores.min() + 1  # text comes after every number column
    regression = frame.assign(label=frame["c3"] * 2 + rng.normal(size=300) * 0.1)
    assert usefulness(regression, "label").idxmax() == "c3"


@pytest.mark.parametrize(("text", "choice"), [("all", WidthChoice("all", 0)), ("first:10", WidthChoice("first", 10)),
                                              ("250", WidthChoice("useful", 250)),
                                              ("sample:7", WidthChoice("sample", 7))])
def test_column_choices_as_typed(text: str, choice: WidthChoice) -> None:
    assert parse_width_choice(text) == choice


@pytest.mark.parametrize("text", ["some", "first:", "first:0", "best:10", "first:" + "9" * 30])
def test_a_column_choice_that_is_none_is_said(text: str) -> None:
    with pytest.raises(StudioError, match="--columns takes"):
        parse_width_choice(text)


def test_a_model_file_says_which_studio_made_it() -> None:
    assert studio_version_note({"versions": {"studio": studio.__version__}}) == ""
    older = studio_version_note({"versions": {"studio": "0.0.1"}})
    assert "Studio 0.0.1" in older and "older" in older and "as it did" in older
    newer = studio_version_note({"versions": {"studio": "10.2"}})
    assert "Studio 10.2" in newer and "newer" in newer and "update Studio" in newer
    assert "does not say" in studio_version_note({"versions": {}})
    assert "newer" in studio_version_note({"versions": {"studio": studio.__version__.replace("0.1", "0.10")}})


def test_text_in_a_number_column_and_infinity_are_both_gaps(frame: pd.DataFrame) -> None:
    mixed = frame.assign(spend=frame["spend"].where(frame.index != 5, "oops"))
    prep = default_prep(profile_frame(mixed))
    transformer = build_transformer(prep, "label").fit(mixed, mixed["label"])
    parsed = column_step(transformer, "spend")[:1].transform(mixed[["spend"]])
    assert np.isnan(parsed[[3, 5, 9, 20], 0]).all()
