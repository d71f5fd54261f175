"""Predicting pictures with a saved image model: one row per picture, its class and how sure the model is.

A picture the model is unsure about (its top probability under the confidence the person chose) is called
"not sure" rather than given a confident label: a photo of something the model never saw must not look like an
answer. A file that cannot be read gets a row that says why; the other pictures are still predicted.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Generator, Sequence

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.data.images import display_name, image_paths_in
from studio.core.store.model_file import ModelBundle

NOT_SURE = "not sure"
DEFAULT_CONFIDENCE = 0.6  # below this top probability a picture is "not sure"
BATCH = 64
PICTURE_COLUMN = "picture"


def is_image_model(bundle: ModelBundle) -> bool:
    return any(column.get("kind") == "image" for column in bundle.input_columns)


def predict_images(bundle: ModelBundle, inputs: Sequence[str], confidence: float = DEFAULT_CONFIDENCE,
                   should_stop: StopCheck = never_stop) -> Generator[Progress, None, pd.DataFrame]:
    """Predict every picture among ``inputs`` (files, and folders read recursively).

    Columns: picture (the path relative to the folder given, or the file's name), prediction (a class or
    "not sure"), best_guess, confidence, probability_<class> per class, and note (why a file was not read).
    """
    if not is_image_model(bundle):
        raise DataError("This model was trained on a table, not on pictures; predict a table with it instead.")
    if not 0.0 <= confidence <= 1.0:
        raise DataError("The confidence must lie between 0 and 100 %.")
    paths, others = image_paths_in(list(inputs))
    if not paths:
        raise DataError("There are no pictures to predict here" + (f" ({others} other files)" if others else "")
                        + ". Pictures end in .jpg, .png, .bmp, .gif, .tif or .webp.")
    names = _shown_names(paths, list(inputs))
    reader, model = bundle.pipeline.steps[0][1], bundle.pipeline.steps[-1][1]
    classes = [str(c) for c in model.classes_]
    proba = np.full((len(paths), len(classes)), np.nan)
    notes = [""] * len(paths)
    yield Progress("Predicting", 0.0, f"Predicting {len(paths):,} pictures")
    for start in range(0, len(paths), BATCH):
        if should_stop():
            raise Cancelled()
        batch = paths[start:start + BATCH]
        pixels, failures = reader.read(batch)
        good = np.array([i not in failures for i in range(len(batch))])
        for index, why in failures.items():
            notes[start + index] = why
        if good.any():
            try:
                proba[start:start + len(batch)][good] = model.predict_proba(pixels[good])
            except Exception as exc:  # the model is user data: its failure is said in words
                raise DataError(f"The model could not predict these pictures: {str(exc).splitlines()[0][:200]}") \
                    from exc
        done = min(len(paths), start + BATCH)
        yield Progress("Predicting", done / len(paths), f"{done:,} of {len(paths):,} pictures")
    return _table(names, paths, proba, classes, notes, confidence, others)


def _table(names: list[str], paths: list[str], proba: np.ndarray, classes: list[str], notes: list[str],
           confidence: float, others: int) -> pd.DataFrame:
    readable = ~np.isnan(proba).any(axis=1)
    best = np.where(readable, np.nanargmax(np.where(readable[:, None], proba, 0.0), axis=1), 0)
    top = np.where(readable, proba[np.arange(len(paths)), best], np.nan)
    guess = np.asarray(classes, dtype=object)[best]
    out = pd.DataFrame({PICTURE_COLUMN: names, "prediction": "",
                        "best_guess": np.where(readable, guess, "").astype(object),
                        "confidence": np.round(top, 6)})
    out["prediction"] = _labels(out, confidence)
    for index, name in enumerate(classes):
        out[f"probability_{name}"] = np.round(proba[:, index], 6)
    out["note"] = notes
    out.attrs["paths"] = paths
    out.attrs["notes"] = ([f"{others:,} file{' that is' if others == 1 else 's that are'} not a picture "
                           f"{'was' if others == 1 else 'were'} left out."] if others else [])
    return out


def _labels(predictions: pd.DataFrame, confidence: float) -> np.ndarray:
    read = predictions["confidence"].notna().to_numpy()
    sure = predictions["confidence"].fillna(-1.0).to_numpy() >= confidence
    return np.where(~read, "", np.where(sure, predictions["best_guess"], NOT_SURE)).astype(object)


def with_confidence(predictions: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Picture predictions labelled again for another confidence needed, without predicting again: the model's
    best guess where it is at least that sure, "not sure" where it is less, nothing for a file not read."""
    out = predictions.copy()
    out["prediction"] = _labels(out, confidence)
    out.attrs = dict(predictions.attrs)
    return out


def _shown_names(paths: list[str], inputs: list[str]) -> list[str]:
    """Each picture's name relative to the folder it was found in (a folder given), else its file name."""
    folders = [os.path.abspath(p) for p in inputs if os.path.isdir(p)]
    names = []
    for path in paths:
        absolute = os.path.abspath(path)
        folder = next((f for f in folders if absolute.startswith(f + os.sep)), None)
        shown = os.path.relpath(absolute, folder) if folder else os.path.basename(path)
        names.append(display_name(shown).replace(os.sep, "/"))
    # Two pictures under one name (a file given beside a folder holding another of that name, or two folders
    # with the same layout) could not be told apart in the table: those keep their path as given.
    counts = Counter(names)
    return [display_name(path).replace(os.sep, "/") if counts[name] > 1 else name
            for name, path in zip(names, paths, strict=True)]


def summary(predictions: pd.DataFrame) -> str:
    """The predictions in one sentence: how many of each class, how many not sure, how many unreadable."""
    counts = predictions["prediction"].value_counts()
    unreadable = int((predictions["note"] != "").sum())
    parts = [f"{int(n):,} {name}" for name, n in counts.items() if name not in ("", NOT_SURE)]
    if NOT_SURE in counts:
        parts.append(f"{int(counts[NOT_SURE]):,} not sure")
    if unreadable:
        parts.append(f"{unreadable:,} could not be read")
    return f"{len(predictions):,} pictures: " + ", ".join(parts) + "."
