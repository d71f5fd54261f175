"""The Results step driven through the window: matrix, threshold slider, curves, diagnosis with cross-validation
and a learning curve, column importance, imbalance warnings, regression plots and the HTML report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.models.imbalance import decision_threshold
from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import (
    LOAD_MS,
    answer_save_dialog,
    choose_target,
    click,
    go_next,
    go_to_model_page,
    open_file,
    open_sample,
    synthetic_frame,
    train,
    wait_history_written,
    wait_idle,
    write_csv,
)


def shown_counts(matrix) -> np.ndarray:
    size = len(matrix.labels)
    return np.array([[int(matrix.cell_text(i, j).replace(",", "")) for j in range(size)] for i in range(size)])


def test_two_class_results_threshold_diagnosis_importance_and_report(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "yes-no.csv", synthetic_frame(300)))
    choose_target(window, "label")
    go_next(qtbot, window, Step.PREPARE)
    go_next(qtbot, window, Step.SPLIT)
    split = window.split_panel
    split.folds_combo.setCurrentIndex(split.folds_combo.findData(3))
    assert window.project.split.cv_folds == 3
    go_next(qtbot, window, Step.MODEL)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    view = window.results_panel.view
    test_rows = window.project.result.split_sizes[2]

    # -- the confusion matrix: counts add up to the test rows, shares per true class add up to 100% -------------
    view.tabs.setCurrentIndex(view.tab_index("Right and wrong"))
    assert view.tabs.isTabVisible(view.tab_index("Right and wrong"))
    assert not view.tabs.isTabVisible(view.tab_index("Errors"))
    counts = shown_counts(view.matrix)
    assert counts.sum() == test_rows
    positive = view.threshold.details.positive_class
    assert positive in ("no", "yes")  # the rarer of the two, which the slider is about
    assert view.matrix.labels == (view.threshold.details.negative_class, positive)
    click(qtbot, view.matrix.shares_button)
    shares = [float(view.matrix.cell_text(0, j).rstrip("%")) for j in range(2)]
    assert sum(shares) == pytest.approx(100, abs=1)
    click(qtbot, view.matrix.counts_button)

    # -- the threshold slider: a low threshold finds more 'yes' rows than a high one, live -------------------
    slider = view.threshold.slider
    assert view.threshold.isVisible() and slider.value() == 50
    assert shown_counts(view.matrix).tolist() == counts.tolist()  # at 50% it agrees with the model's answers
    slider.setFocus()
    for _ in range(8):
        qtbot.keyClick(slider, Qt.Key.Key_PageDown)  # 50% -> 10%
    assert slider.value() == 10
    low = shown_counts(view.matrix)
    assert "10%" in view.threshold.title.text()
    low_text = view.threshold.metrics_label.text()
    slider.setValue(90)
    high = shown_counts(view.matrix)
    assert low[1, 1] >= high[1, 1] and low[0, 1] >= high[0, 1]  # more found, more false alarms
    assert low.sum() == high.sum() == test_rows
    assert view.threshold.metrics_label.text() != low_text

    # -- curves: the ROC area shown is the ROC AUC of the metrics table --------------------------------------
    auc = float(view.metric_value("roc_auc").rstrip("%")) / 100
    assert view.curves.areas[positive] == pytest.approx(auc, abs=0.001)  # AUC is the same for either class

    # -- diagnosis in words, cross-validation folds, and a learning curve computed in a worker ---------------
    view.tabs.setCurrentIndex(view.tab_index("Diagnosis"))
    diagnosis = view.diagnosis
    assert diagnosis.verdict.level in ("success", "warning")
    assert "Things to try" in diagnosis.suggestions.text()
    assert "3 folds" in diagnosis.cross_validation.text() and "spread" in diagnosis.cross_validation.text()
    click(qtbot, diagnosis.curve_button)
    qtbot.waitUntil(lambda: diagnosis.curve is not None, timeout=LOAD_MS)
    wait_idle(qtbot, diagnosis.runner)
    assert diagnosis.curve.sizes[-1] <= window.project.result.split_sizes[0]
    assert len(diagnosis.curve.validation_scores) >= 3

    # -- column importance on the validation rows, per original column, kept with the run --------------------
    view.tabs.setCurrentIndex(view.tab_index("Which columns matter"))
    explain = view.explain  # a small model: showing the tab starts the computing, no button needed
    qtbot.waitUntil(lambda: explain.importance is not None, timeout=LOAD_MS)
    wait_idle(qtbot, explain.runner)
    assert {c.column for c in explain.importance.columns} == {f"x{i}" for i in range(5)}
    assert explain.importance.columns[0].column == "x0"  # the column that decides the label
    explain.views.setCurrentIndex(2)  # "Effect of one column"
    explain.column_combo.setCurrentText("x0")
    click(qtbot, explain.dependence_button)
    qtbot.waitUntil(lambda: explain.dependence is not None, timeout=LOAD_MS)
    wait_idle(qtbot, explain.runner)
    probabilities = explain.dependence.lines[0][1]
    assert probabilities[-1] > probabilities[0]  # a larger x0 makes 'yes' more likely
    wait_history_written(qtbot, window)
    stored = window.project.run_store.get(window.project.run_id)
    assert stored.explanations["permutation_importance"]["columns"][0]["column"] == "x0"
    assert stored.explanations["learning_curve"]["sizes"]

    # -- the report -------------------------------------------------------------------------------------------
    report = tmp_path / "report.html"
    answer_save_dialog(monkeypatch, report)
    with qtbot.waitSignal(window.results_panel.report_saved, timeout=LOAD_MS):
        click(qtbot, window.results_panel.report_button)
    wait_idle(qtbot, window.results_panel.runner)
    text = report.read_text(encoding="utf-8")
    assert "Logistic regression predicting label" in text and "<svg" in text
    assert "Permutation importance" in text
    assert "Report saved" in window.results_panel.banner.text()


def test_a_rare_class_gets_a_threshold_the_results_start_from(qtbot: QtBot, window: MainWindow,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = 600
    frame = pd.DataFrame(rng.normal(size=(rows, 3)).round(3), columns=["a", "b", "c"])
    # About 5% 'fraud', weakly tied to 'a': a model that waits to be 50% sure almost never names it.
    frame["outcome"] = np.where(frame["a"] + rng.normal(size=rows) > 2.3, "fraud", "ok")
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "fraud.csv", frame))
    choose_target(window, "outcome")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    hint = window.model_panel.balance_hint
    share = (frame["outcome"] == "fraud").mean()
    assert hint.isVisible() and f"Only {share:.1%} of the rows are 'fraud'" in hint.text()
    assert "Studio will choose how sure the model must be before it says 'fraud'" in hint.text()
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    results = window.results_panel
    result = window.project.result
    assert result is not None
    found = decision_threshold(result.pipeline[-1])
    assert found is not None and found[0] == "fraud" and found[1] < 0.5
    assert results.view.imbalance_banner.isVisible()
    assert "training rows are 'fraud'" in results.view.imbalance_banner.text()
    assert "macro F1" in results.view.details.text()  # the notes say why the threshold moved
    # Balanced accuracy leads the table; accuracy is still shown, last.
    assert results.metrics_table.item(0, 0).text().startswith("Balanced accuracy")
    view = results.view
    view.tabs.setCurrentIndex(view.tab_index("Right and wrong"))
    assert view.threshold.slider.value() == round(found[1] * 100)  # the slider starts where the model decides
    matrix = view.matrix
    assert matrix.labels == ("ok", "fraud")  # the rare class is the one the slider is about
    assert shown_counts(matrix)[:, 1].sum() > 0  # some rows called 'fraud'
    assert "never predicts" not in results.summary.text()

def test_regression_results_show_errors_in_the_targets_units(qtbot: QtBot, window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "body_mass_g")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("linear_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    view = window.results_panel.view
    assert view.tabs.isTabVisible(view.tab_index("Errors"))
    assert not view.tabs.isTabVisible(view.tab_index("Right and wrong"))
    view.tabs.setCurrentIndex(view.tab_index("Errors"))
    mae = view.metric_value("mae").replace(",", "")
    assert "typically off by about" in view.regression.note.text()
    assert f"{float(mae):,.0f}" in view.regression.note.text().replace(",", ",")
    x, _ = view.regression.scatter_plot.getPlotItem().listDataItems()[-1].getData()
    assert len(x) == window.project.result.split_sizes[2]


def test_column_importance_can_be_cancelled(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    frame = synthetic_frame(4000)
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "big.csv", frame))
    choose_target(window, "label")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("knn")  # predicting is its slow part: each shuffle takes a while
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    view = window.results_panel.view
    view.tabs.setCurrentIndex(view.tab_index("Which columns matter"))
    explain = view.explain  # small enough to start by itself when shown
    assert explain.cancel_button.isVisible() and not explain.importance_button.isEnabled()
    with qtbot.waitSignal(explain.runner.finished, timeout=LOAD_MS):
        click(qtbot, explain.cancel_button)
    assert explain.importance is None
    assert "Stopped" in explain.banner.text()
    assert explain.importance_button.isEnabled()  # and it can be started again
