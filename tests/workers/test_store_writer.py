"""BackgroundStoreWriter: run-history writes run in order on one background thread, their outcomes come back on
the GUI thread, and a slow or locked history never holds the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from studio.core.data.profile import profile_frame
from studio.core.data.tabular import load_table
from studio.core.project import ModelConfig, Project
from studio.core.store.runs import RunStore
from studio.resources import sample_dataset
from studio.workers.store_writer import BackgroundStoreWriter
from tests.core.helpers import run_training

WAIT_MS = 10_000


@pytest.fixture
def writer(qapp: Any) -> Iterator[BackgroundStoreWriter]:
    made = BackgroundStoreWriter()
    yield made
    made.stop()


def test_writes_run_in_order_off_the_gui_thread_and_report_back_on_it(qtbot: QtBot,
                                                                      writer: BackgroundStoreWriter) -> None:
    gui = threading.get_ident()
    ran_on: list[int] = []
    outcomes: list[tuple[int, int]] = []

    def work(number: int) -> int:
        ran_on.append(threading.get_ident())
        return number

    for number in range(5):
        writer(lambda number=number: work(number), lambda value: outcomes.append((value, threading.get_ident())))

    qtbot.waitUntil(lambda: len(outcomes) == 5, timeout=WAIT_MS)
    assert [value for value, _ in outcomes] == [0, 1, 2, 3, 4]
    assert all(thread == gui for _, thread in outcomes), "outcomes come back on the GUI thread"
    assert ran_on and all(thread != gui for thread in ran_on), "the writes themselves run elsewhere"


def test_a_crashing_write_does_not_end_the_writer(qtbot: QtBot, writer: BackgroundStoreWriter) -> None:
    outcomes: list[str] = []

    def crash() -> str:
        raise RuntimeError("boom")

    writer(crash, outcomes.append)
    writer(lambda: "after", outcomes.append)
    qtbot.waitUntil(lambda: outcomes == ["after"], timeout=WAIT_MS)


def test_stop_runs_what_is_queued_then_joins(qtbot: QtBot) -> None:
    writer = BackgroundStoreWriter()
    release = threading.Event()
    done: list[str] = []
    writer(lambda: release.wait(5) and "slow", done.append)
    writer(lambda: "next", done.append)
    release.set()
    writer.stop()
    assert not writer._thread.is_alive()
    qtbot.waitUntil(lambda: done == ["slow", "next"], timeout=WAIT_MS)
    writer(lambda: "late", done.append)  # after stopping, a write is made at once rather than lost
    assert done[-1] == "late"


def test_a_locked_history_does_not_hold_the_window(qtbot: QtBot, writer: BackgroundStoreWriter,
                                                   tmp_path: Path) -> None:
    """Storing a finished run waits on the history (here: until released), while the Project returns at once."""
    table = load_table(sample_dataset())
    project = Project()
    project.set_table(table)
    project.set_profiles(profile_frame(table.frame))
    project.set_target("species")
    project.set_model(ModelConfig("random_forest").with_param("n_estimators", 5))
    _, result = run_training(project.training_request())
    release = threading.Event()

    class LockedStore(RunStore):
        def add(self, run: dict[str, Any]) -> int:
            release.wait(WAIT_MS / 1000)  # another program holds the file
            return super().add(run)

    project.run_store = LockedStore(tmp_path / "runs.sqlite3")
    project.store_writer = writer
    events: list[str] = []
    project.subscribe(events.append)

    project.set_result(result)  # returns while the write is still blocked

    assert project.result is result and events == ["result"] and project.run_id is None
    release.set()
    qtbot.waitUntil(lambda: project.run_id is not None, timeout=WAIT_MS)
    assert events == ["result", "runs"]
    assert project.run_store.get(project.run_id).model_key == "random_forest"
