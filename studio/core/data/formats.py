"""The table formats besides CSV and Parquet: JSON and JSON Lines (recognised by their content as well as their
name), Feather, every sheet of an Excel or OpenDocument workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) and Weka's
ARFF (arff.py); and a table pasted from a spreadsheet (tab-separated text).

Each reader returns the frame and a few words on how it was read; every failure is a DataError sentence.
tabular.py dispatches here; this module does not import it back, so there is no import loop.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from studio.core.common.errors import DataError, first_line
from studio.core.data.arff import read_arff_frame

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".jsonlines")
FEATHER_SUFFIXES = (".feather", ".arrow", ".ipc")
ARFF_SUFFIXES = (".arff",)
# What the Data page's file dialog offers besides CSV and Parquet.
OTHER_FORMAT_PATTERNS = " ".join(f"*{suffix}" for suffix in (*WORKBOOK_SUFFIXES, *JSON_SUFFIXES, *FEATHER_SUFFIXES,
                                                               *ARFF_SUFFIXES))
# Enough of a text file to tell JSON, JSON Lines and ARFF from CSV.
SNIFF_BYTES = 64 * 1024
# Rows whose nested objects decide whether JSON records need flattening ("address.city").
NESTING_SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class FormatRead:
    """A frame read by one of these readers, the words that say how, and a workbook's sheets."""

    frame: pd.DataFrame
    label: str | None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()


def read_other_format(path: Path, sheet: str | None = None, missing: Sequence[str] = ()) -> FormatRead | None:
    """Read ``path`` when its name or its content is one of these formats; None leaves it to the CSV reader.

    ``missing`` are the strings a workbook cell uses for "no value" (CSV's markers, so both read alike).
    """
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return read_workbook(path, sheet, missing)
    if suffix in FEATHER_SUFFIXES:
        return read_feather(path)
    if suffix in ARFF_SUFFIXES:
        return read_arff(path)
    if suffix in JSON_SUFFIXES:
        return read_json(path)
    if suffix in (".parquet", ".pq"):
        return None
    # A .csv or .txt that really holds JSON Lines or ARFF must not be parsed as garbage CSV.
    kind = sniff_text_kind(_head(path))
    if kind == "json":
        return read_json(path)
    if kind == "arff":
        return read_arff(path)
    return None


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise DataError(f"Studio cannot read {path.name}: {exc.strerror or exc}.") from exc


def sniff_text_kind(head: bytes) -> str | None:
    """"json" (a JSON document or JSON Lines), "arff", or None for anything else (CSV), from a file's first bytes."""
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("{"):
        # A JSON object; a CSV line never starts with a brace and a quote (a CSV header might start with "{a}").
        return "json" if re.match(r'\{\s*("|\}|$)', text) else None
    if text.startswith("["):
        # A list of records or of rows; a CSV header may start with a bracket ("[mm],[kg]"), but not with these.
        return "json" if re.match(r'\[\s*(\{|\[|\]|")', text) else None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        return "arff" if stripped.lower().startswith("@relation") else None
    return None


# -- JSON and JSON Lines ----------------------------------------------------------------------------------------
def read_json(path: Path) -> FormatRead:
    """A JSON document (records, columns, a split table, or a table inside ``{"data": [...]}``) or JSON Lines."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start:,}), as JSON must be. Save it as UTF-8 and "
                        "open it again.") from exc
    if not text.strip():
        raise DataError(f"{path.name} is empty.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # "Extra data" is one value followed by more: what JSON Lines is.
        if exc.msg != "Extra data" and not _first_line_is_json(text):
            raise DataError(f"{path.name} is not valid JSON: {_json_error(exc)}.") from exc
        frame = _arrow_json_lines(raw.removeprefix(codecs.BOM_UTF8))
        return FormatRead(frame if frame is not None else _frame_from_lines(text, path.name), "JSON Lines")
    return FormatRead(_frame_from_document(document, path.name), "JSON")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"Studio cannot read {path.name}: {exc.strerror or exc}.") from exc


def _first_line_is_json(text: str) -> bool:
    line = text.lstrip().split("\n", 1)[0]
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _json_error(exc: json.JSONDecodeError) -> str:
    return f"{exc.msg.lower()} on line {exc.lineno:,}, column {exc.colno:,}"


def _arrow_json_lines(raw: bytes) -> pd.DataFrame | None:
    """JSON Lines of records through pyarrow's reader (about ten times faster than a line at a time), with nested
    records as columns of their own ("address.city") and lists as their JSON text; None when pyarrow refuses the
    file (a line that is not a record, a value that changes type), which the line-by-line reader then explains."""
    try:
        import pyarrow as pa
        import pyarrow.json as pa_json

        table = pa_json.read_json(pa.BufferReader(raw))
        while any(pa.types.is_struct(column.type) for column in table.schema):
            table = table.flatten()
    except Exception:
        return None
    frame = table.to_pandas()
    for column in table.schema:
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            frame[column.name] = [None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                  for v in table.column(column.name).to_pylist()]
    return frame


def _frame_from_lines(text: str, name: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"Line {number:,} of {name} is not valid JSON ({exc.msg.lower()} at column "
                            f"{exc.colno:,}). Each line of a JSON Lines file must be one complete record.") from exc
    return _frame_from_document(rows, name)


def _frame_from_document(document: Any, name: str) -> pd.DataFrame:
    if isinstance(document, list):
        return _frame_from_rows(document, name)
    if not isinstance(document, dict) or not document:
        raise DataError(f"{name} holds a single value, not a table. Studio reads a list of records "
                        '([{"a": 1, "b": 2}, ...]) or an object of columns ({"a": [1, 2], "b": [3, 4]}).')
    columns, data = document.get("columns"), document.get("data")
    if isinstance(columns, list) and isinstance(data, list) and all(isinstance(row, list) for row in data):
        # pandas' "split" layout: {"columns": [...], "data": [[...], ...]} (an "index" key is left out).
        return _frame_from_rows([dict(zip(columns, row, strict=False)) for row in data], name)
    values = list(document.values())
    if all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1 \
            and not any(isinstance(item, dict) for item in values[0][:NESTING_SAMPLE_ROWS]):
        return _cells_as_text(pd.DataFrame(document))  # columns: {"a": [1, 2], "b": [3, 4]}
    tables = [v for v in values if isinstance(v, list) and v and isinstance(v[0], dict | list)]
    if len(tables) == 1:
        return _frame_from_rows(tables[0], name)  # a wrapped table: {"data": [...], "count": 2}, {"results": [...]}
    if all(isinstance(v, dict) for v in values):
        return _cells_as_text(pd.DataFrame(document))  # pandas' default layout: {column: {row: value}}
    if len(tables) > 1:
        keys = ", ".join(f"'{k}'" for k, v in document.items() if any(v is t for t in tables))
        raise DataError(f"{name} holds more than one list of records ({keys}); Studio reads one table per file.")
    if all(isinstance(v, list) for v in values):
        lengths = ", ".join(f"'{k}' {len(v):,}" for k, v in list(document.items())[:6])
        raise DataError(f"The columns of {name} have different lengths ({lengths} values); each column of a table "
                        "needs one value per row.")
    raise DataError(f"{name} does not hold a table Studio recognises: it reads a list of records "
                    '([{"a": 1, "b": 2}, ...]), an object of columns ({"a": [1, 2], "b": [3, 4]}), or one of '
                    'those inside an object such as {"data": [...]}.')


def _frame_from_rows(rows: list[Any], name: str) -> pd.DataFrame:
    if not rows:
        raise DataError(f"{name} holds an empty list: there are no rows to read.")
    if all(isinstance(row, dict) for row in rows):
        nested = any(isinstance(value, dict) for row in rows[:NESTING_SAMPLE_ROWS] for value in row.values())
        # Nested objects become columns of their own, "address.city", as a spreadsheet would show them.
        frame = pd.json_normalize(rows) if nested else pd.DataFrame.from_records(rows)
        return _cells_as_text(frame)
    if all(isinstance(row, list) for row in rows):
        header = rows[0]
        if len(rows) > 1 and all(isinstance(cell, str) for cell in header):
            return _cells_as_text(pd.DataFrame(rows[1:], columns=_padded(header, rows[1:])))
        return _cells_as_text(pd.DataFrame(rows))
    if all(not isinstance(row, dict | list) for row in rows):
        return pd.DataFrame({"value": rows})
    raise DataError(f"{name} mixes records with other values; each item of the list must be a record like "
                    '{"a": 1, "b": 2}.')


def _padded(header: list[str], rows: list[Any]) -> list[str]:
    width = max(len(row) for row in rows)
    return [*header, *(f"column_{i + 1}" for i in range(len(header), width))][:max(width, len(header))]


def _cells_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and objects left in cells become their JSON text: every later step expects plain values."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:
            continue
        nested = values.map(lambda v: isinstance(v, list | dict))
        if nested.any():
            frame[column] = values.where(~nested, values[nested].map(lambda v: json.dumps(v, ensure_ascii=False)))
    return frame


def read_arff(path: Path) -> FormatRead:
    return FormatRead(read_arff_frame(path, _read_bytes(path)), "ARFF")


# -- Feather ----------------------------------------------------------------------------------------------------
def read_feather(path: Path) -> FormatRead:
    try:
        return FormatRead(pd.read_feather(path), "Feather")
    except Exception as feather_error:
        try:  # an Arrow stream (.arrow files are either kind)
            import pyarrow as pa

            with pa.memory_map(str(path)) as source:
                return FormatRead(pa.ipc.open_stream(source).read_all().to_pandas(), "Arrow")
        except Exception:
            pass
        raise DataError(f"{path.name} is not a readable Feather file ({first_line(feather_error, 160)}).") \
            from feather_error


# -- workbooks --------------------------------------------------------------------------------------------------
_WORKBOOK_NAMES = {".xls": "Excel 97-2003 workbook", ".ods": "OpenDocument spreadsheet",
                   ".xlsb": "Excel binary workbook"}


def workbook_sheets(path: Path) -> tuple[str, ...]:
    """The names of a workbook's visible sheets, in order."""
    try:
        from python_calamine import CalamineWorkbook, SheetVisibleEnum
    except ImportError as exc:
        raise DataError("Reading workbooks needs the python-calamine package, which is not installed.") from exc
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            return tuple(sheet.name for sheet in workbook.sheets_metadata
                         if sheet.visible == SheetVisibleEnum.Visible) or tuple(workbook.sheet_names)
        finally:
            workbook.close()
    except Exception as exc:
        raise DataError(f"{path.name} is not a readable {_workbook_kind(path)} ({_calamine_reason(exc)}).") from exc


def read_workbook(path: Path, sheet: str | None = None, missing: Sequence[str] = ()) -> FormatRead:
    """One sheet of a workbook: the one named, or else the first sheet that holds rows (a title or notes sheet
    often comes first)."""
    sheets = workbook_sheets(path)
    if not sheets:
        raise DataError(f"{path.name} has no sheets.")
    if sheet is not None and sheet not in sheets:
        raise DataError(f"{path.name} has no sheet called '{sheet}'. Its sheets are: "
                        + ", ".join(f"'{s}'" for s in sheets) + ".")
    first: tuple[str, pd.DataFrame] | None = None
    for name in [sheet] if sheet is not None else sheets:
        frame = _read_sheet(path, name, missing)
        if frame.shape[1] > 0 and len(frame) > 0:
            break
        first = first or (name, frame)
    else:
        assert first is not None
        name, frame = first
        where = f"The sheet '{name}' of {path.name}" if len(sheets) > 1 else path.name
        other = " Pick another sheet." if sheet is not None and len(sheets) > 1 else ""
        if frame.shape[1] == 0:
            raise DataError(f"{where} is empty.{other}" if sheet is not None or len(sheets) == 1
                            else f"Every sheet of {path.name} is empty.")
        raise DataError(f"{where} has a header but no data rows.{other}")
    # The file's name says it is a workbook; which sheet was read is worth saying when there is a choice.
    return FormatRead(frame, f"sheet '{name}'" if len(sheets) > 1 else None, name, sheets)


def _read_sheet(path: Path, sheet: str, missing: Sequence[str]) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=sheet, engine="calamine", na_values=list(missing),
                             keep_default_na=False)
    except Exception as exc:
        raise DataError(f"The sheet '{sheet}' of {path.name} could not be read ({_calamine_reason(exc)}).") from exc


def _workbook_kind(path: Path) -> str:
    return _WORKBOOK_NAMES.get(path.suffix.lower(), "Excel workbook")


def _calamine_reason(exc: Exception) -> str:
    text = first_line(exc, 160)
    if "password" in text.lower() or type(exc).__name__ == "PasswordError":
        return "it is protected with a password; save a copy without one"
    if type(exc).__name__ in ("ZipError", "XmlError", "CalamineError") or "zip" in text.lower():
        return "the file is damaged, or it is not a workbook"
    return text


# -- pasted text ------------------------------------------------------------------------------------------------
def read_pasted_text(text: str, missing: Sequence[str] = ()) -> pd.DataFrame:
    """Cells copied from a spreadsheet: tab-separated lines, the first one the header.

    Text without tabs is read as CSV (copied from a text editor); a single line is a header without rows.
    """
    text = text.lstrip("\ufeff").strip("\r\n")
    if not text.strip():
        raise DataError("The clipboard holds no text. Copy the cells of a table (header included) and paste again.")
    lines = text.splitlines()
    if len(lines) < 2:
        raise DataError("The clipboard holds a single line. Copy the header row and at least one row of data.")
    delimiter = "\t" if "\t" in lines[0] else _pasted_delimiter(lines[0])
    if delimiter is None:
        raise DataError("The clipboard text is not a table: its first line has no tabs or commas to separate "
                        "columns. Copy the cells from a spreadsheet, header row included.")
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, na_values=list(missing), keep_default_na=False,
                           skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"The pasted text is not a well-formed table: {first_line(exc, 160)}") from exc


def _pasted_delimiter(header: str) -> str | None:
    for delimiter in (",", ";", "|"):
        if delimiter in header:
            return delimiter
    return None

