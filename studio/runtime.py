"""Using a Studio model file from another program, without the window: no PySide6, pyqtgraph or Optuna needed.

A model file (``.studio``) holds the whole preparation and the model. Opening it needs ``studio.core`` (the file
names Studio's own preparation pieces) plus numpy, pandas, scikit-learn, scipy, joblib and skops (torch for a
neural network); README.md, "Using a model file in another program", gives the two pip commands. Example::

    from studio.runtime import load

    model = load("penguins.studio")
    print(model.task, model.target, model.classes)          # classification species ['Adelie', ...]
    print([c.name for c in model.columns if c.required])    # the columns every row must have
    rows = [{"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5, "flipper_length_mm": 215, "year": 2008}]
    predictions = model.predict(rows)                        # what `studio predict` writes, as a DataFrame
    print(predictions["prediction (Studio)"].tolist(), predictions.attrs["notes"])

Predictions are exactly those of ``studio predict`` (``studio.core.serve.predict.predict_frame``): a ``prediction
(Studio)`` column, a ``probability of <class> (Studio)`` column per class for a classifier (a name the input has
already gets a number), then the input columns unchanged; notes in words on
rows unlike the training rows are in ``.attrs["notes"]``. Problems are ``StudioError``s with a sentence to show.

This module imports only ``studio.core``'s model file, prediction and drift modules: never the window, the workers,
the command line, Qt or Optuna (tests/test_runtime.py checks it, and a contract in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from studio.core.common.errors import DataError, ModelFileError, StudioError
from studio.core.data.target import Task
from studio.core.prep.safety import optional_columns
from studio.core.serve.drift import DriftReport, check_drift
from studio.core.serve.predict import PREDICTION_COLUMN, add_drift_notes, predict_frame
from studio.core.store.model_file import ModelBundle, UntrustedModelFileError, load_model

__all__ = ["PREDICTION_COLUMN", "Column", "DataError", "Model", "ModelFileError", "StudioError",
           "UntrustedModelFileError", "load"]

Rows = pd.DataFrame | Iterable[Mapping[str, Any]]


@dataclass(frozen=True)
class Column:
    """An input column the model reads."""

    name: str
    kind: str  # what Studio saw in training: "numeric", "categorical", "boolean", "date", "text", ...
    treatment: str  # how the preparation uses it: "numeric", "categorical", "text", "date"
    required: bool  # False when the column had gaps in training: it may be absent, and is filled as gaps were

    @property
    def numeric(self) -> bool:
        return self.treatment == "numeric" or (self.treatment not in ("categorical", "text", "date")
                                               and self.kind == "numeric")


class Model:
    """A model file, opened. Build it with ``load``."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle  # Studio's own view of the file, for what this class does not cover
        optional = set(optional_columns(bundle.pipeline))
        columns: dict[str, Column] = {}
        for column in bundle.input_columns:
            name, treatment = str(column["name"]), str(column.get("treatment", ""))
            if treatment != "exclude" and name not in columns:
                columns[name] = Column(name, str(column.get("kind", "")), treatment, name not in optional)
        self.columns: tuple[Column, ...] = tuple(columns.values())

    @property
    def task(self) -> str:
        """ "classification" or "regression"."""
        return self.bundle.task.value

    @property
    def target(self) -> str:
        """The column the model predicts."""
        return self.bundle.target

    @property
    def classes(self) -> list[str]:
        """A classifier's classes, in the order of its probability columns; empty for regression."""
        return self.bundle.classes

    @property
    def metadata(self) -> dict[str, Any]:
        """The manifest's description: model, settings, scores, versions, creation time (a copy)."""
        return dict(self.bundle.metadata)

    @property
    def warning(self) -> str:
        """A sentence when the file was made with other library versions; empty otherwise."""
        return self.bundle.warning

    def predict(self, rows: Rows) -> pd.DataFrame:
        """The rows with ``prediction (Studio)`` (and ``probability of <class> (Studio)`` columns for a classifier)
        in front, then the rows' own columns unchanged, as
        ``studio predict`` writes them; notes on unusual rows in ``.attrs["notes"]``. Raises DataError in words
        when a required column is missing or there are no rows."""
        frame = self._frame(rows)
        return add_drift_notes(self.bundle, frame, predict_frame(self.bundle, frame))

    def predict_proba(self, rows: Rows) -> pd.DataFrame:
        """One column per class (named by the class), each row's probabilities; the index is the rows'."""
        if self.bundle.task is not Task.CLASSIFICATION:
            raise StudioError(f"This model predicts a number ({self.target}), so it has no class probabilities.")
        predicted = predict_frame(self.bundle, self._frame(rows))
        named: dict[str, str] = predicted.attrs.get("probability_columns", {})
        if not named:
            raise StudioError("This model gives no class probabilities.")
        return predicted[list(named)].rename(columns=named)

    def check(self, rows: Rows) -> DriftReport:
        """How the rows differ from the training rows, column by column (``report.drifted`` names the columns,
        ``report.sentences()`` says why); ``report.checked`` is False for a file without a training profile."""
        return check_drift(self.bundle.metadata, self._frame(rows))

    def _frame(self, rows: Rows) -> pd.DataFrame:
        if isinstance(rows, pd.DataFrame):
            return rows
        frame = pd.DataFrame.from_records(list(rows))
        # JSON-like rows with a gap (None) make an object column; a table read from a file has floats with NaN
        # there, which is what the preparation expects of a numeric column.
        for column in self.columns:
            if column.numeric and column.name in frame.columns and frame[column.name].dtype == object:
                values = frame[column.name]
                if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
                    frame[column.name] = values.astype("float64")
        return frame

    def __repr__(self) -> str:
        label = self.bundle.metadata.get("model_label", self.bundle.metadata.get("model", "model"))
        return f"<studio model {Path(self.bundle.path).name!r}: {label} predicting {self.target} ({self.task})>"


def load(path: str | Path, trust: bool = False) -> Model:
    """Open a model file. A ``.studio`` file opens without running anything it holds. A file from before that format
    (``.studio.joblib``, a pickle) can run programs when opened: it opens only with ``trust=True``, otherwise
    UntrustedModelFileError. A damaged or foreign file raises ModelFileError with a sentence saying why."""
    return Model(load_model(path, trust=trust))
