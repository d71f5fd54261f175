"""The formats besides CSV and Parquet, read through load_table as the Data page and the CLI read them: JSON and JSON
Lines (also found by content), Feather, workbook sheets (.xlsx, .xls, .ods), ARFF and pasted text; and a broken
file of each kind, which gets a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import DataError
from studio.core.data.formats import read_pasted_text, sniff_text_kind
from studio.core.data.profile import ColumnKind, profile_frame
from studio.core.data.tabular import MISSING_MARKERS, load_table

SHOP_XLS = Path(__file__).parent / "data" / "formats" / "shop.xls"  # two sheets, written by Excel 97's format
ROWS = [
    {"name": "Ann", "age": 31, "height": 1.62, "member": True, "city": "Oslo"},
    {"name": "Bob", "age": 42, "height": 1.80, "member": False, "city": None},
    {"name": "Čeněk", "age": 27, "height": 1.75, "member": True, "city": "Brno"},
]


def expected_frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS)


def assert_same_values(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    """What the preview shows: the same columns, in order, and the same cells (missing where the file has none)."""
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for column in expected.columns:
        for got, want in zip(frame[column].tolist(), expected[column].tolist(), strict=True):
            if pd.isna(want):
                assert pd.isna(got), (column, got)
            else:
                assert got == want, (column, got, want)


# -- JSON -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["records", "columns", "split", "wrapped", "pandas_default"])
def test_json_layouts_round_trip(tmp_path: Path, layout: str) -> None:
    frame = expected_frame()
    documents = {
        "records": ROWS,
        "columns": {c: frame[c].tolist() for c in frame.columns},
        "split": json.loads(frame.to_json(orient="split", force_ascii=False)),
        "wrapped": {"count": 3, "data": ROWS, "next": None},
        "pandas_default": json.loads(frame.to_json(force_ascii=False)),
    }
    path = tmp_path / "people.json"
    path.write_text(json.dumps(documents[layout], ensure_ascii=False, indent=2), encoding="utf-8")

    table = load_table(path)

    assert_same_values(table.frame, frame)
    assert "JSON" in table.describe_format()


def test_nested_records_become_columns_and_lists_become_text(tmp_path: Path) -> None:
    rows = [{"id": 1, "address": {"city": "Oslo", "zip": "0150"}, "tags": ["a", "b"]},
            {"id": 2, "address": {"city": "Rome", "zip": None}, "tags": []}]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(rows), encoding="utf-8")

    frame = load_table(path).frame

    assert list(frame.columns) == ["id", "tags", "address.city", "address.zip"]
    assert frame["address.city"].tolist() == ["Oslo", "Rome"]
    assert frame["tags"].tolist() == ['["a", "b"]', "[]"]
    assert profile_frame(frame)  # every column profiles: no list left in a cell


@pytest.mark.parametrize("name", ["people.jsonl", "people.ndjson", "people.csv", "people.txt", "people"])
def test_json_lines_found_by_name_or_content(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in ROWS) + "\n\n", encoding="utf-8")

    table = load_table(path)

    assert_same_values(table.frame, expected_frame())
    assert table.delimiter is None and "JSON Lines" in table.describe_format()


def test_a_csv_whose_header_has_braces_is_still_csv(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("{a},b\n1,2\n3,4\n", encoding="utf-8")
    table = load_table(path)
    assert list(table.frame.columns) == ["{a}", "b"] and table.delimiter == ","
    assert sniff_text_kind(b"[1],b\n") is None and sniff_text_kind(b"  [\n {") == "json"


@pytest.mark.parametrize(("content", "words"), [
    ('[{"a": 1}, {"a": 2}', "not valid JSON"),
    ('{"a": 1}\n{"a": 2}\n{"a": 3,\n', "Line 3 of bad.json is not valid JSON"),
    ("42", "a single value, not a table"),
    ("[]", "empty list"),
    ('{"x": [{"a": 1}], "y": [{"b": 2}]}', "more than one list of records ('x', 'y')"),
    ('[{"a": 1}, 5]', "mixes records with other values"),
    ('{"a": "b"}', "does not hold a table Studio recognises"),
    ('{"a": [1, 2], "b": [3]}', "have different lengths ('a' 2, 'b' 1 values)"),
])
def test_broken_json_gets_a_sentence(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=None) as caught:
        load_table(path)
    assert words in str(caught.value)


def test_json_that_is_not_utf8_is_said(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes('[{"city": "Zürich"}]'.encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_table(path)


# -- Feather ----------------------------------------------------------------------------------------------------
def test_feather_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "people.feather"
    expected_frame().to_feather(path)
    assert_same_values(load_table(path).frame, expected_frame())


def test_arrow_stream_is_read_too(tmp_path: Path) -> None:
    import pyarrow as pa

    path = tmp_path / "people.arrow"
    table = pa.Table.from_pandas(expected_frame(), preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    assert_same_values(load_table(path).frame, expected_frame())


def test_broken_feather_gets_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "broken.feather"
    path.write_bytes(b"ARROW1\x00\x00 this is not really arrow")
    with pytest.raises(DataError, match=r"broken\.feather is not a readable Feather file"):
        load_table(path)


# -- workbooks --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_every_sheet_of_a_workbook_can_be_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"book{suffix}"
    engine = "odf" if suffix == ".ods" else "openpyxl"
    others = pd.DataFrame({"x": [1.5, 2.5], "label": ["a", "NA"]})
    with pd.ExcelWriter(path, engine=engine) as writer:
        expected_frame().to_excel(writer, sheet_name="People", index=False)
        others.to_excel(writer, sheet_name="Other numbers", index=False)

    first = load_table(path)
    second = load_table(path, sheet="Other numbers")

    assert first.sheets == ("People", "Other numbers") and first.sheet == "People"
    # Only a sheet the person picked is kept with the options (runs and models store them); a default is found again.
    assert first.options.sheet is None and second.options.sheet == "Other numbers"
    assert load_table(path, options=second.options).sheet == "Other numbers"
    assert_same_values(first.frame, expected_frame())
    assert second.sheet == "Other numbers" and "sheet 'Other numbers'" in second.describe_format()
    assert_same_values(second.frame, pd.DataFrame({"x": [1.5, 2.5], "label": ["a", np.nan]}))  # NA: no value


def test_legacy_xls_is_read_and_skips_a_notes_sheet() -> None:
    table = load_table(SHOP_XLS)
    assert table.sheets == ("Notes", "Prices") and table.sheet == "Prices"
    assert_same_values(table.frame, pd.DataFrame({
        "item": ["tea", "cake", "coffee", "bread"], "price": [2.5, 3.25, 1.75, 2.0],
        "in stock": [12, 0, 40, np.nan], "kind": ["drink", "food", "drink", "food"]}))


def test_a_sheet_that_is_not_there_or_has_no_rows_is_said() -> None:
    with pytest.raises(DataError, match=r"shop\.xls has no sheet called 'Nope'\. Its sheets are: 'Notes', 'Prices'"):
        load_table(SHOP_XLS, sheet="Nope")
    with pytest.raises(DataError, match=r"The sheet 'Notes' of shop\.xls has a header but no data rows\. Pick another"):
        load_table(SHOP_XLS, sheet="Notes")


@pytest.mark.parametrize("name", ["broken.xls", "broken.ods", "broken.xlsx", "broken.xlsb"])
def test_broken_workbooks_get_a_sentence(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not a real workbook at all" * 10)
    with pytest.raises(DataError) as caught:
        load_table(path)
    assert str(caught.value).startswith(f"{name} is not a readable ")
    assert "damaged, or it is not a workbook" in str(caught.value)


def test_an_empty_workbook_is_said(tmp_path: Path) -> None:
    path = tmp_path / "empty.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame().to_excel(writer, sheet_name="Only", index=False)
    with pytest.raises(DataError, match=r"empty\.ods is empty"):
        load_table(path)


# -- ARFF -------------------------------------------------------------------------------------------------------
WEATHER_ARFF = """% Weka's weather data, with a few additions
@relation weather

@attribute outlook {sunny, overcast, 'light rain'}
@attribute temperature numeric
@attribute humidity real
@attribute "wind speed" integer
@attribute note string
@attribute day date "yyyy-MM-dd"
@attribute play {yes,no}

@data
sunny,85,85.5,3,'hot, dry',2024-06-01,no
overcast,83,?,0,"it's fine",2024-06-02,yes
'light rain',70,96,12,?,?,yes
% a comment among the rows
{0 sunny, 1 72, 2 95, 3 5, 4 plain, 5 2024-06-04, 6 no}
"""


@pytest.mark.parametrize("name", ["weather.arff", "weather.txt"])
def test_arff_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(WEATHER_ARFF, encoding="utf-8")

    table = load_table(path)
    frame = table.frame

    assert "ARFF" in table.describe_format()
    assert_same_values(frame, pd.DataFrame({
        "outlook": ["sunny", "overcast", "light rain", "sunny"],
        "temperature": [85, 83, 70, 72],
        "humidity": [85.5, np.nan, 96.0, 95.0],
        "wind speed": [3, 0, 12, 5],
        "note": ["hot, dry", "it's fine", np.nan, "plain"],
        "day": pd.to_datetime(["2024-06-01", "2024-06-02", None, "2024-06-04"]),
        "play": ["no", "yes", "yes", "no"],
    }))
    # Nominal attributes are categories in the order the header lists them, used or not.
    assert list(frame["outlook"].cat.categories) == ["sunny", "overcast", "light rain"]
    kinds = {p.name: p.kind for p in profile_frame(frame)}
    assert kinds["outlook"] is ColumnKind.CATEGORICAL and kinds["temperature"] is ColumnKind.NUMERIC
    assert kinds["day"] is ColumnKind.DATE


@pytest.mark.parametrize(("header", "row", "words"), [
    ("@attribute a numeric", "1,2", "Line 4 of bad.arff has 2 values, but the header names 1 attributes"),
    ("@attribute a {x,y}", "z", "'a' of bad.arff holds 'z', which is not one of its listed values"),
    ("@attribute a numeric", "ten", "'a' of bad.arff is numeric, but it holds 'ten'"),
    ("@attribute a blob", "1", "'blob' is not an ARFF type"),
    ("@attribute a relational", "1", "relational attribute ('a')"),
    ("@attribute a date", "yesterday", "The dates of 'a' in bad.arff do not match their format"),
])
def test_broken_arff_gets_a_sentence(tmp_path: Path, header: str, row: str, words: str) -> None:
    path = tmp_path / "bad.arff"
    path.write_text(f"@relation r\n{header}\n@data\n{row}\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_table(path)
    assert words in str(caught.value)


def test_arff_without_data_or_attributes_is_said(tmp_path: Path) -> None:
    path = tmp_path / "bad.arff"
    path.write_text("@relation r\n@attribute a numeric\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no @data line"):
        load_table(path)
    path.write_text("@relation r\n@data\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match="names no @attribute"):
        load_table(path)
    path.write_text("@relation r\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Line 2 of bad\.arff is not part of an ARFF header"):
        load_table(path)


# -- pasted text ------------------------------------------------------------------------------------------------
def test_cells_pasted_from_a_spreadsheet() -> None:
    text = "name\tage\theight\r\nAnn\t31\t1,62\r\nBob\t\t1.80\r\n"  # Excel's copy: CRLF, a trailing newline
    frame = read_pasted_text(text, MISSING_MARKERS)
    assert list(frame.columns) == ["name", "age", "height"]
    assert frame["name"].tolist() == ["Ann", "Bob"]
    assert frame["age"].tolist()[0] == 31 and pd.isna(frame["age"].tolist()[1])


@pytest.mark.parametrize(("text", "words"), [
    ("", "holds no text"),
    ("just one line\twith a tab", "single line"),
    ("some words\nand more words\n", "not a table"),
])
def test_pasted_text_that_is_not_a_table_is_said(text: str, words: str) -> None:
    with pytest.raises(DataError, match=words):
        read_pasted_text(text)


def test_json_lines_with_nested_records_and_a_column_that_changes_type(tmp_path: Path) -> None:
    rows = [{"id": 1, "address": {"city": "Oslo"}, "tags": ["a", "b"], "code": 7},
            {"id": 2, "address": {"city": "Rome"}, "tags": [], "code": "7b"}]  # code: a number, then text
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    frame = load_table(path).frame
    assert sorted(frame.columns) == ["address.city", "code", "id", "tags"]
    assert frame["code"].tolist() == [7, "7b"] and frame["tags"].tolist() == ['["a", "b"]', "[]"]
    path.write_text("\n".join(json.dumps(row) for row in rows[:1] * 3), encoding="utf-8")  # the fast reader's way
    frame = load_table(path).frame
    assert list(frame.columns) == ["id", "address.city", "tags", "code"]
    assert frame["address.city"].tolist() == ["Oslo"] * 3 and frame["tags"].tolist() == ['["a", "b"]'] * 3
