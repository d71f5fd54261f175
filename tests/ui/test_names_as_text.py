"""Column, class and file names are the user's text: every page shows them as written, never as markup.

A table whose names are HTML (``<img src=x>`` would load a local file, ``<b>bold</b>`` would turn bold) is opened,
prepared, trained on and predicted with; after each page every label and tooltip of the window is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from pytestqt.qtbot import QtBot

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.prep.config import default_prep
from studio.core.project import Step
from studio.core.store.model_file import metadata_for, save_model
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, train
from studio.ui.main_window import MainWindow
from tests.core.helpers import drain

from .helpers import LOAD_MS, answer_open_dialog, choose_target, click, click_sidebar, go_next, open_file, wait_idle
from .helpers import train as train_in_window

# Markup a name may hold; shown as markup, each would change what the page says (or load a file).
IMAGE = "<img src=x>"
BOLD = "<b>bold</b>"
CLASSES = ("<i>yes</i>", "<u>no</u>")
HOSTILE = (IMAGE, BOLD, *CLASSES, "<a href='x'>link</a>")


def hostile_table(rows: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=rows)
    spend = rng.normal(size=rows).round(3).astype(object)
    spend[[3, 7]] = "inf"  # an infinite number: the warning names the column
    return pd.DataFrame({IMAGE: signal.round(3), BOLD: spend,
                         "<a href='x'>link</a>": rng.choice(["<s>a</s>", "b", "c"], size=rows),
                         "label": np.where(signal + rng.normal(scale=0.3, size=rows) > 0, *CLASSES)})


def rendered_as_markup(window: QWidget) -> list[str]:
    """Every label and tooltip that would read a hostile name as markup: rich text holding it unescaped."""
    found: list[str] = []
    widgets = [window, *window.findChildren(QWidget)]
    for widget in widgets:
        if isinstance(widget, QLabel):
            text = widget.text()
            rich = widget.textFormat() is Qt.TextFormat.RichText or (
                widget.textFormat() is Qt.TextFormat.AutoText and QtGui.mightBeRichText(text))
            found += [f"label {text[:80]!r}" for name in HOSTILE if name in text and rich]
        tip = widget.toolTip()
        found += [f"tooltip of {type(widget).__name__} {tip[:80]!r}" for name in HOSTILE
                  if name in tip and QtGui.mightBeRichText(tip)]
    return sorted(set(found))


def visible_text(window: QWidget) -> str:
    return "\n".join(w.text() for w in window.findChildren(QLabel) if w.isVisible())


@pytest.fixture
def hostile_model(tmp_path: Path) -> Path:
    frame = hostile_table()
    request = TrainRequest(frame, "label", Task.CLASSIFICATION, default_prep(profile_frame(frame)), SplitConfig(),
                           "logistic_regression", {})
    result = drain(train(request))
    return save_model(tmp_path / f"{IMAGE}.studio.joblib", result.pipeline, metadata_for(result))


def test_names_that_look_like_html_are_shown_as_written(qtbot: QtBot, window: MainWindow,
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          hostile_model: Path) -> None:
    path = tmp_path / "names.csv"
    hostile_table().to_csv(path, index=False)
    problems: list[str] = []  # every page is visited before they are listed, so one run names them all
    open_file(qtbot, window, monkeypatch, path)
    choose_target(window, "label")
    problems += rendered_as_markup(window)

    go_next(qtbot, window, Step.PREPARE)
    prep_panel = window.prep_panel
    qtbot.waitUntil(lambda: prep_panel.insights is not None, timeout=LOAD_MS)
    # The infinite values are named by column, with their one-click fix.
    assert any(f.code == "infinite" and f.column == BOLD for f in prep_panel.insights.findings)
    prep_panel.open_workbench()
    for row in range(prep_panel.table.rowCount()):
        prep_panel.table.selectRow(row)
        problems += rendered_as_markup(window)

    go_next(qtbot, window, Step.SPLIT)
    go_next(qtbot, window, Step.MODEL)
    go_next(qtbot, window, Step.TRAIN)
    train_in_window(qtbot, window)
    problems += rendered_as_markup(window)
    go_next(qtbot, window, Step.RESULTS)
    problems += rendered_as_markup(window)

    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, hostile_model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    shown = visible_text(window)
    assert "&lt;img src=x&gt;.studio.joblib" in shown
    problems += rendered_as_markup(window)
    answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(panel.predicted, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    assert panel.table_model.rowCount() == len(hostile_table())
    problems += rendered_as_markup(window)
    assert sorted(set(problems)) == [], "\n".join(sorted(set(problems)))
    buttons = [b for b in window.findChildren(QAbstractButton) if b.isVisible()]
    assert buttons  # the page is still there to use
