"""Reading the run history as jobs a worker runs: the list of runs, or one whole run, from a history another program
may hold locked. A read waits a moment, then says the history is busy (a progress item) and tries again until it
can, or until it is stopped, so that no reader ever waits on the lock with nothing said."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

from studio.core.common.errors import StudioError
from studio.core.store.runs import RunRecord, RunStore, is_busy

# How long one try waits on a locked history before the reader is told it is busy (then tries again).
TRY_WAIT_S = 0.5
# The pause between tries, in steps short enough for stopping to be prompt.
RETRY_PAUSE_S = 0.5
_STEP_S = 0.05


@dataclass(frozen=True)
class HistoryBusy:
    """Progress of a read: the history is held by another program; the read goes on trying."""

    message: str


@dataclass(frozen=True)
class RunsRead:
    records: tuple[RunRecord, ...]
    skipped: tuple[str, ...]  # runs left out, each named with why
    damage_note: str  # why the history is read-only, or ""
    path: str


def busy_sentence(store: RunStore) -> str:
    return (f"The run history {store.path.name} is busy: another program is using it. The runs appear here as soon "
            "as it is free.")


def _tries(store: RunStore, should_stop: Callable[[], bool], read: Callable[[], object],
           ) -> Generator[HistoryBusy, None, object]:
    while True:
        try:
            return read()
        except (StudioError, sqlite3.OperationalError) as exc:
            if not is_busy(exc):
                raise
        yield HistoryBusy(busy_sentence(store))
        waited = 0.0
        while waited < RETRY_PAUSE_S:
            if should_stop():
                return None
            time.sleep(_STEP_S)
            waited += _STEP_S


def read_runs(store: RunStore, should_stop: Callable[[], bool]) -> Generator[HistoryBusy, None, RunsRead | None]:
    """Every run, without its bulky parts (``RunStore.summaries``); None when stopped while the history was busy.
    A history that cannot be read at all raises a StudioError in words."""

    def read() -> RunsRead:
        try:
            store.ensure_open()
            records = store.summaries(TRY_WAIT_S)
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise
            raise StudioError(f"The run history {store.path.name} could not be read: {exc}.") from exc
        except sqlite3.Error as exc:
            raise StudioError(f"The run history {store.path.name} could not be read: {exc}.") from exc
        return RunsRead(tuple(records), tuple(store.skipped), store.damage_note, str(store.path))

    found = yield from _tries(store, should_stop, read)
    return found if isinstance(found, RunsRead) else None


def read_whole_runs(store: RunStore, run_ids: list[int],
                    should_stop: Callable[[], bool]) -> Generator[HistoryBusy, None, tuple[RunRecord, ...] | None]:
    """Whole runs (``RunStore.get``), in the order asked; None when stopped while the history was busy. A run that
    cannot be read raises a StudioError naming it."""
    records: list[RunRecord] = []
    for run_id in run_ids:

        def read(run_id: int = run_id) -> RunRecord:
            try:
                return store.get(run_id, TRY_WAIT_S)
            except sqlite3.OperationalError as exc:
                if is_busy(exc):
                    raise
                raise StudioError(f"Run {run_id} could not be read: {exc}.") from exc
            except sqlite3.Error as exc:
                raise StudioError(f"Run {run_id} could not be read: {exc}.") from exc

        found = yield from _tries(store, should_stop, read)
        if not isinstance(found, RunRecord):
            return None
        records.append(found)
    return tuple(records)
