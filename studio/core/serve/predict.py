"""Using a saved model on new rows: schema check first, then predictions with class probabilities."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError, StudioError
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.safety import input_notes, optional_columns
from studio.core.store.model_file import ModelBundle, required_columns

if TYPE_CHECKING:
    import pyarrow as pa

PREDICTION_COLUMN = "prediction"


def schema_problems(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    # A column that had gaps in training may be absent: the preparation fills it (see prep_safety).
    optional = optional_columns(bundle.pipeline)
    missing = [name for name in required_columns(bundle) if name not in frame.columns and name not in optional]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing[:8]) + (" …" if len(missing) > 8 else "")
        return [f"The new data lacks {len(missing)} column(s) the model needs: {listed}."]
    return []


def predict_frame(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    """The input rows with a prediction column (and one probability column per class) added in front."""
    problems = schema_problems(bundle, frame)
    if problems:
        raise DataError(problems[0])
    if len(frame) == 0:
        raise DataError("The new data has no rows to predict.")
    inputs = frame[[c for c in required_columns(bundle) if c in frame.columns]]
    pipeline = bundle.pipeline
    # The rows are prepared once and handed to the model for both answers: preparing them is most of the time a
    # small model takes, and the answers are the Pipeline's own.
    steps = getattr(pipeline, "steps", None)
    prepare, model = (pipeline[:-1], pipeline[-1]) if steps and len(steps) > 1 else (None, pipeline)
    with_probabilities = bundle.task is Task.CLASSIFICATION and hasattr(pipeline, "predict_proba")
    try:
        prepared = prepare.transform(inputs) if prepare is not None else inputs
        proba = model.predict_proba(prepared) if with_probabilities else None
        predictions = _labels(model, prepared, proba) if proba is not None else model.predict(prepared)
    except Exception as exc:  # the pipeline is user data: turn its failures into a sentence
        raise DataError(f"The model could not predict these rows: {str(exc).splitlines()[0][:200]}") from exc
    out = pd.DataFrame(index=frame.index)
    out[PREDICTION_COLUMN] = predictions
    if proba is not None:
        classes = [str(c) for c in pipeline.classes_]
        for index, name in enumerate(classes):
            out[f"probability_{name}"] = np.round(proba[:, index], 6)
    extra = [c for c in frame.columns if c not in out.columns]
    result = pd.concat([out, frame[extra]], axis=1)
    # How rows unlike the training data were handled, in words, for the window and the CLI to show.
    result.attrs["notes"] = input_notes(bundle.pipeline, frame, extra_columns(bundle, frame))
    return result


# Two class probabilities closer than this are a tie, which the model itself settles (below).
TIE = 1e-12


def _labels(model: Any, prepared: Any, proba: np.ndarray) -> np.ndarray:
    """The predicted classes, read from the probabilities instead of asking the model a second time.

    Every classifier Studio offers predicts the class of highest probability (or of a score that orders the
    classes the same way), so this is the model's own answer at half the cost. Where the two highest probabilities
    tie, the model's ``predict`` settles it, as it would have."""
    ordered = np.sort(proba, axis=1)
    labels = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
    ties = np.flatnonzero(ordered[:, -1] - ordered[:, -2] <= TIE) if proba.shape[1] > 1 else np.array([], int)
    if len(ties):
        rows = prepared.iloc[ties] if hasattr(prepared, "iloc") else prepared[ties]
        labels = labels.astype(object)
        labels[ties] = model.predict(rows)
    return labels


def extra_columns(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    needed = set(required_columns(bundle)) | {bundle.target}
    return [c for c in frame.columns if c not in needed]


def predict_job(bundle: ModelBundle, data_path: str | Path,
                should_stop: StopCheck = never_stop) -> Generator[Progress, None, pd.DataFrame]:
    """Read a table and predict it, as a job for a worker."""
    yield Progress("Reading", 0.1, f"Reading {Path(data_path).name}")
    table = load_table(data_path)
    if should_stop():
        raise Cancelled()
    yield Progress("Predicting", 0.5, f"Predicting {len(table.frame):,} rows")
    predictions = predict_frame(bundle, table.frame)
    yield Progress("Comparing", 0.9, "Comparing the rows with the training rows")
    return add_drift_notes(bundle, table.frame, predictions)


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


def write_predictions(path: str | Path, predictions: pd.DataFrame) -> Path:
    """Save ``predictions`` in the format its extension names (see PREDICTION_FORMATS), atomically."""
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
        separator = "," if suffix == ".csv" else "\t"
        atomic_write(path, lambda handle: predictions.to_csv(handle, index=False, sep=separator,
                                                             encoding="utf-8-sig"))
    return path


def _check_fits_a_sheet(path: Path, predictions: pd.DataFrame) -> None:
    rows, columns = predictions.shape
    if rows + 1 > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:  # + 1: the header row
        raise StudioError(f"{rows:,} rows and {columns:,} columns do not fit in an Excel sheet (at most "
                          f"{EXCEL_MAX_ROWS - 1:,} rows and {EXCEL_MAX_COLUMNS:,} columns): save {path.stem} as "
                          ".csv or .parquet instead.")


def _write_excel(handle: BinaryIO, predictions: pd.DataFrame, name: str) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    frame = predictions
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if zoned:
        # Excel has no time zones; text such as "2024-05-01 10:00:00+02:00" keeps the moment and the zone. A copy:
        # the page's table keeps the originals.
        frame = frame.copy()
        for column in zoned:
            frame[column] = frame[column].astype(str).where(frame[column].notna())
    try:
        with pd.ExcelWriter(handle, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=SHEET_NAME)
            _keep_text_as_text(writer.sheets[SHEET_NAME])
    except IllegalCharacterError as exc:
        raise StudioError(f"Some text in the predictions holds control characters, which an Excel workbook cannot "
                          f"store, so {name} was not saved: save it as .csv or .parquet instead.") from exc


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
    frame = predictions.set_axis([str(c) for c in predictions.columns], axis=1).copy(deep=False)
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


def save_predictions_job(path: str | Path, predictions: pd.DataFrame,
                         should_stop: StopCheck = never_stop) -> Generator[Progress, None, Path]:
    yield Progress("Saving", None, f"Writing {Path(path).name}")
    return write_predictions(path, predictions)
