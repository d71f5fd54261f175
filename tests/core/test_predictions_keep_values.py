"""Predictions keep the user's values exactly: the user's columns come back as the text they hold (long IDs, numbers
beyond int64, blanks), Studio's own columns never take one of their names, and a text file keeps the input's
delimiter, with a byte-order mark unless it is turned off."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame, predict_job, read_as_text, write_predictions
from studio.core.store.model_file import load_model, metadata_for, save_model

from .helpers import drain, make_request, run_training

BOM = "\ufeff".encode()
ROWS = 40


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    size = rng.normal(size=200)
    frame = pd.DataFrame({"size": size, "colour": np.where(size > 0, "red", "blue"),
                          "label": np.where(size > 0, "big", "small")})
    _, result = run_training(make_request(frame, "label", Task.CLASSIFICATION, "logistic_regression", {}))
    return save_model(tmp_path_factory.mktemp("model") / "label.studio", result.pipeline, metadata_for(result))


def tricky_rows(path: Path, delimiter: str = ",") -> Path:
    """A table a spreadsheet person would have: a 17-digit ID with one blank, a number beyond int64, text that
    looks like a number, and columns named like Studio's own."""
    ids = [f"{12345678901234560 + i}" for i in range(ROWS)]
    ids[3] = ""  # the one blank that turned the whole column into floats
    rows = [["id", "size", "colour", "huge", "code", "prediction", PREDICTION_COLUMN, "probability_big"]]
    for i in range(ROWS):
        rows.append([ids[i], f"{(i - ROWS / 2) / 7:.3f}", "red" if i % 2 else "blue",
                     str(2 ** 70 + i), f"00{i}", f"theirs {i}", f"also theirs {i}", "0.5"])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def written_cells(path: Path, delimiter: str) -> list[list[str]]:
    text = path.read_bytes().removeprefix(BOM).decode("utf-8")
    return list(csv.reader(text.splitlines(), delimiter=delimiter))


def test_the_user_columns_come_back_exactly_as_written(model_path: Path, tmp_path: Path) -> None:
    source = tricky_rows(tmp_path / "rows.csv")
    predictions = drain(predict_job(load_model(model_path), source))
    out = write_predictions(tmp_path / "out.csv", predictions)

    written = written_cells(out, ",")
    given = written_cells(source, ",")
    header = written[0]
    # Studio's columns first, marked as Studio's; the user's "prediction (Studio)" keeps its name, Studio's is
    # numbered instead.
    assert header[:3] == [f"{PREDICTION_COLUMN} 2", "probability of big (Studio)", "probability of small (Studio)"]
    assert header[3:] == given[0]
    assert [row[3:] for row in written[1:]] == given[1:], "every cell of the user's columns, as written"
    assert written[1][3] == "12345678901234560" and written[4][3] == ""
    assert {row[0] for row in written[1:]} <= {"big", "small"}
    assert predictions.attrs["prediction_column"] == f"{PREDICTION_COLUMN} 2"


def test_a_semicolon_file_stays_one_and_the_bom_can_be_turned_off(model_path: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = tricky_rows(tmp_path / "rows.csv", delimiter=";")
    with_bom, without = tmp_path / "with.csv", tmp_path / "without.csv"

    assert run_cli(["predict", str(model_path), str(source), "--out", str(with_bom)]) == 0
    assert run_cli(["predict", str(model_path), str(source), "--out", str(without), "--no-bom"]) == 0

    assert with_bom.read_bytes().startswith(BOM) and not without.read_bytes().startswith(BOM)
    assert with_bom.read_bytes().removeprefix(BOM) == without.read_bytes()
    written, given = written_cells(without, ";"), written_cells(source, ";")
    assert [row[3:] for row in written] == given
    assert "Traceback" not in capsys.readouterr().err


def test_the_typed_values_stand_in_for_a_workbook(model_path: Path, tmp_path: Path) -> None:
    """A workbook's cells have types already: they are written as read, and the model's columns still never
    replace the user's."""
    frame = pd.DataFrame({"size": [0.5, -0.5], "colour": ["red", "blue"], "prediction": ["keep", "me"]})
    frame.to_excel(tmp_path / "rows.xlsx", index=False)
    table = load_table(tmp_path / "rows.xlsx")
    assert read_as_text(table) is None
    out = predict_frame(load_model(model_path), table.frame, read_as_text(table))
    assert list(out["prediction"]) == ["keep", "me"]
    assert list(out.columns[:3]) == [PREDICTION_COLUMN, "probability of big (Studio)",
                                     "probability of small (Studio)"]


def test_a_decimal_comma_file_is_written_with_decimal_commas(model_path: Path, tmp_path: Path) -> None:
    source = tricky_rows(tmp_path / "rows.csv", delimiter=";")
    predictions = drain(predict_job(load_model(model_path), source))
    predictions.attrs["decimal"] = ","  # as the reader says of a file written with decimal commas
    out = write_predictions(tmp_path / "out.csv", predictions, bom=False)
    probability = written_cells(out, ";")[1][1]
    assert "," in probability and "." not in probability


def test_a_workbook_of_predictions_shows_the_user_s_text_with_numbers_as_numbers(model_path: Path,
                                                                                  tmp_path: Path) -> None:
    predictions = drain(predict_job(load_model(model_path), tricky_rows(tmp_path / "rows.csv")))
    back = pd.read_excel(write_predictions(tmp_path / "out.xlsx", predictions), engine="openpyxl", dtype=object,
                         keep_default_na=False, na_filter=False)
    assert back.loc[0, "id"] == "12345678901234560", "a 17-digit ID stays text: a number would round it"
    assert back.loc[3, "id"] == "" and back.loc[0, "code"] == "000"  # blanks and leading zeros as written
    assert isinstance(back.loc[0, "size"], float) and back.loc[0, "size"] == -2.857
    assert back.loc[0, "huge"] == str(2 ** 70)

    parquet = pd.read_parquet(write_predictions(tmp_path / "out.parquet", predictions))
    assert parquet["size"].dtype == float and parquet.loc[0, "id"] == "12345678901234560"


def test_the_header_row_comes_back_as_the_file_wrote_it(model_path: Path, tmp_path: Path) -> None:
    """Studio trims, fills and numbers names to refer to columns (' size ' is 'size', a blank is 'column_4', a
    second 'note' is 'note_1'); the files it writes back keep the user's header row as written."""
    source = tmp_path / "rows.csv"
    header = [" size ", "colour", "note", "", "note", "Größe ;x"]
    rows = [header] + [[f"{(i - 10) / 3:.2f}", "red" if i % 2 else "blue", f"n{i}", "", f"m{i}", str(i)]
                       for i in range(20)]
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    predictions = drain(predict_job(load_model(model_path), source))
    assert " size " not in predictions.columns  # the model was given the names it was trained on
    studio_names = [predictions.attrs["prediction_column"], *predictions.attrs["probability_columns"]]

    text = written_cells(write_predictions(tmp_path / "out.csv", predictions), ",")
    assert text[0] == [*studio_names, *header]
    assert [row[3:] for row in text[1:]] == rows[1:]
    sheet = pd.read_excel(write_predictions(tmp_path / "out.xlsx", predictions), engine="openpyxl", header=None,
                          dtype=object, keep_default_na=False)
    assert [str(name) for name in sheet.iloc[0]] == [*studio_names, *header]
    # Parquet needs distinct, non-blank names: Studio's own then, rather than a file no program can read.
    parquet = pd.read_parquet(write_predictions(tmp_path / "out.parquet", predictions))
    assert list(parquet.columns) == [str(c) for c in predictions.columns]


def test_distinct_names_as_written_go_into_parquet_too(model_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(" size ,colour\n" + "".join(f"{i / 4:.2f},red\n" for i in range(-8, 8)), encoding="utf-8")
    predictions = drain(predict_job(load_model(model_path), source))
    parquet = pd.read_parquet(write_predictions(tmp_path / "out.parquet", predictions))
    assert list(parquet.columns)[-2:] == [" size ", "colour"]
