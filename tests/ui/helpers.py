"""Ways a person drives the window, for the UI tests: click, pick from a list, answer a file dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QSpinBox, QTableView
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow
from studio.workers.runner import JobRunner

# Generous: the machine running the suite may be busy with other work; a passing wait returns at once anyway.
LOAD_MS = 20_000
TRAIN_MS = 60_000
SAMPLE_ROWS = 344


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """Click like a person: only an enabled, visible button can be clicked."""
    assert button.isVisible(), f"{button.text()!r} is not visible"
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_header(qtbot: QtBot, table: QTableView, column: int) -> None:
    """Click a table's column header (to sort by it), as a person would."""
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))


def answer_open_dialog(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> list[tuple]:
    """Make every "Open" file dialog choose ``path``; returns the list of calls, to check a dialog was shown."""
    calls: list[tuple] = []

    def choose(*args: object, **kwargs: object) -> tuple[str, str]:
        calls.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(choose))
    return calls


def answer_save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> list[tuple]:
    calls: list[tuple] = []

    def choose(*args: object, **kwargs: object) -> tuple[str, str]:
        calls.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    return calls


def wait_data_idle(qtbot: QtBot, window: MainWindow) -> None:
    """``profiled`` comes with the profiling result; the Data page's buttons come back once both jobs ended."""
    panel = window.data_panel
    qtbot.waitUntil(lambda: not panel.loader.is_running() and not panel.profiler.is_running(), timeout=LOAD_MS)
    assert panel.open_button.isEnabled()


def open_sample(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.data_panel.profiled, timeout=LOAD_MS):
        click(qtbot, window.data_panel.sample_button)
    wait_data_idle(qtbot, window)


def open_file(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Open ``path`` with the "Open a file…" button and wait until its columns are profiled."""
    answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(window.data_panel.profiled, timeout=LOAD_MS):
        click(qtbot, window.data_panel.open_button)
    wait_data_idle(qtbot, window)


def open_bad_file(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path) -> str:
    """Open a file that cannot be read; returns the message the Data page shows."""
    panel = window.data_panel
    answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
        click(qtbot, panel.open_button)
    assert panel.banner.isVisible()
    assert panel.banner.level == "error"
    return panel.banner.text()


def choose_target(window: MainWindow, column: str) -> None:
    combo = window.data_panel.target_combo
    assert combo.isEnabled()
    index = combo.findText(column)
    assert index >= 0, f"{column!r} is not offered as a target"
    combo.setCurrentIndex(index)


def go_next(qtbot: QtBot, window: MainWindow, expected: Step) -> None:
    click(qtbot, window.nav.next_button)
    assert window.current_step is expected
    assert window.stack.currentWidget() is window.panels[expected]


def click_sidebar(qtbot: QtBot, window: MainWindow, step: Step) -> None:
    sidebar = window.sidebar
    rect = sidebar.visualItemRect(sidebar.item_for(step))
    qtbot.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def type_into_spin(qtbot: QtBot, spin: QSpinBox, value: int) -> None:
    """Select the spin box's text and type a new number, as a person would."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, str(value))
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == value


def go_to_model_page(qtbot: QtBot, window: MainWindow) -> None:
    """From the Data page with a usable target, through Prepare and Split, to Model."""
    go_next(qtbot, window, Step.PREPARE)
    go_next(qtbot, window, Step.SPLIT)
    go_next(qtbot, window, Step.MODEL)


def train(qtbot: QtBot, window: MainWindow, timeout: int = TRAIN_MS) -> None:
    """Click Start on the Train page and wait for the result."""
    panel = window.train_panel
    with qtbot.waitSignal(panel.training_finished, timeout=timeout):
        click(qtbot, panel.start_button)
    wait_idle(qtbot, panel.runner)
    wait_history_written(qtbot, window)


def wait_history_written(qtbot: QtBot, window: MainWindow) -> None:
    """The run history is written on a background thread: wait until every write so far has run and its outcome
    (the run's id, or a problem) has reached the window."""
    assert window.store_writer.wait_until_idle(LOAD_MS / 1000)
    done = []
    window.store_writer(lambda: None, done.append)  # comes back after every outcome queued before it
    qtbot.waitUntil(lambda: bool(done), timeout=LOAD_MS)


def wait_runs_read(qtbot: QtBot, window: MainWindow) -> None:
    """The Runs page reads the run history on workers (the list, whole runs, a chosen history file): wait until
    what it was asked to read is shown."""
    qtbot.waitUntil(lambda: not window.runs_panel.is_reading(), timeout=LOAD_MS)


def wait_idle(qtbot: QtBot, runner: JobRunner) -> None:
    """A page's "done" signal comes from the job's result; its buttons follow once the job has finished."""
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=LOAD_MS)


def percent(text: str) -> float:
    """ "97.1%" as shown in the metrics table -> 0.971."""
    assert text.endswith("%"), text
    return float(text.rstrip("%")) / 100


def synthetic_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """A two-class table where x0 and x1 decide the label, with noise so trees keep growing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0, "yes", "no")
    frame = pd.DataFrame(x.round(4), columns=[f"x{i}" for i in range(5)])
    frame["label"] = label
    return frame


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path
