"""The Prepare page driven like a person: choose settings, apply fixes, add a formula, and watch the preview."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.cli import run_cli
from studio.core.prep.config import Encoding, Treatment, load_prep
from studio.core.project import Step
from studio.core.store.model_file import load_model
from studio.resources import resources_dir, sample_dataset
from studio.ui.main_window import MainWindow
from studio.ui.panels.prep_panel import PrepPanel
from studio.ui.widgets.prep_columns import DESCRIPTION_COLUMN

from .helpers import (
    LOAD_MS,
    answer_open_dialog,
    answer_save_dialog,
    choose_target,
    click,
    go_next,
    open_file,
    open_sample,
    train,
)

MESSY = resources_dir() / "samples" / "messy_customers.csv"


def enter_prepare(qtbot: QtBot, window: MainWindow, customise: bool = True) -> PrepPanel:
    """Go to the Prepare page and wait for its insights and preview; then open the workbench with "Customise…"
    (unless it is open already, as it stays for a dataset once opened)."""
    panel = window.prep_panel
    with qtbot.waitSignals([panel.insights_ready, panel.preview_ready], timeout=LOAD_MS):
        go_next(qtbot, window, Step.PREPARE)
    qtbot.waitUntil(lambda: panel.preview_is_current() and not panel.preview_runner.is_running(), timeout=LOAD_MS)
    if customise and not panel.workbench.isVisible():
        click(qtbot, panel.customise_button)
        assert panel.workbench.isVisible()
    return panel


def select_column(qtbot: QtBot, panel: PrepPanel, name: str) -> None:
    row = panel.table.names().index(name)
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.form.title.text() == name


def changed_preview(qtbot: QtBot, panel: PrepPanel, change: Callable[[], object]) -> None:
    """Make a change and wait for the preview of exactly the new choices (not one started before it)."""
    change()
    assert not panel.preview_is_current()
    qtbot.waitUntil(lambda: panel.preview_is_current() and not panel.preview_runner.is_running(), timeout=LOAD_MS)


@pytest.fixture
def penguins_prepare(qtbot: QtBot, window: MainWindow) -> PrepPanel:
    open_sample(qtbot, window)
    choose_target(window, "species")
    return enter_prepare(qtbot, window)


def test_column_settings_change_the_preview(qtbot: QtBot, window: MainWindow, penguins_prepare: PrepPanel) -> None:
    panel = penguins_prepare
    assert panel.preview.feature_count == 10
    assert "learns from 10 columns, made from 7 of yours" in panel.preview_view.headline.text()
    assert panel.preview_view.before_model.rowCount() == 8
    # A number column: a histogram and its settings; a category: bars of its values.
    select_column(qtbot, panel, "body_mass_g")
    assert panel.form.chart.shown == "histogram"
    assert panel.form.scaling_combo.isVisible() and not panel.form.encoding_combo.isVisible()
    assert panel.form.outliers_combo.currentText() == "Keep as they are"
    assert "Strongly linked to <b>species</b>" in panel.form.facts.text()
    select_column(qtbot, panel, "island")
    assert panel.form.chart.shown == "bars"
    combo = panel.form.encoding_combo
    changed_preview(qtbot, panel, lambda: combo.setCurrentIndex(combo.findData(Encoding.ORDINAL.value)))
    assert window.project.prep.get("island").encoding is Encoding.ORDINAL
    assert panel.preview.feature_count == 8
    assert panel.preview_view.after_model.columnCount() == 8
    assert "each value becomes a number" in panel.table.item(0, DESCRIPTION_COLUMN).text().lower()
    # Using a number as a category: one column per year (2007, 2008, 2009) instead of one.
    changed_preview(qtbot, panel, lambda: panel.combo_for("year").setCurrentText("Use as category"))
    assert window.project.prep.get("year").treatment is Treatment.CATEGORICAL
    assert panel.preview.feature_count == 10
    sources = dict(panel.preview.sources)
    assert sources["year"] == ("year_2007", "year_2008", "year_2009")
    assert panel.preview_view.sources.topLevelItemCount() == 7
    # A 'was missing' column for sex appears in the preview.
    select_column(qtbot, panel, "sex")
    changed_preview(qtbot, panel, lambda: click(qtbot, panel.form.indicator_check))
    assert "sex (was missing)" in dict(panel.preview.sources)["sex"]
    # Dropping a column instead of filling its gaps, from the same list.
    missing = panel.form.missing_combo
    changed_preview(qtbot, panel, lambda: missing.setCurrentIndex(missing.findText("Leave the column out")))
    assert not window.project.prep.get("sex").used
    assert panel.form.left_out_hint.isVisible()
    assert "sex" not in dict(panel.preview.sources)
    # The missing-value map covers every column of the table.
    assert panel.missing_map.shares.shape[1] == 8
    assert "sex (3%)" in panel.missing_map.caption.text()


def test_formula_column_is_checked_as_typed(qtbot: QtBot, window: MainWindow, penguins_prepare: PrepPanel) -> None:
    panel = penguins_prepare
    panel.tabs.setCurrentIndex(3)
    editor = panel.formulas
    qtbot.keyClicks(editor.name_edit, "bill_ratio")
    qtbot.keyClicks(editor.formula_edit, "bill_length_mm / bill_dept")
    assert not editor.add_button.isEnabled()
    assert "no column called 'bill_dept'" in editor.message.text()
    qtbot.keyClicks(editor.formula_edit, "h_mm")
    assert editor.add_button.isEnabled() and editor.message.text() == ""
    changed_preview(qtbot, panel, lambda: click(qtbot, editor.add_button))
    assert window.project.prep.get("bill_ratio").formula == "bill_length_mm / bill_depth_mm"
    assert "bill_ratio" in panel.table.names()
    assert dict(panel.preview.sources)["bill_ratio"] == ("bill_ratio",)
    assert panel.preview.feature_count == 11
    qtbot.keyClicks(editor.name_edit, "evil")
    qtbot.keyClicks(editor.formula_edit, "__import__('os')")
    assert not editor.add_button.isEnabled() and "not a function" in editor.message.text()
    editor.formula_edit.clear()
    qtbot.keyClicks(editor.formula_edit, "species * 2")
    assert not editor.add_button.isEnabled() and "the column to predict" in editor.message.text()


def test_warnings_fixed_with_one_click_on_a_messy_table(qtbot: QtBot, window: MainWindow,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    open_file(qtbot, window, monkeypatch, MESSY)
    choose_target(window, "churned")
    panel = enter_prepare(qtbot, window)
    panel.tabs.setCurrentIndex(1)
    assert panel.tabs.tabText(1) == "Warnings (4)"
    assert "5 found" in panel.duplicates_check.text()
    buttons = panel.findings.fix_buttons
    assert set(buttons) == {("duplicates", ""), ("blank_none", "discount_pct"), ("leak", "cancellation_reason"),
                            ("blank_none", "cancellation_reason")}
    changed_preview(qtbot, panel, lambda: click(qtbot, buttons[("leak", "cancellation_reason")]))
    assert window.project.prep.get("cancellation_reason").treatment is Treatment.EXCLUDE
    # The leak's fix also settles the blanks of the same column; two warnings are left.
    assert panel.tabs.tabText(1) == "Warnings (2)"
    changed_preview(qtbot, panel, lambda: click(qtbot, panel.findings.fix_buttons[("duplicates", "")]))
    assert panel.duplicates_check.isChecked()
    assert "5 duplicated" in panel.preview_view.headline.text()
    changed_preview(qtbot, panel, lambda: click(qtbot, panel.findings.fix_buttons[("blank_none", "discount_pct")]))
    assert window.project.prep.get("discount_pct").fill_value == "0"
    assert panel.tabs.tabText(1) == "Warnings"
    # Dates: the detected day-first format, a typed one, and the parts to use.
    panel.tabs.setCurrentIndex(0)
    select_column(qtbot, panel, "signup_date")
    form = panel.form
    assert form.format_combo.currentText() == "%d/%m/%Y"
    changed_preview(qtbot, panel, lambda: click(qtbot, form.part_checks["month"]))
    assert dict(panel.preview.sources)["signup_date"] == ("signup_date month", "signup_date days")
    form.format_combo.lineEdit().selectAll()
    qtbot.keyClicks(form.format_combo.lineEdit(), "%d-%m-%Y")
    assert window.project.prep.get("signup_date").date_format == "%d/%m/%Y"  # not while typing
    qtbot.keyClick(form.format_combo.lineEdit(), Qt.Key.Key_Return)
    assert window.project.prep.get("signup_date").date_format == "%d-%m-%Y"
    form.format_combo.setCurrentIndex(form.format_combo.findText("%d/%m/%Y"))
    form.format_combo.activated.emit(form.format_combo.currentIndex())  # what picking from the list sends
    assert window.project.prep.get("signup_date").date_format == "%d/%m/%Y"
    # Trained with these choices: the leaking column is not an input, the duplicates left the training rows.
    go_next(qtbot, window, Step.SPLIT)
    go_next(qtbot, window, Step.MODEL)
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    result = window.project.result
    inputs = [name for name, _, _ in result.feature_columns]
    assert "cancellation_reason" not in inputs and "customer_id" not in inputs and "monthly_spend" in inputs
    train_rows, val_rows, test_rows = result.split_sizes
    assert train_rows + val_rows + test_rows == 305
    # The model sees exactly the features the preview counted.
    assert result.pipeline.named_steps["model"].n_features_in_ == panel.preview.feature_count


def test_settings_are_saved_loaded_and_remembered(qtbot: QtBot, window: MainWindow, penguins_prepare: PrepPanel,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    panel = penguins_prepare
    panel.combo_for("year").setCurrentText("Leave out")
    path = tmp_path / "prep.json"
    answer_save_dialog(monkeypatch, path)
    click(qtbot, panel.save_button)
    assert load_prep(path) == window.project.prep
    assert f"--prep {path}" in panel.banner.text()
    # The command line trains with the file saved from the window.
    model = tmp_path / "cli.studio.joblib"
    assert run_cli(["train", str(sample_dataset()), "--target", "species", "--model", "logistic_regression",
                    "--prep", str(path), "--out", str(model)]) == 0
    assert "year" not in [c["name"] for c in load_model(model).input_columns]
    # Studio's defaults, then loading the file brings the choice back.
    click(qtbot, panel.reset_button)
    assert window.project.prep.get("year").used
    answer_open_dialog(monkeypatch, path)
    click(qtbot, panel.load_button)
    assert not window.project.prep.get("year").used
    assert "Loaded" in panel.banner.text()

    # Closing the window and reopening the same table (in a new window with the same settings folder) restores the
    # choices: the last edit is written at closing, without waiting for the edits to rest.
    window.close()
    again = create_window(tmp_path / "settings")
    qtbot.addWidget(again)
    again.show()
    try:
        open_sample(qtbot, again)
        assert not again.project.prep.get("year").used
        assert "earlier choices" in again.prep_panel.banner.text()
    finally:
        again.shutdown()
