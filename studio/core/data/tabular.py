"""Reading CSV, Excel and Parquet tables into pandas, with the sniffing a person expects from a desktop app.

Every failure becomes a :class:`DataError` with a sentence a non-programmer can act on.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from studio.core.common.errors import DataError, first_line
from studio.core.common.progress import Progress, StopCheck, never_stop, run_interruptibly
from studio.core.data.kinds import DataKind

SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
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

    kind: ClassVar[DataKind] = DataKind.TABLE

    @property
    def name(self) -> str:
        return Path(self.path).name

    def describe_format(self) -> str:
        parts = [f"{len(self.frame):,} rows", f"{self.frame.shape[1]} columns"]
        if self.delimiter is not None:
            parts.append(f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated")
        if self.encoding is not None:
            parts.append(_ENCODING_LABELS.get(self.encoding, self.encoding))
        return ", ".join(parts)


_ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "cp1252": "Windows Latin-1",
                    "latin-1": "Latin-1", "utf-16": "UTF-16"}


def load_table(path: str | Path) -> LoadedTable:
    """Read a CSV, Excel or Parquet file into a DataFrame with unique, string column names."""
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
    if suffix in EXCEL_SUFFIXES:
        table = LoadedTable(_read_excel(path), str(path), None, None)
    elif suffix in PARQUET_SUFFIXES:
        table = LoadedTable(_read_parquet(path), str(path), None, None)
    else:
        frame, encoding, delimiter = _read_csv(path)
        table = LoadedTable(frame, str(path), encoding, delimiter)
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


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, na_values=MISSING_MARKERS, keep_default_na=False)
    except ImportError as exc:
        raise DataError("Reading Excel files needs the openpyxl package, which is not installed.") from exc
    except Exception as exc:
        raise DataError(f"{path.name} is not a readable Excel workbook ({first_line(exc, 160)}).") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"{path.name} is not a readable Parquet file ({first_line(exc, 160)}).") from exc


def _read_csv(path: Path) -> tuple[pd.DataFrame, str, str]:
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = detect_encoding(head, path.name)
    text_head = _decode_head(head, encoding)
    if not text_head.strip():
        raise DataError(f"{path.name} is empty: it holds only blank lines.")
    delimiter = detect_delimiter(text_head)
    frame = _parse_csv(path, encoding, delimiter)
    return frame, encoding, delimiter


def detect_encoding(head: bytes, name: str = "the file") -> str:
    """Pick the encoding of a text file from its first bytes, or explain why it is not text."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise DataError(
            f"{name} does not look like a text table: it contains binary data. "
            "Open a CSV, Excel or Parquet file."
        )
    try:
        _decode_head(head, "utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = _decode_head(head, "cp1252")
        encoding = "cp1252"
    except UnicodeDecodeError:
        text = _decode_head(head, "latin-1")
        encoding = "latin-1"
    if _looks_like_text(text):
        return encoding
    raise DataError(
        f"Studio could not recognise the text encoding of {name}. "
        "Save it as UTF-8 (for example with 'Save as CSV UTF-8' in a spreadsheet) and open it again."
    )


def _decode_head(head: bytes, encoding: str) -> str:
    # The sniffed block may end in the middle of a multi-byte character: decode incrementally.
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(head, final=False)


_ODD_CHARS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    odd = len(_ODD_CHARS.findall(text))
    letters = sum(ch.isalnum() or ch in " ,;\t|.-_\"'\r\n" for ch in text)
    return odd / len(text) < 0.01 and letters / len(text) > 0.7


def detect_delimiter(text: str) -> str:
    """Choose the delimiter that splits the first lines into the most consistent number of fields."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
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


def _parse_csv(path: Path, encoding: str, delimiter: str) -> pd.DataFrame:
    common: dict[str, Any] = {"sep": delimiter, "na_values": MISSING_MARKERS, "keep_default_na": False}
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            # pyarrow reads large files several times faster; fall back to the C parser for precise errors.
            return pd.read_csv(path, engine="pyarrow", encoding=encoding, **common)
        except Exception:
            pass
    try:
        return pd.read_csv(path, encoding=encoding, **common, skip_blank_lines=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path.name} is empty: it has no header and no rows.") from exc
    except pd.errors.ParserError as exc:
        raise DataError(_ragged_message(path.name, str(exc))) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Part of {path.name} is not valid {encoding.upper()} text (byte {exc.start:,}). "
            "Save it as UTF-8 and open it again."
        ) from exc
    except (ValueError, OSError) as exc:
        raise DataError(f"Studio cannot read {path.name}: {first_line(exc, 160)}.") from exc


_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _ragged_message(name: str, detail: str) -> str:
    match = _RAGGED.search(detail)
    if match:
        expected, line, saw = match.groups()
        return (
            f"Line {line} of {name} has {saw} values, but the header names {expected} columns. "
            "Check for an extra delimiter or an unquoted comma on that line."
        )
    return f"{name} is not a well-formed table: {detail.strip().splitlines()[0][:160]}"


def read_csv_text(text: str) -> pd.DataFrame:
    """Parse CSV text with the same rules as files; handy for tests and pasted data."""
    delimiter = detect_delimiter(text)
    return pd.read_csv(io.StringIO(text), sep=delimiter, na_values=MISSING_MARKERS, keep_default_na=False)


def read_table(path: str | Path, should_stop: StopCheck = never_stop) -> Generator[Progress, None, LoadedTable]:
    """Loading as a job for a worker: one progress item, then the table."""
    yield Progress("Reading", None, f"Reading {Path(path).name}")
    return run_interruptibly(lambda: load_table(path), should_stop)
