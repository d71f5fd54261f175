"""Using a saved model on new rows: schema check first, then predictions with class probabilities."""

from __future__ import annotations

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
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.models.imbalance import decision_threshold, labels_from_probabilities
from studio.core.prep.safety import InputChecks, optional_columns
from studio.core.store.model_file import ModelBundle, required_columns

if TYPE_CHECKING:
    import pyarrow as pa

PREDICTION_COLUMN = "prediction"


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
            prepared = inputs
            for step in self._prepare:
                prepared = step.transform(prepared)
            proba = self._model.predict_proba(prepared) if self.with_probabilities else None
            predictions = (_labels(self._model, prepared, proba) if proba is not None
                           else self._model.predict(prepared))
        except Exception as exc:  # the pipeline is user data: turn its failures into a sentence
            raise DataError(f"The model could not predict these rows: {str(exc).splitlines()[0][:200]}") from exc
        # How rows unlike the training data were handled, in words, for the window, the CLI and the service to show.
        notes = self._checks.notes(frame, self.extra_columns(frame.columns) if extra is None else extra)
        return Prediction(predictions, None if proba is None else np.round(proba, 6), self.classes, notes)


def predict_frame(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    """The input rows with a prediction column (and one probability column per class) added in front."""
    prediction = Predictor(bundle).predict(frame)
    out = pd.DataFrame(index=frame.index)
    out[PREDICTION_COLUMN] = prediction.predictions
    if prediction.probabilities is not None:
        for index, name in enumerate(prediction.classes):
            out[f"probability_{name}"] = prediction.probabilities[:, index]
    extra = [c for c in frame.columns if c not in out.columns]
    result = pd.concat([out, frame[extra]], axis=1)
    result.attrs["notes"] = prediction.notes
    return result


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


def predict_job(bundle: ModelBundle, data_path: str | Path,
                should_stop: StopCheck = never_stop) -> Generator[Progress, None, pd.DataFrame]:
    """Read a table and predict it, as a job for a worker."""
    yield Progress("Reading", 0.1, f"Reading {Path(data_path).name}")
    table = load_table(data_path)
    if should_stop():
        raise Cancelled()
    yield Progress("Predicting", 0.5, f"Predicting {plural(len(table.frame), 'row')}")
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
