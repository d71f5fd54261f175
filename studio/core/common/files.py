"""Atomic writes: a file is written beside its target and moved into place, so a crash never leaves half of it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from studio.core.common.temp_files import clean_stale_temps_beside, temp_path_beside

# What ``open(path, "w")`` asks for; the kernel then takes the umask (and a folder's default ACL) off it.
_NEW_FILE_MODE = 0o666
_TEMP_ATTEMPTS = 100
# O_EXCL: never write into a file that someone else created under the same name. O_NOFOLLOW: nor through a link
# planted there. O_BINARY: on Windows, no newline translation under the bytes the caller writes.
_TEMP_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
               | getattr(os, "O_CLOEXEC", 0))


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(binary_handle)`` on a temp file in the same folder, then move it over ``path``.

    A new file gets the permissions ``open(path, "w")`` would give it (0o666 less the umask), not the owner-only
    0o600 of ``tempfile.mkstemp``, so colleagues or a web server can read what is saved to a shared folder. A file
    that is replaced keeps its own permissions: someone who made their model private keeps it private.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps_beside(path)  # what a save killed outright (kill -9, a power cut) left in this folder
    fd, tmp_path = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            _keep_existing_mode(path, handle.fileno())
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create the temp file with mode 0o666 and let the kernel apply the umask, as ``open()`` does.

    Asking the kernel avoids reading the umask, which Python can only do by setting it (``os.umask``): that is
    process-wide, so for a moment every other thread (the training workers, the run-history writer) would create
    files under the wrong mask. Caching it instead would miss a later change.
    """
    for _ in range(_TEMP_ATTEMPTS):
        candidate = temp_path_beside(path)  # named with this process's id, so a later save knows it as stale
        try:
            return os.open(candidate, _TEMP_FLAGS, _NEW_FILE_MODE), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file next to {path.name}: every name tried was taken.")


def _keep_existing_mode(path: Path, fd: int) -> None:
    if os.name == "nt":  # Windows has no permission bits to keep (files inherit the folder's access list)
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return  # a new file: the mode given at creation stands
    os.fchmod(fd, mode)
