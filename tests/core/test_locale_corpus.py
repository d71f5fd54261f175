"""The locale corpus: decimal commas, semicolons and tabs, thousands separators and the encodings offices export
in, each read right (the values a person sees equal the file's) or explained in a sentence."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from studio.core.common.errors import DataError
from studio.core.data import tabular
from studio.core.data.profile import ColumnKind, profile_frame, to_number
from studio.core.data.read_options import ReadOptions, detect_number_style
from studio.core.data.tabular import TableHead, load_table, read_table
from studio.core.store.model_file import ModelBundle

# What every file of the corpus holds: the words in the file's language, and numbers with fractions.
PRICES = [-0.621, 0.125, 1.5, 12.25, 1234.5, 0.0, 7.0, 99.95]


def write_rows(path: Path, rows: list[list[str]], delimiter: str, encoding: str, bom: bytes = b"") -> Path:
    text = "".join(delimiter.join(row) + "\r\n" for row in rows)
    path.write_bytes(bom + text.encode(encoding))
    return path


def decimal_comma(value: float) -> str:
    return f"{value:g}".replace(".", ",")


# -- decimal separators -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_decimal_commas_are_read_as_fractions(tmp_path: Path, delimiter: str) -> None:
    rows = [["item", "price", "qty"]] + [[f"item {i}", decimal_comma(p), str(i)] for i, p in enumerate(PRICES)]
    table = load_table(write_rows(tmp_path / "prices.csv", rows, delimiter, "utf-8"))

    assert table.decimal == "," and table.delimiter == delimiter
    assert table.frame["price"].tolist() == PRICES  # -0,621 is -0.621, never -621
    assert table.frame["qty"].tolist() == list(range(len(PRICES)))
    assert "decimal comma" in table.describe_format()
    profiles = {p.name: p for p in profile_frame(table.frame)}
    assert profiles["price"].kind is ColumnKind.NUMERIC


def test_issue_example_reads_right(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("a;b\n-0,621;x\n0,125;y\n", encoding="utf-8")
    frame = load_table(path).frame
    assert frame["a"].tolist() == [-0.621, 0.125]


def test_decimal_point_file_is_unchanged(tmp_path: Path) -> None:
    rows = [["item", "price"]] + [[f"item {i}", f"{p:g}"] for i, p in enumerate(PRICES)]
    table = load_table(write_rows(tmp_path / "prices.csv", rows, ",", "utf-8"))
    assert table.decimal == "." and table.thousands is None
    assert table.frame["price"].tolist() == PRICES
    assert "decimal" not in table.describe_format()


@pytest.mark.parametrize(("written", "decimal", "thousands", "delimiter"), [
    (["1.234.567,89", "12,5", "1.000", "-3.210,5"], ",", ".", ";"),
    (['"1,234,567.89"', "12.5", '"1,000"', '"-3,210.5"'], ".", ",", ","),
    (["1 234 567,89", "12,5", "1 000", "-3 210,5"], ",", " ", ";"),
    (["1\u00a0234\u00a0567,89", "12,5", "1\u00a0000", "-3\u00a0210,5"], ",", " ", "\t"),
])
def test_thousands_separators_where_consistent(tmp_path: Path, written: list[str], decimal: str, thousands: str,
                                               delimiter: str) -> None:
    rows = [["name", "amount"]] + [[f"n{i}", value] for i, value in enumerate(written)]
    table = load_table(write_rows(tmp_path / "amounts.csv", rows, delimiter, "utf-8"))
    assert (table.decimal, table.thousands) == (decimal, thousands)
    assert table.frame["amount"].tolist() == [1234567.89, 12.5, 1000.0, -3210.5]
    assert "thousands separated" in table.describe_format()


def test_ambiguous_values_are_chosen_by_the_file_and_said(tmp_path: Path) -> None:
    rows = [["name", "amount"], ["a", "1,250"], ["b", "2,500"], ["c", "3,125"]]
    semicolons = load_table(write_rows(tmp_path / "semi.csv", rows, ";", "utf-8"))
    assert semicolons.decimal == "," and semicolons.frame["amount"].tolist() == [1.25, 2.5, 3.125]
    assert any("could mean a decimal comma or a thousands separator" in note for note in semicolons.notes)
    # The person says otherwise: their choice wins, and "1,250" is then a thousand and more.
    chosen = load_table(semicolons.path, options=ReadOptions(decimal="."))
    assert chosen.frame["amount"].tolist() == [1250.0, 2500.0, 3125.0]


def test_one_unambiguous_value_decides_for_the_whole_column() -> None:
    assert detect_number_style(["1,250", "2,500", "0,125"]).decimal == ","
    assert detect_number_style(["1,250", "2,500", "12.5"]).decimal == "."
    assert detect_number_style(["1,250", "2,500", "12.5"]).thousands == ","
    mixed = detect_number_style(["1.5", "2.5", "3.5", "0,5"])
    assert mixed.decimal == "." and "both ways" in mixed.note


def test_to_number_reads_a_text_column_by_its_own_style() -> None:
    assert to_number(pd.Series(["-0,621", "0,125"])).tolist() == [-0.621, 0.125]
    assert to_number(pd.Series(["1,234", "12", "1,234,567"])).tolist() == [1234.0, 12.0, 1234567.0]
    assert to_number(pd.Series(["1.234.567,89", "12,5"])).tolist() == [1234567.89, 12.5]
    assert to_number(pd.Series(["1 234,5", "12,25"])).tolist() == [1234.5, 12.25]
    words = to_number(pd.Series(["0,5", "none", None]))
    assert words.iloc[0] == 0.5 and words.iloc[1:].isna().all()


def test_a_few_words_in_a_decimal_comma_column_stay_words(tmp_path: Path) -> None:
    rows = [["price"], ["1,5"], ["2,25"], ["unknown"]] + [[f"{i},75"] for i in range(12)]
    frame = load_table(write_rows(tmp_path / "p.csv", rows, ";", "utf-8")).frame
    assert frame["price"].tolist()[:2] == [1.5, 2.25] and frame["price"].iloc[2] == "unknown"
    profile = profile_frame(frame)[0]
    assert profile.kind is ColumnKind.NUMERIC and profile.nonconforming == 1


# -- encodings --------------------------------------------------------------------------------------------------
CITIES = {
    "iso-8859-2": ["Kraków", "Łódź", "Gdańsk", "Wrocław", "Poznań", "Bydgoszcz", "Białystok", "Częstochowa"],
    "cp1250": ["Praha", "Brno", "Ostrava", "Plzeň", "Liberec", "Olomouc", "České Budějovice", "Hradec Králové"],
    "cp1251": ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Нижний Новгород",
               "Челябинск", "Самара"],
    "shift_jis": ["東京", "大阪", "京都", "名古屋", "札幌", "福岡", "神戸", "横浜"],
    "euc_kr": ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원"],
    "cp1252": ["München", "Köln", "Düsseldorf", "Zürich", "Genève", "Besançon", "Málaga", "Coruña"],
}
NOTES = {
    # Everyday words: on a pangram packed with accents charset-normalizer takes Polish Latin-2 for Nordic Latin-6.
    "iso-8859-2": "dostawa w środę, płatność kartą", "cp1250": "příliš žluťoučký kůň",
    "cp1251": "съешь же ещё этих булок",
    "shift_jis": "いろはにほへと", "euc_kr": "다람쥐 헌 쳇바퀴에 타고파", "cp1252": "größer café über",
}


def corpus_rows(encoding: str, repeat: int = 6) -> list[list[str]]:
    rows = [["city", "price", "note"]]
    for round_ in range(repeat):
        for i, city in enumerate(CITIES[encoding]):
            rows.append([city, decimal_comma(PRICES[i]), f"{NOTES[encoding]} {round_}"])
    return rows


@pytest.mark.parametrize("encoding", list(CITIES))
def test_encodings_are_detected_and_named(tmp_path: Path, encoding: str) -> None:
    rows = corpus_rows(encoding)
    table = load_table(write_rows(tmp_path / "cities.csv", rows, ";", encoding))

    assert codecs.decode(codecs.encode(rows[1][0], encoding), table.encoding or "") == rows[1][0]
    assert table.frame["city"].tolist() == [row[0] for row in rows[1:]]  # what the person sees is the file's
    assert table.frame["note"].tolist() == [row[2] for row in rows[1:]]
    assert table.frame["price"].tolist() == PRICES * 6
    assert "UTF-8" not in table.describe_format()  # says which encoding, in words


@pytest.mark.parametrize(("encoding", "bom", "label"), [
    ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"), ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
    ("utf-16-le", b"", "UTF-16 LE"), ("utf-16-be", b"", "UTF-16 BE"),
    ("utf-8", codecs.BOM_UTF8, "UTF-8 with BOM"), ("utf-8", b"", "UTF-8"),
])
def test_unicode_with_and_without_a_byte_order_mark(tmp_path: Path, encoding: str, bom: bytes, label: str) -> None:
    rows = corpus_rows("cp1251", repeat=3)
    table = load_table(write_rows(tmp_path / "u.csv", rows, "\t", encoding, bom))
    assert list(table.frame.columns) == ["city", "price", "note"]
    assert table.frame["city"].tolist() == [row[0] for row in rows[1:]]
    assert table.frame["price"].tolist() == PRICES * 3
    assert label in table.describe_format()


def test_the_person_chooses_the_encoding(tmp_path: Path) -> None:
    rows = corpus_rows("cp1251", repeat=1)
    path = write_rows(tmp_path / "c.csv", rows, ";", "cp1251")
    table = load_table(path, options=ReadOptions(encoding="koi8_r"))
    assert table.encoding == "koi8_r" and table.frame["city"].tolist()[0] != rows[1][0]  # read as told
    with pytest.raises(DataError, match=r"not valid .* text"):
        load_table(path, options=ReadOptions(encoding="utf-8"))


def test_binary_file_gets_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(DataError, match="binary data"):
        load_table(path)


# -- reading options --------------------------------------------------------------------------------------------
def test_header_row_and_rows_to_skip(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text("Sales report\nexported 2024-01-01\n1;2,5\n3;4,5\n", encoding="utf-8")
    table = load_table(path, options=ReadOptions(skip_rows=2, header=False, delimiter=";"))
    assert list(table.frame.columns) == ["column_1", "column_2"]
    assert table.frame["column_2"].tolist() == [2.5, 4.5]
    assert "2 rows skipped" in table.options.describe() and "no header row" in table.options.describe()


def test_options_travel_as_plain_data() -> None:
    options = ReadOptions(delimiter=";", decimal=",", encoding="cp1250", skip_rows=1)
    assert ReadOptions.from_plain(options.to_plain()) == options
    assert ReadOptions().to_plain() == {} and ReadOptions.from_plain(None) == ReadOptions()
    assert ReadOptions(decimal=",").merged(ReadOptions(delimiter="\t")) == ReadOptions("\t", ",")
    assert ModelBundle(None, {}).read_options == ReadOptions()  # a model file from before: all detected
    assert ModelBundle(None, {"read_options": {"decimal": ","}}).read_options == ReadOptions(decimal=",")
    with pytest.raises(DataError, match="decimal mark"):
        ReadOptions(decimal=";")
    with pytest.raises(DataError, match="does not know the text encoding"):
        ReadOptions(encoding="martian")


# -- big fields, nested Parquet, the first rows -----------------------------------------------------------------
def test_fields_over_128_kib_are_read(tmp_path: Path) -> None:
    big = "x" * (200 * 1024)
    path = tmp_path / "long.csv"
    path.write_text(f"id,text,n\n1,{big},2\n2,short,3\n", encoding="utf-8")
    frame = load_table(path).frame
    assert len(frame["text"].iloc[0]) == len(big) and frame["n"].tolist() == [2, 3]
    # Over pyarrow's block of a megabyte too: the C parser reads the row.
    huge = "y" * (3 * 1024 * 1024)
    path.write_text(f"id,text,n\n1,{huge},2\n2,short,3\n", encoding="utf-8")
    assert load_table(path).frame["text"].str.len().tolist() == [len(huge), 5]
    semicolons = tmp_path / "long_semi.csv"
    semicolons.write_text(f"id;text;n\n1;{big};2,5\n2;short;3,5\n", encoding="utf-8")
    assert load_table(semicolons).frame["n"].tolist() == [2.5, 3.5]


def test_parquet_lists_and_records_are_left_out_with_a_note(tmp_path: Path) -> None:
    table = pa.table({"x": [1.0, 2.0], "tags": [["a"], ["b", "c"]], "where": [{"lat": 1.0}, {"lat": 2.0}]})
    pq.write_table(table, tmp_path / "nested.parquet")
    loaded = load_table(tmp_path / "nested.parquet")
    assert list(loaded.frame.columns) == ["x"]
    assert "'tags', 'where'" in loaded.notes[0] and "lists or nested records" in loaded.notes[0]
    pq.write_table(pa.table({"tags": [["a"], ["b"]]}), tmp_path / "only.parquet")
    with pytest.raises(DataError, match=r"Every column of only\.parquet holds lists"):
        load_table(tmp_path / "only.parquet")


def test_a_big_file_shows_its_first_rows_before_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "HEAD_MIN_BYTES", 100_000)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60_000).round(3), "b": rng.integers(0, 9, 60_000)})
    path = tmp_path / "big.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    job = read_table(path)
    items = []
    try:
        while True:
            items.append(next(job))
    except StopIteration as finished:
        table = finished.value
    heads = [item for item in items if isinstance(item, TableHead)]
    assert len(heads) == 1 and heads[0].frame is not None
    head = heads[0].frame
    assert 0 < len(head) <= 1000
    assert head["a"].tolist() == frame["a"].head(len(head)).tolist()  # read as the whole file is
    assert table.frame["a"].tolist() == frame["a"].tolist()
