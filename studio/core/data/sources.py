"""Tables that do not start as a file on this computer, as jobs for a worker: a file at a web address (downloaded
with progress, read, and the temporary copy removed) and a table pasted from the clipboard (saved as a CSV file in
Studio's folder, so a run can name the file it learnt from and predictions or retraining can read it again)."""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

from studio.core.common.errors import DataError
from studio.core.common.progress import Progress, StopCheck, run_interruptibly
from studio.core.data.download import DOWNLOAD_LIMIT_BYTES, TooLarge, TooLargeError, download, remove_download, url_name
from studio.core.data.formats import read_pasted_text
from studio.core.data.read_options import ReadOptions
from studio.core.data.tabular import MISSING_MARKERS, LoadedTable, load_table

PASTED_NAME = "Pasted table"


def url_table_job(url: str, should_stop: StopCheck, limit: int | None = DOWNLOAD_LIMIT_BYTES,
                  options: ReadOptions | None = None) -> Generator[Progress, None, LoadedTable | TooLarge]:
    """Download and read the table at ``url``; a file over ``limit`` is not downloaded: its size comes back
    (TooLarge) so the window can offer the choice."""
    url = url.strip()
    try:
        path = yield from download(url, should_stop, limit)
    except TooLargeError as exc:
        return exc.too_large
    try:
        yield Progress("Reading", None, f"Reading {url_name(url)}")
        table = run_interruptibly(lambda: load_table(path, options=options), should_stop)
    finally:
        remove_download(path)
    return replace(table, path=url)


def pasted_table_job(text: str, folder: Path, should_stop: StopCheck) -> Generator[Progress, None, LoadedTable]:
    """Read pasted cells, save them as a CSV file in ``folder`` and return that file read as any other.

    Reading the saved file back means what the Data page shows is exactly what predictions and retraining will
    read later.
    """
    yield Progress("Reading", None, "Reading the pasted table")
    frame = run_interruptibly(lambda: read_pasted_text(text, MISSING_MARKERS), should_stop)
    path = _new_file(folder)
    yield Progress("Saving", None, f"Saving the pasted table as {path.name}")
    try:
        run_interruptibly(lambda: frame.to_csv(path, index=False), should_stop)
    except OSError as exc:
        raise DataError(f"Studio could not save the pasted table in {folder}: {exc.strerror or exc}.") from exc
    return run_interruptibly(lambda: load_table(path), should_stop)


def _new_file(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"Studio could not create the folder {folder} for pasted tables: {exc.strerror or exc}.") \
            from exc
    stamp = time.strftime("%Y-%m-%d %H.%M.%S")
    path = folder / f"{PASTED_NAME} {stamp}.csv"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"{PASTED_NAME} {stamp} ({count}).csv"
    return path
