"""The preparation pieces that ONNX once refused, written now: bins, target encoding, date parts, formulas and free
text. Each is trained through Studio, exported whole and checked twice: the file's answers against the app's, and
the prepared features themselves against Studio's (so a piece whose features barely move the model still has to be
exact). What cannot be written is refused with a sentence naming the column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import StudioError
from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.models.pipeline_onnx import (
    FEATURE_TOLERANCE,
    PROBABILITY_TOLERANCE,
    RELATIVE_TOLERANCE,
    build_pipeline_onnx,
    export_pipeline_onnx,
    onnx_feeds,
    onnx_refusal,
    onnx_refusal_of_settings,
    preparation_differences,
)
from studio.core.models.pipeline_onnx_parts import formula_problem
from studio.core.prep.config import Binning, Encoding, PrepConfig, Scaling, Treatment, default_prep
from studio.core.prep.formula import parse_formula
from studio.core.report.card import card_markdown
from studio.core.store.model_file import metadata_for
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, TrainResult

from .helpers import FAST_PARAMS, run_training

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
onnx = pytest.importorskip("onnx")

Change = Callable[[PrepConfig], PrepConfig]
# One classifier and one regressor per piece: logistic regression goes through skl2onnx in float, gradient
# boosting is written by hand in double, so both ways of writing the model meet each piece.
MODELS = [("logistic_regression", Task.CLASSIFICATION, "species"), ("gradient_boosting", Task.REGRESSION,
                                                                      "body_mass_g")]
MODEL_IDS = ["classifier", "regressor"]


def _train(frame: pd.DataFrame, target: str, task: Task, key: str, change: Change) -> TrainResult:
    prep = change(default_prep(profile_frame(frame)))
    request = TrainRequest(frame, target, task, prep, SplitConfig(), key, dict(FAST_PARAMS.get(key, {})))
    return run_training(request)[1]


def _export_and_check(result: TrainResult, path: Path, piece: str, rows: pd.DataFrame | None = None) -> None:
    rows = result.rows.x_held if rows is None else rows
    report = export_pipeline_onnx(result.pipeline, metadata_for(result), path, rows)
    tolerance = PROBABILITY_TOLERANCE if report.difference_kind == "probability" else RELATIVE_TOLERANCE
    assert path.is_file() and report.labels_differing == 0 and report.largest_difference <= tolerance
    features = preparation_differences(result.pipeline, rows)
    assert features and max(d for _c, _w, d in features) <= FEATURE_TOLERANCE, features
    print(f"\n{piece} ({report.difference_kind}): largest difference {report.largest_difference:.3g}, "
          f"prepared features within {max(d for _c, _w, d in features):.3g}")


# -- bins ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "task", "target"), MODELS, ids=MODEL_IDS)
def test_bins_are_written(tmp_path: Path, penguins: pd.DataFrame, key: str, task: Task, target: str) -> None:
    frame = penguins.copy()
    frame.loc[frame.index[::9], "bill_length_mm"] = np.nan

    def change(prep: PrepConfig) -> PrepConfig:
        prep = prep.with_column("bill_length_mm", binning=Binning.QUANTILE, bins=4, missing_indicator=True)
        return prep.with_column("bill_depth_mm", binning=Binning.UNIFORM, bins=6)

    result = _train(frame, target, task, key, change)
    _export_and_check(result, tmp_path / "bins.onnx", f"bins, {key}")


def test_a_was_missing_column_goes_through_the_scaler_with_its_number(tmp_path: Path,
                                                                     penguins: pd.DataFrame) -> None:
    # SimpleImputer puts the flag beside the filled number, and the scaler after it scales both.
    frame = penguins.copy()
    frame.loc[frame.index[::7], "bill_length_mm"] = np.nan
    result = _train(frame, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_column("bill_length_mm", missing_indicator=True))
    _export_and_check(result, tmp_path / "flags.onnx", "number with a 'was missing' column, scaled")


# -- target encoding ----------------------------------------------------------------------------------------------
TARGET_CASES = [*MODELS, ("random_forest", Task.CLASSIFICATION, "two_kinds")]


@pytest.mark.parametrize(("key", "task", "target"), TARGET_CASES, ids=["multiclass", "regressor", "binary"])
def test_target_encoding_is_written(tmp_path: Path, penguins: pd.DataFrame, key: str, task: Task,
                                    target: str) -> None:
    frame = penguins.assign(two_kinds=np.where(penguins["species"] == "Adelie", "Adelie", "other"))
    if target != "two_kinds":
        frame = frame.drop(columns="two_kinds")
    frame.loc[frame.index[::11], "island"] = np.nan

    def change(prep: PrepConfig) -> PrepConfig:
        prep = prep.with_column("island", encoding=Encoding.TARGET)
        if target == "body_mass_g":
            prep = prep.with_column("species", encoding=Encoding.TARGET)
        return prep.with_treatment("species", Treatment.EXCLUDE) if target == "two_kinds" else prep

    result = _train(frame, target, task, key, change)
    rows = result.rows.x_held.copy()
    rows.loc[rows.index[:4], "island"] = "Atlantis"  # unknown: the overall mean of the target
    _export_and_check(result, tmp_path / "target.onnx", f"target encoding, {target}", rows)


# -- dates --------------------------------------------------------------------------------------------------------
def _moments(count: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    # 1901 to 2099, before and after 1970, with leap days, month ends and times of day.
    seconds = rng.integers(-2_170_000_000, 4_070_000_000, size=count)
    moments = pd.Series(pd.to_datetime(seconds, unit="s"))
    edges = pd.to_datetime(["2000-02-29 23:59:59", "1969-12-31 23:59:59", "1970-01-01 00:00:00",
                            "1900-03-01 00:00:01", "2100-02-28 12:00:00", "2024-12-31 23:00:00"])
    moments.iloc[:len(edges)] = edges
    return moments


@pytest.mark.parametrize(("key", "task", "target"), MODELS, ids=MODEL_IDS)
def test_date_parts_are_written_from_seconds_since_1970(tmp_path: Path, penguins: pd.DataFrame, key: str,
                                                        task: Task, target: str) -> None:
    frame = penguins.assign(seen=_moments(len(penguins)).dt.strftime("%Y-%m-%d %H:%M:%S"))
    frame.loc[frame.index[::13], "seen"] = np.nan

    def change(prep: PrepConfig) -> PrepConfig:
        assert prep.get("seen") is not None and prep.get("seen").treatment is Treatment.DATE  # type: ignore[union-attr]
        return prep.with_column("seen", date_parts=("year", "month", "weekday", "hour", "days"),
                                date_reference="2000-01-01", missing_indicator=True)

    result = _train(frame, target, task, key, change)
    _export_and_check(result, tmp_path / "dates.onnx", f"date parts, {key}")
    session = ort.InferenceSession(str(tmp_path / "dates.onnx"), providers=["CPUExecutionProvider"])
    assert {i.name: i.type for i in session.get_inputs()}["seen"] == "tensor(double)"
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "dates.onnx")).metadata_props}
    assert '"seen": "date"' in props["inputs"] and "seconds since 1970-01-01 00:00 UTC" in props["input_kinds"]
    feeds = onnx_feeds(result.rows.x_held.head(3), {"seen": "date"})
    assert feeds["seen"].dtype == np.float64 and feeds["seen"].shape == (3, 1)


def test_every_date_part_agrees_with_pandas_over_two_centuries(penguins: pd.DataFrame) -> None:
    frame = penguins.assign(seen=_moments(len(penguins), seed=1))  # a datetime column, not text
    parts = ("year", "month", "day", "weekday", "hour", "minute", "second", "quarter", "day_of_year", "days")
    result = _train(frame, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_treatment("seen", Treatment.DATE).with_column("seen", date_parts=parts,
                                                                                         scaling=Scaling.NONE))
    rows = frame.drop(columns="species")
    every = pd.concat([rows] * 9, ignore_index=True).assign(seen=_moments(len(rows) * 9, seed=2).to_numpy())
    differences = preparation_differences(result.pipeline, every)
    assert ("seen", "turned into date parts") in [(c, w) for c, w, _d in differences]
    assert max(d for _c, _w, d in differences) == 0.0  # whole numbers, and days to the last bit


def test_a_date_part_onnx_cannot_compute_is_refused_naming_the_column(tmp_path: Path,
                                                                      penguins: pd.DataFrame) -> None:
    frame = penguins.assign(seen=_moments(len(penguins)).dt.strftime("%Y-%m-%d"))
    result = _train(frame, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_column("seen", date_parts=("year", "is_leap_year")))
    with pytest.raises(StudioError, match=r"The column 'seen' is turned into the date part 'is_leap_year'"):
        export_pipeline_onnx(result.pipeline, None, tmp_path / "leap.onnx", result.rows.x_held)
    assert not (tmp_path / "leap.onnx").exists()


# -- formulas -----------------------------------------------------------------------------------------------------
FORMULAS = {
    "bill_ratio": "bill_length_mm / bill_depth_mm",
    "mixed": "log1p(flipper_length_mm) + sqrt(abs(bill_depth_mm - 18)) ** 2 - min(bill_length_mm, 45) "
             "+ max(flipper_length_mm % 7, bill_depth_mm // 0.3) + round(bill_length_mm / 3) - floor(-bill_ratio) "
             "+ ceil(bill_depth_mm) * exp(-bill_depth_mm / 10) - log(bill_length_mm)",
    "odd": "-(bill_depth_mm - 17) % -2.5 + (bill_length_mm - 44) // -0.7 + 1 / (bill_depth_mm - 17)",
}


@pytest.mark.parametrize(("key", "task", "target"), MODELS, ids=MODEL_IDS)
def test_formulas_are_written(tmp_path: Path, penguins: pd.DataFrame, key: str, task: Task, target: str) -> None:
    def change(prep: PrepConfig) -> PrepConfig:
        for name, formula in FORMULAS.items():
            prep = prep.with_derived(name, formula)
        # Read only by the formulas: an input of the file all the same.
        return prep.with_treatment("flipper_length_mm", Treatment.EXCLUDE)

    result = _train(penguins, target, task, key, change)
    _export_and_check(result, tmp_path / "formulas.onnx", f"formulas, {key}")
    session = ort.InferenceSession(str(tmp_path / "formulas.onnx"), providers=["CPUExecutionProvider"])
    assert "flipper_length_mm" in [i.name for i in session.get_inputs()]
    assert not {"bill_ratio", "mixed", "odd"} & {i.name for i in session.get_inputs()}


def test_floor_division_and_remainder_follow_numpy_to_the_last_bit(penguins: pd.DataFrame) -> None:
    # The sources are read only by the formulas, so an infinite input reaches no scaler.
    result = _train(penguins, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_derived("q", "bill_length_mm // bill_depth_mm")
                    .with_derived("r", "bill_length_mm % bill_depth_mm").with_column("q", scaling=Scaling.NONE)
                    .with_column("r", scaling=Scaling.NONE).with_treatment("bill_length_mm", Treatment.EXCLUDE)
                    .with_treatment("bill_depth_mm", Treatment.EXCLUDE))
    a = [1.0, -1.0, 7.5, -7.5, 0.0, -0.0, 5.0, 1e300, 3.0, -3.0, 2.0, np.nan, 1.0]
    b = [0.1, 0.1, -2.0, -2.0, 3.0, -3.0, 0.0, 1e-300, np.inf, np.inf, -0.0, 1.0, np.nan]
    rows = penguins.drop(columns="species").head(len(a)).assign(bill_length_mm=a, bill_depth_mm=b)
    assert max(d for _c, _w, d in preparation_differences(result.pipeline, rows)) == 0.0


def test_a_formula_onnx_cannot_compute_is_refused_naming_the_formula_and_function(penguins: pd.DataFrame) -> None:
    assert "round(…) with 2 values" in formula_problem(parse_formula("round(a, 2)", ["a"]))
    assert formula_problem(parse_formula("max(a, b) + log1p(a)", ["a", "b"])) == ""
    prep = default_prep(profile_frame(penguins)).with_derived("rounded", "round(bill_length_mm, 2)")
    refusal = onnx_refusal_of_settings(prep, "species")
    assert refusal.startswith("The column 'rounded' is computed by the formula round(bill_length_mm, 2), which "
                              "uses round(…) with 2 values")


def test_a_formula_read_as_a_category_is_refused_naming_the_column(tmp_path: Path, penguins: pd.DataFrame) -> None:
    result = _train(penguins, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_derived("size", "floor(body_mass_g / 1000)")
                    .with_treatment("size", Treatment.CATEGORICAL))
    message = r"The column 'size' is computed by a formula and read as a category"
    with pytest.raises(StudioError, match=message):
        export_pipeline_onnx(result.pipeline, None, tmp_path / "size.onnx", result.rows.x_held)
    assert not (tmp_path / "size.onnx").exists()


# -- free text ----------------------------------------------------------------------------------------------------
def _notes(frame: pd.DataFrame, seed: int = 0, loud: str = "") -> pd.Series:
    rng = np.random.default_rng(seed)
    words = np.array(["fish", "Krill", "squid", "ROCK", "ice", "Café", "naïve", "ÉCOLE", "x", "42", "under_score",
                      "snow-bird", "it's", "日本語"])
    picked = [" ".join(rng.choice(words, size=4)) for _ in range(len(frame))]
    notes = [f"{p}, seen on {island}{'!' if i % 3 else '.'} {loud if species == 'Adelie' else 'calm'}  "
             for i, (p, island, species) in enumerate(zip(picked, frame["island"], frame["species"], strict=True))]
    series = pd.Series(notes, index=frame.index, dtype=object)
    series.iloc[::17] = None
    return series


@pytest.mark.parametrize(("key", "task", "target"), MODELS, ids=MODEL_IDS)
def test_free_text_is_written_as_tfidf(tmp_path: Path, penguins: pd.DataFrame, key: str, task: Task,
                                       target: str) -> None:
    frame = penguins.assign(notes=_notes(penguins, loud="Loud SQUAWKS"))
    result = _train(frame, target, task, key, lambda prep: prep.with_treatment("notes", Treatment.TEXT))
    _export_and_check(result, tmp_path / "text.onnx", f"free text, {key}")
    session = ort.InferenceSession(str(tmp_path / "text.onnx"), providers=["CPUExecutionProvider"])
    assert {i.name: i.type for i in session.get_inputs()}["notes"] == "tensor(string)"
    assert '"notes": "text"' in {p.key: p.value for p in onnx.load(str(tmp_path / "text.onnx")).metadata_props}[
        "inputs"]


def test_free_text_onnx_lowercases_otherwise_is_refused_naming_the_column(tmp_path: Path,
                                                                         penguins: pd.DataFrame) -> None:
    # Python lower-cases "İ" to "i" and a combining dot, which splits the word; onnxruntime gives a plain "i".
    frame = penguins.assign(notes=_notes(penguins, loud="İSTANBUL İSTANBUL İSTANBUL"))
    result = _train(frame, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_treatment("notes", Treatment.TEXT))
    with pytest.raises(StudioError, match=r"did not answer like Studio .* The column 'notes' \(free text turned into "
                                          r"word counts \(TF-IDF\)\) comes out of ONNX unlike Studio"):
        export_pipeline_onnx(result.pipeline, None, tmp_path / "turkish.onnx", result.rows.x_held)
    assert not (tmp_path / "turkish.onnx").exists()


# -- all together, and what the model card says ----------------------------------------------------------------------
def _everything(prep: PrepConfig) -> PrepConfig:
    return (prep.with_column("bill_length_mm", binning=Binning.QUANTILE, bins=3)
            .with_column("island", encoding=Encoding.TARGET).with_treatment("notes", Treatment.TEXT)
            .with_column("seen", date_parts=("year", "weekday", "days"))
            .with_derived("bill_ratio", "bill_length_mm / bill_depth_mm"))


@pytest.fixture(scope="module")
def everything(penguins_table: Any) -> TrainResult:
    frame = penguins_table.frame.copy()
    frame = frame.assign(notes=_notes(frame, loud="loud"), seen=_moments(len(frame)).dt.strftime("%Y-%m-%d"))
    return _train(frame, "species", Task.CLASSIFICATION, "random_forest", _everything)


def test_every_piece_at_once(tmp_path: Path, everything: TrainResult) -> None:
    _export_and_check(everything, tmp_path / "all.onnx", "every piece at once, random forest")
    _proto, kinds, _classification = build_pipeline_onnx(everything.pipeline)
    assert kinds["seen"] == "date" and kinds["notes"] == "text" and kinds["island"] == "string"


def test_the_card_says_it_can_be_exported_when_the_graph_builds(everything: TrainResult) -> None:
    assert onnx_refusal(everything.pipeline) == ""
    text = card_markdown(metadata_for(everything), pipeline=everything.pipeline)
    assert "It can also be exported to ONNX, preparation included" in text
    assert "cannot be written as ONNX" not in text
    assert "takes each date column as seconds since 1970-01-01 00:00 UTC" in text


def test_the_card_names_the_column_that_cannot_be_written(penguins: pd.DataFrame) -> None:
    result = _train(penguins, "species", Task.CLASSIFICATION, "logistic_regression",
                    lambda prep: prep.with_derived("size", "floor(body_mass_g / 1000)")
                    .with_treatment("size", Treatment.CATEGORICAL))
    assert "'size'" in onnx_refusal(result.pipeline)
    for text in (card_markdown(metadata_for(result), pipeline=result.pipeline),
                 card_markdown(metadata_for(result))):  # from the pipeline, and from the settings in the metadata
        assert "It cannot be exported to ONNX as it is. The column 'size' is computed by a formula and read as a " \
               "category" in text.replace("\\", "")
        assert "It can also be exported to ONNX" not in text
