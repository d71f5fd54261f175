"""Using a saved model on new rows: schema check first, then predictions with class probabilities."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.safety import input_notes, optional_columns
from studio.core.store.model_file import ModelBundle, required_columns

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
    try:
        predictions = bundle.pipeline.predict(inputs)
    except Exception as exc:  # the pipeline is user data: turn its failures into a sentence
        raise DataError(f"The model could not predict these rows: {str(exc).splitlines()[0][:200]}") from exc
    out = pd.DataFrame(index=frame.index)
    out[PREDICTION_COLUMN] = predictions
    if bundle.task is Task.CLASSIFICATION and hasattr(bundle.pipeline, "predict_proba"):
        proba = bundle.pipeline.predict_proba(inputs)
        classes = [str(c) for c in bundle.pipeline.classes_]
        for index, name in enumerate(classes):
            out[f"probability_{name}"] = np.round(proba[:, index], 6)
    extra = [c for c in frame.columns if c not in out.columns]
    result = pd.concat([out, frame[extra]], axis=1)
    # How rows unlike the training data were handled, in words, for the window and the CLI to show.
    result.attrs["notes"] = input_notes(bundle.pipeline, frame, extra_columns(bundle, frame))
    return result


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
    return predict_frame(bundle, table.frame)


def write_predictions(path: str | Path, predictions: pd.DataFrame) -> Path:
    path = Path(path)
    atomic_write(path, lambda handle: handle.write(predictions.to_csv(index=False).encode("utf-8")))
    return path


def save_predictions_job(path: str | Path, predictions: pd.DataFrame,
                         should_stop: StopCheck = never_stop) -> Generator[Progress, None, Path]:
    yield Progress("Saving", None, f"Writing {Path(path).name}")
    return write_predictions(path, predictions)
