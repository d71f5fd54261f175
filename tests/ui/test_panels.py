"""One page at a time: each control changes the Project and the page shows the change."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import QAbstractTableModel, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QStandardItemModel
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.core.data.target import Task
from studio.core.models.params import ParamKind
from studio.core.models.registry import models_for
from studio.core.prep.config import Treatment
from studio.core.project import ModelConfig, Step
from studio.core.train.splits import SplitConfig, split_sizes
from studio.ui.main_window import MainWindow
from studio.ui.widgets.prep_columns import DESCRIPTION_COLUMN
from studio.ui.widgets.table_model import MISSING_TEXT, DataFrameTableModel

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
    open_file,
    open_sample,
    train,
    wait_data_idle,
    wait_idle,
    write_csv,
)

EDITOR_TYPES = {ParamKind.INT: QSpinBox, ParamKind.FLOAT: QLineEdit, ParamKind.CHOICE: QComboBox,
                ParamKind.BOOL: QCheckBox, ParamKind.INT_LIST: QLineEdit}


@pytest.fixture
def species_window(qtbot: QtBot, window: MainWindow) -> MainWindow:
    open_sample(qtbot, window)
    choose_target(window, "species")
    return window


# -- Prepare ----------------------------------------------------------------------------------------------------
def test_leaving_a_column_out_updates_project_and_summary(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_next(qtbot, window, Step.PREPARE)
    panel = window.prep_panel
    combo = panel.combo_for("island")
    assert combo.currentText() == Treatment.CATEGORICAL.label
    combo.setCurrentText(Treatment.EXCLUDE.label)
    assert window.project.prep.get("island").treatment is Treatment.EXCLUDE
    # A choice of the person's own opens the workbench; the summary above it shrinks to the counts.
    assert panel.workbench.isVisible()
    assert "6 columns are used, 1 left out" in panel.summary.text()
    row = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())].index("island")
    assert panel.table.item(row, DESCRIPTION_COLUMN).text() == "Left out: chosen by you"
    # The drop-down survives its own change and can put the column back.
    assert panel.combo_for("island") is combo
    combo.setCurrentText(Treatment.CATEGORICAL.label)
    assert window.project.prep.get("island").treatment is Treatment.CATEGORICAL
    assert "7 columns are used" in panel.summary.text()


def test_leaving_every_column_out_blocks_next(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_next(qtbot, window, Step.PREPARE)
    panel = window.prep_panel
    for row in range(panel.table.rowCount()):
        panel.combo_for(panel.table.item(row, 0).text()).setCurrentText(Treatment.EXCLUDE.label)
    assert "No column is used" in panel.summary.text()
    assert not panel.continue_button.isEnabled()
    assert not window.nav.next_button.isEnabled()
    assert "Every column is left out" in window.nav.reason.text()


# -- Split ------------------------------------------------------------------------------------------------------
def test_changing_the_test_share_updates_the_counts(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_next(qtbot, window, Step.PREPARE)
    go_next(qtbot, window, Step.SPLIT)
    panel = window.split_panel
    assert panel.test_spin.value() == 15
    panel.test_spin.setValue(25)
    assert window.project.split.test == pytest.approx(0.25)
    sizes = split_sizes(SAMPLE_ROWS, SplitConfig(validation=0.15, test=0.25))
    text = panel.counts_label.text()
    assert all(f"<b>{rows}</b>" in text for rows in sizes), (sizes, text)
    assert panel.train_label.text() == "60%"
    # Too little left for training: the page says so and Next is blocked.
    panel.validation_spin.setValue(40)
    panel.test_spin.setValue(40)
    assert "at least 30%" in panel.counts_label.text()
    assert not window.nav.next_button.isEnabled()


# -- Model ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "task"), [("species", Task.CLASSIFICATION), ("body_mass_g", Task.REGRESSION)])
def test_each_model_shows_a_form_for_its_settings(qtbot: QtBot, window: MainWindow, target: str,
                                                   task: Task) -> None:
    open_sample(qtbot, window)
    choose_target(window, target)
    go_to_model_page(qtbot, window)
    panel = window.model_panel
    click(qtbot, panel.mode_choice.buttons["manual"])
    listed = [panel.model_list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(panel.model_list.count())]
    picked = [spec for spec in models_for(task) if not spec.choices]
    assert listed == [spec.key for spec in picked]
    # Chinstrap penguins are 19.8% of the rows: a rare class of three, so the classes are weighed by default.
    weighed = task is Task.CLASSIFICATION
    for spec in picked:
        panel.select_model(spec.key)
        assert window.project.model.key == spec.key
        assert panel.title.text() == spec.label
        specs = spec.params_for(task)
        assert panel.form.names() == [p.name for p in specs]
        labels = {label.text() for label in panel.form.findChildren(QLabel)}
        for param in specs:
            editor = panel.form.editor(param.name)
            assert isinstance(editor, EDITOR_TYPES[param.kind]), (spec.key, param.name)
            assert param.label in labels
            assert editor.toolTip() == param.help
            default = param.default_for(task.value)
            if param.kind is ParamKind.INT:
                assert editor.value() == (editor.minimum() if default is None else default)
                if default is None:
                    assert editor.text() == param.none_label
            elif param.kind is ParamKind.CHOICE:
                assert editor.currentData() == default
            elif param.kind is ParamKind.BOOL:
                assert editor.isChecked() == (bool(default) or (param.name == "balanced" and weighed))
            elif param.kind is ParamKind.INT_LIST:
                assert editor.text() == default
            else:
                assert float(editor.text()) == pytest.approx(default)


def test_reset_to_defaults(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_to_model_page(qtbot, window)
    panel = window.model_panel
    panel.select_model("random_forest")
    panel.form.editor("n_estimators").setValue(37)
    panel.form.editor("max_features").setCurrentIndex(2)
    panel.form.editor("balanced").setChecked(False)
    assert window.project.model.params_dict() == {"n_estimators": 37, "max_features": "all", "balanced": False}
    click(qtbot, panel.reset_button)
    assert window.project.model == ModelConfig("random_forest")
    assert panel.form.editor("n_estimators").value() == 100
    assert panel.form.editor("max_features").currentData() == "sqrt"
    assert panel.form.editor("balanced").isChecked()  # Chinstrap penguins are rare: weighed unless switched off


def test_studio_chooses_by_default_and_a_person_can_pick_instead(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_to_model_page(qtbot, window)
    panel = window.model_panel
    assert panel.mode_choice.buttons["choose"].isChecked()
    assert window.project.model.key == "studio_choice"
    assert not panel.model_list.isVisible() and not panel.form_scroll.isVisible()
    assert panel.title.text() == "Let Studio choose" and "gradient boosting" in panel.description.text()
    click(qtbot, panel.mode_choice.buttons["manual"])
    assert window.project.model.key == "random_forest"
    assert panel.model_list.isVisible() and panel.form_scroll.isVisible()
    assert panel.model_list.currentItem().text() == "Random forest"
    click(qtbot, panel.mode_choice.buttons["tune"])
    assert window.project.model.key == "random_forest"  # tuning starts from the picked model
    click(qtbot, panel.mode_choice.buttons["choose"])
    assert window.project.model.key == "studio_choice"
    assert window.project.tuning.mode.value == "manual"
    # A model picked with its own settings comes back when the person picks again.
    click(qtbot, panel.mode_choice.buttons["manual"])
    panel.select_model("gradient_boosting")
    panel.form.editor("max_iter").setValue(77)
    click(qtbot, panel.mode_choice.buttons["choose"])
    click(qtbot, panel.mode_choice.buttons["manual"])
    assert window.project.model.key == "gradient_boosting"
    assert window.project.model.params_dict()["max_iter"] == 77


def test_out_of_range_float_is_refused_in_the_form(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_to_model_page(qtbot, window)
    panel = window.model_panel
    panel.select_model("gradient_boosting")
    editor = panel.form.editor("learning_rate")
    assert isinstance(editor, QLineEdit)
    with qtbot.waitSignal(panel.form.invalid, timeout=1_000) as invalid:
        editor.setText("5")
        editor.editingFinished.emit()
    assert invalid.args[0] == "learning_rate"
    assert "between" in invalid.args[1]
    assert "learning_rate" not in window.project.model.params_dict()
    editor.setText("0.05")
    editor.editingFinished.emit()
    assert window.project.model.params_dict()["learning_rate"] == pytest.approx(0.05)


# -- Results ----------------------------------------------------------------------------------------------------
def test_results_say_when_settings_changed_since_training(qtbot: QtBot, species_window: MainWindow) -> None:
    window = species_window
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    results = window.results_panel
    assert not results.stale_banner.isVisible()
    shown = results.metric_value("accuracy")

    click_sidebar(qtbot, window, Step.MODEL)
    window.model_panel.form.editor("balanced").setChecked(False)  # on by default: Chinstrap penguins are rare
    click_sidebar(qtbot, window, Step.RESULTS)
    assert window.current_step is Step.RESULTS
    assert results.stale_banner.isVisible()
    assert "settings have changed" in results.stale_banner.text()
    assert results.metric_value("accuracy") == shown  # the old numbers stay, labelled as old
    assert "settings changed since the last training" in window.train_panel.what_label.text()


# -- Data -------------------------------------------------------------------------------------------------------
def test_opened_file_goes_to_recent_files(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    panel = window.data_panel
    assert not panel.recent_button.isEnabled()
    path = write_csv(tmp_path / "fruit.csv", pd.DataFrame({"weight": [1.0, 2.0, 3.5] * 10,
                                                          "kind": ["apple", "pear", "plum"] * 10}))
    open_file(qtbot, window, monkeypatch, path)
    assert panel.recent_button.isEnabled()
    assert [a.text() for a in panel.recent_menu.actions()] == ["fruit.csv"]
    saved = json.loads((tmp_path / "settings" / "settings.json").read_text(encoding="utf-8"))
    assert saved["recent_files"] == [str(path.resolve())]

    # The sample is not a recent file; picking the recent entry opens the file again.
    open_sample(qtbot, window)
    assert [a.text() for a in panel.recent_menu.actions()] == ["fruit.csv"]
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        panel.recent_menu.actions()[0].trigger()
    wait_data_idle(qtbot, window)
    assert window.project.table is not None and window.project.table.name == "fruit.csv"

    # A new window with the same settings folder remembers it.
    second = create_window(tmp_path / "settings")
    qtbot.addWidget(second)
    try:
        assert [a.toolTip() for a in second.data_panel.recent_menu.actions()] == [str(path.resolve())]
    finally:
        second.shutdown()


def test_dropping_a_file_opens_it(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    panel = window.data_panel
    path = write_csv(tmp_path / "dropped.csv", pd.DataFrame({"a": range(25), "b": ["x", "y", "z", "w", "v"] * 5}))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        QApplication.sendEvent(panel, drop)
    wait_data_idle(qtbot, window)
    assert window.project.table is not None and window.project.table.name == "dropped.csv"
    assert panel.preview_model.rowCount() == 25
    assert "dropped.csv" in panel.status_label.text()


def test_dragging_something_that_is_not_a_file_is_refused(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("just some text")
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window.data_panel, enter)
    assert not enter.isAccepted()


def test_preview_is_a_virtual_table_showing_missing_cells(qtbot: QtBot, window: MainWindow,
                                                          sample_path: Path) -> None:
    open_sample(qtbot, window)
    model = window.data_panel.preview.model()
    assert isinstance(model, QAbstractTableModel)
    assert isinstance(model, DataFrameTableModel)
    assert not isinstance(model, QStandardItemModel)
    frame = pd.read_csv(sample_path)
    assert model.rowCount() == len(frame) and model.columnCount() == frame.shape[1]
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == list(frame.columns)
    blank_row = int(frame["bill_length_mm"].isna().to_numpy().nonzero()[0][0])
    column = headers.index("bill_length_mm")
    assert model.index(blank_row, column).data() == MISSING_TEXT
    assert model.index(blank_row, column).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(0, column).data() == "39.1"
    assert model.index(0, headers.index("species")).data() == "Adelie"
    # After profiling, a column header explains what the column holds.
    assert "Number" in model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


# -- Export -----------------------------------------------------------------------------------------------------
def test_saved_model_opens_on_the_predict_page_with_one_click(qtbot: QtBot, species_window: MainWindow,
                                                              tmp_path: Path) -> None:
    window = species_window
    go_to_model_page(qtbot, window)
    window.project.set_model(ModelConfig("logistic_regression"))
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel
    assert not export.use_button.isEnabled()
    assert "Test scores:" in export.contents.text()
    model_path = tmp_path / "species.studio.joblib"
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        export.save_to(model_path)
    assert export.use_button.isEnabled()
    with qtbot.waitSignal(window.predict_panel.model_opened, timeout=LOAD_MS):
        click(qtbot, export.use_button)
    wait_idle(qtbot, window.predict_panel.runner)  # the page's buttons follow once its job has ended
    assert window.current_step is Step.PREDICT
    assert model_path.name in window.predict_panel.model_label.text()
    assert window.predict_panel.data_button.isEnabled()


# -- Predict ----------------------------------------------------------------------------------------------------
@pytest.fixture
def predicted_window(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, penguins_model: Path,
                     sample_path: Path) -> MainWindow:
    """The Predict page with the sample's predictions on screen, ready to be saved."""
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, penguins_model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    answer_open_dialog(monkeypatch, sample_path)
    with qtbot.waitSignal(panel.predicted, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    wait_idle(qtbot, panel.runner)
    assert panel.predictions is not None and len(panel.predictions) == SAMPLE_ROWS
    return window


def test_predictions_saved_as_excel_from_the_page(qtbot: QtBot, predicted_window: MainWindow,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import threading

    import studio.core.serve.predict as predict_module

    panel = predicted_window.predict_panel
    writers: list[threading.Thread] = []
    write = predict_module.write_predictions

    def recording_write(path: str | Path, predictions: pd.DataFrame, bom: bool = True) -> Path:
        writers.append(threading.current_thread())
        return write(path, predictions, bom)

    monkeypatch.setattr(predict_module, "write_predictions", recording_write)
    folder = tmp_path / "shared"  # tmp_path also holds the window's settings
    out = folder / "penguin predictions.xlsx"
    calls = answer_save_dialog(monkeypatch, out)
    with qtbot.waitSignal(panel.predictions_saved, timeout=LOAD_MS) as saved:
        click(qtbot, panel.save_button)
    wait_idle(qtbot, panel.runner)
    offered = calls[0][3].split(";;")
    assert offered[:3] == ["CSV (*.csv)", "Excel workbook (*.xlsx)", "Parquet (*.parquet)"]
    assert saved.args == [str(out)]
    assert writers and writers[0] is not threading.main_thread(), "the file is written off the GUI thread"
    assert panel.banner.level == "success" and out.name in panel.banner.text()
    assert out.read_bytes()[:2] == b"PK"  # a real workbook, not CSV text under an .xlsx name
    back = pd.read_excel(out, dtype=object, keep_default_na=False, na_filter=False)
    assert panel.predictions is not None
    assert list(back.columns) == list(panel.predictions.columns)
    # Every cell shows what the page shows: the file's own text ("NA" included), numbers as numbers.
    pd.testing.assert_frame_equal(back.map(str), panel.predictions.map(str))
    assert isinstance(back.loc[0, "bill_length_mm"], float) and back.loc[3, "bill_length_mm"] == "NA"
    assert list(folder.iterdir()) == [out], "no temp file left behind"


@pytest.mark.parametrize(("chosen", "suffix"), [("Excel workbook (*.xlsx)", ".xlsx"), ("Parquet (*.parquet)",
                                                                                         ".parquet"),
                                                ("CSV (*.csv)", ".csv")])
def test_name_typed_without_extension_gets_the_chosen_format(qtbot: QtBot, predicted_window: MainWindow,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             chosen: str, suffix: str) -> None:
    from PySide6.QtWidgets import QFileDialog

    panel = predicted_window.predict_panel
    folder = tmp_path / "shared"  # tmp_path also holds the window's settings
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(folder / "results"), chosen)))
    with qtbot.waitSignal(panel.predictions_saved, timeout=LOAD_MS) as saved:
        click(qtbot, panel.save_button)
    wait_idle(qtbot, panel.runner)
    out = folder / f"results{suffix}"
    assert saved.args == [str(out)]
    back = pd.read_excel(out) if suffix == ".xlsx" else (
        pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, encoding="utf-8-sig"))
    assert back.shape == (SAMPLE_ROWS, panel.predictions.shape[1] if panel.predictions is not None else 0)
    assert list(folder.iterdir()) == [out]


def test_saving_under_an_unknown_extension_says_which_ones_work(qtbot: QtBot, predicted_window: MainWindow,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    panel = predicted_window.predict_panel
    folder = tmp_path / "shared"  # tmp_path also holds the window's settings
    answer_save_dialog(monkeypatch, folder / "predictions.json")
    with qtbot.waitSignal(panel.runner.failed, timeout=LOAD_MS):
        click(qtbot, panel.save_button)
    wait_idle(qtbot, panel.runner)
    assert panel.banner.level == "error"
    assert "predictions.json" in panel.banner.text() and ".xlsx (Excel) or .parquet" in panel.banner.text()
    assert "Traceback" not in panel.banner.text()
    assert not folder.exists()
    assert panel.save_button.isEnabled()
