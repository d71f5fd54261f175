"""The window speaks plainly: class lines on the Data page, class names in the Predict page's headers, a sentence
in place of an empty plot, and column importance without a button for a small model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.prep.config import default_prep
from studio.core.project import Step
from studio.core.store.model_file import metadata_for, save_model
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest
from studio.ui.main_window import MainWindow
from studio.ui.panels.predict_panel import probability_header, shown_prediction_table
from studio.ui.widgets.loss_plot import EMPTY_NOTE, LossPlotWidget
from tests.core.helpers import run_training

from .helpers import (
    LOAD_MS,
    answer_open_dialog,
    choose_target,
    click,
    go_next,
    go_to_model_page,
    open_file,
    synthetic_frame,
    train,
    wait_idle,
    write_csv,
)


def _survival_frame(rows: int = 1309) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    survived = np.array([0] * 863 + [1] * 446)[:rows]
    return pd.DataFrame({"age": rng.normal(30, 10, size=rows).round(1),
                         "fare": (rng.normal(30, 10, size=rows) + 20 * survived).round(2),
                         "survived": survived})


def test_the_data_page_lists_each_class_with_its_rows_and_share(qtbot: QtBot, window: MainWindow,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "titanic.csv", _survival_frame()))
    choose_target(window, "survived")
    text = window.data_panel.target_summary.text()
    assert "1,309 rows can be used." in text
    assert "2 classes: 0: 863 rows (66%), 1: 446 rows (34%)." in text
    assert "Classes:" not in text and "(s)" not in text


def test_a_text_target_is_a_classification_on_the_data_page(qtbot: QtBot, window: MainWindow,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    frame = _survival_frame(200)
    frame["port"] = np.where(np.arange(200) % 3 == 0, "Cherbourg", "Southampton")
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "ports.csv", frame))
    choose_target(window, "port")
    data = window.data_panel
    assert window.project.task is Task.CLASSIFICATION
    assert [data.task_combo.itemData(i) for i in range(data.task_combo.count())] == [Task.CLASSIFICATION.value]
    assert "Southampton: 133 rows (66%)" in data.target_summary.text()


def test_probability_headers_name_the_class_and_the_target() -> None:
    assert probability_header("survived", "1") == "probability of survived = 1"
    assert probability_header("churn", "yes") == "probability of churn = yes"
    assert probability_header("species", "Adelie") == "probability of Adelie"
    predictions = pd.DataFrame({"prediction (Studio)": ["1"], "probability of 0 (Studio)": [0.25],
                                "probability of 1 (Studio)": [0.75], "age": [31.0]})
    predictions.attrs.update(prediction_column="prediction (Studio)",
                             probability_columns={"probability of 0 (Studio)": "0", "probability of 1 (Studio)": "1"})
    shown, notes = shown_prediction_table(predictions, "survived")
    assert list(shown.columns) == ["predicted survived", "probability of survived = 0",
                                   "probability of survived = 1", "age"]
    assert shown.iloc[0, 2] == "75.0%"
    assert "probability of 1 (Studio)" in notes["probability of survived = 1"]  # where to find it in the saved file
    assert list(predictions.columns)[1] == "probability of 0 (Studio)"  # what is saved keeps the names scripts read


def test_the_predict_page_headers_name_the_classes(qtbot: QtBot, window: MainWindow,
                                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    frame = _survival_frame().sample(300, random_state=0)
    request = TrainRequest(frame, "survived", Task.CLASSIFICATION, default_prep(profile_frame(frame)),
                           SplitConfig(), "logistic_regression", {})
    _, result = run_training(request)
    model = save_model(tmp_path / "survival.studio", result.pipeline, metadata_for(result))
    rows = write_csv(tmp_path / "new.csv", frame.drop(columns=["survived"]).head(20))
    window.go_to(Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    answer_open_dialog(monkeypatch, rows)
    with qtbot.waitSignal(panel.predicted, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    wait_idle(qtbot, panel.runner)
    table = panel.table_model
    headers = [table.headerData(c, Qt.Orientation.Horizontal) for c in range(table.columnCount())]
    assert headers[:3] == ["predicted survived", "probability of survived = 0", "probability of survived = 1"]
    assert not any(str(h).startswith("probability_") for h in headers)
    assert table.index(0, 1).data().endswith("%")
    assert "Predicted 20 rows of new.csv." in panel.banner.text()
    assert {"prediction (Studio)", "probability of 0 (Studio)", "probability of 1 (Studio)"} \
        <= set(panel.predictions.columns)


def test_an_empty_training_curve_says_what_will_appear(qtbot: QtBot) -> None:
    plot = LossPlotWidget()
    qtbot.addWidget(plot)
    assert plot.slot.shows_note() and plot.slot.note_text() == EMPTY_NOTE
    from studio.core.common.progress import CurvePoint

    plot.append(CurvePoint(1, 0.5, 0.6, "tree", "Log loss"))
    assert not plot.slot.shows_note()
    plot.clear()
    assert plot.slot.shows_note()


def test_a_small_model_s_column_importance_needs_no_button(qtbot: QtBot, window: MainWindow,
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "small.csv", synthetic_frame(300)))
    choose_target(window, "label")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    view = window.results_panel.view
    explain = view.explain
    assert explain.dependence_slot.shows_note() and "Show effect of this column" in explain.dependence_slot.note_text()
    assert explain.importance is None
    view.tabs.setCurrentIndex(view.tab_index("Which columns matter"))  # shown: the computing starts by itself
    qtbot.waitUntil(lambda: explain.importance is not None, timeout=LOAD_MS)
    wait_idle(qtbot, explain.runner)
    assert not explain.importance_slot.shows_note()
    assert view.diagnosis.curve_slot.shows_note()  # the learning curve waits for its button
