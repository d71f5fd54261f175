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
