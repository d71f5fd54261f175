"""The whole of a text table is read by the quickest reader that gives the same frame: pandas' C parser on every
core where it agrees with pyarrow's reader, pyarrow's reader with the first block's column types declared, and
pyarrow's reader looking at every value. Each quicker reading is checked against the plain pyarrow one."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.data import tabular
from studio.core.data.read_options import ReadOptions
from studio.core.data.tabular import CsvLayout, load_table, sniff_csv

needs_threaded_pandas = pytest.mark.skipif(not tabular.PANDAS_READS_IN_THREADS,
                                           reason="pandas before 3.1 reads on one core; pyarrow reads instead")


def plain_arrow_frame(path: Path, layout: CsvLayout) -> pd.DataFrame:
    """The frame as pyarrow's reader gives it looking at every value: the reading the quicker ones must match."""
    return tabular._parse_with_arrow(path, layout, None)


def write_rows(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",",
               encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding=encoding)
    return path


def big_table(rows: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """Numbers, whole numbers with gaps, words with gaps and markers, and text holding the delimiter, quoted."""
    rng = np.random.default_rng(seed)
    amount = np.round(rng.normal(50, 20, rows), 3).astype(str)
    count = rng.integers(0, 10_000, rows).astype(str)
    count[rng.random(rows) < 0.02] = ""
    city = np.array([f"city {k}" for k in range(40)])[rng.integers(0, 40, rows)]
    city[rng.random(rows) < 0.03] = "NA"
    note = np.where(rng.random(rows) < 0.1, "late, then paid", "on time")
    return ["amount", "count", "city", "note"], [list(row) for row in zip(amount, count, city, note, strict=True)]


@needs_threaded_pandas
def test_a_big_file_read_by_pandas_threads_is_the_frame_pyarrow_reads(tmp_path: Path) -> None:
    header, rows = big_table(200_000)  # past pandas' 5 MB, so its threads share the file
    path = write_rows(tmp_path / "big.csv", header, rows)
    assert path.stat().st_size > tabular.THREADED_MIN_BYTES
    layout, text = sniff_csv(path)

    frame = tabular._parse_in_pandas_threads(path, layout, tabular._head_schema(text, layout))

    assert frame is not None
    pd.testing.assert_frame_equal(frame, plain_arrow_frame(path, layout))
    assert frame["count"].isna().sum() > 0 and frame["note"].eq("late, then paid").any()
    pd.testing.assert_frame_equal(load_table(path).frame, frame)


LAYOUTS = {
    "semicolons and decimal commas": (";", "utf-8", ("1,5", "-0,621", "12")),
    "tabs, a byte-order mark": ("\t", "utf-8-sig", ("1.5", "-0.621", "12")),
}


@needs_threaded_pandas
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_other_layouts_read_by_pandas_are_the_frame_pyarrow_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(tabular, "THREADED_MIN_BYTES", 0)  # pandas' own rules, on one core for a small file
    delimiter, encoding, numbers = LAYOUTS[name]
    rows = [[numbers[i % 3], str(i), f"Zoë {i % 5}" if i % 7 else ""] for i in range(500)]
    path = write_rows(tmp_path / "table.csv", ["price", "id", "name"], rows, delimiter, encoding)
    layout, text = sniff_csv(path)

    frame = tabular._parse_in_pandas_threads(path, layout, tabular._head_schema(text, layout))

    assert frame is not None
    pd.testing.assert_frame_equal(frame, plain_arrow_frame(path, layout))


# Values a column may hold: numbers of several writings, words, gaps and markers, and what the two readers could
# take differently (dates, yes/no, integers beyond 64 bits, numbers among words).
VALUES = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.floats(-1e4, 1e4).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["", "NA", "n/a", "?", "NULL", "nan", "inf", "-inf", "1e5", "007", " 12", "3 ", "+4",
                     "2024-01-05", "2024-01-05 10:30:00", "true", "False", "yes", "12345678901234567890",
                     "1,5", "a, b", "x", "Zoë", "-", "0x10", "1_000", "١٢"]),
    st.text(alphabet="abc ,;\"'-.0123456789", max_size=6),
)
COLUMN = st.tuples(st.lists(VALUES, min_size=1, max_size=3), st.lists(VALUES, min_size=0, max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COLUMN, min_size=1, max_size=4), st.integers(20, 60))
def test_every_quicker_reading_gives_pyarrows_frame_or_steps_aside(
        tmp_path_factory: pytest.TempPathFactory, columns: list[tuple[list[str], list[str]]],
        first_block_rows: int) -> None:
    # Each column has values of its first block and other values further on, where a reading that trusted the
    # first block's types would go wrong. A quicker reading either gives the plain reading's frame or declines.
    rows = 3 * first_block_rows
    def value(first: list[str], later: list[str], row: int) -> str:
        values = first if row < first_block_rows or not later else later
        return values[row % len(values)]

    table = [[value(first, later, row) for first, later in columns] for row in range(rows)]
    header = [f"c{index}" for index in range(len(columns))]
    path = write_rows(tmp_path_factory.mktemp("csv") / "t.csv", header, table)
    layout, text = sniff_csv(path)
    try:
        expected = plain_arrow_frame(path, layout)
    except Exception:
        return  # pyarrow refuses it (pandas' reader then explains); nothing quicker is tried before it either
    first_block = "".join(text.splitlines(keepends=True)[: first_block_rows + 1])
    schema = tabular._head_schema(first_block, layout)

    pd.testing.assert_frame_equal(tabular._parse_with_arrow(path, layout, schema), expected)
    if schema is not None and tabular.PANDAS_READS_IN_THREADS:
        original = tabular.THREADED_MIN_BYTES
        tabular.THREADED_MIN_BYTES = 0
        try:
            by_pandas = tabular._parse_in_pandas_threads(path, layout, schema)
        finally:
            tabular.THREADED_MIN_BYTES = original
        if by_pandas is not None:
            pd.testing.assert_frame_equal(by_pandas, expected)


@needs_threaded_pandas
@pytest.mark.parametrize(("values", "why"), [
    (["2024-01-05", "2024-02-06"], "dates, which pyarrow reads as dates and pandas as text"),
    (["true", "false"], "yes/no values"),
    (["", ""], "a column blank in the first block"),
])
def test_pandas_steps_aside_for_columns_it_reads_differently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: list[str], why: str) -> None:
    monkeypatch.setattr(tabular, "THREADED_MIN_BYTES", 0)
    rows = [[str(i), values[i % 2]] for i in range(100)]
    path = write_rows(tmp_path / "t.csv", ["id", "value"], rows)
    layout, text = sniff_csv(path)

    assert tabular._parse_in_pandas_threads(path, layout, tabular._head_schema(text, layout)) is None, why


@needs_threaded_pandas
def test_pandas_steps_aside_when_a_later_value_would_be_read_otherwise(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A whole number past 64 bits after the first block: pandas keeps it exact, pyarrow reads the column as
    # decimals; Studio keeps one reading whatever the file's size, so pyarrow's is used.
    monkeypatch.setattr(tabular, "THREADED_MIN_BYTES", 0)
    rows = [[str(i), str(i % 9)] for i in range(200)] + [["200", "12345678901234567890"]]
    path = write_rows(tmp_path / "t.csv", ["id", "code"], rows)
    layout, text = sniff_csv(path)
    first_block = "".join(text.splitlines(keepends=True)[:100])

    assert tabular._parse_in_pandas_threads(path, layout, tabular._head_schema(first_block, layout)) is None
    assert load_table(path).frame["code"].dtype == np.float64


def test_text_in_a_column_of_numbers_after_the_first_block_is_read_as_text(tmp_path: Path) -> None:
    # The first block's types are declared to pyarrow; a later value they cannot hold makes it look again.
    rows = [[str(i), str(i % 9)] for i in range(5_000)] + [["5000", "unknown"]]
    path = write_rows(tmp_path / "t.csv", ["id", "code"], rows)
    layout, text = sniff_csv(path)
    first_block = "".join(text.splitlines(keepends=True)[:100])

    frame = tabular._parse_with_arrow(path, layout, tabular._head_schema(first_block, layout))

    assert pd.api.types.is_string_dtype(frame["code"].dtype)
    assert frame["code"].iloc[-1] == "unknown" and frame["code"].iloc[10] == "1"


def test_a_file_not_in_utf8_is_read_by_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "THREADED_MIN_BYTES", 0)
    rows = [[f"Łódź {i % 4}", str(i)] for i in range(300)]
    path = write_rows(tmp_path / "t.csv", ["city", "id"], rows, encoding="cp1250")
    options = ReadOptions(encoding="cp1250")
    layout, text = sniff_csv(path, options)

    assert tabular._parse_in_pandas_threads(path, layout, tabular._head_schema(text, layout)) is None
    assert load_table(path, options=options).frame["city"].iloc[1] == "Łódź 1"
