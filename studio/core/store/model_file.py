"""The model file: one file holding the whole Pipeline and a manifest describing it.

A model file is a zip archive of two parts: ``studio-model.json`` (the manifest: the format version, the plain
metadata — input columns and their kinds, target, classes, task, scores, versions — and the checksum of the
pipeline) and ``pipeline.skops`` (the Pipeline in skops' format, which stores plain data). Opening a file never
runs code it carries: only the types Studio writes are rebuilt (``trusted_types``), anything else is refused in
words, and a file whose checksum does not match is called damaged.

Files from before this format are joblib pickles, which can run code when opened: they open only once the person
says they trust the file (the window asks; the CLI needs ``--trust``). Writes go to a temporary file next to the
target, then replace it, so a crash never leaves half a model behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import platform
import sys
import threading
import warnings
import zipfile
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import studio
from studio.core.common.errors import Cancelled, ModelFileError, first_line
from studio.core.common.files import atomic_write
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.read_options import ReadOptions
from studio.core.data.target import Task
from studio.core.prep.config import Treatment
from studio.core.store.structure_checks import check_structures
from studio.core.store.trusted_types import STUDIO_TYPES

FORMAT_VERSION = 2
MODEL_SUFFIX = ".studio"
OLD_SUFFIX = ".studio.joblib"  # the pickle era; still opened, after the person's trust
MANIFEST_NAME = "studio-model.json"
PIPELINE_NAME = "pipeline.skops"
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_PIPELINE_BYTES = 8 * 2**30
# Inside the pipeline's own archive: its description (schema.json; under a megabyte for most models, a few for a
# large forest) and all its arrays together. Far above what Studio writes, far below what a zip bomb unpacks to.
MAX_SCHEMA_BYTES = 256 * 2**20
MAX_ARRAYS_BYTES = 16 * 2**30
# How joblib's files begin: zlib (its default compression), a bare pickle, gzip, bz2, lzma and xz.
_PICKLE_ERA_STARTS = (b"\x78", b"\x80", b"\x1f\x8b", b"BZh", b"\x5d\x00", b"\xfd7zXZ")


class UntrustedModelFileError(ModelFileError):
    """A model file in the pickle format: it opens only with ``trust``, once the person said they trust it."""


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

    @property
    def read_options(self) -> ReadOptions:
        """How the training table was read, as the person set it; files from before read as all detected."""
        from studio.core.common.errors import StudioError

        try:
            return ReadOptions.from_plain(self.metadata.get("read_options"))
        except (StudioError, TypeError):
            return ReadOptions()  # a manifest edited by hand: detect everything rather than refuse the model


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
    from studio.core.data.drift import training_profile
    from studio.core.train.training import TrainResult

    assert isinstance(result, TrainResult)
    input_columns = [{"name": n, "kind": k, "treatment": t} for n, k, t in result.feature_columns]
    return {
        "task": result.task.value,
        "target": result.target,
        "model": result.model_key,
        "model_label": result.model_label,
        "params": dict(result.params),
        "input_columns": input_columns,
        "classes": list(result.classes),
        "metrics": {
            "validation": result.validation.as_dict() if result.validation else {},
            "test": result.test.as_dict(),
            "test_baseline": dict(result.test.baseline),
        },
        "split_sizes": list(result.split_sizes),
        **result.settings(),  # "prep" and "split", so the model can be trained again on new rows (serve.retrain)
        "source": Path(result.source_path).name if result.source_path else "",
        # What the person set about reading the training table (delimiter, decimal mark, encoding...): new rows
        # are read the same way; what was detected is detected again for each new file.
        "read_options": result.read_options.to_plain() if result.read_options is not None else {},
        "versions": library_versions(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # A compact description of the training rows, to warn when new rows differ (serve.drift); None when the
        # result kept no rows.
        "training_profile": training_profile(result.rows.x_train, input_columns)
        if result.rows is not None and not result.image_cases and _is_table(input_columns) else None,
        # Pictures: the size and colour the network reads, so a person (and the ONNX copy) knows what it expects.
        **_image_settings(result),
    }


def _is_table(input_columns: list[dict[str, str]]) -> bool:
    return not any(column["kind"] == "image" for column in input_columns)


def _image_settings(result: Any) -> dict[str, Any]:
    reader = result.pipeline.steps[0][1] if hasattr(result.pipeline, "steps") else None
    if reader is None or type(reader).__name__ != "ImageReader":
        return {}
    return {"images": {"size": int(reader.size), "grayscale": bool(reader.grayscale), "fit": str(reader.fit_mode)}}


def save_model(path: str | Path, pipeline: Any, metadata: dict[str, Any]) -> Path:
    """Write the model as one file at exactly ``path``: a zip of the manifest and the pipeline in skops' format."""
    return write_model(path, serialise_pipeline(pipeline), metadata)


# scikit-learn's array-API shim for PyTorch arrays: importing it imports PyTorch.
TORCH_SHIM = "sklearn.externals.array_api_compat.torch"
# Two workers saving or opening models at once change sys.modules for the shim one after the other.
_SKOPS_IMPORT = threading.Lock()


def _skops_io() -> Any:
    """skops.io, imported without PyTorch when PyTorch is not loaded yet.

    On import skops lists scikit-learn's estimators (``sklearn.utils.discovery.all_estimators``), which imports
    every scikit-learn package, its PyTorch shim among them, and so PyTorch itself: 0.4-0.7 s holding the
    interpreter (the window froze when the first model was saved) and hundreds of MB, for a model with no PyTorch
    in it. The shim is only for PyTorch arrays handed to scikit-learn, which Studio never does; it is kept out of
    that one import (the walk skips a package that cannot be imported) and importable again afterwards."""
    if "skops.io" in sys.modules or "torch" in sys.modules or TORCH_SHIM in sys.modules:
        import skops.io

        return skops.io
    with _SKOPS_IMPORT:
        sys.modules[TORCH_SHIM] = None  # type: ignore[assignment]
        try:
            import skops.io

            return skops.io
        finally:
            if sys.modules.get(TORCH_SHIM, False) is None:
                del sys.modules[TORCH_SHIM]


def serialise_pipeline(pipeline: Any) -> bytes:
    """The pipeline as a model file stores it (skops' format, compressed): nearly all of the file, so its length
    tells the file's size before anything is written, and ``write_model`` then writes it without a second pass."""
    sio = _skops_io()

    return sio.dumps(pipeline, compression=zipfile.ZIP_DEFLATED)


def write_model(path: str | Path, stored: bytes, metadata: dict[str, Any]) -> Path:
    """Write a model file at exactly ``path`` from the pipeline ``serialise_pipeline`` made."""
    path = Path(path)
    manifest = {
        "studio_model": FORMAT_VERSION,
        "metadata": metadata,
        "pipeline": {"file": PIPELINE_NAME, "format": "skops", "sha256": hashlib.sha256(stored).hexdigest()},
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False, default=str).encode("utf-8")

    def write(handle: Any) -> None:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST_NAME, text, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(PIPELINE_NAME, stored)  # compressed inside already

    atomic_write(path, write)
    return path


def load_model(path: str | Path, trust: bool = False) -> ModelBundle:
    """Open a model file. A file in Studio's format opens without running anything it holds: it may only hold
    the types Studio writes (``trusted_types``). A file in the older pickle format can run code when opened, so it
    opens only with ``trust`` (the person said they trust where it came from); without it, UntrustedModelFileError."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"There is no model file at {path}.")
    if zipfile.is_zipfile(path):
        return _load_safe(path)
    with path.open("rb") as handle:
        start = handle.read(6)
    if not start.startswith(_PICKLE_ERA_STARTS):
        raise ModelFileError(f"{path.name} is not a Studio model file.")
    if not trust:
        raise UntrustedModelFileError(
            f"{path.name} is in the older model format, which can run programs on this computer when it is opened. "
            "Open it only if you trust where it came from (and save it again to get the safe format).")
    return _load_pickle(path)


def _load_safe(path: Path) -> ModelBundle:
    import sklearn

    sio = _skops_io()

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if MANIFEST_NAME not in names:
                raise ModelFileError(f"{path.name} is not a Studio model file (it is a zip archive of something else).")
            sizes = {info.filename: info.file_size for info in archive.infolist()}
            if sizes[MANIFEST_NAME] > MAX_MANIFEST_BYTES or sizes.get(PIPELINE_NAME, 0) > MAX_PIPELINE_BYTES:
                raise ModelFileError(f"{path.name} is not a Studio model file (its parts are far too large).")
            manifest = json.loads(archive.read(MANIFEST_NAME).decode("utf-8"))
            version = manifest.get("studio_model") if isinstance(manifest, dict) else None
            if not isinstance(version, int) or isinstance(version, bool):
                raise ModelFileError(f"{path.name} is not a Studio model file (its manifest says something else).")
            if manifest["studio_model"] > FORMAT_VERSION:
                raise ModelFileError(f"{path.name} was made by a newer Studio; update Studio to open it.")
            if PIPELINE_NAME not in names:
                raise ModelFileError(f"{path.name} is damaged: the model itself is missing from it.")
            stored = archive.read(PIPELINE_NAME)
        _check_inner_sizes(path, stored)
    except MemoryError as exc:
        raise ModelFileError(f"{path.name} is too large to open on this computer.") from exc
    # Beyond bad zips and JSON: unknown compression (NotImplementedError), encrypted parts (RuntimeError), nesting
    # or numbers beyond what JSON reading allows (RecursionError, ValueError), and broken compressed data.
    except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError, KeyError, ValueError, NotImplementedError,
            RuntimeError, RecursionError, zlib.error) as exc:
        raise ModelFileError(f"{path.name} is damaged and cannot be opened ({first_line(exc)}).") from exc
    expected = (manifest.get("pipeline") or {}).get("sha256") if isinstance(manifest.get("pipeline"), dict) else None
    if expected != hashlib.sha256(stored).hexdigest():
        raise ModelFileError(f"{path.name} is damaged: its content does not match its checksum.")
    metadata = _checked_metadata(path, manifest.get("metadata"))
    try:
        needed = set(sio.get_untrusted_types(data=stored))
    except Exception as exc:  # skops reading a schema it cannot parse: the file was changed or cut short
        raise ModelFileError(f"{path.name} is damaged and cannot be opened ({first_line(exc)}).") from exc
    unknown = sorted(needed - STUDIO_TYPES)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ModelFileError(f"{path.name} holds things Studio never writes ({shown}), so it was not made by "
                             "Studio or was changed afterwards. It was not opened.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pipeline = sio.loads(stored, trusted=sorted(needed))
        except Exception as exc:  # a library too old or too new to rebuild what the file describes
            made_with = metadata.get("versions", {}).get("scikit-learn", "another version")
            raise ModelFileError(
                f"{path.name} was made with scikit-learn {made_with} and cannot be rebuilt with this Studio's "
                f"scikit-learn {sklearn.__version__} ({first_line(exc)}). Train the model again.") from exc
    check_structures(pipeline, path.name)
    return ModelBundle(pipeline, metadata, str(path), _version_warning(metadata, caught))


def _check_inner_sizes(path: Path, stored: bytes) -> None:
    """Refuse a pipeline archive that would unpack to far more than any model Studio writes (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(stored)) as inner:
            sizes = {info.filename: info.file_size for info in inner.infolist()}
    except zipfile.BadZipFile:
        return  # not an archive at all: skops says so in words below
    if sizes.get("schema.json", 0) > MAX_SCHEMA_BYTES or sum(sizes.values()) > MAX_ARRAYS_BYTES:
        raise ModelFileError(f"{path.name} is not a Studio model file (it would unpack to far more than any model).")


def _load_pickle(path: Path) -> ModelBundle:
    import joblib
    import sklearn

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
    if payload["studio_model"] > 1:
        raise ModelFileError(f"{path.name} was made by a newer Studio; update Studio to open it.")
    metadata = _checked_metadata(path, payload.get("metadata"))
    return ModelBundle(payload["pipeline"], metadata, str(path), _version_warning(metadata, caught))


def _checked_metadata(path: Path, metadata: Any) -> dict[str, Any]:
    """The manifest's description, checked for the shapes every reader of it relies on."""
    metadata = metadata if isinstance(metadata, dict) else {}
    missing = {"task", "target", "input_columns"} - set(metadata)
    if missing:
        raise ModelFileError(f"{path.name} is damaged: its description lacks {', '.join(sorted(missing))}.")
    columns = metadata["input_columns"]
    shapes_ok = (metadata["task"] in {task.value for task in Task} and isinstance(metadata["target"], str)
                 and isinstance(columns, list)
                 and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in columns)
                 and isinstance(metadata.get("classes", []), list)
                 and all(isinstance(metadata.get(key, {}), dict) for key in ("versions", "metrics", "params"))
                 and all(isinstance(part, dict) for part in metadata.get("metrics", {}).values())
                 and _plain_values(metadata))
    if not shapes_ok:
        raise ModelFileError(f"{path.name} is damaged: its description is not in the form Studio writes.")
    return metadata


def _plain_values(metadata: dict[str, Any]) -> bool:
    """The values the window and the command line show are what Studio writes: scores are numbers (or null),
    classes and the columns' kinds are text or numbers, so showing them cannot fail."""
    scores = [value for part in metadata.get("metrics", {}).values() for value in part.values()]
    if not all(value is None or (isinstance(value, int | float) and not isinstance(value, bool)) for value in scores):
        return False
    if not all(isinstance(c, str | int | float) for c in metadata.get("classes", [])):
        return False
    texts = [metadata.get(key, "") for key in ("model", "model_label", "created")]
    texts += [column.get(key, "") for column in metadata["input_columns"] for key in ("kind", "treatment")]
    return all(isinstance(text, str) for text in texts)


def _version_warning(metadata: dict[str, Any], caught: list[warnings.WarningMessage]) -> str:
    import sklearn

    notes = [studio_version_note(metadata)]
    made_with = metadata.get("versions", {}).get("scikit-learn")
    if made_with and made_with != sklearn.__version__:
        notes.append(f"This model was made with scikit-learn {_short(made_with)}; this Studio has "
                     f"{sklearn.__version__}. Predictions may differ slightly; retrain to be sure.")
    elif any("version" in str(w.message).lower() for w in caught):
        notes.append("This model was made with different library versions; retrain to be sure.")
    return " ".join(note for note in notes if note)


def studio_version_note(metadata: dict[str, Any]) -> str:
    """Which Studio made a model file and what that means here, or "" when it was this very version."""
    made_by = metadata.get("versions", {}).get("studio")
    if made_by == studio.__version__:
        return ""
    if not isinstance(made_by, str) or not _version_numbers(made_by):
        return (f"This model file does not say which Studio made it; this is Studio {studio.__version__}. Check "
                "its predictions before relying on them.")
    if _version_numbers(made_by) < _version_numbers(studio.__version__):
        return (f"This model was made by Studio {_short(made_by)}, an older version than this one "
                f"({studio.__version__}); it opens and predicts as it did there.")
    return (f"This model was made by Studio {_short(made_by)}, a newer version than this one "
            f"({studio.__version__}). Parts of it may not work here, or its predictions may differ; update Studio "
            "to be sure.")


def _version_numbers(version: str) -> tuple[int, ...]:
    """"1.10.2" as (1, 10, 2), so 1.10 comes after 1.9; what follows a + or a letter does not count."""
    numbers: list[int] = []
    for part in version.split("+")[0].strip().split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits or len(digits) > 9:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _short(value: object, limit: int = 30) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def required_columns(bundle: ModelBundle) -> list[str]:
    return [c["name"] for c in bundle.input_columns if c.get("treatment") != Treatment.EXCLUDE.value]


def export_job(path: str | Path, pipeline: Any, metadata: dict[str, Any],
               should_stop: StopCheck = never_stop) -> Generator[Progress, None, Path]:
    yield Progress("Saving", None, f"Writing {Path(path).name}")
    if should_stop():
        raise Cancelled()
    return save_model(path, pipeline, metadata)


def load_job(path: str | Path, should_stop: StopCheck = never_stop,
             trust: bool = False) -> Generator[Progress, None, ModelBundle]:
    yield Progress("Opening", None, f"Reading {Path(path).name}")
    return load_model(path, trust)


def describe_bundle(bundle: ModelBundle) -> str:
    """A short, plain description of what a model file holds."""
    meta = bundle.metadata
    inputs = [c["name"] for c in bundle.input_columns]
    shown = ", ".join(inputs[:10]) + (f" and {len(inputs) - 10} more" if len(inputs) > 10 else "")
    lines = [
        f"{meta.get('model_label', meta.get('model', 'Model'))} predicting {bundle.target} "
        f"({bundle.task.value}).",
        f"Needs the columns: {shown}." if not any(c.get("kind") == "image" for c in bundle.input_columns) else
        "Reads picture files" + (f", shrunk to {meta['images']['size']} × {meta['images']['size']} pixels."
                                 if isinstance(meta.get("images"), dict) else "."),
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
