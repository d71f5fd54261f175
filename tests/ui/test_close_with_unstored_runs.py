"""Closing the window while a run could not be stored yet (the history locked by another program, the disk full):
the person is asked in plain words, and each answer does what it says: keep Studio open (the run is still waiting),
save the runs to another history file (then Studio closes), or close (losing a run that was only in memory, or
leaving one kept beside the history for the next start)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

import studio.core.store.runs as runs_module
from studio.app import create_window
from studio.core.store.runs import RunStore
from studio.core.train.training import TrainResult
from studio.ui.main_window import MainWindow
from tests.ui import test_runs_history_busy as busy_history

from .helpers import LOAD_MS, answer_save_dialog

result = busy_history.result  # a trained run, shared with the busy-history tests (found by pytest by its name)
lock_against_reading = busy_history.lock_against_reading


@pytest.fixture(autouse=True)
def windows_shut_down_first(qtbot: QtBot) -> Iterator[None]:
    """A test that fails before closing its window leaves a run set aside; closing it then (pytest-qt's teardown)
    would ask, and wait for an answer nobody gives. Shut down first, which asks nothing."""
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and not widget._shut_down:
            widget.shutdown()


@pytest.fixture
def locker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sqlite3.Connection]:
    """Another program holding the history locked: a run written now waits only briefly before it is set aside."""
    monkeypatch.setattr(runs_module, "BUSY_TIMEOUT_S", 0.2)
    RunStore(tmp_path / "runs.sqlite3")
    connection = lock_against_reading(tmp_path / "runs.sqlite3")
    yield connection
    connection.close()


@pytest.fixture
def history(tmp_path: Path, locker: sqlite3.Connection) -> Path:
    return tmp_path / "runs.sqlite3"


def disk_full_for_the_pending_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file runs are set aside in cannot be written either (a full disk): they are kept in memory only."""
    monkeypatch.setattr(RunStore, "pending_path", property(
        lambda self: self.path.parent / "no-room" / (self.path.name + runs_module.PENDING_SUFFIX)))


def window_with_an_unstored_run(qtbot: QtBot, tmp_path: Path, history: Path, result: TrainResult,
                                where: str) -> MainWindow:
    window = create_window(tmp_path / "settings", history)
    qtbot.addWidget(window)
    window.show()
    window.project.set_result(result)  # the end of a training: the run is written on the history's thread
    qtbot.waitUntil(lambda: where in window.project.run_store_problem, timeout=LOAD_MS)
    return window


def answer_close_question(qtbot: QtBot, window: MainWindow, button: str, said: list[str]) -> None:
    """Click ``button`` of the question the window asks when it is closed, once it shows."""

    def answer() -> None:
        dialog = window.close_guard.dialog
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, answer)
            return
        said.append(f"{dialog.text()} {dialog.informativeText()}")
        getattr(dialog, button).click()

    QTimer.singleShot(0, answer)


def test_keep_open_then_save_the_run_to_another_file(qtbot: QtBot, tmp_path: Path, history: Path,
                                                     result: TrainResult, monkeypatch: pytest.MonkeyPatch) -> None:
    disk_full_for_the_pending_file(monkeypatch)
    window = window_with_an_unstored_run(qtbot, tmp_path, history, result, "in memory")
    store = window.project.run_store
    assert store is not None and len(store.pending_runs()) == 1

    said: list[str] = []
    answer_close_question(qtbot, window, "keep_button", said)
    window.close()
    qtbot.waitUntil(lambda: bool(said), timeout=LOAD_MS)  # asked once any write under way has had its outcome
    assert window.isVisible(), "kept open, as asked"
    assert said and "1 run is not stored in the run history yet" in said[0]
    assert "only in Studio's memory, so closing now loses it" in said[0]
    assert len(store.pending_runs()) == 1
    assert window.pending_runs.timer.isActive()  # it goes on trying

    saved = tmp_path / "elsewhere" / "saved-runs.sqlite3"
    answer_save_dialog(monkeypatch, saved)
    answer_close_question(qtbot, window, "save_button", said)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert RunStore(saved).count() == 1
    assert RunStore(saved).summaries()[0].model_key == result.model_key
    assert store.pending_runs() == []


def test_close_and_lose_a_run_kept_only_in_memory(qtbot: QtBot, tmp_path: Path, history: Path,
                                                  locker: sqlite3.Connection, result: TrainResult,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    disk_full_for_the_pending_file(monkeypatch)
    window = window_with_an_unstored_run(qtbot, tmp_path, history, result, "in memory")
    said: list[str] = []
    answer_close_question(qtbot, window, "close_button", said)
    assert window.close_guard.dialog is None
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert said and "closing now loses it" in said[0]
    locker.close()  # nothing was written anywhere, as said
    assert RunStore(history).count() == 0
    assert not list(tmp_path.rglob("*.jsonl"))


def test_close_with_a_run_kept_beside_the_history_adds_it_next_time(qtbot: QtBot, tmp_path: Path, history: Path,
                                                                    locker: sqlite3.Connection,
                                                                    result: TrainResult) -> None:
    window = window_with_an_unstored_run(qtbot, tmp_path, history, result, "pending.jsonl")
    said: list[str] = []
    answer_close_question(qtbot, window, "close_button", said)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert said and "kept beside it in runs.sqlite3.pending.jsonl" in said[0]
    assert "Studio adds it the next time it opens this history" in said[0]
    assert (tmp_path / "runs.sqlite3.pending.jsonl").exists()
    locker.close()  # the other program lets go; the next start adds the run
    assert RunStore(history).count() == 1
    assert not (tmp_path / "runs.sqlite3.pending.jsonl").exists()


def test_no_question_when_every_run_is_stored(qtbot: QtBot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert window.close_guard.dialog is None


def test_a_run_still_being_written_at_closing_is_asked_about_too(qtbot: QtBot, tmp_path: Path, history: Path,
                                                                 result: TrainResult,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Closed the moment training ends, while the run waits on the locked history: its outcome is awaited, so a
    run then set aside is asked about, not dropped."""
    disk_full_for_the_pending_file(monkeypatch)
    window = create_window(tmp_path / "settings", history)
    qtbot.addWidget(window)
    window.show()
    assert window.store_writer.wait_until_idle(10)  # the history's opening at start has had its try
    window.project.set_result(result)  # written on the history's thread: it now waits on the lock
    said: list[str] = []
    answer_close_question(qtbot, window, "close_button", said)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert said and "1 run is not stored in the run history yet" in said[0] and "loses it" in said[0]


def test_closing_while_a_run_waits_on_the_history_never_freezes_the_window(
        qtbot: QtBot, tmp_path: Path, locker: sqlite3.Connection, result: TrainResult,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite waits up to 30 s on a locked file. Closing then says it is finishing the write and stays responsive;
    closing again offers to close without waiting, which closes at once and says the run is lost."""
    history = tmp_path / "runs.sqlite3"
    disk_full_for_the_pending_file(monkeypatch)
    window = create_window(tmp_path / "settings", history)
    qtbot.addWidget(window)
    window.show()
    assert window.store_writer.wait_until_idle(10)
    monkeypatch.setattr(runs_module, "BUSY_TIMEOUT_S", 30.0)  # the real wait, from now on
    window.project.set_result(result)
    qtbot.waitUntil(lambda: not window.store_writer.settled(), timeout=LOAD_MS)

    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 1.0
    assert window.isVisible() and "still writing a run to the run history" in window.close_guard.banner.text()
    ticks: list[float] = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    qtbot.wait(600)
    assert len(ticks) >= 10  # the window's own loop kept running

    asked: list[str] = []

    def answer() -> None:
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, answer)
            return
        asked.append(box.text())
        box.button(QMessageBox.StandardButton.Close).click()

    QTimer.singleShot(0, answer)
    started = time.perf_counter()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=LOAD_MS)
    assert time.perf_counter() - started < 5.0, "not joined for SQLite's 30 s"
    assert asked and "Closing now loses that run" in asked[0]
