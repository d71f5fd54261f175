"""Every training run, kept in one SQLite file (standard library ``sqlite3``).

Each write is one transaction and the journal is in WAL mode, so a crash mid-write leaves the previous state
intact. A file is never renamed, emptied or replaced: another program's file is refused with a sentence, a damaged
history or one from a newer Studio is opened read-only with ``damage_note`` saying so, and one row that cannot be
read is left out of a listing and named in ``skipped``. Runs that cannot be written (the history locked by another
program past the wait, read-only, a full disk) are kept aside in a pending file beside it, or in memory, and added
by the next write or ``flush_pending``. Connections are opened per call, so a worker thread and the GUI thread may
use the history at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError, first_line
from studio.core.common.places import DATA_ENV, default_data_dir  # noqa: F401 - where callers find them
from studio.core.data.target import Task
from studio.core.evaluate.metrics import Scores, number_or_nan
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec

RUNS_FILE = "runs.sqlite3"
# The history's version (SQLite's user_version), raised by a change an older Studio could not read or write right,
# each with a migration (_MIGRATIONS); an added column with a default needs none: older Studios ignore it.
# 1: the runs table. 2: a search is one run, its trials in the "search" column (version 1 kept a run per trial).
SCHEMA_VERSION = 2
# A write waits this long for another program's lock; then its runs are kept aside and added later.
BUSY_TIMEOUT_S = 5.0
# Opening reads, and tries a migration, this long before going on without it.
OPEN_TIMEOUT_S = 1.0
SQLITE_HEADER = b"SQLite format 3\x00"
PENDING_SUFFIX = ".pending.jsonl"

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
    search TEXT NOT NULL DEFAULT '{}',
    read_options TEXT NOT NULL DEFAULT '{}'
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
    # What the person set about reading the table (studio.core.data.read_options.ReadOptions as plain data); {}
    # when everything was detected.
    read_options: dict[str, Any] = field(default_factory=dict)

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


class HistoryRefusedError(StudioError):
    """A file that Studio will not use as its run history (another program's file, or a damaged history): it is
    left exactly as it is."""


class HistoryBusyError(StudioError):
    """The history is held by another program past the wait: nothing is wrong with it, and a later try may work."""


class RunsKeptAsideError(StudioError):
    """Runs that could not be added to the history (locked by another program, read-only, disk full): they are
    kept in the pending file beside it (or in memory) and added by a later write or ``flush_pending``."""


class RunStore:
    """The run history in one SQLite file.

    Opening never changes a file that is not a Studio history, and never replaces one: another program's file is
    refused with a sentence (HistoryRefusedError), a damaged history or one from a newer Studio is opened read-only
    with ``damage_note`` saying so. ``open_now=False`` defers the opening (a few reads, and a migration for an older
    history) to the first use, so the window does it on its history thread rather than while it starts.
    """

    def __init__(self, path: str | Path, open_now: bool = True) -> None:
        self.path = Path(path)
        # Why the history is read-only (damaged, or made by a newer Studio), in words; "" when it is writable.
        self.damage_note = ""
        # The runs the last read left out, each named with why ("run 7: its scores are not readable").
        self.skipped: list[str] = []
        self._opened = False
        self._migration_due = False
        self._open_lock = threading.RLock()  # re-entered: opening adds the runs kept aside, which writes
        self._pending_lock = threading.RLock()
        self._pending_in_memory: list[dict[str, Any]] = []
        if open_now:
            self.ensure_open()

    @property
    def pending_path(self) -> Path:
        """Where runs that could not be added yet are kept, one JSON line each, until they are."""
        return self.path.with_name(self.path.name + PENDING_SUFFIX)

    @property
    def read_only(self) -> bool:
        self.ensure_open()
        return bool(self.damage_note)

    # -- opening ------------------------------------------------------------------------------------------------
    def ensure_open(self) -> None:
        with self._open_lock:
            if self._opened:
                return
            self._open()
            self._opened = True
            if not self.damage_note and self.pending_path.exists():
                with contextlib.suppress(sqlite3.Error, OSError, StudioError):
                    self._flush_pending(OPEN_TIMEOUT_S)  # runs a locked history kept waiting, last time

    def _open(self) -> None:
        if self.path.is_dir():
            raise StudioError(f"Studio cannot open its run history {self.path}: it is a folder, not a file.")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StudioError(f"Studio cannot create the folder for its run history ({self.path.parent}): "
                              f"{exc.strerror or exc}.") from exc
        try:
            head = self.path.read_bytes()[:16] if self.path.exists() else b""
        except OSError as exc:
            raise StudioError(f"Studio cannot open its run history {self.path}: {exc.strerror or exc}.") from exc
        if head and head != SQLITE_HEADER:
            raise HistoryRefusedError(
                f"{self.path.name} is not a Studio run history (it is not a database), so Studio leaves it as it is. "
                "Choose a new file name, or a run history Studio made.")
        if not head:
            self._migrate_or_defer()  # a new history
            return
        try:
            version, tables, columns, check = self._inspect()
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise HistoryBusyError(f"The run history {self.path.name} is in use by another program; Studio "
                                       "will try again.") from exc
            raise StudioError(f"Studio cannot open its run history {self.path}: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            raise HistoryRefusedError(
                f"The run history {self.path.name} is damaged ({exc}), so Studio cannot read it and leaves it exactly "
                "as it is. Choose another file on the Runs page to keep recording runs; a copy of this one may be "
                "repaired with SQLite's .recover.") from exc
        not_studio = "runs" not in tables if tables else False
        if not_studio or ("runs" in tables and not columns >= _REQUIRED_COLUMNS):
            listed = ", ".join(sorted(tables)[:5])
            raise HistoryRefusedError(
                f"{self.path.name} is a database of another program (its tables: {listed}), not a Studio run history, "
                "so Studio leaves it as it is. Choose a new file name, or a run history Studio made.")
        if check != "ok":
            self.damage_note = (f"The run history {self.path.name} is damaged ({check}). Studio shows the runs it "
                                "can still read and leaves the file as it is; new runs are kept beside it in "
                                f"{self.pending_path.name}. To keep recording in a history, choose another file "
                                "with 'Keep runs in another file…'.")
            return
        if version > SCHEMA_VERSION:
            self.damage_note = (f"The run history {self.path.name} was made by a newer Studio (history version "
                                f"{version}; this Studio knows up to {SCHEMA_VERSION}), so it is opened read-only: "
                                f"new runs are kept beside it in {self.pending_path.name}. Update Studio to add "
                                "them to it.")
            return
        if version < SCHEMA_VERSION or not set(_ALL_COLUMNS) <= columns:
            self._migrate_or_defer()

    def _inspect(self) -> tuple[int, set[str], set[str], str]:
        """The history's version, its tables, the columns of its runs table and SQLite's quick check: reads only
        (they do not wait for another program's write)."""
        connection = sqlite3.connect(self.path, timeout=OPEN_TIMEOUT_S)
        try:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                      if not str(row[0]).startswith("sqlite_")}
            columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
            found = connection.execute("PRAGMA quick_check").fetchone()
            return version, tables, columns, str(found[0]) if found else "no answer from the check"
        finally:
            connection.close()

    def _migrate_or_defer(self) -> None:
        try:
            self._migrate(OPEN_TIMEOUT_S)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise StudioError(f"Studio cannot prepare its run history {self.path}: {exc}.") from exc
            self._migration_due = True  # another program holds it: made before the first write, which waits longer

    def _migrate(self, timeout_s: float) -> None:
        """Bring the history to this Studio's version, every step in one transaction: all of it or none."""
        connection = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            with contextlib.suppress(sqlite3.OperationalError):  # already WAL, or another program holds it
                connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("BEGIN IMMEDIATE")
            try:
                version = int(connection.execute("PRAGMA user_version").fetchone()[0])
                for step in _MIGRATIONS[version:]:
                    step(connection)
                _add_missing_columns(connection)
                connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()
        self._migration_due = False

    @contextlib.contextmanager
    def _connect(self, timeout_s: float | None = None) -> Iterator[sqlite3.Connection]:
        self.ensure_open()
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S if timeout_s is None else timeout_s)
        # In WAL mode NORMAL still survives a crash of Studio (only a power cut may lose the last run), and it
        # saves an fsync per run recorded.
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            with connection:  # one transaction: committed on success, rolled back on any error
                yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _writing(self, timeout_s: float | None = None) -> Iterator[sqlite3.Connection]:
        self.ensure_open()
        if self.damage_note:
            raise StudioError(self.damage_note)
        if self._migration_due:
            self._migrate(BUSY_TIMEOUT_S if timeout_s is None else timeout_s)
        with self._connect(timeout_s) as connection:
            yield connection

    # -- writing ------------------------------------------------------------------------------------------------
    def add(self, run: dict[str, Any]) -> int:
        """Store a run given as plain values (see ``run_from_result``); returns its id."""
        return self.add_many([run])[0]

    def add_many(self, runs: list[dict[str, Any]]) -> list[int]:
        """Store several runs in one transaction: all of them or, on an error, none. Runs kept aside earlier go
        first, in the same transaction. A history that cannot take them (locked past the wait, read-only, disk
        full) keeps them aside (``pending_path``, else in memory) and raises RunsKeptAsideError, which says where."""
        with self._pending_lock:
            try:
                self.ensure_open()  # first, as opening adds the runs kept aside itself where it can
                waiting = self._read_pending()
                with self._writing() as connection:
                    ids = _insert(connection, [*waiting, *runs])
            except (sqlite3.Error, OSError, StudioError) as exc:
                waiting = self._read_pending()
                where = self._keep_aside(runs)
                raise RunsKeptAsideError(_kept_sentence(len(runs) + len(waiting), self.path, where, exc)) from exc
            self._forget_pending()
        return ids[len(waiting):]

    def has_pending(self) -> bool:
        return bool(self._pending_in_memory) or self.pending_path.exists()

    def pending_runs(self) -> list[dict[str, Any]]:
        """The runs kept aside, oldest first: those in memory, then those in the pending file."""
        with self._pending_lock:
            return self._read_pending()

    def pending_only_in_memory(self) -> bool:
        """Whether some runs kept aside are only in memory (the pending file could not be written): closing Studio
        would lose them."""
        return bool(self._pending_in_memory)

    def forget_pending(self, runs: list[dict[str, Any]]) -> None:
        """Let go of ``runs`` (from ``pending_runs``) once they are stored elsewhere. Matched by content, not by
        position: runs kept aside since (in memory, listed first) stay, and runs the history took meanwhile are
        simply not there any more."""
        stored = Counter(_run_key(run) for run in runs)
        with self._pending_lock:
            later = []
            for run in self._read_pending():
                key = _run_key(run)
                if stored[key]:
                    stored[key] -= 1
                else:
                    later.append(run)
            self._forget_pending()
            if later:
                self._keep_aside(later)

    def flush_pending(self) -> int:
        """Add the runs kept aside to the history; returns how many. Raises (and keeps them) if it still cannot."""
        return self._flush_pending(None)

    def _flush_pending(self, timeout_s: float | None) -> int:
        with self._pending_lock:
            waiting = self._read_pending()
            if not waiting:
                return 0
            with self._writing(timeout_s) as connection:
                _insert(connection, waiting)
            self._forget_pending()
            return len(waiting)

    def _read_pending(self) -> list[dict[str, Any]]:
        runs = list(self._pending_in_memory)
        try:
            lines = self.pending_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return runs
        except (OSError, UnicodeDecodeError):
            return runs  # unreadable now: left where it is for a later try
        for line in lines:
            with contextlib.suppress(ValueError):  # a line cut short by a crash while it was written
                value = json.loads(line)
                if isinstance(value, dict):
                    runs.append(value)
        return runs

    def _keep_aside(self, runs: list[dict[str, Any]]) -> str:
        """Append ``runs`` to the pending file (in memory where it cannot be written); returns where they are."""
        text = "".join(json.dumps(_plain_run(run), ensure_ascii=False) + "\n" for run in runs)
        try:
            with self.pending_path.open("a", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            self._pending_in_memory.extend(runs)
            return "in memory until Studio closes"
        return f"in {self.pending_path.name} beside it"

    def _forget_pending(self) -> None:
        self._pending_in_memory.clear()
        with contextlib.suppress(FileNotFoundError):
            self.pending_path.unlink()

    def set_model_path(self, run_id: int, path: str) -> None:
        with self._writing() as connection:
            connection.execute("UPDATE runs SET model_path = ? WHERE id = ?", (str(path), run_id))

    def add_explanation(self, run_id: int, kind: str, value: dict[str, Any]) -> None:
        """Keep an explanation computed after training (importance, learning curve) with its run."""
        with self._writing() as connection:
            # Read and write under one write lock, so two explanations saved at once cannot drop each other.
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute("SELECT explanations FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return
            try:
                stored = json.loads(row[0] or "{}")
            except ValueError:
                stored = {}
            stored = stored if isinstance(stored, dict) else {}
            stored[kind] = value
            connection.execute("UPDATE runs SET explanations = ? WHERE id = ?", (_encode(stored), run_id))

    def delete(self, run_ids: list[int]) -> None:
        with self._writing() as connection:
            connection.executemany("DELETE FROM runs WHERE id = ?", [(int(i),) for i in run_ids])

    # -- reading ------------------------------------------------------------------------------------------------
    def get(self, run_id: int, timeout_s: float | None = None) -> RunRecord:
        """One whole run; ``timeout_s`` is how long to wait for a history another program holds (raising
        sqlite3.OperationalError "database is locked" after it)."""
        with self._connect(timeout_s) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise StudioError(f"There is no run number {run_id} in the run history ({self.path}).")
        try:
            return _record(row)
        except (ValueError, TypeError, KeyError) as exc:
            raise StudioError(f"Run {run_id} in the run history cannot be read ({first_line(exc)}).") from exc

    def all(self) -> list[RunRecord]:
        return self._read_all("*")

    def summaries(self, timeout_s: float | None = None) -> list[RunRecord]:
        """Every run without its bulky parts (details, loss history, explanations, a search's trials), newest
        first: the leaderboard stays quick with thousands of runs. ``get`` gives a whole run. A run that cannot be
        read is left out and named in ``skipped``."""
        light = ", ".join(f"'{{}}' AS {c}" if c in ("details", "explanations") else
                          "'[]' AS history" if c == "history" else
                          # SQLite's JSON functions drop the trials in the query, so they are never read.
                          f"{_SEARCH_WITHOUT_TRIALS} AS search" if c == "search" else c
                          for c in _ALL_COLUMNS)
        try:
            return self._read_all(light, timeout_s)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc) or "json" not in str(exc).lower():
                raise
            # An SQLite built without its JSON functions (or a search column that is not JSON): read whole.
            return self._read_all(light.replace(_SEARCH_WITHOUT_TRIALS, "search"), timeout_s)

    def _read_all(self, columns: str, timeout_s: float | None = None) -> list[RunRecord]:
        skipped: list[str] = []
        with self._connect(timeout_s) as connection:
            connection.row_factory = sqlite3.Row
            try:
                rows = connection.execute(f"SELECT {columns} FROM runs ORDER BY id DESC").fetchall()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise
                # A damaged page: read the runs one by one, leaving out those on it.
                rows = []
                for (run_id,) in connection.execute("SELECT id FROM runs ORDER BY id DESC").fetchall():
                    try:
                        rows.append(connection.execute(f"SELECT {columns} FROM runs WHERE id = ?",
                                                       (run_id,)).fetchone())
                    except sqlite3.DatabaseError as row_exc:
                        skipped.append(f"run {run_id}: {first_line(row_exc)}")
        records = []
        for row in rows:
            try:
                records.append(_record(row))
            except (ValueError, TypeError, KeyError) as exc:
                skipped.append(f"run {_row_id(row)}: {first_line(exc)}")
        self.skipped = skipped
        return records

    def count(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


_SEARCH_WITHOUT_TRIALS = "json_remove(search, '$.trials')"
_ALL_COLUMNS = ("id", "created", "dataset_path", "dataset_fingerprint", "target", "task", "model_key",
                "model_label", "params", "prep", "split", "device", "duration_s", "metrics", "history", "details",
                "model_path", "versions", "explanations", "search", "read_options")
_DEFAULTS: dict[str, Any] = {"dataset_path": "", "dataset_fingerprint": "", "device": "cpu", "model_path": "",
                             "explanations": {}, "details": {}, "history": [], "search": {}, "read_options": {}}
_JSON_COLUMNS = ("params", "prep", "split", "metrics", "history", "details", "versions", "explanations", "search",
                 "read_options")
# Columns added after the first version of the store, with their definitions: a history written by an older
# Studio gains them when opened (each with its empty default), and keeps every run it holds.
_ADDED_COLUMNS = {"explanations": "TEXT NOT NULL DEFAULT '{}'", "search": "TEXT NOT NULL DEFAULT '{}'",
                  "read_options": "TEXT NOT NULL DEFAULT '{}'"}


# Columns without which a "runs" table is not a Studio history (some other program's table of that name).
_REQUIRED_COLUMNS = frozenset({"id", "created", "target", "task", "model_key", "metrics"})


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    present = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    for name, definition in _ADDED_COLUMNS.items():
        if name not in present:
            connection.execute(f"ALTER TABLE runs ADD COLUMN {name} {definition}")


def _create_tables(connection: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)


# _MIGRATIONS[v] brings a history of version v to v + 1, inside the migration's one transaction; the added columns
# follow every time.
_MIGRATIONS = (_create_tables, _add_missing_columns)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the history is held by another program (worth trying again), not that it is wrong."""
    return isinstance(exc, HistoryBusyError) or (isinstance(exc, sqlite3.OperationalError) and _is_busy(exc))


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _insert(connection: sqlite3.Connection, runs: list[dict[str, Any]]) -> list[int]:
    columns = _ALL_COLUMNS[1:]  # every column but the id, which SQLite assigns
    insert = f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    return [int(connection.execute(insert, [_encode(run.get(name, _DEFAULTS.get(name))) for name in columns])
                .lastrowid or 0) for run in runs]


def _run_key(run: dict[str, Any]) -> str:
    return json.dumps(run, sort_keys=True, default=str)


def _kept_sentence(count: int, path: Path, where: str, exc: BaseException) -> str:
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        why = "is in use by another program"
    elif isinstance(exc, HistoryRefusedError):
        why = "cannot be used (the Runs page says why)"
    elif isinstance(exc, StudioError):
        why = "is read-only" if "read-only" in str(exc) or "damaged" in str(exc) else f"cannot be used ({exc})"
    else:
        why = f"could not be written ({first_line(exc)})"
    runs = "this run is" if count == 1 else f"{count} runs are"
    return (f"the run history {path.name} {why}, so {runs} kept {where} and will be added as soon as the history "
            "can take it: nothing is lost")


def _plain_run(run: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(run, allow_nan=False)
        return run
    except (ValueError, TypeError):
        from studio.core.evaluate.details import to_plain

        return dict(to_plain(run))


def _row_id(row: sqlite3.Row | None) -> str:
    try:
        return str(row["id"]) if row is not None else "?"
    except (IndexError, KeyError):
        return "?"


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


_TEXT_COLUMNS = ("created", "dataset_path", "dataset_fingerprint", "target", "model_key", "model_label", "device",
                 "model_path")


def _record(row: sqlite3.Row) -> RunRecord:
    """A stored run, checked: a row whose values are not what Studio writes (changed by hand, or by another
    program) raises ValueError naming what is wrong, and is left out by the callers that read many."""
    values = {name: value for name, value in dict(row).items() if name in _RECORD_FIELDS}
    for name in _JSON_COLUMNS:
        if name not in values:
            values[name] = _DEFAULTS.get(name, {})
            continue
        try:
            decoded = json.loads(values[name] or "null")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"its {name} are not readable") from exc
        decoded = decoded or ({} if name != "history" else [])
        if not isinstance(decoded, list if name == "history" else dict):
            raise ValueError(f"its {name} are not what Studio writes")
        values[name] = decoded
    for name in _TEXT_COLUMNS:
        if name in values and not isinstance(values[name], str):
            values[name] = "" if values[name] is None else str(values[name])
    if values.get("task") not in {task.value for task in Task}:
        raise ValueError(f"its task {values.get('task')!r} is neither classification nor regression")
    if not isinstance(values.get("duration_s"), int | float):
        raise ValueError("its duration is not a number")
    for part in ("test", "validation"):
        scores = values["metrics"].get(part, {})
        if not isinstance(scores, dict) or not all(v is None or isinstance(v, int | float) for v in scores.values()):
            raise ValueError(f"its {part} scores are not numbers")
    return RunRecord(**values)


_RECORD_FIELDS = frozenset(RunRecord.__dataclass_fields__)


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
        "read_options": result.read_options.to_plain() if getattr(result, "read_options", None) else {},
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


def open_user_store(open_now: bool = True) -> RunStore:
    """The run store the settings point at (the command line's way in; the window passes its own settings)."""
    from studio.core.store.settings import default_settings_dir, load_settings

    return RunStore(runs_path_for(load_settings(default_settings_dir()).runs_path), open_now)


def record_from_plain(run: dict[str, Any], run_id: int = 0) -> RunRecord:
    """A RunRecord for a run that is not (or could not be) stored, e.g. to write its report anyway."""
    names = {f for f in RunRecord.__dataclass_fields__ if f != "id"}
    values: dict[str, Any] = {name: run.get(name, _DEFAULTS.get(name)) for name in names}
    return RunRecord(id=run_id, **values)
