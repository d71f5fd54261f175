"""A run history another program holds locked, even against reading: the window opens at once, the Runs page says
the history is busy without the window ever waiting on it, and the runs fill in once the other program lets go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.core.project import Step
from studio.core.store.runs import RunStore, run_from_result
from studio.core.train.training import TrainResult
from studio.ui.main_window import MainWindow
from tests.ui import test_history_faults as history_faults
from tests.ui.test_history_faults import Heartbeat

from .helpers import LOAD_MS, click_sidebar

# The longest the window's thread may go without turning its event loop while the history is locked: SQLite's wait
# on a locked file is a second or more, so anything under half a second is the page's own painting on a busy machine.
STALL_S = 0.5

result = history_faults.result  # a trained run, shared with the history-fault tests (a fixture, found by its name)


def lock_against_reading(path: Path) -> sqlite3.Connection:
    """What another program may do: hold the file with SQLite's exclusive locking mode, so nobody else can even
    read it until the connection is closed."""
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE runs SET target = target")
    locker.execute("COMMIT")  # the lock stays: exclusive locking mode keeps it until the connection closes
    return locker


def test_a_history_locked_against_reading_never_holds_the_window(qtbot: QtBot, tmp_path: Path,
                                                                  result: TrainResult) -> None:
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    store.add(run_from_result(result))
    store.add(run_from_result(result))
    started = time.perf_counter()
    free = create_window(tmp_path / "free-settings", tmp_path / "free-runs.sqlite3")
    free.show()
    free_s = time.perf_counter() - started  # this machine's time to open a window on a history nobody holds
    free.shutdown()
    free.close()
    locker = lock_against_reading(path)
    window: MainWindow | None = None
    try:
        started = time.perf_counter()
        window = create_window(tmp_path / "settings", path)
        qtbot.addWidget(window)
        window.show()
        assert time.perf_counter() - started < free_s + STALL_S, "the window opens without waiting for the history"
        qtbot.wait(50)
        beat = Heartbeat()
        click_sidebar(qtbot, window, Step.RUNS)
        runs = window.runs_panel
        qtbot.waitUntil(lambda: "busy" in runs.banner.text(), timeout=LOAD_MS)
        assert "another program is using it" in runs.banner.text()
        assert "runs.sqlite3" in runs.banner.text()
        assert runs.row_count() == 0
        qtbot.wait(1500)  # tries again meanwhile, without a word more and without holding the window
        assert beat.longest < STALL_S, f"the window stalled for {beat.longest * 1000:.0f} ms"
        assert "busy" in runs.banner.text()

        locker.close()  # the other program lets go
        qtbot.waitUntil(lambda: runs.row_count() == 2, timeout=LOAD_MS)
        assert "busy" not in runs.banner.text()
        assert "2 runs kept in" in runs.location.label.text()
        assert beat.longest < STALL_S, f"the window stalled for {beat.longest * 1000:.0f} ms"
    finally:
        locker.close()
        if window is not None:
            window.shutdown()


def test_opening_a_run_waits_for_a_busy_history_on_a_worker(qtbot: QtBot, tmp_path: Path,
                                                            result: TrainResult) -> None:
    """Opening a stored run while another program takes the history: said busy, then shown once free."""
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    store.add(run_from_result(result))
    window = create_window(tmp_path / "settings", path)
    qtbot.addWidget(window)
    window.show()
    try:
        click_sidebar(qtbot, window, Step.RUNS)
        runs = window.runs_panel
        qtbot.waitUntil(lambda: runs.row_count() == 1, timeout=LOAD_MS)
        runs.select_ids([1])
        locker = lock_against_reading(path)
        try:
            beat = Heartbeat()
            assert runs.open_selected()
            qtbot.waitUntil(lambda: "busy" in runs.banner.text(), timeout=LOAD_MS)
            assert runs.pages.currentIndex() == 0  # still the list: nothing to show yet
            assert beat.longest < STALL_S, f"the window stalled for {beat.longest * 1000:.0f} ms"
        finally:
            locker.close()
        qtbot.waitUntil(lambda: runs.pages.currentWidget() is runs.run_tabs, timeout=LOAD_MS)
        assert runs.result_view is not None and "Run 1" in runs.result_view.details.text()
        assert not runs.banner.isVisible()
    finally:
        window.shutdown()
