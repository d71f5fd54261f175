"""Cancel is quick and keeps the earlier result; the window keeps responding while a model trains."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import (
    LOAD_MS,
    choose_target,
    click,
    click_sidebar,
    go_next,
    go_to_model_page,
    open_file,
    synthetic_frame,
    train,
    wait_idle,
    write_csv,
)

ROWS = 20_000
CANCEL_MS = 1_500
MAX_GAP_S = 0.5


@pytest.fixture
def big_table(window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MainWindow:
    """The window with a 20,000-row table open and its target picked, on the Model page."""
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "big.csv", synthetic_frame(ROWS)))
    choose_target(window, "label")
    go_to_model_page(qtbot, window)
    return window


def choose_long_forest(window: MainWindow) -> None:
    window.model_panel.select_model("random_forest")
    window.model_panel.form.editor("n_estimators").setValue(3000)


def test_cancel_is_quick_and_keeps_the_previous_result(qtbot: QtBot, big_table: MainWindow) -> None:
    window = big_table
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    previous = window.project.result
    assert previous is not None

    click_sidebar(qtbot, window, Step.MODEL)
    choose_long_forest(window)
    click_sidebar(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    click(qtbot, panel.start_button)
    assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    # Cancel in the middle of growing trees, not before the work has begun.
    qtbot.waitUntil(lambda: panel.plot.point_count() > 0, timeout=LOAD_MS)

    clicked = time.monotonic()
    with qtbot.waitSignal(panel.training_stopped, timeout=CANCEL_MS) as stopped:
        click(qtbot, panel.cancel_button)
    took = time.monotonic() - clicked
    assert stopped.args == ["cancelled"], f"stopped after {took:.2f} s with {stopped.args}"
    wait_idle(qtbot, panel.runner)

    assert "cancelled" in panel.banner.text()
    assert panel.banner.level == "info"
    assert panel.stage_label.text() == "Cancelled."
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert window.project.result is previous
    assert window.project.result_is_stale()  # the forest settings were never trained
    assert window.nav.next_button.isEnabled()  # the earlier result can still be read


def test_window_keeps_responding_while_training(qtbot: QtBot, big_table: MainWindow) -> None:
    window = big_table
    choose_long_forest(window)
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: beats.append(time.monotonic()))
    heartbeat.start()
    try:
        click(qtbot, panel.start_button)
        # Through preparation and several chunks of trees, with the curve repainting.
        qtbot.waitUntil(lambda: panel.plot.point_count() >= 4, timeout=LOAD_MS)
        assert panel.runner.is_running()
        with qtbot.waitSignal(panel.training_stopped, timeout=LOAD_MS):
            click(qtbot, panel.cancel_button)
    finally:
        heartbeat.stop()
    wait_idle(qtbot, panel.runner)
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    assert len(beats) > 20
    assert max(gaps) < MAX_GAP_S, f"the event loop stalled for {max(gaps):.2f} s"
