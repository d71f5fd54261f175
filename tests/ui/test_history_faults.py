"""The run history under faults, through the window: a history locked by another program never freezes it (at
start or at the end of training) and the run is stored once the lock is released; a file that is not a history is
refused in words and left alone; one damaged row leaves the other runs on the Runs page."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

import studio.core.store.runs as runs_module
from studio.app import create_window
from studio.core.data.profile import profile_frame
from studio.core.data.tabular import load_table
from studio.core.project import ModelConfig, Project, Step
from studio.core.store.runs import RunStore
from studio.core.train.training import TrainResult
from studio.resources import sample_dataset
from studio.ui.main_window import MainWindow
from tests.core.helpers import run_training

from .helpers import LOAD_MS, answer_save_dialog, click, click_sidebar, wait_runs_read

LOCK_WAIT_S = 1.5


@pytest.fixture(scope="module")
def result() -> TrainResult:
    table = load_table(sample_dataset())
    project = Project()
    project.set_table(table)
    project.set_profiles(profile_frame(table.frame))
    project.set_target("species")
    project.set_model(ModelConfig("naive_bayes"))
    return run_training(project.training_request())[1]


def stored_runs(path: Path) -> int:
    connection = sqlite3.connect(path, timeout=0.2)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return -1  # still held by the other program
    finally:
        connection.close()


class Heartbeat:
    """The longest the GUI thread went without running a 20 ms timer: how long the window was frozen."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start()

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now


def test_a_locked_history_never_freezes_the_window_and_the_run_is_stored_once_free(
        qtbot: QtBot, tmp_path: Path, result: TrainResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_module, "BUSY_TIMEOUT_S", LOCK_WAIT_S)
    path = tmp_path / "runs.sqlite3"
    RunStore(path)  # an existing history ...
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # ... that another program holds locked

    started = time.perf_counter()
    window: MainWindow = create_window(tmp_path / "settings", path)
    assert time.perf_counter() - started < 1.0, "the window starts without waiting for the history"
    qtbot.addWidget(window)
    window.show()
    window.pending_runs.timer.setInterval(100)
    try:
        beat = Heartbeat()
        window.project.set_result(result)  # the end of training: the run is written on the history's thread
        qtbot.waitUntil(lambda: "kept in runs.sqlite3.pending.jsonl" in window.project.run_store_problem,
                        timeout=LOAD_MS)
        assert beat.longest < LOCK_WAIT_S / 2, f"the window froze for {beat.longest:.2f} s"
        assert "in use by another program" in window.project.run_store_problem
        assert (tmp_path / "runs.sqlite3.pending.jsonl").exists()

        locker.execute("ROLLBACK")  # the other program lets go
        locker.close()
        # Counted with SQLite itself: a RunStore opened here would add the runs kept aside too, racing the window's.
        qtbot.waitUntil(lambda: stored_runs(path) == 1, timeout=LOAD_MS)
        qtbot.waitUntil(lambda: not (tmp_path / "runs.sqlite3.pending.jsonl").exists(), timeout=LOAD_MS)
        click_sidebar(qtbot, window, Step.RUNS)
        qtbot.waitUntil(lambda: window.runs_panel.row_count() == 1, timeout=LOAD_MS)
        assert "Naive Bayes" in window.runs_panel.model.item(0, 4).text()
    finally:
        locker.close()
        window.shutdown()


def test_choosing_a_file_that_is_not_a_history_is_refused_and_the_file_kept(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    click_sidebar(qtbot, window, Step.RUNS)
    runs = window.runs_panel
    before = window.project.run_store
    letter = tmp_path / "letter.sqlite3"
    letter.write_text("Dear colleague, ...", encoding="utf-8")
    answer_save_dialog(monkeypatch, letter)
    click(qtbot, runs.location.change_button)
    wait_runs_read(qtbot, window)
    assert "not a Studio run history" in runs.banner.text() and "leaves it as it is" in runs.banner.text()
    assert window.project.run_store is before
    assert letter.read_text(encoding="utf-8") == "Dear colleague, ..."
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("letter")) == ["letter.sqlite3"]


def test_one_damaged_row_leaves_the_others_on_the_runs_page(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    run = {"created": "2026-01-01T00:00:00", "target": "y", "task": "regression", "model_key": "knn",
           "model_label": "k-nearest neighbours", "params": {}, "prep": {"columns": []}, "split": {},
           "duration_s": 0.1, "metrics": {"test": {"mae": 1.0}}, "history": [], "details": {}, "versions": {}}
    store.add_many([run, run, run])
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE runs SET metrics = '{\"test\": {\"mae\": \"lots\"}}' WHERE id = 2")
    window = create_window(tmp_path / "settings", path)
    qtbot.addWidget(window)
    window.show()
    try:
        click_sidebar(qtbot, window, Step.RUNS)
        runs = window.runs_panel
        qtbot.waitUntil(lambda: runs.row_count() == 2, timeout=LOAD_MS)
        assert "run 2" in runs.banner.text() and "left out" in runs.banner.text()
        assert sorted(runs.records) == [1, 3]
    finally:
        window.shutdown()
