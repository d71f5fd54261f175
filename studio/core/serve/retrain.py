"""Training a saved model again on new rows, with the preparation, split and model settings it was made with.

The new rows (and, when given, the rows the old model learned from) are split with the model's own split settings,
seed included, each table on its own: old rows split as they were when the model was made, so its test rows stay
unseen, and the new rows' test part is where the old and the new model are compared, on exactly the same rows.
A model file from before the preparation was kept in it gets Studio's default preparation for its columns (with
the columns it left out still left out), and a note says so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError, StudioError, first_line
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.common.words import plural
from studio.core.data.drift import numeric_values
from studio.core.data.target import Task, target_values
from studio.core.evaluate.metrics import METRIC_LABELS, Scores, format_metric, headline_metric, predict_part, score_part
from studio.core.prep.config import PrepConfig, Treatment
from studio.core.store.model_file import ModelBundle, required_columns
from studio.core.train.splits import SplitConfig, SplitIndices, split_rows
from studio.core.train.training import TrainRequest, TrainResult, train

# A column counts as holding numbers when at least this share of its filled cells read as numbers; a few stray
# words in a number column are gaps to the preparation, not a change of type.
NUMBER_SHARE = 0.5
# Training itself is this part of the progress bar; checking before and comparing after take the rest.
TRAIN_FROM, TRAIN_TO = 0.05, 0.95
T = TypeVar("T")


@dataclass(frozen=True)
class RetrainResult:
    """The model trained again, and the old and the new model scored on the same new test rows."""

    result: TrainResult
    old_scores: Scores
    new_scores: Scores
    sentence: str
    notes: tuple[str, ...]
    # The model file this one was trained from: its path and its "created" stamp, kept with the new run.
    retrained_from: dict[str, str]

    def scores_plain(self) -> dict[str, dict[str, float | None]]:
        """Both score sets as JSON-friendly numbers (NaN as None)."""
        def plain(scores: Scores) -> dict[str, float | None]:
            return {k: v if math.isfinite(v) else None for k, v in scores.as_dict().items()}

        return {"old": plain(self.old_scores), "new": plain(self.new_scores)}

    def run(self, model_path: str = "") -> dict[str, Any]:
        """The new model as a run for ``RunStore.add``, its details linking it to the model it was trained from."""
        from studio.core.store.runs import run_from_result

        run = run_from_result(self.result, model_path)
        run["details"] = {**run["details"], "retrained_from": dict(self.retrained_from),
                          "retrain_comparison": {"rows": self.new_scores.rows, **self.scores_plain()}}
        return run


def retrain_job(bundle: ModelBundle, new_frame: pd.DataFrame, old_frame: pd.DataFrame | None = None,
                should_stop: StopCheck = never_stop, source_path: str = "") -> Generator[Progress, None, RetrainResult]:
    """Train ``bundle``'s model again on ``new_frame`` (plus ``old_frame``, the rows it learned from, when given)
    and compare the old and the new model on the new rows' test part. ``source_path`` names the new rows' file."""
    check_rows(bundle, new_frame, old_frame)
    yield Progress("Checking the new rows", 0.0, f"Checking {len(new_frame):,} new rows")
    target, task = bundle.target, bundle.task
    key, params = _model_settings(bundle)
    notes: list[str] = []
    new_rows, y_new, dropped = _rows_with_target(new_frame, target, task)
    if dropped:
        notes.append(f"{plural(dropped, 'new row')} without a value for '{target}' {'was' if dropped == 1 else 'were'} "
                     "left out.")
    prep, split = _settings(bundle, new_frame if old_frame is None else pd.concat([old_frame, new_frame]), notes)
    new_parts = _split(y_new, task, split, "new rows")
    old_rows, y_old = new_rows.iloc[:0], y_new[:0]
    old_parts = None
    if old_frame is not None:
        old_rows, y_old, _ = _rows_with_target(old_frame, target, task)
        try:
            old_parts = _split(y_old, task, split, "old rows")
        except DataError:
            # Too few old rows to split: they can still help as training rows, and the test is on new rows anyway.
            notes.append(f"The {len(old_rows):,} old rows are too few to split, so all of them were used for "
                         "training.")
            empty = np.arange(0)
            old_parts = SplitIndices(np.arange(len(old_rows)), empty, empty, False)
    if task is Task.CLASSIFICATION and bundle.classes:
        notes.extend(_new_class_notes(bundle.classes, y_new))
    _check_stop(should_stop)

    frame = pd.concat([new_rows, old_rows], ignore_index=True) if old_frame is not None else new_rows
    y = np.concatenate([y_new, y_old]) if old_frame is not None else y_new
    fixed = new_parts if old_parts is None else _joined(new_parts, old_parts, len(new_rows))
    # The new model reads its files as the old one did (the reading options the person set, kept in the file).
    read_options = bundle.read_options
    request = TrainRequest(frame, target, task, prep, split, key, params, fixed_split=fixed, source_path=source_path,
                           read_options=None if read_options.is_default else read_options)
    result = yield from _scaled(train(request, should_stop))

    yield Progress("Comparing", TRAIN_TO, "Scoring the old and the new model on the same new test rows")
    x_test, y_test, y_train = frame.iloc[new_parts.test], y_new[new_parts.test], y[fixed.train]
    old_scores = _score(bundle.pipeline, task, x_test[[c for c in required_columns(bundle) if c in x_test.columns]],
                        y_test, y_train, "old model")
    new_scores = _score(result.pipeline, task, x_test, y_test, y_train, "new model")
    link = {"path": str(Path(bundle.path).resolve()) if bundle.path else "",
            "created": str(bundle.metadata.get("created", ""))}
    yield Progress("Done", 1.0, "Trained again and compared")
    return RetrainResult(result, old_scores, new_scores, comparison_sentence(task, old_scores, new_scores),
                         tuple(notes), link)


def retrain_files_job(bundle: ModelBundle, new_path: str | Path, old_path: str | Path | None = None,
                      should_stop: StopCheck = never_stop) -> Generator[Progress, None, RetrainResult]:
    """``retrain_job`` on tables read from files, so a worker reads them too (the window never reads on its thread)."""
    from studio.core.data.tabular import load_table

    yield Progress("Reading", 0.0, f"Reading {Path(new_path).name}")
    new = load_table(new_path, options=bundle.read_options)
    _check_stop(should_stop)
    old = None
    if old_path:
        yield Progress("Reading", 0.0, f"Reading {Path(old_path).name}")
        old = load_table(old_path, options=bundle.read_options).frame
    return (yield from retrain_job(bundle, new.frame, old, should_stop, source_path=new.path))


def comparison_sentence(task: Task, old: Scores, new: Scores) -> str:
    """The side-by-side result in one sentence a non-programmer reads."""
    metric = headline_metric(task)
    rows = f"{new.rows:,} new test row" + ("" if new.rows == 1 else "s")
    text = (f"On {rows} the new model's {METRIC_LABELS[metric].lower()} is {format_metric(metric, new.get(metric))} "
            f"against {format_metric(metric, old.get(metric))} for the old one")
    return text + (" (lower is better)." if metric in ("mae", "rmse") else ".")


# -- settings ---------------------------------------------------------------------------------------------------
def _model_settings(bundle: ModelBundle) -> tuple[str, dict[str, Any]]:
    from studio.core.models.registry import get_model

    key = bundle.metadata.get("model")
    if not isinstance(key, str) or not key:
        raise StudioError("This model file does not say which kind of model it holds, so it cannot be trained "
                          "again. Train a new model on the rows instead.")
    spec = get_model(key)  # a model this Studio no longer has is said in words
    missing = spec.missing_requirement()
    if missing:
        raise StudioError(missing)
    params = bundle.metadata.get("params")
    return spec.key, dict(params) if isinstance(params, dict) else {}


def _stored(bundle: ModelBundle, name: str, cls: type[T]) -> T | None:
    """A config the model file keeps in its metadata (see TrainResult.settings); None when it has none."""
    from studio.core.store.runs import config_from_plain

    raw = bundle.metadata.get(name)
    if not isinstance(raw, dict):
        return None
    try:
        return cast(T, config_from_plain(cls, raw))
    except (TypeError, ValueError, KeyError):
        return None  # a description this Studio cannot read: the caller's defaults, said in its note


def _settings(bundle: ModelBundle, frame: pd.DataFrame, notes: list[str]) -> tuple[PrepConfig, SplitConfig]:
    """The preparation and split the model was made with; Studio's defaults for a file that did not keep them."""
    prep, split = _stored(bundle, "prep", PrepConfig), _stored(bundle, "split", SplitConfig)
    lacks = (prep is None or not prep.columns, split is None)
    used = {(True, True): "preparation and split settings (it was saved by an earlier Studio), so Studio's default "
                          "preparation for its columns and its default split were used.",
            (True, False): "preparation settings (it was saved by an earlier Studio), so Studio's default "
                           "preparation was used for its columns.",
            (False, True): "split settings (it was saved by an earlier Studio), so Studio's default split was used."}
    if any(lacks):
        notes.append(f"This model file does not keep its {used[lacks]}")
    if prep is None or not prep.columns:
        prep = _default_prep(bundle, frame)
    return prep, split or SplitConfig()


def _default_prep(bundle: ModelBundle, frame: pd.DataFrame) -> PrepConfig:
    """Studio's default preparation for the table, keeping the model's own choice of columns."""
    from studio.core.data.profile import profile_frame
    from studio.core.prep.config import default_prep

    treatments = {str(c.get("name")): str(c.get("treatment", "")) for c in bundle.input_columns}
    prep = default_prep(profile_frame(frame))
    for column in prep.columns:
        if column.name == bundle.target:
            continue
        treatment = treatments.get(column.name)
        if treatment is None:
            prep = prep.with_column(column.name, treatment=Treatment.EXCLUDE, reason="not used by the old model")
        elif treatment in set(Treatment):
            prep = prep.with_column(column.name, treatment=Treatment(treatment))
    return prep


# -- the rows ---------------------------------------------------------------------------------------------------
def check_rows(bundle: ModelBundle, new_frame: pd.DataFrame, old_frame: pd.DataFrame | None = None) -> None:
    """Refuse, in words, a model or rows it cannot be trained again on; quick, so a caller can ask before the job."""
    _model_settings(bundle)
    _check_rows(bundle, new_frame, "new rows")
    if old_frame is not None:
        _check_rows(bundle, old_frame, "old rows")
    _, y_new, _ = _rows_with_target(new_frame, bundle.target, bundle.task)
    if len(y_new) == 0:
        raise DataError(f"None of the new rows has a value for '{bundle.target}', so there is nothing to learn from "
                        "them.")
    _split(y_new, bundle.task, _stored(bundle, "split", SplitConfig) or SplitConfig(), "new rows")


def _check_rows(bundle: ModelBundle, frame: pd.DataFrame, which: str) -> None:
    """Refuse, in words, rows the model cannot learn from: no target, missing columns, a column that changed type."""
    if bundle.target not in frame.columns:
        raise DataError(f"The {which} have no '{bundle.target}' column, the column the model predicts, so they "
                        "cannot teach it anything. Add that column with its values.")
    missing = [c for c in required_columns(bundle) if c not in frame.columns]
    if missing:
        listed = ", ".join(f"'{m}'" for m in missing[:8]) + (" …" if len(missing) > 8 else "")
        raise DataError(f"The {which} lack {plural(len(missing), 'column')} the model learns from: {listed}.")
    profile = (bundle.metadata.get("training_profile") or {}).get("columns", {})
    for column in bundle.input_columns:
        name, treatment = str(column.get("name")), str(column.get("treatment", ""))
        if treatment in (Treatment.EXCLUDE.value, Treatment.DATE.value, Treatment.TEXT.value):
            continue
        values = frame[name]
        present = values[values.notna()]
        if len(present) == 0:
            continue
        numbers = ~np.isnan(numeric_values(present))
        share = float(numbers.mean())
        if Treatment.NUMERIC.value in (column.get("kind"), treatment) and share < NUMBER_SHARE:
            example = str(present[~numbers].iloc[0])
            raise DataError(f"'{name}' held numbers when the model was trained, but the {which} hold words there "
                            f"(such as '{example[:40]}'). Put numbers in that column, or train a new model.")
        if treatment == Treatment.CATEGORICAL.value and column.get("kind") == "categorical" \
                and _held_words(profile.get(name)) and share == 1.0:
            raise DataError(f"'{name}' held words when the model was trained (such as "
                            f"'{_held_words(profile.get(name))}'), but the {which} hold only numbers there (such as "
                            f"{present.iloc[0]}). Put the same kind of values in that column, or train a new model.")


def _held_words(described: Any) -> str:
    """A word from a category column's training values when none of them read as a number; empty otherwise."""
    if not isinstance(described, dict) or described.get("type") != "category" or not described.get("values"):
        return ""
    values = pd.Series(list(described["values"]), dtype=object)
    if (~np.isnan(numeric_values(values))).any():
        return ""
    return str(values.iloc[0])[:40]


def _rows_with_target(frame: pd.DataFrame, target: str, task: Task) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The rows that have a target value, the target as the model sees it, and how many rows were left out."""
    values = target_values(frame[target], task)
    keep = values.notna().to_numpy()
    y = values[keep].to_numpy()
    y = y.astype(float) if task is Task.REGRESSION else y.astype(str)
    return frame.loc[keep].reset_index(drop=True), y, int((~keep).sum())


def _split(y: np.ndarray, task: Task, split: SplitConfig, which: str) -> SplitIndices:
    try:
        return split_rows(pd.Series(y) if task is Task.CLASSIFICATION else None, len(y), split)
    except DataError as exc:
        raise DataError(f"The {which} are too few to split into training, validation and test rows "
                        f"the way the model was made. {exc}") from None


def _joined(new: SplitIndices, old: SplitIndices, offset: int) -> SplitIndices:
    """Each part of the new rows with the same part of the old rows, which follow them from ``offset``."""
    return SplitIndices(np.concatenate([new.train, old.train + offset]),
                        np.concatenate([new.validation, old.validation + offset]),
                        np.concatenate([new.test, old.test + offset]), new.stratified, new.note)


def _new_class_notes(known: list[str], y: np.ndarray) -> list[str]:
    values, counts = np.unique(y, return_counts=True)
    unseen = [(str(v), int(c)) for v, c in zip(values, counts, strict=True) if str(v) not in set(known)]
    if not unseen:
        return []
    listed = ", ".join(f"'{v}' ({c:,} row{'' if c == 1 else 's'})" for v, c in unseen[:5])
    return [f"The new rows hold {'a class' if len(unseen) == 1 else 'classes'} the old model never saw: {listed}. "
            "The new model learns it; the old model's score counts those rows as wrong."]


# -- training and scoring ---------------------------------------------------------------------------------------
def _scaled(job: Generator[Progress, None, TrainResult]) -> Generator[Progress, None, TrainResult]:
    """Training's progress placed inside the whole job's, curve points passed on as they are."""
    try:
        while True:
            try:
                item = next(job)
            except StopIteration as finished:
                return finished.value
            fraction = None if item.fraction is None else TRAIN_FROM + (TRAIN_TO - TRAIN_FROM) * item.fraction
            yield replace(item, fraction=fraction)
    except ValueError as exc:
        # scikit-learn refusing settings that fitted the old rows, e.g. more neighbours than the new training rows.
        raise StudioError(f"Training on the new rows failed: {first_line(exc, 300)}") from exc
    finally:
        job.close()


def _score(pipeline: Any, task: Task, x: Any, y_true: np.ndarray, y_train: np.ndarray,
           which: str) -> Scores:
    """One model's test scores on the new test rows; a class it never saw counts as wrong, never as a failure."""
    try:
        predictions, proba = predict_part(pipeline, task, x)
    except Exception as exc:  # the old pipeline is user data: its failures become a sentence
        raise StudioError(f"The {which} could not predict the new test rows: {first_line(exc, 200)}") from exc
    classes = None
    if task is Task.CLASSIFICATION:
        classes = np.asarray([str(c) for c in getattr(pipeline, "classes_", ())], dtype=object)
        predictions = predictions.astype(str)
        if not np.isin(y_true, classes).all():
            proba = None  # ROC AUC is undefined over a class the model has no column for
    with warnings.catch_warnings():
        # An old model still predicting a class the new rows no longer hold is scored as it is; the warning says
        # nothing the comparison does not.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return score_part("test", task, y_true, predictions, proba, classes, y_train)


def _check_stop(should_stop: StopCheck) -> None:
    if should_stop():
        raise Cancelled()
