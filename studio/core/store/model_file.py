"""The model file: one joblib file holding the whole Pipeline and plain metadata about it.

``joblib.load(path)`` gives ``{"studio_model": FORMAT_VERSION, "metadata": {...}, "pipeline": Pipeline}``, so the
file is usable without Studio too. Writes go to a temporary file next to the target, then replace it, so a crash
never leaves half a model behind.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import warnings
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import studio
from studio.core.common.errors import Cancelled, ModelFileError
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.target import Task
from studio.core.prep.config import Treatment

FORMAT_VERSION = 1
MODEL_SUFFIX = ".studio.joblib"


@dataclass(frozen=True)
class ModelBundle:
    pipeline: Any
    metadata: dict[str, Any]
    path: str = ""
    warning: str = ""

    @property
    def task(self) -> Task:
        return Task(self.metadata["task"])

    @property
    def target(self) -> str:
        return str(self.metadata["target"])

    @property
    def input_columns(self) -> list[dict[str, str]]:
        return list(self.metadata["input_columns"])

    @property
    def classes(self) -> list[str]:
        return list(self.metadata.get("classes", []))


def library_versions() -> dict[str, str]:
    import joblib
    import sklearn

    versions = {"studio": studio.__version__, "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                "numpy": np.__version__, "joblib": joblib.__version__, "python": platform.python_version()}
    torch = sys.modules.get("torch")
    if torch is not None:  # loaded only when a neural network was trained (or opened) in this process
        versions["torch"] = str(torch.__version__)
    return versions


def metadata_for(result: Any) -> dict[str, Any]:
    """Plain, JSON-friendly metadata for a TrainResult."""
    from studio.core.train.training import TrainResult

    assert isinstance(result, TrainResult)
    return {
        "task": result.task.value,
        "target": result.target,
        "model": result.model_key,
        "model_label": result.model_label,
        "params": dict(result.params),
        "input_columns": [{"name": n, "kind": k, "treatment": t} for n, k, t in result.feature_columns],
        "classes": list(result.classes),
        "metrics": {
            "validation": result.validation.as_dict() if result.validation else {},
            "test": result.test.as_dict(),
            "test_baseline": dict(result.test.baseline),
        },
        "split_sizes": list(result.split_sizes),
        "source": Path(result.source_path).name if result.source_path else "",
        "versions": library_versions(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def save_model(path: str | Path, pipeline: Any, metadata: dict[str, Any]) -> Path:
    import joblib

    path = Path(path)
    payload = {"studio_model": FORMAT_VERSION, "metadata": metadata, "pipeline": pipeline}
    atomic_write(path, lambda handle: joblib.dump(payload, handle, compress=3))
    return path


def load_model(path: str | Path) -> ModelBundle:
    import joblib
    import sklearn

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"There is no model file at {path}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            payload = joblib.load(path)
        except (ModuleNotFoundError, AttributeError, ImportError) as exc:
            raise ModelFileError(
                f"{path.name} was made with different library versions and cannot be opened here "
                f"(this Studio has scikit-learn {sklearn.__version__}; {exc}). Train the model again."
            ) from exc
        except Exception as exc:
            raise ModelFileError(f"{path.name} is not a Studio model file.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("studio_model"), int) \
            or "pipeline" not in payload:
        raise ModelFileError(f"{path.name} is not a Studio model file (it holds something else).")
    if payload["studio_model"] > FORMAT_VERSION:
        raise ModelFileError(f"{path.name} was made by a newer Studio; update Studio to open it.")
    metadata = payload.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    missing = {"task", "target", "input_columns"} - set(metadata)
    if missing:
        raise ModelFileError(f"{path.name} is damaged: its description lacks {', '.join(sorted(missing))}.")
    warning = ""
    made_with = metadata.get("versions", {}).get("scikit-learn")
    if made_with and made_with != sklearn.__version__:
        warning = (f"This model was made with scikit-learn {made_with}; this Studio has {sklearn.__version__}. "
                   "Predictions may differ slightly; retrain to be sure.")
    elif any("version" in str(w.message).lower() for w in caught):
        warning = "This model was made with different library versions; retrain to be sure."
    return ModelBundle(payload["pipeline"], metadata, str(path), warning)


def required_columns(bundle: ModelBundle) -> list[str]:
    return [c["name"] for c in bundle.input_columns if c.get("treatment") != Treatment.EXCLUDE.value]


def export_job(path: str | Path, pipeline: Any, metadata: dict[str, Any],
               should_stop: StopCheck = never_stop) -> Generator[Progress, None, Path]:
    yield Progress("Saving", None, f"Writing {Path(path).name}")
    if should_stop():
        raise Cancelled()
    return save_model(path, pipeline, metadata)


def load_job(path: str | Path, should_stop: StopCheck = never_stop) -> Generator[Progress, None, ModelBundle]:
    yield Progress("Opening", None, f"Reading {Path(path).name}")
    return load_model(path)


def describe_bundle(bundle: ModelBundle) -> str:
    """A short, plain description of what a model file holds."""
    meta = bundle.metadata
    inputs = [c["name"] for c in bundle.input_columns]
    shown = ", ".join(inputs[:10]) + (f" and {len(inputs) - 10} more" if len(inputs) > 10 else "")
    lines = [
        f"{meta.get('model_label', meta.get('model', 'Model'))} predicting {bundle.target} "
        f"({bundle.task.value}).",
        f"Needs the columns: {shown}.",
    ]
    if bundle.classes:
        lines.append(f"Classes: {', '.join(bundle.classes[:10])}.")
    test = meta.get("metrics", {}).get("test", {})
    if test:
        from studio.core.evaluate.metrics import METRIC_LABELS, format_metric

        lines.append("Test scores: " + ", ".join(f"{METRIC_LABELS.get(k, k).lower()} {format_metric(k, v)}"
                                                 for k, v in test.items()) + ".")
    versions = meta.get("versions", {})
    if versions:
        lines.append(f"Made {meta.get('created', '')} with Studio {versions.get('studio', '?')}, scikit-learn "
                     f"{versions.get('scikit-learn', '?')}, Python {versions.get('python', '?')}.")
    return "\n".join(lines)
