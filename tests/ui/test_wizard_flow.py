"""The whole wizard on the sample data, driven by clicks: open, prepare, split, train, read, save, predict."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox
from pytestqt.qtbot import QtBot

from studio.core.data.target import Task
from studio.core.project import Step
from studio.core.store.model_file import load_model
from studio.core.train.splits import SplitConfig, split_sizes
from studio.ui.main_window import MainWindow

from .helpers import (
    LOAD_MS,
    SAMPLE_ROWS,
    answer_open_dialog,
    answer_save_dialog,
    choose_target,
    click,
    click_sidebar,
    go_next,
    go_to_model_page,
    open_sample,
    percent,
    train,
    type_into_spin,
    wait_idle,
)

SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


def test_classification_from_sample_to_saved_predictions(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_path: Path) -> None:
    nav = window.nav
    # Nothing open yet: Next is disabled and the bar says why.
    assert not nav.next_button.isEnabled()
    assert "Open a table" in nav.reason.text()
    assert not nav.back_button.isEnabled()

    # -- Data ---------------------------------------------------------------------------------------------------
    open_sample(qtbot, window)
    data = window.data_panel
    assert data.preview_model.rowCount() == SAMPLE_ROWS
    assert "penguins.csv" in data.status_label.text()
    assert not nav.next_button.isEnabled()
    assert nav.reason.text() == "Pick the column you want to predict."
    assert not window.sidebar.item_for(Step.PREPARE).flags() & Qt.ItemFlag.ItemIsEnabled
    choose_target(window, "species")
    assert window.sidebar.item_for(Step.PREPARE).flags() & Qt.ItemFlag.ItemIsEnabled
    assert nav.next_button.isEnabled()
    assert nav.reason.text() == ""
    assert data.task_combo.currentData() == Task.CLASSIFICATION.value
    assert "344 rows can be used" in data.target_summary.text()
    assert "Adelie" in data.target_summary.text()

    # -- Prepare ------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.PREPARE)
    assert window.prep_panel.table.rowCount() == 7  # every column but the target
    assert "7 columns are used:" in window.prep_panel.summary.text()

    # -- Split --------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.SPLIT)
    train_rows, validation_rows, test_rows = split_sizes(SAMPLE_ROWS, SplitConfig())
    counts = window.split_panel.counts_label.text()
    for number in (train_rows, validation_rows, test_rows):
        assert f"<b>{number}</b>" in counts
    assert (train_rows, validation_rows, test_rows) == (240, 52, 52)
    click(qtbot, nav.back_button)
    assert window.current_step is Step.PREPARE
    go_next(qtbot, window, Step.SPLIT)

    # -- Model --------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.MODEL)
    model = window.model_panel
    model.select_model("random_forest")
    assert model.title.text() == "Random forest"
    trees = model.form.editor("n_estimators")
    assert isinstance(trees, QSpinBox)
    assert trees.value() == 100
    type_into_spin(qtbot, trees, 20)
    assert window.project.model.params_dict()["n_estimators"] == 20

    # -- Train --------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    assert "Random forest" in panel.what_label.text()
    assert not nav.next_button.isEnabled()  # nothing trained yet
    train(qtbot, window)
    assert panel.plot.point_count() > 0  # a forest reports a curve as trees are added
    assert panel.stage_label.text().startswith("Finished in")
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.progress.value() == 100
    assert window.project.result is not None
    assert window.project.result.params["n_estimators"] == 20
    assert nav.next_button.isEnabled()

    # -- Results ------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.RESULTS)
    results = window.results_panel
    assert percent(results.metric_value("accuracy")) > 0.8
    assert percent(results.metric_value("accuracy")) > percent(results.metric_value("accuracy", column=3))
    summary = results.summary.text()
    assert "right" in summary and "guessing" in summary
    assert f"{test_rows} rows it never saw" in summary
    assert not results.stale_banner.isVisible()

    # -- Export -------------------------------------------------------------------------------------------------
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel
    assert "species" in export.contents.text()
    model_path = tmp_path / "penguins-forest.studio.joblib"
    dialog_calls = answer_save_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS) as saved:
        click(qtbot, export.save_button)
    wait_idle(qtbot, export.runner)
    assert dialog_calls, "the save button did not ask where to save"
    assert saved.args == [str(model_path)]
    assert model_path.is_file()
    assert export.banner.level == "success" and str(model_path) in export.banner.text()
    bundle = load_model(model_path)
    assert bundle.target == "species" and bundle.task is Task.CLASSIFICATION
    assert set(bundle.classes) == SPECIES
    assert bundle.metadata["params"]["n_estimators"] == 20
    assert not nav.next_button.isVisible()  # Export is the wizard's last page

    # -- Predict ------------------------------------------------------------------------------------------------
    click_sidebar(qtbot, window, Step.PREDICT)
    assert window.current_step is Step.PREDICT
    predict = window.predict_panel
    assert window.stack.currentWidget() is predict
    assert not predict.data_button.isEnabled() and not predict.save_button.isEnabled()
    answer_open_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(predict.model_opened, timeout=LOAD_MS):
        click(qtbot, predict.model_button)
    wait_idle(qtbot, predict.runner)
    assert model_path.name in predict.model_label.text()
    assert "species" in predict.model_label.text()

    answer_open_dialog(monkeypatch, sample_path)
    with qtbot.waitSignal(predict.predicted, timeout=LOAD_MS):
        click(qtbot, predict.data_button)
    wait_idle(qtbot, predict.runner)
    table = predict.table_model
    assert table.rowCount() == SAMPLE_ROWS
    headers = [table.headerData(c, Qt.Orientation.Horizontal) for c in range(table.columnCount())]
    # The window names the target and the classes; the saved file keeps the names scripts read.
    assert headers[0] == "predicted species"
    assert {f"probability of {name}" for name in SPECIES} <= set(headers)
    assert table.index(0, 0).data() in SPECIES
    assert f"Predicted {SAMPLE_ROWS} rows" in predict.banner.text()

    out = tmp_path / "predictions.csv"
    answer_save_dialog(monkeypatch, out)
    with qtbot.waitSignal(predict.predictions_saved, timeout=LOAD_MS):
        click(qtbot, predict.save_button)
    saved_frame = pd.read_csv(out)
    assert len(saved_frame) == SAMPLE_ROWS
    assert set(saved_frame["prediction (Studio)"]) <= SPECIES
    # The file keeps the input columns next to the predictions, so they can be checked against the truth.
    assert (saved_frame["prediction (Studio)"] == saved_frame["species"]).mean() > 0.8


def test_regression_on_body_mass(qtbot: QtBot, window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "body_mass_g")
    data = window.data_panel
    assert data.task_combo.currentData() == Task.REGRESSION.value
    assert "2 rows have no value for body_mass_g" in data.target_summary.text()
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("linear_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    results = window.results_panel
    mae = float(results.metric_value("mae").replace(",", ""))
    guessing_mae = float(results.metric_value("mae", column=3).replace(",", ""))
    assert 0 < mae < guessing_mae
    assert "off by about" in results.summary.text()
    assert "2 rows without a value for body_mass_g were left out" in results.details.text()
    with pytest.raises(KeyError):
        results.metric_value("accuracy")
