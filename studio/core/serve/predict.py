"""Using a saved model on new rows: schema check first, then predictions with class probabilities."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError, StudioError
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.common.words import plural
from studio.core.data.read_options import ReadOptions
from studio.core.data.tabular import LoadedTable, load_table
from studio.core.data.target import Task
from studio.core.models.imbalance import decision_threshold, labels_from_probabilities
from studio.core.prep.safety import InputChecks, optional_columns
from studio.core.store.model_file import ModelBundle, required_columns

if TYPE_CHECKING:
    import pyarrow as pa

# Rows prepared and predicted at a time: a step of the preparation or the model holds the interpreter for a tenth
# of what it would on a million rows at once, so the window stays responsive while a worker predicts.
PREDICT_CHUNK_ROWS = 100_000

# Studio's own columns are marked as Studio's, so they never take the name of one of the user's columns (which
# would then be dropped or overwritten); a user column that has the marked name too is kept, and Studio's is made
# unique instead (``studio_column_name``).
STUDIO_MARK = " (Studio)"
PREDICTION_COLUMN = f"prediction{STUDIO_MARK}"
# The attrs key of the header row as the user's file wrote it (``read_as_text``), for the files written back.
USER_HEADER = "user_header"


def probability_column(class_name: object) -> str:
    """The name of the column holding one class's probability (before it is made unique against the user's)."""
    return f"probability of {class_name}{STUDIO_MARK}"


def studio_column_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted`` with a number, so that it is none of ``taken`` (the user's names and Studio's own
    so far)."""
    name, number = wanted, 2
    while name in taken:
        name = f"{wanted} {number}"
        number += 1
    return name


def schema_problems(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    return _missing(required_columns(bundle), frozenset(optional_columns(bundle.pipeline)), frame.columns)


def _missing(required: list[str], optional: frozenset[str], present: pd.Index) -> list[str]:
    # A column that had gaps in training may be absent: the preparation fills it (see prep_safety).
    missing = [name for name in required if name not in present and name not in optional]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing[:8]) + (" …" if len(missing) > 8 else "")
        return [f"The new data lacks {plural(len(missing), 'column')} the model needs: {listed}."]
    return []


@dataclass(frozen=True)
class Prediction:
    """A model's answer for some rows as arrays, before it becomes a table (``predict_frame``) or JSON (the web
    service)."""

    predictions: np.ndarray
    probabilities: np.ndarray | None  # classification: one column per class, in the order of ``classes``, rounded
    classes: list[str]
    notes: list[str]


class Predictor:
    """Predicting with one model, with everything that does not depend on the rows read from the model once: the
    web service keeps one per model, so a request pays only for its own rows."""

    def __init__(self, bundle: ModelBundle) -> None:
        pipeline = bundle.pipeline
        self.required = required_columns(bundle)
        self.optional = frozenset(optional_columns(pipeline))
        self._needed = frozenset(self.required) | {bundle.target}
        # The rows are prepared once and handed to the model for both answers: preparing them is most of the time
        # a small model takes, and the answers are the Pipeline's own. Its steps are run one after the other, as
        # the Pipeline's predict runs them, without a sub-pipeline checking it is fitted on every call.
        steps: list[tuple[str, Any]] = list(getattr(pipeline, "steps", None) or [])
        if len(steps) < 2:
            steps = [("model", pipeline)]
        self._prepare = [step for _, step in steps[:-1] if step is not None and step != "passthrough"]
        self._model: Any = steps[-1][1]
        self.with_probabilities = bundle.task is Task.CLASSIFICATION and hasattr(pipeline, "predict_proba")
        self.classes = [str(c) for c in pipeline.classes_] if self.with_probabilities else []
        self._checks = InputChecks(pipeline)

    def _answer(self, inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The labels and (classification) probabilities of some rows."""
        prepared: Any = inputs
        for step in self._prepare:
            prepared = step.transform(prepared)
        proba = self._model.predict_proba(prepared) if self.with_probabilities else None
        labels = _labels(self._model, prepared, proba) if proba is not None else self._model.predict(prepared)
        return np.asarray(labels), proba

    def extra_columns(self, columns: Iterable[Any]) -> list[Any]:
        return [c for c in columns if c not in self._needed]

    def predict(self, frame: pd.DataFrame, extra: list[str] | None = None) -> Prediction:
        """``frame``'s predictions; ``extra`` names the columns the model ignores when the caller left them out of
        ``frame`` (they are the frame's own otherwise)."""
        problems = _missing(self.required, self.optional, frame.columns)
        if problems:
            raise DataError(problems[0])
        if len(frame) == 0:
            raise DataError("The new data has no rows to predict.")
        present = [c for c in self.required if c in frame.columns]
        # The preparation reads the columns in training's order and changes nothing it is given, so a frame that
        # holds exactly those is handed over as it is, not copied.
        inputs = frame if list(frame.columns) == present else frame[present]
        try:
            answers = [self._answer(inputs.iloc[start:start + PREDICT_CHUNK_ROWS])
                       for start in range(0, len(inputs), PREDICT_CHUNK_ROWS)]
        except Exception as exc:  # the pipeline is user data: turn its failures into a sentence
            raise DataError(f"The model could not predict these rows: {str(exc).splitlines()[0][:200]}") from exc
        predictions = np.concatenate([labels for labels, _ in answers])
        proba = None if answers[0][1] is None else np.concatenate([chunk for _, chunk in answers])
        # How rows unlike the training data were handled, in words, for the window, the CLI and the service to show.
        notes = self._checks.notes(frame, self.extra_columns(frame.columns) if extra is None else extra)
        return Prediction(predictions, None if proba is None else np.round(proba, 6), self.classes, notes)


def predict_frame(bundle: ModelBundle, frame: pd.DataFrame, original: pd.DataFrame | None = None) -> pd.DataFrame:
    """The input rows with Studio's prediction column (and one probability column per class) added in front.

    The user's columns follow unchanged, every one of them, in their order: taken from ``original`` when given
    (the file read again as text, see ``read_as_text``), so an ID such as 12345678901234567 comes back as written
    rather than as the number the model read. The names of Studio's columns are in ``attrs["prediction_column"]``
    and ``attrs["probability_columns"]`` (column name -> class)."""
    prediction = Predictor(bundle).predict(frame)
    user = frame if original is None or original.shape != frame.shape else original
    taken = {str(c) for c in user.columns}
    prediction_name = studio_column_name(PREDICTION_COLUMN, taken)
    taken.add(prediction_name)
    studio: dict[str, Any] = {prediction_name: prediction.predictions}
    probability_names: dict[str, str] = {}
    if prediction.probabilities is not None:
        for index, name in enumerate(prediction.classes):
            column = studio_column_name(probability_column(name), taken)
            taken.add(column)
            probability_names[column] = name
            studio[column] = prediction.probabilities[:, index]
    out = pd.DataFrame(studio, index=frame.index)
    result = pd.concat([out, user.set_axis(frame.index, axis=0)], axis=1)
    result.attrs["notes"] = prediction.notes
    if user is original and USER_HEADER in original.attrs:
        result.attrs[USER_HEADER] = [*studio, *original.attrs[USER_HEADER]]
    result.attrs["prediction_column"] = prediction_name
    result.attrs["probability_columns"] = probability_names
    return result


def read_as_text(table: LoadedTable) -> pd.DataFrame | None:
    """The user's delimited text file read again with every cell as the text it holds (blanks as ""), with the
    table's column names: what the prediction file writes back, so nothing the user typed is re-typed or rounded.

    None for a workbook or Parquet file (their cells already have types, kept as read) and for a text file that no
    longer reads into the same shape (changed since, or read by another rule): the typed values stand in then."""
    if table.delimiter is None or not Path(table.path).is_file():
        return None
    try:
        # pyarrow reads a big file several times faster, on every core; the C parser reads what it refuses.
        text = _text_with_arrow(table)
    except Exception:
        try:
            text = pd.read_csv(table.path, sep=table.delimiter, encoding=table.encoding, dtype=str,
                               keep_default_na=False, na_filter=False, skip_blank_lines=True,
                               skiprows=table.options.skip_rows, header=0 if table.options.header else None)
        except (ValueError, OSError, pd.errors.ParserError):
            return None
    if text.shape != table.frame.shape:
        return None
    text = text.set_axis(table.frame.columns, axis=1)
    header = _header_as_written(table)
    if header is not None and len(header) == text.shape[1]:
        text.attrs[USER_HEADER] = header
    return text


def _header_as_written(table: LoadedTable) -> list[str] | None:
    """The file's header row exactly as written (spaces, blanks and repeated names kept): Studio's own names for
    the columns are trimmed and made unique so a model can refer to them, but the user's file keeps its own."""
    if not table.options.header:
        return None
    encoding = "utf-8-sig" if table.encoding in ("utf-8", "utf-8-sig") else table.encoding
    try:
        with open(table.path, encoding=encoding, newline="") as handle:
            records = csv.reader(handle, delimiter=table.delimiter or ",")
            for _ in range(table.options.skip_rows):
                next(records)
            return next(records)
    except (OSError, UnicodeDecodeError, StopIteration, csv.Error, LookupError):
        return None


def _text_with_arrow(table: LoadedTable) -> pd.DataFrame:
    """``read_as_text``'s reading with pyarrow, as ``load_table`` reads the file: every cell as text, blanks as "",
    the header row skipped (the table's own names are put on afterwards)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"column_{index}" for index in range(table.frame.shape[1])]
    encoding = table.encoding
    read = pa_csv.ReadOptions(
        encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding, column_names=names,
        skip_rows=table.options.skip_rows + (1 if table.options.header else 0))
    parse = pa_csv.ParseOptions(delimiter=table.delimiter, newlines_in_values=True)
    convert = pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)
    return pa_csv.read_csv(table.path, read, parse, convert).to_pandas()


# Two class probabilities closer than this are a tie, which the model itself settles (below).
TIE = 1e-12


def _labels(model: Any, prepared: Any, proba: np.ndarray) -> np.ndarray:
    """The predicted classes, read from the probabilities instead of asking the model a second time.

    Every classifier Studio offers predicts the class of highest probability (or of a score that orders the
    classes the same way), so this is the model's own answer at half the cost. Where the two highest probabilities
    tie, the model's ``predict`` settles it, as it would have."""
    labels = labels_from_probabilities(model, proba)
    if decision_threshold(model) is not None:
        return labels  # the threshold decides every row, ties included
    ordered = np.sort(proba, axis=1)
    ties = np.flatnonzero(ordered[:, -1] - ordered[:, -2] <= TIE) if proba.shape[1] > 1 else np.array([], int)
    if len(ties):
        rows = prepared.iloc[ties] if hasattr(prepared, "iloc") else prepared[ties]
        labels = labels.astype(object)
        labels[ties] = model.predict(rows)
    return labels


def extra_columns(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    needed = set(required_columns(bundle)) | {bundle.target}
    return [c for c in frame.columns if c not in needed]


def predict_job(bundle: ModelBundle, data_path: str | Path, should_stop: StopCheck = never_stop,
                options: ReadOptions | None = None) -> Generator[Progress, None, pd.DataFrame]:
    """Read a table and predict it, as a job for a worker. The table is read as the model's training table was
    (the reading options kept in the model file), with ``options`` set here taking their place."""
    yield Progress("Reading", 0.1, f"Reading {Path(data_path).name}")
    table = load_table(data_path, options=bundle.read_options.merged(options or ReadOptions()))
    original = read_as_text(table)
    if should_stop():
        raise Cancelled()
    yield Progress("Predicting", 0.5, f"Predicting {plural(len(table.frame), 'row')}")
    predictions = keep_source_format(predict_frame(bundle, table.frame, original), table)
    yield Progress("Comparing", 0.9, "Comparing the rows with the training rows")
    return add_drift_notes(bundle, table.frame, predictions)


def keep_source_format(predictions: pd.DataFrame, table: LoadedTable) -> pd.DataFrame:
    """Note the input's delimiter and decimal separator on ``predictions``, so that a text file of them is written
    the way the user's own file was (a semicolon file with decimal commas stays one)."""
    predictions.attrs["delimiter"] = table.delimiter
    predictions.attrs["decimal"] = getattr(table, "decimal", ".")
    return predictions


def add_drift_notes(bundle: ModelBundle, frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Say, with the predictions, which columns of the new rows look unlike the training rows (a model is only
    as good as the rows it learned from)."""
    from studio.core.serve.drift import check_drift

    report = check_drift(bundle.metadata, frame)
    if report.checked and report.drifted:
        predictions.attrs["notes"] = [*predictions.attrs.get("notes", []),
                                      "These rows differ from the training rows, so predictions may be less "
                                      "reliable:", *report.sentences()]
    return predictions


# The formats a prediction file can be saved in, by extension: what the save dialog offers and the CLI accepts.
PREDICTION_FORMATS: dict[str, str] = {
    ".csv": "CSV",
    ".tsv": "tab-separated text",
    ".txt": "tab-separated text",
    ".xlsx": "Excel workbook",
    ".parquet": "Parquet",
}
# Excel's own limits: a bigger table would be cut off, or refused by Excel when opened.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
SHEET_NAME = "Predictions"


def prediction_format(path: str | Path) -> str:
    """The extension ``path`` will be saved as, or a StudioError that names the extensions Studio can write."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PREDICTION_FORMATS:
        return suffix
    found = f"its extension {path.suffix} is not a format Studio writes" if path.suffix else "it has no extension"
    raise StudioError(f"Studio cannot save predictions as {path.name} ({found}): give the file a name ending in "
                      ".csv, .tsv or .txt (tab-separated), .xlsx (Excel) or .parquet.")


def write_predictions(path: str | Path, predictions: pd.DataFrame, bom: bool = True) -> Path:
    """Save ``predictions`` in the format its extension names (see PREDICTION_FORMATS), atomically.

    A text file starts with a byte-order mark unless ``bom`` is False, and uses the delimiter and decimal separator
    of the file predicted (``keep_source_format``) where its extension allows: .csv any but a tab, .tsv and .txt a
    tab."""
    path = Path(path)
    suffix = prediction_format(path)  # before anything, even the folder, is created
    if suffix == ".xlsx":
        _check_fits_a_sheet(path, predictions)
        atomic_write(path, lambda handle: _write_excel(handle, predictions, path.name))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq  # here, not at the top: pyarrow would slow every start of the window

        table = _arrow_table(predictions, path.name)
        atomic_write(path, lambda handle: pq.write_table(table, handle))
    else:
        # The BOM makes Excel read the file as UTF-8, so accents survive a double-click; "utf-8-sig" readers and
        # Studio itself skip it. Values are written as they are (no rounding, no escaping of leading "=").
        separator, decimal = text_format(suffix, predictions)
        encoding = "utf-8-sig" if bom else "utf-8"
        header = header_as_written(predictions) or True
        atomic_write(path, lambda handle: predictions.to_csv(handle, index=False, sep=separator, decimal=decimal,
                                                             encoding=encoding, header=header))
    return path


def header_as_written(predictions: pd.DataFrame) -> list[str] | None:
    """The column names a file of ``predictions`` is written with when they differ from the frame's own: Studio's
    columns, then the user's header row as their file had it (a name with spaces around it, a blank name, a name
    used twice)."""
    header = predictions.attrs.get(USER_HEADER)
    if not isinstance(header, list) or len(header) != predictions.shape[1]:
        return None
    return None if header == [str(c) for c in predictions.columns] else [str(name) for name in header]


def text_format(suffix: str, predictions: pd.DataFrame) -> tuple[str, str]:
    """The delimiter and decimal separator a text file of ``predictions`` is written with."""
    source = predictions.attrs.get("delimiter")
    kept = source if isinstance(source, str) and len(source) == 1 and source != "\t" else ","
    separator = kept if suffix == ".csv" else "\t"
    decimal = predictions.attrs.get("decimal", ".")
    if not isinstance(decimal, str) or len(decimal) != 1 or decimal == separator:
        decimal = "."  # a decimal comma in a comma-separated file would split every number in two
    return separator, decimal


def _check_fits_a_sheet(path: Path, predictions: pd.DataFrame) -> None:
    rows, columns = predictions.shape
    if rows + 1 > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:  # + 1: the header row
        raise StudioError(f"{rows:,} rows and {columns:,} columns do not fit in an Excel sheet (at most "
                          f"{EXCEL_MAX_ROWS - 1:,} rows and {EXCEL_MAX_COLUMNS:,} columns): save {path.stem} as "
                          ".csv or .parquet instead.")


def _write_excel(handle: BinaryIO, predictions: pd.DataFrame, name: str) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    frame = numbers_where_exact(predictions, per_cell=True)
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if zoned:
        # Excel has no time zones; text such as "2024-05-01 10:00:00+02:00" keeps the moment and the zone. A copy:
        # the page's table keeps the originals.
        frame = frame.copy()
        for column in zoned:
            frame[column] = frame[column].astype(str).where(frame[column].notna())
    try:
        with pd.ExcelWriter(handle, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=SHEET_NAME, header=header_as_written(predictions) or True)
            _keep_text_as_text(writer.sheets[SHEET_NAME])
    except IllegalCharacterError as exc:
        raise StudioError(f"Some text in the predictions holds control characters, which an Excel workbook cannot "
                          f"store, so {name} was not saved: save it as .csv or .parquet instead.") from exc


# Text a spreadsheet shows as the same number it stores: at most 15 significant digits (what a double keeps), no
# leading zeros, no trailing zeros after the point, no exponent or sign other than "-". "007", "39.10", a 17-digit
# ID and "1e5" stay text, so they keep their look; "39.1" and "-42" become numbers a spreadsheet can add up.
_EXACT_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")
# A Parquet column is read by programs, not looked at: "2.000" may become 2.0 there (the same value).
_EXACT_VALUE = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
MAX_EXACT_DIGITS = 15


def _exact_number(text: str, pattern: re.Pattern[str] = _EXACT_NUMBER) -> int | float | None:
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") if "." in text else text.lstrip("-")
    if not pattern.match(text) or len(digits) > MAX_EXACT_DIGITS:
        return None
    return float(text) if "." in text else int(text)


def numbers_where_exact(predictions: pd.DataFrame, per_cell: bool) -> pd.DataFrame:
    """The user's text columns (see ``read_as_text``) for a workbook or Parquet file: text that is exactly a
    number becomes that number; other text stays as written. ``per_cell``: each cell on its own (a workbook's cells
    have their own types); else a whole column, blanks as gaps, or none of it (a Parquet column has one type)."""
    converted: dict[Any, pd.Series] = {}
    for position in range(predictions.shape[1]):
        values = predictions.iloc[:, position]
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        if not all(isinstance(v, str) for v in values):
            continue
        numbers = [_exact_number(v, _EXACT_NUMBER if per_cell else _EXACT_VALUE) for v in values]
        if per_cell:
            converted[position] = pd.Series([v if n is None else n for v, n in zip(values, numbers, strict=True)],
                                            index=values.index, dtype=object)
        elif any(n is not None for n in numbers) and all(n is not None or v == "" for v, n in
                                                         zip(values, numbers, strict=True)):
            converted[position] = pd.to_numeric(pd.Series([None if n is None else n for n in numbers],
                                                          index=values.index, dtype=object))
    if not converted:
        return predictions
    frame = predictions.copy()  # the page's table keeps the text
    for position, series in converted.items():
        frame.isetitem(position, series.to_numpy())
    return frame


def _keep_text_as_text(sheet: Any) -> None:
    """openpyxl turns any text starting with "=" into a formula; a user's value is data, so it stays text (Excel
    would otherwise compute it, or show an error, when the file is opened)."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def _arrow_table(predictions: pd.DataFrame, name: str) -> pa.Table:
    import pyarrow as pa

    # Parquet names columns with text. These are the user's column names, already text when the table was read
    # (load_table makes them unique strings) and as typed in the file's header, so str() loses nothing.
    frame = numbers_where_exact(predictions, per_cell=False)
    header = header_as_written(predictions)
    if header is None or len(set(header)) < len(header) or not all(name.strip() for name in header):
        header = [str(c) for c in frame.columns]  # Parquet wants distinct names: Studio's unique ones then
    frame = frame.set_axis(header, axis=1).copy(deep=False)
    duplicates = sorted(column for column, count in Counter(frame.columns).items() if count > 1)
    if duplicates:
        raise StudioError(f"Parquet needs distinct column names, and {name} would have several columns called "
                          f"{', '.join(repr(c) for c in duplicates[:5])}: rename them or save as .csv.")
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    # A Parquet column holds one type; a column mixing numbers and text (common in spreadsheets) is saved as the
    # text it shows, with its gaps kept as gaps. ``frame`` is a copy: the page's table keeps the originals.
    for column in frame.columns:
        try:
            pa.Array.from_pandas(frame[column])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame[column] = frame[column].map(str, na_action="ignore").astype(object)
    return pa.Table.from_pandas(frame, preserve_index=False)


def save_predictions_job(path: str | Path, predictions: pd.DataFrame, should_stop: StopCheck = never_stop,
                         bom: bool = True) -> Generator[Progress, None, Path]:
    yield Progress("Saving", None, f"Writing {Path(path).name}")
    return write_predictions(path, predictions, bom)
