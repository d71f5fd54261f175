"""Studio's log file: where the last-resort handlers of the window and the command line keep the traceback of
anything unexpected, while the person reads one sentence and the path of this file.

One function says where the file is (``log_file_path``); everything that logs goes through it.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import os
import tempfile
import traceback
from pathlib import Path

from studio.core.common.places import default_log_dir

LOG_FILE = "studio.log"
# A log that grows past this is moved aside once (studio.log.1, replacing the previous one): a year of crashes
# must not fill a disk.
MAX_LOG_BYTES = 1_000_000


def log_file_path() -> Path:
    """The log file, in the platform's log folder (``STUDIO_DATA_DIR`` moves it to its "logs" folder with the
    rest), created if absent; in the temporary folder where that folder cannot be written."""
    for folder in (default_log_dir(), Path(tempfile.gettempdir()) / f"studio-logs-{_user()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / LOG_FILE
            path.touch(exist_ok=True)
            return path
        except OSError:
            continue
    return Path(tempfile.gettempdir()) / LOG_FILE


def log_exception(exc: BaseException, where: str) -> Path:
    """Append ``exc``'s traceback, with the time and ``where`` it happened, to the log file; returns the file.
    Never raises: a handler that is already handling a failure must not fail itself."""
    path = log_file_path()
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            os.replace(path, path.with_name(LOG_FILE + ".1"))
        with path.open("a", encoding="utf-8", errors="replace") as handle:
            handle.write(f"--- {stamp} {where} (pid {os.getpid()})\n{text}\n")
    except OSError:
        pass
    return path


def _user() -> str:
    try:
        return str(os.getuid())
    except AttributeError:  # Windows: the temporary folder is the user's own already
        return "user"


def start_logging(level: int = logging.INFO) -> Path:
    """Send the ``studio`` logger's records (what the app did: start-up, jobs, installs) to the log file, rotated
    at MAX_LOG_BYTES with one older file kept; returns the file. Calling it again adds no second handler."""
    path = log_file_path()
    logger = logging.getLogger("studio")
    logger.setLevel(level)
    for handler in logger.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_LOG_BYTES, backupCount=1, encoding="utf-8",
                                                       delay=True)
    except OSError:
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s (pid %(process)d): %(message)s"))
    logger.addHandler(handler)
    return path
