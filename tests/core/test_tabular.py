"""Reading tables: delimiters, encodings, missing cells, other formats and every way a file can be wrong."""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris

from studio.core.common.errors import Cancelled, DataError
from studio.core.data import tabular
from studio.core.data.profile import to_number
from studio.core.data.read_options import NumberStyle
from studio.core.data.tabular import TableHead, detect_delimiter, load_table, read_csv_text, read_table


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode(encoding))
    else:
        path.write_bytes(content)
    return path


# -- delimiters -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("delimiter", "label"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str, label: str) -> None:
    rows = ["name{d}age{d}city", "Ann{d}31{d}Oslo", "Bob{d}42{d}Rome", "Cleo{d}27{d}Lima"]
    path = write(tmp_path, "people.csv", "\n".join(r.format(d=delimiter) for r in rows) + "\n")

    table = load_table(path)

    assert table.delimiter == delimiter
    assert list(table.frame.columns) == ["name", "age", "city"]
    assert table.frame["age"].tolist() == [31, 42, 27]
    assert label in table.describe_format()


def test_semicolon_file_with_decimal_commas_keeps_its_columns(tmp_path: Path) -> None:
    # European spreadsheets: semicolons separate, commas are decimal marks; a comma split would be wrong.
    path = write(tmp_path, "prices.csv", "item;price;qty\napple;1,25;3\npear;0,80;5\nplum;2,10;1\n")

    table = load_table(path)

    assert table.delimiter == ";"
    assert list(table.frame.columns) == ["item", "price", "qty"]


def test_a_text_column_is_judged_on_its_first_values_even_after_thousands_of_blank_cells(tmp_path: Path) -> None:
    # Whether a text column holds numbers is decided on its first 500 values that are not blank: here 3 words
    # among 3,000 blank rows, then numbers. Numbers then, as the whole column reads, not words.
    amounts = ["unknown" if i % 1_000 == 0 else "" for i in range(3_000)]
    amounts += [f"2.{i % 900 + 100},25" for i in range(3_000, 3_600)]
    rows = ["item;price;amount"] + [f"row{i};1.{i % 900 + 100},5;{amount}" for i, amount in enumerate(amounts)]
    path = write(tmp_path, "late.csv", "\n".join(rows) + "\n")

    table = load_table(path)

    assert (table.decimal, table.thousands) == (",", ".")
    frame = table.frame
    assert frame["price"].iloc[0] == 1100.5
    assert frame["amount"].iloc[3_000] == 2400.25 and frame["amount"].iloc[3_599] == 2999.25
    assert frame["amount"].iloc[1_000] == "unknown" and pd.isna(frame["amount"].iloc[1])


STYLES = [NumberStyle(",", None), NumberStyle(",", "."), NumberStyle(".", ","), NumberStyle(",", " "),
          NumberStyle(".", "'"), NumberStyle(".", None)]
TRICKY = [" 5", "\u00a05", "\u202f-1", "\t+.5", ",5", "inf", " -Infinity", "iNf", "nan", "NaN", "True", "e5", "€5",
          "(5)", "\ufeff5", "٣", "１２", "five", "x1", "_1", "'1'", "\"1\"", "1 234,5", "−5", "∞", "ⅷ", "²"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.text(" \t\u00a0\u202f+-.,'0123456789eEiInNfFatyx€٣²−"),
                          st.sampled_from(TRICKY)), min_size=1, max_size=40),
       st.sampled_from(STYLES))
def test_values_told_as_words_without_parsing_never_read_as_numbers(values: list[str], style: NumberStyle) -> None:
    # A text column is judged a column of words, without parsing it, from its values' first letters: that must
    # never pass over a value that reading it would have made a number.
    words = [value for value in values if not tabular._MAY_BE_NUMBER.match(value)]
    if words:
        assert to_number(pd.Series(words, dtype=object), style).isna().all(), words


def big_ragged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file big enough to show its first rows first, with a row of four values on line 40,002."""
    monkeypatch.setattr(tabular, "HEAD_MIN_BYTES", 100_000)
    rows = [f"{i},{i % 7}.5,city {i % 40}" for i in range(50_000)]
    rows[40_000] += ",extra"
    return write(tmp_path, "ragged_big.csv", "id,amount,city\n" + "\n".join(rows) + "\n")


def test_a_big_file_read_while_its_first_rows_show_still_names_a_bad_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = read_table(big_ragged_file(tmp_path, monkeypatch))
    items = [next(job), next(job)]
    assert isinstance(items[1], TableHead) and items[1].frame is not None and len(items[1].frame) == 1000
    with pytest.raises(DataError, match=r"Line 40002 of ragged_big\.csv") as caught:
        next(job)
    assert "has 4 values, but the header names 3 columns" in str(caught.value)


def test_a_big_file_read_is_cancelled_while_the_rest_is_read(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "HEAD_MIN_BYTES", 100_000)
    path = write(tmp_path, "big.csv", "a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(60_000)))
    slow_disk = threading.Event()
    read_whole = tabular._read_csv

    def held_up(*args, **kwargs):  # the whole file is still being read when the person cancels
        slow_disk.wait(30)
        return read_whole(*args, **kwargs)

    monkeypatch.setattr(tabular, "_read_csv", held_up)
    stopped: list[bool] = []
    job = read_table(path, lambda: bool(stopped))
    next(job)
    assert isinstance(next(job), TableHead)
    stopped.append(True)
    started = time.perf_counter()
    with pytest.raises(Cancelled):
        next(job)
    assert time.perf_counter() - started < 5  # at the next look, not when the read ends
    slow_disk.set()


def test_detect_delimiter_on_text() -> None:
    assert detect_delimiter("a|b|c\n1|2|3\n4|5|6\n") == "|"
    assert detect_delimiter("") == ","


def test_read_csv_text_uses_the_same_rules() -> None:
    frame = read_csv_text("a;b\n1;NA\n;2\n")
    assert list(frame.columns) == ["a", "b"]
    assert frame.isna().sum().sum() == 2


# -- encodings --------------------------------------------------------------------------------------------------
def test_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "utf8.csv", "name,city\nZoë,Kraków\nJosé,São Paulo\n")
    table = load_table(path)
    assert table.encoding == "utf-8"
    assert table.frame["name"].tolist() == ["Zoë", "José"]
    assert table.frame["city"].tolist() == ["Kraków", "São Paulo"]


def test_utf8_with_bom_does_not_leak_into_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffid,name\n1,Café\n2,Thé\n")
    table = load_table(path)
    assert table.encoding == "utf-8-sig"
    assert list(table.frame.columns) == ["id", "name"]
    assert table.frame["name"].tolist() == ["Café", "Thé"]
    assert "UTF-8 with BOM" in table.describe_format()


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_windows_latin_text_is_read_with_its_accents(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "menu.csv", "dish,price\nCafé,2.5\nCrème brûlée,6\nPiña colada,7\n", encoding)
    table = load_table(path)
    assert table.encoding in ("cp1252", "latin-1")
    assert table.frame["dish"].tolist() == ["Café", "Crème brûlée", "Piña colada"]
    assert table.frame["price"].tolist() == [2.5, 6.0, 7.0]


def test_cp1252_only_characters(tmp_path: Path) -> None:
    # The euro sign and curly quotes exist in cp1252 but not in Latin-1.
    path = write(tmp_path, "euro.csv", "label,amount\n€ “special”,3\nplain,4\n", "cp1252")
    assert load_table(path).frame["label"].tolist() == ["€ “special”", "plain"]


def test_blank_and_marker_cells_are_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "gaps.csv", "a,b,c\n1,,x\n,2.5,\nNA,3,y\n4,N/A,z\n")
    frame = load_table(path).frame
    assert frame["a"].isna().tolist() == [False, True, True, False]
    assert frame["b"].isna().tolist() == [True, False, False, True]
    assert frame["c"].isna().tolist() == [False, True, False, False]
    assert pd.api.types.is_numeric_dtype(frame["a"]) and pd.api.types.is_numeric_dtype(frame["b"])


# -- bad input --------------------------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"There is no file at .*nothing\.csv"):
        load_table(tmp_path / "nothing.csv")


def test_folder_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        load_table(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        load_table(write(tmp_path, "empty.csv", b""))


def test_only_blank_lines(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="only blank lines"):
        load_table(write(tmp_path, "blank.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has a header but no data rows"):
        load_table(write(tmp_path, "header.csv", "a,b,c\n"))


def test_png_renamed_to_csv(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR" + zlib.compress(bytes(300))
    with pytest.raises(DataError, match="does not look like a text table: it contains binary data"):
        load_table(write(tmp_path, "photo.csv", png))


def test_zip_renamed_to_csv(tmp_path: Path) -> None:
    archive = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + os.urandom(500)
    with pytest.raises(DataError, match="binary data"):
        load_table(write(tmp_path, "archive.csv", archive))


def test_unrecognisable_encoding(tmp_path: Path) -> None:
    # Not valid UTF-8 (stray continuation bytes), no NULs, and mostly control characters in any 8-bit reading.
    junk = bytes([0x81, 0x8D, 0x01, 0x02, 0x03, 0x90, 0x9D, 0x05, 0x06, 0x1B]) * 60
    with pytest.raises(DataError, match="could not recognise the text encoding") as caught:
        load_table(write(tmp_path, "junk.csv", junk))
    assert "UTF-8" in str(caught.value)


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(DataError) as caught:
        load_table(path)
    message = str(caught.value)
    assert "Line 3" in message
    assert "4 values" in message and "3 columns" in message


def test_ragged_row_in_latin_file_names_its_line(tmp_path: Path) -> None:
    # The non-UTF-8 path goes straight to the C parser; the message must be just as clear.
    path = write(tmp_path, "ragged.csv", "name,n\nCafé,1\nThé,2,extra\n", "cp1252")
    with pytest.raises(DataError, match=r"Line 3 of ragged\.csv"):
        load_table(path)


def test_broken_excel_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a readable Excel workbook"):
        load_table(write(tmp_path, "sheet.xlsx", b"this is not a workbook"))


def test_broken_parquet_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_table(write(tmp_path, "data.parquet", b"PAR1 but not really"))


# -- other formats ----------------------------------------------------------------------------------------------
@pytest.fixture
def iris_frame() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame["species"] = load_iris().target_names[frame.pop("target")]
    frame.loc[3, "sepal length (cm)"] = np.nan
    return frame


def test_sklearn_dataset_csv(tmp_path: Path, iris_frame: pd.DataFrame) -> None:
    path = tmp_path / "iris.csv"
    iris_frame.to_csv(path, index=False)
    table = load_table(path)
    assert table.frame.shape == (150, 5)
    pd.testing.assert_frame_equal(table.frame, iris_frame, check_dtype=False)


def test_excel_round_trip(tmp_path: Path, iris_frame: pd.DataFrame) -> None:
    path = tmp_path / "iris.xlsx"
    iris_frame.to_excel(path, index=False)
    table = load_table(path)
    assert table.encoding is None and table.delimiter is None
    assert table.describe_format() == "150 rows, 5 columns"
    pd.testing.assert_frame_equal(table.frame, iris_frame, check_dtype=False)


def test_parquet_round_trip(tmp_path: Path, iris_frame: pd.DataFrame) -> None:
    path = tmp_path / "iris.parquet"
    iris_frame.to_parquet(path, index=False)
    table = load_table(path)
    pd.testing.assert_frame_equal(table.frame, iris_frame, check_dtype=False)


# -- header names -----------------------------------------------------------------------------------------------
def test_duplicate_and_blank_headers_become_unique(tmp_path: Path) -> None:
    path = write(tmp_path, "names.csv", "a,a,,b, ,a\n1,2,3,4,5,6\n7,8,9,10,11,12\n")
    columns = list(load_table(path).frame.columns)
    assert len(columns) == 6
    assert len(set(columns)) == 6
    assert columns[0] == "a" and columns[3] == "b"
    assert all(name.strip() for name in columns)
    assert columns[2] == "column_3"


def test_duplicate_headers_in_excel_become_unique(tmp_path: Path) -> None:
    path = tmp_path / "dupes.xlsx"
    pd.DataFrame([[1, 2, 3]], columns=["x", "x_1", "y"]).to_excel(path, index=False)
    frame = pd.read_excel(path)
    frame.columns = ["x", "x", "x_1"]  # force duplicates pandas would otherwise refuse to write
    frame.to_excel(path, index=False)
    columns = list(load_table(path).frame.columns)
    assert len(set(columns)) == 3
    assert columns[0] == "x"
