"""Every training run, kept in one SQLite file (standard library ``sqlite3``).

Each write is one transaction and the journal is in WAL mode, so a crash mid-write leaves the previous state
intact. A file that SQLite cannot read is never emptied in place: it is renamed aside (``runs.damaged-<time>.sqlite3``)
and a fresh store is started, with ``damage_note`` saying so for the window or the command line to show.
Connections are opened per call, so a worker thread and the GUI thread may write at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError
from studio.core.common.places import DATA_ENV, default_data_dir  # noqa: F401 - where callers find them
from studio.core.evaluate.metrics import Scores, number_or_nan
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec

RUNS_FILE = "runs.sqlite3"
# 2: a search is one run, its trials in the "search" column (version 1 kept a run per trial).
SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    dataset_path TEXT NOT NULL DEFAULT '',
    dataset_fingerprint TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL,
    task TEXT NOT NULL,
    model_key TEXT NOT NULL,
    model_label TEXT NOT NULL,
    params TEXT NOT NULL,
    prep TEXT NOT NULL,
    split TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT 'cpu',
    duration_s REAL NOT NULL,
    metrics TEXT NOT NULL,
    history TEXT NOT NULL,
    details TEXT NOT NULL,
    model_path TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL,
    explanations TEXT NOT NULL DEFAULT '{}',
    search TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
"""


def default_runs_path() -> Path:
    return default_data_dir() / RUNS_FILE


@dataclass(frozen=True)
class RunRecord:
    """One stored run. Configs and metrics are plain JSON-friendly dicts."""

    id: int
    created: str
    dataset_path: str
    dataset_fingerprint: str
    target: str
    task: str
    model_key: str
    model_label: str
    params: dict[str, Any]
    prep: dict[str, Any]
    split: dict[str, Any]
    device: str
    duration_s: float
    metrics: dict[str, Any]  # {"validation": {...}, "test": {...}, "test_baseline": {...}, "train": {...}}
    history: list[dict[str, Any]]
    details: dict[str, Any]
    model_path: str
    versions: dict[str, str]
    explanations: dict[str, Any] = field(default_factory=dict)
    # A search's run: the search that chose the model, every trial included (see studio.core.search.history);
    # {} for a run trained by hand. ``RunStore.summaries`` keeps it without the trials.
    search: dict[str, Any] = field(default_factory=dict)

    @property
    def is_search(self) -> bool:
        return bool(self.search)

    @property
    def search_tries(self) -> int:
        """How many trials the search ran (0 for a run trained by hand)."""
        return int(self.search.get("tries") or len(self.search.get("trials") or ())) if self.search else 0

    @property
    def dataset_name(self) -> str:
        return Path(self.dataset_path).name if self.dataset_path else "(table)"

    def metric(self, part: str, name: str) -> float | None:
        value = self.metrics.get(part, {}).get(name)
        return None if value is None else float(value)

    def scores(self, part: str) -> Scores | None:
        """The stored scores of one part ("validation", "test") with the baseline's; None if it has none."""
        values = self.metrics.get(part)
        if not values:
            return None
        baseline = self.metrics.get(f"{part}_baseline", {})
        rows = int(self.metrics.get("rows", {}).get(part, 0))
        return Scores(part, rows, tuple((k, number_or_nan(v)) for k, v in values.items()),
                      tuple((k, number_or_nan(v)) for k, v in baseline.items()))

    def config(self) -> dict[str, Any]:
        """Every setting that decided the run, flattened to 'area: name' keys, for side-by-side comparison."""
        flat: dict[str, Any] = {"Data: table": self.dataset_name, "Data: fingerprint": self.dataset_fingerprint,
                                "Data: target": self.target, "Model": self.model_label, "Device": self.device}
        flat.update({f"Model: {_param_label(self.model_key, k)}": _param_value(self.model_key, k, v)
                     for k, v in sorted(self.params.items())})
        spec = _spec_or_none(self.model_key)
        if spec is not None and spec.combines_models:
            # The members in words, not the JSON they are kept as.
            flat["Model: members"] = spec.describe(self.params)
        if self.search:
            tries = self.search_tries
            kind = "the best settings" if self.search.get("mode") == "tune" else "the best model"
            flat["Model: chosen by"] = f"a search for {kind} ({tries} {'try' if tries == 1 else 'tries'})"
        regression = self.task == "regression"
        flat.update({f"Split: {_SPLIT_LABELS.get(k, k)}": _plain_value(v) for k, v in sorted(self.split.items())
                     if not (k == "stratify" and regression)})  # a number has no classes to keep in proportion
        if flat.get("Split: cross-validation folds") == "0":
            flat["Split: cross-validation folds"] = "off"
        defaults = _column_defaults()
        for column in self.prep.get("columns", []):
            if isinstance(column, dict) and "name" in column and column["name"] != self.target:
                changed = [f"{k.replace('_', ' ')}: {_plain_value(v)}" for k, v in column.items()
                           if k in defaults and v != defaults[k]]
                flat[f"Prepare: {column['name']}"] = " · ".join([str(column.get("treatment", "")), *changed])
        for key, value in self.prep.items():
            if key != "columns":
                flat[f"Prepare: {key.replace('_', ' ')}"] = _plain_value(value)
        return flat


def _param_value(model_key: str, name: str, value: Any) -> str:
    """A setting's value as the model form says it ("square root of the column count", "no limit")."""
    spec = _spec_or_none(model_key)
    try:
        return spec.param(name).describe_value(value) if spec is not None else _plain_value(value)
    except StudioError:  # a setting an older Studio had
        return _plain_value(value)


def _column_defaults() -> dict[str, Any]:
    """The per-column preparation settings that have a default, in their stored form (to show only changes)."""
    import dataclasses

    from studio.core.evaluate.details import to_plain
    from studio.core.prep.config import ColumnPrep

    return {f.name: to_plain(f.default) for f in dataclasses.fields(ColumnPrep)
            if f.default is not dataclasses.MISSING and f.name not in ("reason",)}


def _plain_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain_value(v) for v in value) or "none"
    if value is None:
        return "none"
    return str(value)


_SPLIT_LABELS = {"validation": "validation share", "test": "test share", "stratify": "same class shares in each "
                 "part", "seed": "random seed", "cv_folds": "cross-validation folds"}


def _spec_or_none(model_key: str) -> ModelSpec | None:
    try:
        return get_model(model_key)
    except StudioError:
        return None  # a model this Studio no longer has


def _param_label(model_key: str, name: str) -> str:
    try:
        return get_model(model_key).param(name).label.lower()
    except StudioError:
        return name  # a model or setting this Studio no longer has


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.damage_note = ""
        self._open()

    # -- opening ------------------------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StudioError(f"Studio cannot create the folder for its run history ({self.path.parent}): "
                              f"{exc.strerror or exc}.") from exc
        try:
            self._initialise()
        except sqlite3.OperationalError as exc:
            # Locked, read-only, cannot be opened: the file is not damaged, so it is left exactly as it is.
            if "locked" in str(exc):
                raise StudioError("The run history is in use by another program; try again.") from exc
            raise StudioError(f"Studio cannot open its run history {self.path}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            aside = self._set_aside()
            self.damage_note = (f"The run history file {self.path.name} was damaged ({exc}) and could not be read. "
                                f"It was kept as {aside.name} next to it, and a new, empty history was started.")
            self._initialise()

    def _initialise(self) -> None:
        with self._connect() as connection:
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else 'no answer'}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            _add_missing_columns(connection)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _set_aside(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.stem}.damaged-{stamp}{self.path.suffix}")
        counter = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.stem}.damaged-{stamp}-{counter}{self.path.suffix}")
            counter += 1
        os.replace(self.path, aside)
        for extra in ("-wal", "-shm"):
            side = Path(str(self.path) + extra)
            if side.exists():
                os.replace(side, Path(str(aside) + extra))
        return aside

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        # In WAL mode NORMAL still survives a crash of Studio (only a power cut may lose the last run), and it
        # saves an fsync per run recorded on the GUI thread.
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            with connection:  # one transaction: committed on success, rolled back on any error
                yield connection
        finally:
            connection.close()

    # -- writing ------------------------------------------------------------------------------------------------
    def add(self, run: dict[str, Any]) -> int:
        """Store a run given as plain values (see ``run_from_result``); returns its id."""
        return self.add_many([run])[0]

    def add_many(self, runs: list[dict[str, Any]]) -> list[int]:
        """Store several runs in one transaction: all of them or, on an error, none."""
        columns = _ALL_COLUMNS[1:]  # every column but the id, which SQLite assigns
        insert = f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        with self._connect() as connection:
            return [int(connection.execute(insert, [_encode(run.get(name, _DEFAULTS.get(name))) for name in columns])
                        .lastrowid or 0) for run in runs]

    def set_model_path(self, run_id: int, path: str) -> None:
        with self._connect() as connection:
            connection.execute("UPDATE runs SET model_path = ? WHERE id = ?", (str(path), run_id))

    def add_explanation(self, run_id: int, kind: str, value: dict[str, Any]) -> None:
        """Keep an explanation computed after training (importance, learning curve) with its run."""
        with self._connect() as connection:
            # Read and write under one write lock, so two explanations saved at once cannot drop each other.
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute("SELECT explanations FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return
            stored = json.loads(row[0] or "{}")
            stored[kind] = value
            connection.execute("UPDATE runs SET explanations = ? WHERE id = ?", (_encode(stored), run_id))

    def delete(self, run_ids: list[int]) -> None:
        with self._connect() as connection:
            connection.executemany("DELETE FROM runs WHERE id = ?", [(int(i),) for i in run_ids])

    # -- reading ------------------------------------------------------------------------------------------------
    def get(self, run_id: int) -> RunRecord:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise StudioError(f"There is no run number {run_id} in the run history ({self.path}).")
        return _record(row)

    def all(self) -> list[RunRecord]:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
        return [_record(row) for row in rows]

    def summaries(self) -> list[RunRecord]:
        """Every run without its bulky parts (details, loss history, explanations, a search's trials), newest
        first: the leaderboard stays quick with thousands of runs. ``get`` gives a whole run."""
        light = ", ".join(f"'{{}}' AS {c}" if c in ("details", "explanations") else
                          "'[]' AS history" if c == "history" else
                          # SQLite's JSON functions drop the trials in the query, so they are never read.
                          f"{_SEARCH_WITHOUT_TRIALS} AS search" if c == "search" else c
                          for c in _ALL_COLUMNS)
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            try:
                rows = connection.execute(f"SELECT {light} FROM runs ORDER BY id DESC").fetchall()
            except sqlite3.OperationalError:  # an SQLite built without its JSON functions: searches read whole
                whole = light.replace(_SEARCH_WITHOUT_TRIALS, "search")
                rows = connection.execute(f"SELECT {whole} FROM runs ORDER BY id DESC").fetchall()
        return [_record(row) for row in rows]

    def count(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


_SEARCH_WITHOUT_TRIALS = "json_remove(search, '$.trials')"
_ALL_COLUMNS = ("id", "created", "dataset_path", "dataset_fingerprint", "target", "task", "model_key",
                "model_label", "params", "prep", "split", "device", "duration_s", "metrics", "history", "details",
                "model_path", "versions", "explanations", "search")
_DEFAULTS: dict[str, Any] = {"dataset_path": "", "dataset_fingerprint": "", "device": "cpu", "model_path": "",
                             "explanations": {}, "details": {}, "history": [], "search": {}}
_JSON_COLUMNS = ("params", "prep", "split", "metrics", "history", "details", "versions", "explanations", "search")
# Columns added after the first version of the store, with their definitions: a history written by an older
# Studio gains them when opened (each with its empty default), and keeps every run it holds.
_ADDED_COLUMNS = {"explanations": "TEXT NOT NULL DEFAULT '{}'", "search": "TEXT NOT NULL DEFAULT '{}'"}


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    present = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    for name, definition in _ADDED_COLUMNS.items():
        if name not in present:
            connection.execute(f"ALTER TABLE runs ADD COLUMN {name} {definition}")


def _encode(value: Any) -> Any:
    """JSON for a column; NaN and infinity, which are not JSON, are stored as null."""
    if not isinstance(value, dict | list | tuple):
        return value
    try:
        # What run_from_result makes is plain and finite already: json's own walk is then the only one.
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):  # a non-finite number, a dataclass or a key json cannot write
        from studio.core.evaluate.details import to_plain

        return json.dumps(to_plain(value), ensure_ascii=False)


def _record(row: sqlite3.Row) -> RunRecord:
    values = dict(row)
    for name in _JSON_COLUMNS:
        values[name] = json.loads(values[name] or "null") or ({} if name != "history" else [])
    return RunRecord(**values)


# -- from a result and back -------------------------------------------------------------------------------------
def run_from_result(result: Any, model_path: str = "") -> dict[str, Any]:
    """The plain values ``RunStore.add`` keeps for a TrainResult."""
    from studio.core.evaluate.details import to_plain
    from studio.core.prep.config import PrepConfig
    from studio.core.prep.images import ImageTraining
    from studio.core.store.model_file import library_versions
    from studio.core.train.splits import SplitConfig

    prep = next((p for p in result.fingerprint if isinstance(p, PrepConfig)), None)
    split = next((p for p in result.fingerprint if isinstance(p, SplitConfig)), None)
    pictures = next((p for p in result.fingerprint if isinstance(p, ImageTraining)), None)
    versions = library_versions()  # torch's too, where a network was trained
    details = result.details
    metrics: dict[str, Any] = {"test": result.test.as_dict(), "test_baseline": dict(result.test.baseline),
                               "rows": dict(zip(("train", "validation", "test"), result.split_sizes, strict=True))}
    if result.validation is not None:
        metrics["validation"] = result.validation.as_dict()
        metrics["validation_baseline"] = dict(result.validation.baseline)
    if details is not None:
        metrics["train"] = dict(details.train_metrics)
        if details.cross_validation is not None:
            cv = details.cross_validation
            metrics["cross_validation"] = {"metric": cv.metric, "mean": cv.mean(), "spread": cv.spread(),
                                           "folds": list(cv.scores())}
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset_path": str(result.source_path or ""),
        "dataset_fingerprint": details.data_fingerprint if details is not None else "",
        "target": result.target, "task": result.task.value, "model_key": result.model_key,
        "model_label": result.model_label, "params": dict(result.params),
        # Pictures keep how they were read (size, colour, augmentation), so the run can be trained again.
        "prep": to_plain(prep) if prep is not None else
        {"images": to_plain(pictures.prep), "size": pictures.size} if pictures is not None else {},
        "split": to_plain(split) if split is not None else {},
        "device": _device_of(result),
        "duration_s": float(result.duration_s), "metrics": metrics,
        "history": [to_plain(point) for point in result.history],
        "details": details.to_plain() if details is not None else {},
        "model_path": model_path, "versions": versions,
        # A search's run carries the search: one search is one run (plain data made by the search).
        "search": dict(getattr(result, "search", None) or {}),
    }


def _device_of(result: Any) -> str:
    """Where the model was trained: the device a network actually used, else the one asked for, else the CPU."""
    model = getattr(result.pipeline, "named_steps", {}).get("model")
    for candidate in (model, getattr(model, "regressor_", None), getattr(model, "estimator", None)):
        used = getattr(candidate, "device_used_", None)
        if used:
            return str(used)
    asked = result.params.get("device")
    return str(asked) if asked and asked != "auto" else "cpu"


def config_from_plain(cls: type, raw: Any) -> Any:
    """Rebuild a frozen config dataclass (PrepConfig, SplitConfig, ...) from its stored plain form.

    Driven by the type hints, so configs that gain fields keep loading; fields missing from an older run take
    their defaults.
    """
    import dataclasses
    import enum
    import types
    import typing

    def build(kind: Any, value: Any) -> Any:
        origin = typing.get_origin(kind)
        if value is None:
            return None
        if origin in (typing.Union, types.UnionType):
            options = [k for k in typing.get_args(kind) if k is not type(None)]
            for option in options:
                try:
                    return build(option, value)
                except (TypeError, ValueError, KeyError):
                    continue
            return value
        if origin is tuple:
            args = typing.get_args(kind)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(build(args[0], v) for v in value)
            return tuple(build(a, v) for a, v in zip(args, value, strict=False))
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise TypeError(f"{kind.__name__} expects a mapping")
            hints = typing.get_type_hints(kind)
            known = {f.name for f in dataclasses.fields(kind) if f.init}
            return kind(**{k: build(hints[k], v) for k, v in value.items() if k in known})
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return kind(value)
        if kind is float:
            return float(value)
        if kind is int and not isinstance(value, bool):
            return int(value)
        return value

    return build(cls, raw)


def runs_path_for(settings_runs_path: str = "") -> Path:
    """The run history's file: the one named in the settings, else runs.sqlite3 in the user's data folder."""
    return Path(settings_runs_path).expanduser() if settings_runs_path else default_runs_path()


def open_user_store() -> RunStore:
    """The run store the settings point at (the command line's way in; the window passes its own settings)."""
    from studio.core.store.settings import default_settings_dir, load_settings

    return RunStore(runs_path_for(load_settings(default_settings_dir()).runs_path))


def record_from_plain(run: dict[str, Any], run_id: int = 0) -> RunRecord:
    """A RunRecord for a run that is not (or could not be) stored, e.g. to write its report anyway."""
    names = {f for f in RunRecord.__dataclass_fields__ if f != "id"}
    values: dict[str, Any] = {name: run.get(name, _DEFAULTS.get(name)) for name in names}
    return RunRecord(id=run_id, **values)
