"""Temporary files a killed Studio leaves behind are recognised and removed: a model save killed with kill -9
leaves its half-written file, which the next save into the folder removes, and the saved model is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from studio.core.common.files import atomic_write
from studio.core.common.temp_files import (
    OLD_NAME_AGE_S,
    TEMP_SUFFIX,
    clean_stale_search_folders,
    clean_stale_temps_beside,
    new_search_folder,
    process_alive,
)

ROOT = Path(__file__).resolve().parents[2]

KILLED_SAVE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from studio.core.common.files import atomic_write

    def write(handle):
        handle.write(b"half a model" * 1000)
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)  # killed here

    atomic_write(Path(sys.argv[1]), write)
""")


@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_a_save_killed_outright_leaves_a_temp_file_the_next_save_removes(tmp_path: Path) -> None:
    model = tmp_path / "churn.studio"
    model.write_bytes(b"the model saved yesterday")
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(model)], stdout=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None and process.stdout.readline().strip() == b"writing"
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    assert len(left) == 1 and left[0].name.startswith(f".churn.studio.{process.pid}-")
    assert model.read_bytes() == b"the model saved yesterday", "the kill never touched the saved model"

    atomic_write(tmp_path / "other.studio", lambda handle: handle.write(b"another model"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn.studio", "other.studio"]
    assert model.read_bytes() == b"the model saved yesterday"


def test_a_save_in_progress_and_other_files_are_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / f".model.studio.{os.getpid()}-abcd1234{TEMP_SUFFIX}"  # this process is saving it
    fresh_old_style = tmp_path / ".model.studio.0123abcd.tmp"  # an older Studio's, maybe still writing
    stale_old_style = tmp_path / ".model.studio.89abcdef.tmp"
    someones = tmp_path / ".hidden-notes.tmp"
    for path in (mine, fresh_old_style, stale_old_style, someones):
        path.write_bytes(b"x")
    day_ago = time.time() - OLD_NAME_AGE_S - 60
    os.utime(stale_old_style, (day_ago, day_ago))
    os.utime(someones, (day_ago, day_ago))

    assert clean_stale_temps_beside(tmp_path / "model.studio") == [stale_old_style]
    assert mine.exists() and fresh_old_style.exists() and someones.exists()


def test_search_folders_carry_the_process_id() -> None:
    folder = new_search_folder()
    try:
        assert folder.name.startswith(f"studio-search-{os.getpid()}-")
        assert folder not in clean_stale_search_folders(folder.parent), "a running search is never cleaned"
        assert folder.exists()
    finally:
        folder.rmdir()


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(0) and not process_alive(-5)
