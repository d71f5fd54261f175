"""Runs the run history has not taken yet (it was locked by another program, or the disk was full) saved into
another history file the person picks, so that closing Studio never loses them: a job for a worker."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from pathlib import Path

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.common.words import plural
from studio.core.store.runs import RunStore, runs_path_for


def unstored_sentence(count: int, store: RunStore) -> tuple[str, str]:
    """What the person is told when closing with runs not stored yet: the headline, then what happens to them."""
    one = count == 1
    head = f"{plural(count, 'run')} {'is' if one else 'are'} not stored in the run history yet."
    they, them = ("It is", "it") if one else ("They are", "them")
    why = (f"{store.path.name} could not take {them}: another program is using it, or the disk is full.")
    if store.pending_only_in_memory():
        return head, (f"{why} {they} only in Studio's memory, so closing now loses {them}.\n\nKeep Studio open "
                      f"while it tries again, save {them} to another history file, or close and lose {them}.")
    return head, (f"{why} {they} kept beside it in {store.pending_path.name}, and Studio adds {them} the next "
                  f"time it opens this history.\n\nKeep Studio open while it tries again, save {them} to another "
                  "history file, or close.")


def save_unstored(store: RunStore, path: str | Path,
                  should_stop: Callable[[], bool]) -> Generator[Progress, None, int]:
    """Add the runs ``store`` has kept aside to the history in ``path`` (made if new), then let go of them; returns
    how many. Raises a StudioError in words if they could not be saved (they stay kept aside)."""
    target = runs_path_for(str(path))
    runs = store.pending_runs()
    yield Progress("Saving the runs", None, target.name)
    if target.resolve() == store.path.resolve():
        raise StudioError(f"{target.name} is the history that cannot take the runs now; choose another file.")
    try:
        RunStore(target).add_many(runs)
    except (StudioError, sqlite3.Error, OSError) as exc:
        raise StudioError(f"The runs could not be saved to {target.name}: {exc}") from exc
    store.forget_pending(runs)
    return len(runs)
