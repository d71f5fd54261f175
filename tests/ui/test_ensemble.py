"""An ensemble of the search's best trials as the Project's model, driven through the window: the search's winner
adopted and described, the Model step showing the members read-only and letting another model be picked, then
trained, shown on the Results page, reported, saved, opened on the Predict page, recorded and trained again."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.models.ensemble_spec import members_json, parse_members
from studio.core.project import ModelConfig, Step
from studio.core.search.requests import Trial, TrialState, TuneResult
from studio.core.store.model_file import load_model
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
    wait_idle,
    wait_runs_read,
)

MEMBERS = members_json([("logistic_regression", {"C": 0.5}, 2), ("random_forest", {"n_estimators": 10}, 1)])
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


def listed_keys(window: MainWindow) -> list[str]:
    models = window.model_panel.model_list
    return [models.item(row).data(Qt.ItemDataRole.UserRole) for row in range(models.count())]


def test_an_ensemble_through_model_train_results_export_predict_and_runs(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_path: Path) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    model = window.model_panel
    assert "ensemble" not in listed_keys(window)  # never offered to pick by hand

    # -- the Model step with an ensemble (as a search's winner or "Train again" leaves it) ------------------
    window.project.set_model(ModelConfig("ensemble", (("members", MEMBERS),)))
    assert listed_keys(window)[0] == "ensemble"
    assert model.model_list.currentItem().text() == "Ensemble of the best models"
    assert model.title.text() == "Ensemble of the best models"
    assert model.members.isVisible() and not model.form_scroll.isVisible() and not model.reset_button.isVisible()
    assert model.members.summary.text() == "A mix of a logistic regression and a random forest."
    assert model.members.members_shown() == [("Logistic regression", "2", "Flexibility: 0.5"),
                                             ("Random forest", "1", "Number of trees: 10")]
    assert window.nav.next_button.isEnabled()
    # Looking at another model replaces the ensemble; its entry stays, and picking it brings the members back.
    model.select_model("knn")
    assert window.project.model.key == "knn" and model.form_scroll.isVisible() and not model.members.isVisible()
    model.select_model("ensemble")
    assert window.project.model == ModelConfig("ensemble", (("members", MEMBERS),))
    assert model.members.isVisible()
    # Another search's ensemble replaces the members shown.
    other = members_json([("knn", {"n_neighbors": 7}, 1), ("naive_bayes", {}, 1)])
    window.project.set_model(ModelConfig("ensemble", (("members", other),)))
    assert model.members.summary.text() == "A mix of a k-nearest neighbours model and a naive Bayes model."
    assert listed_keys(window).count("ensemble") == 1
    # Members that cannot be read (a damaged run, say) are said in words, and Next waits for another model.
    window.project.set_model(ModelConfig("ensemble", (("members", "[{"),)))
    assert "cannot be read" in model.members.summary.text()
    assert not window.nav.next_button.isEnabled() and "not valid JSON" in window.nav.reason.text()
    window.project.set_model(ModelConfig("ensemble", (("members", MEMBERS),)))
    # Its members are chosen by the search, so "tune its settings" is explained, not offered.
    window.project.set_tuning(replace(window.project.tuning, mode="tune"))
    assert not window.nav.next_button.isEnabled()
    assert "no settings to tune" in window.nav.reason.text()
    assert not model.search_options.isVisible() and model.members.isVisible()
    window.project.set_tuning(replace(window.project.tuning, mode="manual"))

    # -- Train and Results ----------------------------------------------------------------------------------
    go_next(qtbot, window, Step.TRAIN)
    assert "Ensemble of the best models" in window.train_panel.what_label.text()
    train(qtbot, window)
    result = window.project.result
    assert result.model_key == "ensemble" and result.params["members"] == MEMBERS
    go_next(qtbot, window, Step.RESULTS)
    results = window.results_panel
    assert percent(results.metric_value("accuracy")) > 0.9
    assert not results.stale_banner.isVisible()
    view = results.view
    assert view.matrix.counts.sum() == result.split_sizes[2]  # the confusion matrix of the test rows
    view.tabs.setCurrentIndex(view.tab_index("Which columns matter"))
    explain = view.explain
    assert "no importances of its own" in explain.own_note.text() and not explain.own_plot.isVisible()
    # A small table: the shuffling test starts by itself once the tab is shown.
    qtbot.waitUntil(lambda: explain.importance is not None, timeout=LOAD_MS)
    wait_idle(qtbot, explain.runner)
    assert {c.column for c in explain.importance.columns} >= {"bill_length_mm", "flipper_length_mm"}
    report = tmp_path / "report.html"
    answer_save_dialog(monkeypatch, report)
    with qtbot.waitSignal(results.report_saved, timeout=LOAD_MS):
        click(qtbot, results.report_button)
    wait_idle(qtbot, results.runner)
    text = report.read_text(encoding="utf-8")
    assert "Ensemble of the best models predicting species" in text
    assert "<td>Logistic regression</td><td>2</td><td>Flexibility: 0.5</td>" in text
    assert MEMBERS not in text  # the members in words, not their JSON

    # -- Export: the model file holds the ensemble and predicts -------------------------------------------------
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel
    model_path = tmp_path / "ensemble.studio.joblib"
    answer_save_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        click(qtbot, export.save_button)
    wait_idle(qtbot, export.runner)
    onnx_export = export.onnx_export
    assert onnx_export.isVisible() and onnx_export.button.text() == "Export the ensemble to ONNX…"
    if importlib.util.find_spec("skl2onnx") is not None:
        onnx_path = tmp_path / "ensemble.onnx"
        answer_save_dialog(monkeypatch, onnx_path)
        with qtbot.waitSignal(onnx_export.exported, timeout=LOAD_MS):
            click(qtbot, onnx_export.button)
        wait_idle(qtbot, onnx_export.runner)
        assert onnx_path.is_file() and onnx_export.banner.level == "success"
    bundle = load_model(model_path)
    assert bundle.metadata["model"] == "ensemble"
    assert parse_members(bundle.metadata["params"]["members"])[1][0] == "random_forest"

    click_sidebar(qtbot, window, Step.PREDICT)
    predict = window.predict_panel
    answer_open_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(predict.model_opened, timeout=LOAD_MS):
        click(qtbot, predict.model_button)
    wait_idle(qtbot, predict.runner)
    assert "Ensemble of the best models" in predict.model_label.text()
    answer_open_dialog(monkeypatch, sample_path)
    with qtbot.waitSignal(predict.predicted, timeout=LOAD_MS):
        click(qtbot, predict.data_button)
    wait_idle(qtbot, predict.runner)
    table = predict.table_model
    assert table.rowCount() == SAMPLE_ROWS
    headers = [table.headerData(c, Qt.Orientation.Horizontal) for c in range(table.columnCount())]
    assert headers[0] == "predicted species" and {f"probability of {name}" for name in SPECIES} <= set(headers)
    assert table.index(0, 0).data() in SPECIES

    # -- Runs: recorded, opened, and trained again with the same members ----------------------------------------
    click_sidebar(qtbot, window, Step.RUNS)
    runs = window.runs_panel
    wait_runs_read(qtbot, window)
    assert runs.row_count() == 1
    assert runs.proxy.index(0, 4).data() == "Ensemble of the best models"
    runs.select_ids([window.project.run_id])
    click(qtbot, runs.open_button)
    wait_runs_read(qtbot, window)
    assert runs.result_view.metric_value("accuracy") != "–"
    runs.result_view.tabs.setCurrentIndex(runs.result_view.tab_index("Which columns matter"))
    assert "no importances of its own" in runs.result_view.explain.own_note.text()
    click(qtbot, runs.back_button)
    window.project.set_model(ModelConfig("knn"))
    runs.select_ids([window.project.run_id])
    with qtbot.waitSignal(window.train_panel.training_finished, timeout=LOAD_MS * 3):
        click(qtbot, runs.rerun_button)
    qtbot.waitUntil(lambda: not window.train_panel.is_training(), timeout=LOAD_MS)
    assert window.project.result.model_key == "ensemble" and window.project.result.params["members"] == MEMBERS
    click_sidebar(qtbot, window, Step.MODEL)
    assert model.title.text() == "Ensemble of the best models" and model.members.isVisible()


def test_a_search_whose_ensemble_won_is_adopted_and_described(qtbot: QtBot, window: MainWindow) -> None:
    """What a search trained at the end (here an ensemble of its two best trials) becomes the Project's model."""
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    go_next(qtbot, window, Step.TRAIN)
    window.project.set_model(ModelConfig("ensemble", (("members", MEMBERS),)))
    train(qtbot, window)  # the ensemble trained as the search trains its winner: through training.train
    trained = window.project.result
    window.project.set_model(ModelConfig("random_forest"))
    trials = tuple(Trial(number=n, model_key=key, params=params, score=score, state=TrialState.DONE,
                         duration_s=0.2, finished_at_s=0.2 * n, best_score=0.97, folds_done=5, is_best=n == 1)
                   for n, key, params, score in ((1, "logistic_regression", (("C", 0.5),), 0.97),
                                                 (2, "random_forest", (("n_estimators", 10),), 0.96)))
    outcome = TuneResult(trials=trials, best=trials[0], metric="accuracy", train_result=trained,
                         finished_early=False, duration_s=1.0, families=("logistic_regression", "random_forest"),
                         model_key="ensemble", params=(("members", MEMBERS),), ensemble_scores=(0.985, 0.97))

    assert window.train_panel.search.adopt(outcome) is trained
    assert window.project.model == ModelConfig("ensemble", (("members", MEMBERS),))
    words = window.train_panel.trials_view.best_label.text()
    assert "<b>The winner:</b> a mix of a logistic regression and a random forest, made from the best tries" in words
    assert ("Together they scored 98.5% in cross-validation (accuracy), against 97.0% for the best single try "
            "(Logistic regression, try 1 of 2)") in words
    assert ("Its members' settings: Logistic regression, 2 of 3 votes (Flexibility: 0.5); Random forest, 1 of 3 "
            "votes (Number of trees: 10)") in words
    assert MEMBERS not in words


def test_an_ensemble_holding_a_network_explains_why_it_has_no_onnx(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    pytest.importorskip("torch")
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    members = members_json([("logistic_regression", {}, 1),
                            ("neural_network", {"epochs": 3, "hidden_layers": "8", "device": "cpu"}, 1)])
    window.project.set_model(ModelConfig("ensemble", (("members", members),)))
    assert window.model_panel.members.members_shown()[1][0] == "Neural network"
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    onnx_export = window.export_panel.onnx_export
    answer_save_dialog(monkeypatch, tmp_path / "ensemble.onnx")
    with qtbot.waitSignal(onnx_export.runner.finished, timeout=LOAD_MS):
        click(qtbot, onnx_export.button)
    assert onnx_export.banner.level == "error"
    assert "Neural network (a neural network inside an ensemble cannot be written as ONNX" in \
        onnx_export.banner.text()
    assert not (tmp_path / "ensemble.onnx").exists()
    assert onnx_export.button.isEnabled()  # the page stays usable
