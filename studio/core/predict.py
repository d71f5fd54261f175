"""Using a saved model on new rows: schema check first, then predictions with class probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from studio.core.bundle import ModelBundle, required_columns
from studio.core.errors import DataError
from studio.core.target import Task

PREDICTION_COLUMN = "prediction"


def schema_problems(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    missing = [name for name in required_columns(bundle) if name not in frame.columns]
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
    inputs = frame[required_columns(bundle)]
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
    return pd.concat([out, frame[extra]], axis=1)


def extra_columns(bundle: ModelBundle, frame: pd.DataFrame) -> list[str]:
    needed = set(required_columns(bundle)) | {bundle.target}
    return [c for c in frame.columns if c not in needed]
