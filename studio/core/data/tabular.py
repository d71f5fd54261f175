"""Reading CSV, Excel and Parquet tables into pandas, with the sniffing a person expects from a desktop app.

A text table's encoding (a byte-order mark, UTF-8, else charset-normalizer), delimiter, decimal mark and thousands
separator are detected from its first block, unless the person set them (``ReadOptions``); the whole file is then
read on every core, by pandas' C parser where it gives the frame pyarrow's reader would, else by pyarrow's, with
pandas' parser as the fallback that explains a malformed row. ``read_table`` yields the first rows (``TableHead``)
before the whole file is parsed. Every failure becomes a :class:`DataError` with a sentence a non-programmer can
act on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
import warnings
from collections.abc import Callable, Generator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from studio.core.common.errors import Cancelled, DataError, first_line
from studio.core.common.progress import Progress, StopCheck, never_stop, run_interruptibly
from studio.core.data.download import downloaded, is_url
from studio.core.data.formats import WORKBOOK_SUFFIXES, read_other_format, sniff_text_kind
from studio.core.data.kinds import DataKind
from studio.core.data.read_options import (
    DECIMAL_NAMES,
    DELIMITER_NAMES,
    THOUSANDS_NAMES,
    NumberStyle,
    ReadOptions,
    detect_number_style,
)

SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
EXCEL_SUFFIXES = WORKBOOK_SUFFIXES
PARQUET_SUFFIXES = (".parquet", ".pq")
# Strings that mean "no value" in exported spreadsheets; an empty cell is always missing.
MISSING_MARKERS = ["", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A", "?"]


@dataclass(frozen=True)
class LoadedTable:
    """A table read from disk and how it was read."""

    frame: pd.DataFrame
    path: str
    encoding: str | None
    delimiter: str | None
    # Formats other than CSV (formats.py): what was read ("JSON Lines", "Excel workbook, sheet 'Prices'"), and for
    # a workbook the sheet read and every sheet it has, for the Data page's sheet picker.
    format_label: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    # Text files: how numbers are written (the decimal mark, the thousands separator or None), what the person
    # set about reading the file (the rest was detected), and sentences about choices made while reading it.
    decimal: str = "."
    thousands: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)
    notes: tuple[str, ...] = ()

    kind: ClassVar[DataKind] = DataKind.TABLE

    @property
    def name(self) -> str:
        return Path(self.path).name

    def describe_format(self) -> str:
        parts = [f"{len(self.frame):,} rows", f"{self.frame.shape[1]} columns"]
        if self.format_label is not None:
            parts.append(self.format_label)
        if self.delimiter is not None:
            parts.append(f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated")
        if self.delimiter is not None and self.decimal != ".":
            parts.append(DECIMAL_NAMES.get(self.decimal, repr(self.decimal)))
        if self.thousands is not None:
            parts.append(f"thousands separated by a {THOUSANDS_NAMES.get(self.thousands, repr(self.thousands))}")
        if self.encoding is not None:
            parts.append(encoding_label(self.encoding))
        return ", ".join(parts)


def load_table(path: str | Path, sheet: str | None = None, options: ReadOptions | None = None) -> LoadedTable:
    """Read a CSV, Excel or Parquet file into a DataFrame with unique, string column names. ``options``: what the
    person set about reading a text table (the rest is detected)."""
    if is_url(path):  # a web address (download.py): read from a temporary copy, recorded by its address
        with downloaded(str(path)) as local:
            return replace(load_table(local, sheet, options), path=str(path).strip())
    path = Path(path)
    if not path.exists():
        raise DataError(f"There is no file at {path}.")
    if path.is_dir():
        raise DataError(f"{path.name} is a folder, not a table file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"Studio cannot read {path.name}: {exc.strerror or exc}.") from exc
    if size == 0:
        raise DataError(f"{path.name} is empty: it has no header and no rows.")
    suffix = path.suffix.lower()
    sheet = sheet or (options.sheet if options is not None else None)
    other = read_other_format(path, sheet, MISSING_MARKERS)  # JSON (by content too), workbooks, Feather, ARFF
    if other is not None:
        # A sheet the person picked is kept with the options, so a run or model reads the same sheet again.
        table = LoadedTable(other.frame, str(path), None, None, other.label, other.sheet, other.sheets,
                            options=replace(options or ReadOptions(), sheet=sheet))
    elif suffix in PARQUET_SUFFIXES:
        frame, notes = _read_parquet(path)
        table = LoadedTable(frame, str(path), None, None, notes=notes)
    else:
        table = _read_csv(path, options or ReadOptions())
    return _checked(table)


def _checked(table: LoadedTable) -> LoadedTable:
    frame = table.frame
    if frame.shape[1] == 0:
        raise DataError(f"{table.name} has no columns.")
    if len(frame) == 0:
        raise DataError(f"{table.name} has a header but no data rows.")
    frame.columns = _unique_names([str(c) for c in frame.columns])
    return table


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for index, raw in enumerate(names):
        name = raw.strip() or f"column_{index + 1}"
        if name.startswith("Unnamed: "):
            name = f"column_{index + 1}"
        base, count = name, seen.get(name, 0)
        while name in seen:
            count += 1
            name = f"{base}_{count}"
        seen[base] = count
        seen[name] = 0
        result.append(name)
    return result


def _read_parquet(path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """A Parquet file's columns that pandas can hold; lists and nested records are left out, with a note."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        nested = [column.name for column in schema if pa.types.is_nested(column.type)]
        kept = [column.name for column in schema if column.name not in nested]
        if nested and not kept:
            raise DataError(f"Every column of {path.name} holds lists or nested records ({_names(nested)}); "
                            "Studio learns from tables of plain values. Flatten the file and open it again.")
        frame = pq.read_table(path, columns=kept if nested else None).to_pandas()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path.name} is not a readable Parquet file ({first_line(exc, 160)}).") from exc
    notes: tuple[str, ...] = ()
    if nested:
        notes = (f"Studio left out {_names(nested)}: {'it holds' if len(nested) == 1 else 'they hold'} lists or "
                 "nested records, which it cannot learn from.",)
    return frame, notes


def _names(names: list[str], shown: int = 5) -> str:
    quoted = [f"'{name}'" for name in names[:shown]]
    rest = len(names) - shown
    text = ", ".join(quoted) + (f" and {rest} more" if rest > 0 else "")
    return ("the column " if len(names) == 1 else "the columns ") + text


# -- text tables ------------------------------------------------------------------------------------------------
# Python's csv module refuses fields over 128 KiB by default; a cell holding a long text or an embedded document is
# legitimate, so the limit is lifted once (the module keeps one limit for the whole process).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
# The first rows shown while the whole file is read (and read quickly from the sniffed block alone).
HEAD_ROWS = 1_000
# Rows of the sniffed block whose values decide how numbers are written.
STYLE_ROWS = 2_000


@dataclass(frozen=True)
class CsvLayout:
    """How a text table is written: detected, or as the person set it (``ReadOptions``)."""

    encoding: str
    delimiter: str
    style: NumberStyle
    header: bool = True
    skip_rows: int = 0


@dataclass(frozen=True, eq=False)
class TableHead(Progress):
    """A progress item carrying the first rows of a table being read, to show before the whole file is parsed."""

    frame: pd.DataFrame | None = None
    layout: CsvLayout | None = None


def _read_csv(path: Path, options: ReadOptions, sniffed: tuple[CsvLayout, str] | None = None) -> LoadedTable:
    layout, text = sniffed or sniff_csv(path, options)
    frame = _parse_csv(path, layout, text)
    return LoadedTable(frame, str(path), layout.encoding, layout.delimiter, decimal=layout.style.decimal,
                       thousands=layout.style.thousands, options=options,
                       notes=(layout.style.note,) if layout.style.note else ())


def sniff_csv(path: Path, options: ReadOptions | None = None) -> tuple[CsvLayout, str]:
    """Detect what the person did not set from the file's first block; returns the layout and that block as
    text (its last, possibly cut line dropped)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        whole = len(head) < SNIFF_BYTES or not handle.read(1)
    options = options or ReadOptions()
    encoding = options.encoding or detect_encoding(head, path.name)
    try:
        text = _decode_head(head, encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"The start of {path.name} is not valid {encoding_label(encoding)} text (byte "
                        f"{exc.start:,}). Choose another encoding in the reading options.") from exc
    if not whole and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the block may end inside a row
    lines = text.splitlines(keepends=True)
    body = "".join(lines[options.skip_rows:])
    if not body.strip():
        if options.skip_rows and text.strip():
            raise DataError(f"Skipping {options.skip_rows} rows leaves nothing of {path.name} to read.")
        raise DataError(f"{path.name} is empty: it holds only blank lines.")
    delimiter = options.delimiter or detect_delimiter(body)
    style = detect_number_style(_sample_values(body, delimiter, options.header), delimiter, options.decimal)
    if options.decimal is not None:
        style = NumberStyle(options.decimal, style.thousands)
    return CsvLayout(encoding, delimiter, style, options.header, options.skip_rows), text


# A digit, a mark that may separate decimals or thousands, a digit: only such values say how numbers are written.
_MARKED = re.compile("\\d[,.' \u00a0\u202f]\\d")
STYLE_VALUES = 5_000


def _sample_values(body: str, delimiter: str, header: bool) -> list[str]:
    """Values of the first rows with a decimal or thousands mark in them (the rest cannot vote)."""
    rows = csv.reader(io.StringIO(body), delimiter=delimiter)
    values: list[str] = []
    search = _MARKED.search
    try:
        for index, row in enumerate(rows):
            if index == 0 and header:
                continue
            if index > STYLE_ROWS or len(values) > STYLE_VALUES:
                break
            values.extend(value for value in row if search(value))
    except csv.Error:
        pass  # a malformed row: the values so far decide, and parsing the file explains the row
    return values


def detect_encoding(head: bytes, name: str = "the file") -> str:
    """Pick the encoding of a text file from its first bytes, or explain why it is not text.

    A byte-order mark decides; text that is valid UTF-8 is UTF-8; anything else is recognised by
    charset-normalizer, which weighs how natural the text reads in each candidate encoding.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" not in head:
        try:
            _decode_head(head, "utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    encoding = _normalizer_guess(head)
    if encoding is None and b"\x00" in head:
        raise DataError(
            f"{name} does not look like a text table: it contains binary data. "
            "Open a CSV, Excel or Parquet file."
        )
    if encoding is not None and _looks_like_text(_decode_head(head, encoding)):
        return encoding
    raise DataError(
        f"Studio could not recognise the text encoding of {name}. "
        "Save it as UTF-8 (for example with 'Save as CSV UTF-8' in a spreadsheet) and open it again, or choose "
        "its encoding in the reading options."
    )


# Encodings that tables are commonly exported in, most common first. charset-normalizer weighs every code page
# alike, so on a short file it may name a rare one (Nordic iso8859_10 for Polish Latin-2 text, cp1250 for French
# cp1252): among the candidates that read the text about as naturally, a common single-byte code page is preferred
# in this order, while multi-byte ones (Japanese, Korean, Chinese) keep charset-normalizer's own order.
COMMON_ENCODINGS = ("utf_8", "cp1252", "cp1250", "iso8859_2", "cp1251", "koi8_r", "iso8859_15", "latin_1",
                    "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "iso8859_7", "iso8859_9", "cp874",
                    "mac_roman", "cp932", "shift_jis", "euc_jp", "cp949", "euc_kr", "gb18030", "big5", "utf_16_le",
                    "utf_16_be", "utf_32")
MULTI_BYTE = {"cp932", "shift_jis", "shift_jis_2004", "euc_jp", "euc_jis_2004", "cp949", "euc_kr", "johab",
              "gb18030", "gb2312", "gbk", "big5", "big5hkscs", "cp950", "hz", "utf_16_le", "utf_16_be", "utf_16",
              "utf_32", "utf_32_le", "utf_32_be"}
NORMALIZER_BYTES = 64 * 1024
RARE_PENALTY = 0.1


def _normalizer_guess(head: bytes) -> str | None:
    from charset_normalizer import from_bytes

    sample = head[:NORMALIZER_BYTES]
    matches = list(from_bytes(sample))
    if not matches:
        return None

    def preference(position: int) -> tuple[float, int, int]:
        encoding = matches[position].encoding
        common = encoding in COMMON_ENCODINGS
        chaos = round(matches[position].chaos + (0.0 if common else RARE_PENALTY), 2)
        if encoding in MULTI_BYTE:
            return chaos, 0, position
        return chaos, 1, COMMON_ENCODINGS.index(encoding) if common else len(COMMON_ENCODINGS) + position

    chosen = matches[min(range(len(matches)), key=preference)].encoding
    if chosen in COMMON_ENCODINGS and chosen not in MULTI_BYTE:
        # Name the most common code page that reads these bytes as the same text (German text is the same in
        # cp1250 and cp1252; calling it Central European would puzzle its owner).
        text = _decode_head(sample, chosen)
        for common in COMMON_ENCODINGS[: COMMON_ENCODINGS.index(chosen)]:
            try:
                if _decode_head(sample, common) == text:
                    return common
            except UnicodeDecodeError:
                continue
    return chosen


_ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
                    "utf-16-le": "UTF-16 LE (no BOM)", "utf-16-be": "UTF-16 BE (no BOM)",
                    "cp1252": "Windows Western European (cp1252)", "latin-1": "Latin-1", "iso8859-1": "Latin-1",
                    "cp1250": "Windows Central European (cp1250)", "iso8859-2": "Latin-2 (ISO-8859-2)",
                    "cp1251": "Windows Cyrillic (cp1251)", "koi8-r": "Cyrillic (KOI8-R)",
                    "cp932": "Japanese (Shift-JIS)", "shift_jis": "Japanese (Shift-JIS)", "euc_jp": "Japanese (EUC-JP)",
                    "cp949": "Korean (EUC-KR)", "euc_kr": "Korean (EUC-KR)", "gb18030": "Chinese (GB18030)",
                    "big5": "Chinese (Big5)"}


def encoding_label(encoding: str) -> str:
    """An encoding in words ("Japanese (Shift-JIS)"), whichever of its names it was given by."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    if encoding.lower().replace("_", "-") == "utf-8-sig":
        name = "utf-8-sig"
    return _ENCODING_LABELS.get(name, _ENCODING_LABELS.get(encoding, encoding))


def _decode_head(head: bytes, encoding: str) -> str:
    # The sniffed block may end in the middle of a multi-byte character: decode incrementally.
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(head, final=False)


_ODD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    odd = len(_ODD_CHARS.findall(text))
    letters = sum(ch.isalnum() or ch.isspace() or ch in ",;\t|.-_\"'" for ch in text)
    return odd / len(text) < 0.01 and letters / len(text) > 0.7


def detect_delimiter(text: str) -> str:
    """Choose the delimiter that splits the first lines into the most consistent number of fields."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    if not any(delimiter in lines[0] for delimiter in DELIMITERS):
        # A header of one name is a table of one column: its values may hold commas ("1,5"), not columns.
        return next((d for d in (";", "\t", "|") if not any(d in line for line in lines[:20])), ",")
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines[:20]]
        if counts[0] <= 1:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = consistent * 10 + counts[0] / 100
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_csv(path: Path, layout: CsvLayout, text: str) -> pd.DataFrame:
    # The first block's types speed up reading the rest; a file that is all first block would only be read twice.
    schema = _head_schema(text, layout) if path.stat().st_size > SNIFF_BYTES else None
    frame = _parse_in_pandas_threads(path, layout, schema) if schema is not None else None
    if frame is None:
        try:
            # pyarrow reads on every core, with its own type detection; the C parser explains a bad row better.
            frame = _parse_with_arrow(path, layout, schema)
        except Exception:
            frame = _parse_with_pandas(path, layout)
    return _finish(frame, layout)


def _arrow_options(layout: CsvLayout, encoding: str) -> tuple[Any, Any, dict[str, Any]]:
    """pyarrow's read and parse options for ``layout``, and the keywords of its convert options."""
    import pyarrow.csv as pa_csv

    read = pa_csv.ReadOptions(encoding=encoding, skip_rows=layout.skip_rows,
                              autogenerate_column_names=not layout.header)
    converting = {"null_values": MISSING_MARKERS, "strings_can_be_null": True, "decimal_point": layout.style.decimal}
    return read, pa_csv.ParseOptions(delimiter=layout.delimiter), converting


def _head_schema(text: str, layout: CsvLayout) -> Any:
    """The column names and types pyarrow finds in the first block (``text``, decoded); None when that block
    does not read as a table on its own or repeats a column name (columns are then told apart by position only)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    read, parse, converting = _arrow_options(layout, "utf8")
    try:
        schema = pa_csv.read_csv(io.BytesIO(text.encode("utf-8")), read, parse,
                                 pa_csv.ConvertOptions(**converting)).schema
    except (pa.ArrowException, ValueError):
        return None
    return schema if len(set(schema.names)) == len(schema.names) else None


# pyarrow's types that a whole file is first read with, as its first block has them: each reads a value as pyarrow's
# own look at the whole column would (a text column stays text; a number that a later value contradicts fails the
# read, which is then done again with every value looked at). Text becomes large_string, pandas' own string storage,
# which spares a copy of each text column when the table becomes a frame.
_DECLARED_TYPES = {"int64": "int64", "double": "float64", "string": "large_string"}


def _parse_with_arrow(path: Path, layout: CsvLayout, head_schema: Any) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    # pyarrow skips a UTF-8 BOM itself and transcodes anything else through Python's codecs.
    encoding = "utf8" if layout.encoding in ("utf-8", "utf-8-sig") else layout.encoding
    read, parse, converting = _arrow_options(layout, encoding)
    types = {} if head_schema is None else {
        field.name: getattr(pa, _DECLARED_TYPES[str(field.type)])() for field in head_schema
        if str(field.type) in _DECLARED_TYPES}
    if types:
        try:
            # Declared types spare trying each value for its type: a tenth of the time on a million rows.
            typed = pa_csv.ConvertOptions(**converting, column_types=types)
            return pa_csv.read_csv(path, read, parse, typed).to_pandas()
        except pa.ArrowInvalid:
            pass
    return pa_csv.read_csv(path, read, parse, pa_csv.ConvertOptions(**converting)).to_pandas()


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


# pandas 3.1 reads a large local UTF-8 file with its C parser on every core, using a fifth less processor time than
# pyarrow's reader (a million rows of 20 columns: 0.45-0.50 s against 0.55-0.65 s on two cores); earlier pandas
# reads on one core.
PANDAS_READS_IN_THREADS = _version(pd.__version__) >= (3, 1)
# Below this size pandas reads on one core, and pyarrow's reader is as quick (pandas' own threshold).
THREADED_MIN_BYTES = 5 * 1024 * 1024
# The pandas types that hold a column exactly as pyarrow's reader gives it, by the type pyarrow finds in the first
# block. Dates and times (which pyarrow reads and pandas leaves as text), yes/no values (gaps that pyarrow gives as
# None and pandas as NaN) and columns blank in the first block are left to pyarrow.
_SAME_IN_PANDAS = {"int64": ("int64", "float64"), "double": ("float64",), "string": ("str",)}


def _parse_in_pandas_threads(path: Path, layout: CsvLayout, head_schema: Any) -> pd.DataFrame | None:
    """The whole file read by pandas' C parser on every core, where the frame it gives is the one pyarrow's reader
    would: every column of the first block a number or text, and every column of the whole file of the pandas type
    pyarrow's would have. None otherwise (numbers past the first block that pyarrow would read differently, such
    as integers beyond 64 bits, which pandas keeps exact; a column pandas reads as a mix of numbers and text), and
    for whatever pandas cannot read: pyarrow then reads the file."""
    if not PANDAS_READS_IN_THREADS or layout.encoding not in ("utf-8", "utf-8-sig"):
        return None
    types = [str(field.type) for field in head_schema]
    if any(kind not in _SAME_IN_PANDAS for kind in types) or not all(name.strip() for name in head_schema.names):
        return None
    try:
        if path.stat().st_size < THREADED_MIN_BYTES:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # a mixed column: refused below
            frame = pd.read_csv(path, encoding=layout.encoding, **_pandas_options(layout))
    except Exception:
        return None  # pyarrow's reader, then pandas' with its sentence about the bad row, say what is wrong
    names = head_schema.names if layout.header else list(range(len(types)))
    if list(frame.columns) != names:
        return None
    for dtype, kind in zip(frame.dtypes, types, strict=True):
        if str(dtype) not in _SAME_IN_PANDAS[kind]:
            return None
    return frame


def _pandas_options(layout: CsvLayout) -> dict[str, Any]:
    return {"sep": layout.delimiter, "na_values": MISSING_MARKERS, "keep_default_na": False,
            "decimal": layout.style.decimal, "skiprows": layout.skip_rows,
            "header": 0 if layout.header else None, "skip_blank_lines": True}


def _parse_with_pandas(path: Path, layout: CsvLayout) -> pd.DataFrame:
    encoding = layout.encoding
    try:
        return pd.read_csv(path, encoding=encoding, **_pandas_options(layout))
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path.name} is empty: it has no header and no rows.") from exc
    except pd.errors.ParserError as exc:
        raise DataError(_ragged_message(path.name, str(exc), layout.skip_rows)) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Part of {path.name} is not valid {encoding_label(encoding)} text (byte {exc.start:,}). "
            "Save it as UTF-8 and open it again, or choose its encoding in the reading options."
        ) from exc
    except (ValueError, OSError) as exc:
        raise DataError(f"Studio cannot read {path.name}: {first_line(exc, 160)}.") from exc


CONVERT_PROBE = 500


def _finish(frame: pd.DataFrame, layout: CsvLayout) -> pd.DataFrame:
    """Columns named when the file has no header, and numbers with a decimal comma or thousands separators that
    the parser left as text read as numbers (a value that is no number stays as written)."""
    if not layout.header:
        frame.columns = [f"column_{index + 1}" for index in range(frame.shape[1])]
    if layout.style.is_plain:
        return frame
    from studio.core.data.profile import to_number

    # By position: the file may repeat a column name (pyarrow keeps both), and frame[name] is then a table.
    for index in range(frame.shape[1]):
        column = frame.iloc[:, index]
        if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
            continue
        # Words ("city_3") are told from numbers on a few hundred values, before parsing a million.
        head = _first_present(column, CONVERT_PROBE)
        if len(head) and _mostly_words(head, layout.style):
            continue
        present = column.notna()
        numbers = to_number(column, layout.style)
        parsed = numbers.notna()
        if int(present.sum()) and int(parsed.sum()) >= 0.5 * int(present.sum()):
            # A Series, as assigning by name took (pandas-stubs list only arrays and scalars for isetitem).
            value: Any = numbers if bool(parsed.eq(present).all()) else column.where(~parsed, numbers)
            frame.isetitem(index, value)
    return frame


# What to_number reads as a number starts, once stripped, with a digit, a sign, a decimal mark or the "i" of
# "inf": other values are words whatever the style, told without parsing them.
_MAY_BE_NUMBER = re.compile(r"\s*[\d+\-.,iI]")


def _mostly_words(values: pd.Series, style: NumberStyle) -> bool:
    """Whether fewer than half of ``values`` read as numbers written in ``style``. Most text columns are words
    ("city_3", "yes"), and parsing them costs 2-5 ms a column where looking at their first letters costs 0.1."""
    from studio.core.data.profile import to_number

    half = 0.5 * len(values)
    match = _MAY_BE_NUMBER.match
    if sum(1 for value in values if match(value if isinstance(value, str) else str(value))) < half:
        return True
    return int(to_number(values, style).notna().sum()) < half


def _first_present(column: pd.Series, count: int) -> pd.Series:
    """The first ``count`` values of ``column`` that are not missing, looked for among its first rows before the
    whole column: dropping the gaps of a million values first took 40 ms a text column."""
    head = column.iloc[: 4 * count].dropna()
    if len(head) < count and len(column) > 4 * count:
        head = column.dropna()
    return head.head(count)


_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _ragged_message(name: str, detail: str, skipped: int = 0) -> str:
    match = _RAGGED.search(detail)
    if match:
        expected, line, saw = match.groups()
        return (
            f"Line {int(line) + skipped} of {name} has {saw} values, but the header names {expected} columns. "
            "Check for an extra delimiter or an unquoted comma on that line."
        )
    return f"{name} is not a well-formed table: {detail.strip().splitlines()[0][:160]}"


def read_csv_text(text: str) -> pd.DataFrame:
    """Parse CSV text with the same rules as files; handy for tests and pasted data."""
    delimiter = detect_delimiter(text)
    style = detect_number_style(_sample_values(text, delimiter, True), delimiter)
    layout = CsvLayout("utf-8", delimiter, style)
    frame = pd.read_csv(io.StringIO(text), **_pandas_options(layout))
    return _finish(frame, layout)


def read_csv_head(path: Path, layout: CsvLayout, text: str, rows: int = HEAD_ROWS) -> pd.DataFrame | None:
    """The first rows of a text table from its sniffed block, read as the whole file will be; None when the
    block does not parse on its own (the whole file's reading then explains why)."""
    try:
        frame = pd.read_csv(io.StringIO(text), nrows=rows, **_pandas_options(layout))
    except Exception:
        return None
    if frame.shape[1] == 0 or len(frame) == 0:
        return None
    frame = _finish(frame, layout)
    frame.columns = _unique_names([str(c) for c in frame.columns])
    return frame


def read_table(path: str | Path, should_stop: StopCheck = never_stop, sheet: str | None = None,
               options: ReadOptions | None = None) -> Generator[Progress, None, LoadedTable]:
    """Loading as a job for a worker: a progress item, the first rows of a text table (a ``TableHead``, shown
    while the rest is read), then the table."""
    name = Path(path).name
    yield Progress("Reading", None, f"Reading {name}")
    options = options or ReadOptions()
    sniffed = _sniffed_big_text(Path(path), options, sheet)
    if sniffed is None:
        return run_interruptibly(lambda: load_table(path, sheet, options), should_stop)
    layout, text = sniffed
    # The whole file is read with the layout just sniffed, starting now: pandas' or pyarrow's reader parses it on
    # threads of its own, mostly without the interpreter's lock, while the first rows are parsed and shown here.
    whole = _started(lambda: _checked(_read_csv(Path(path), options, sniffed)))
    frame = read_csv_head(Path(path), layout, text)
    if frame is not None:
        yield TableHead("Reading", None, f"Reading {name}: the first {len(frame):,} rows are shown", None, frame,
                        layout)
    while True:
        try:
            return whole.result(timeout=WAIT_S)
        except FutureTimeout:
            if should_stop():
                raise Cancelled() from None


# Files read whole before a head could be shown, and formats that are not delimited text.
HEAD_MIN_BYTES = 1_000_000
TEXT_LESS_SUFFIXES = (*EXCEL_SUFFIXES, *PARQUET_SUFFIXES, ".json", ".jsonl", ".ndjson", ".feather", ".arrow",
                      ".ods", ".arff", ".sqlite", ".db", ".sqlite3")
WAIT_S = 0.1  # how often a job waiting for the whole file looks whether it was cancelled


def _sniffed_big_text(path: Path, options: ReadOptions, sheet: str | None) -> tuple[CsvLayout, str] | None:
    """The layout and first block of a text table big enough to show its first rows before the rest; None for
    anything else, read whole by ``load_table``."""
    if sheet is not None or not path.is_file() or path.suffix.lower() in TEXT_LESS_SUFFIXES:
        return None
    try:
        if path.stat().st_size < HEAD_MIN_BYTES:
            return None  # read whole in a moment: a head first would only flicker
        layout, text = sniff_csv(path, options)
    except (DataError, OSError):
        return None  # the whole file's reading says why
    if sniff_text_kind(text[:4096].encode("utf-8", "replace")) is not None:
        return None  # JSON or ARFF in a text file's clothes: its own reader decides
    return layout, text


def _started(work: Callable[[], LoadedTable]) -> Future[LoadedTable]:
    """``work`` running on a thread of its own; a job cancelled meanwhile leaves it to finish unheard, as
    ``run_interruptibly`` does."""
    future: Future[LoadedTable] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # re-raised by future.result() on the job's thread
            future.set_exception(exc)

    threading.Thread(target=run, name="studio-read-table", daemon=True).start()
    return future
