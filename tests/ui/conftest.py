"""Fixtures of the window tests: the real main window with settings in ``tmp_path``, and a saved model."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.core.data.profile import profile_frame
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.config import default_prep
from studio.core.store.model_file import metadata_for, save_model
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, train
from studio.resources import sample_dataset
from studio.ui.main_window import MainWindow
from studio.workers import runner
from studio.workers.gc_guard import GuiThreadGarbageCollector
from tests import qt_fixtures

gui_thread_gc = qt_fixtures.gui_thread_gc  # the shared Qt fixture, found by pytest by its name


@pytest.fixture(scope="session", autouse=True)
def _collect_garbage_on_gui_thread(gui_thread_gc: GuiThreadGarbageCollector) -> None:
    """Every window test runs under the app's garbage-collection rule."""


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    main_window = create_window(tmp_path / "settings")
    qtbot.addWidget(main_window)
    main_window.show()
    yield main_window
    main_window.shutdown()
    # Every background job of every page must be joined, or a thread outlives its test.
    running = [type(p).__name__ for p in main_window.panels.values()
               for r in vars(p).values() if isinstance(r, runner.JobRunner) and r.is_running()]
    assert not running, f"still running after shutdown: {running}"
    assert not runner._STILL_RUNNING
    gc.collect()  # this test's Qt garbage goes now, on the GUI thread, not during a later test's training


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return sample_dataset()


@pytest.fixture(scope="session")
def penguins_model(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    """A model file predicting species, made by the core directly so Predict tests need not train in the window."""
    frame = load_table(sample_path).frame
    request = TrainRequest(frame, "species", Task.CLASSIFICATION, default_prep(profile_frame(frame)),
                           SplitConfig(), "logistic_regression", {})
    job = train(request)
    while True:
        try:
            next(job)
        except StopIteration as finished:
            result = finished.value
            break
    path = tmp_path_factory.mktemp("models") / "species.studio.joblib"
    return save_model(path, result.pipeline, metadata_for(result))
