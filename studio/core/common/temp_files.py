"""Studio's temporary files, named so they can be recognised and cleaned after a crash.

Every temporary name carries the id of the process that made it:
- a search's prepared rows: ``studio-search-<pid>-<random>`` in the system's temporary folder;
- a file being saved: ``.<name>.<pid>-<random>.studio-tmp`` beside the file it will replace.
A process killed outright (kill -9, a power cut, the task manager) cannot remove them itself, so they are removed
later by anyone who finds them with their process gone: search folders at the start of any ``studio`` command and
of the window, a file being saved at the next save into the same folder.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

SEARCH_PREFIX = "studio-search-"
TEMP_SUFFIX = ".studio-tmp"
_SEARCH_FOLDER = re.compile(rf"^{SEARCH_PREFIX}(\d+)-")
_SAVING = re.compile(rf"^\..+\.(\d+)-[0-9a-f]+{re.escape(TEMP_SUFFIX)}$")
# Names Studio used before they carried a process id: removed once they are old enough that no save or search
# can still be writing them.
_OLD_SEARCH_FOLDER = re.compile(rf"^{SEARCH_PREFIX}[a-z0-9_]{{8}}$")
_OLD_SAVING = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
OLD_NAME_AGE_S = 24 * 3600.0


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (a process of another user counts: it is not ours to clean up after)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: asks whether it exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 - windll exists on Windows only
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return bool(kernel32.GetLastError() == 5)  # access denied: it exists, under another user
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def new_search_folder() -> Path:
    """A fresh folder for a search's prepared rows, named with this process's id."""
    return Path(tempfile.mkdtemp(prefix=f"{SEARCH_PREFIX}{os.getpid()}-"))


def clean_stale_search_folders(root: str | Path | None = None) -> list[Path]:
    """Remove the search folders whose process is gone (older unnumbered ones once a day old); returns them."""
    folder = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(SEARCH_PREFIX) or not _is_dir(entry):
            continue
        if _stale(entry, _SEARCH_FOLDER, _OLD_SEARCH_FOLDER):
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(Path(entry.path))
    return removed


def temp_path_beside(path: Path) -> Path:
    """A name for the file that will replace ``path`` once it is whole (hidden, in the same folder)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


def clean_stale_temps_beside(path: Path) -> list[Path]:
    """Remove half-written files that a killed save left in ``path``'s folder; returns them."""
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        if _stale(entry, _SAVING, _OLD_SAVING):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def _stale(entry: os.DirEntry[str], numbered: re.Pattern[str], old: re.Pattern[str]) -> bool:
    match = numbered.match(entry.name)
    if match is not None:
        return not process_alive(int(match.group(1)))
    if old.match(entry.name) is not None:
        try:
            return time.time() - entry.stat(follow_symlinks=False).st_mtime > OLD_NAME_AGE_S
        except OSError:
            return False
    return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
