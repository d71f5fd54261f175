"""The Runs page driven through the window: every training is recorded, sorted, filtered, opened without
retraining, compared, trained again and deleted; a damaged run history is reported, not emptied."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.core.project import Step
from studio.core.store.runs import default_runs_path
from studio.ui.main_window import MainWindow

from .helpers import (
    LOAD_MS,
    answer_save_dialog,
    choose_target,
    click,
    click_header,
    click_sidebar,
    go_next,
    go_to_model_page,
    open_sample,
    train,
    wait_history_written,
    wait_idle,
    wait_runs_read,
)


def train_model(qtbot: QtBot, window: MainWindow, key: str) -> None:
    click_sidebar(qtbot, window, Step.MODEL)
    window.model_panel.select_model(key)
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)


def train_on_the_sample(qtbot: QtBot, window: MainWindow, key: str) -> None:
    """From a fresh window: open the sample, predict species, train ``key``."""
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model(key)
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)


def test_runs_are_recorded_compared_reopened_retrained_and_deleted(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    train_on_the_sample(qtbot, window, "logistic_regression")
    train_model(qtbot, window, "random_forest")

    click_sidebar(qtbot, window, Step.RUNS)
    assert window.current_step is Step.RUNS
    runs = window.runs_panel
    wait_runs_read(qtbot, window)
    assert runs.row_count() == 2
    assert not runs.compare_button.isEnabled()

    # Sorting by clicking a column header, then filtering by typing.
    click_header(qtbot, runs.table, 4)  # Model
    models = [runs.proxy.index(r, 4).data() for r in range(runs.row_count())]
    assert models == sorted(models) or models == sorted(models, reverse=True)
    qtbot.keyClicks(runs.filter_edit, "forest")
    assert runs.row_count() == 1 and runs.proxy.index(0, 4).data() == "Random forest"
    runs.filter_edit.clear()
    assert runs.row_count() == 2

    # Open one run: its results come back from the store, without training.
    runs.select_ids([1])
    click(qtbot, runs.open_button)
    wait_runs_read(qtbot, window)
    assert runs.pages.currentWidget() is runs.run_tabs and runs.run_tabs.currentWidget() is runs.result_view
    assert not runs.run_tabs.tabBar().isVisible()  # a run trained by hand has no search to show beside it
    assert "Run 1" in runs.result_view.details.text()
    assert "right" in runs.result_view.summary.text()
    assert runs.result_view.metric_value("accuracy") != "–"
    assert runs.result_view.tabs.isTabVisible(runs.result_view.tab_index("Right and wrong"))
    assert runs.result_view.matrix.counts.sum() == window.project.result.split_sizes[2]
    assert not runs.result_view.tabs.isTabVisible(runs.result_view.tab_index("Training curve"))  # fitted in one go
    click(qtbot, runs.back_button)
    # The forest's loss curve comes back with its run.
    runs.select_ids([2])
    click(qtbot, runs.open_button)
    wait_runs_read(qtbot, window)
    view = runs.result_view
    assert view.tabs.isTabVisible(view.tab_index("Training curve"))
    assert view.loss_plot.point_count() == len(window.project.run_store.get(2).history) > 1
    click(qtbot, runs.back_button)

    # Compare both: the model differs and is highlighted; each run's loss curve is overlaid.
    runs.select_ids([1, 2])
    click(qtbot, runs.compare_button)
    wait_runs_read(qtbot, window)
    compare = runs.compare_view
    assert runs.pages.currentWidget() is compare
    assert compare.table.columnCount() == 2
    assert "Model" in compare.different_rows and "Data: target" not in compare.different_rows
    headers = [compare.table.verticalHeaderItem(r).text() for r in range(compare.table.rowCount())]
    assert headers[0] in compare.different_rows  # differences come first
    legend = [label.text for _, label in compare.plot.plotItem.legend.items]
    assert "Run 1: no curve (fitted in one go)" in legend and "Run 2: Random forest" in legend
    curve = next(item for item in compare.plot.plotItem.listDataItems() if item.name() == "Run 2: Random forest")
    assert len(curve.getData()[0]) == len(window.project.run_store.get(2).history) > 1
    click(qtbot, runs.back_button)

    # A report of a stored run.
    report = tmp_path / "run-1.html"
    answer_save_dialog(monkeypatch, report)
    runs.select_ids([1])
    with qtbot.waitSignal(runs.report_saved, timeout=LOAD_MS):
        click(qtbot, runs.report_button)
    assert report.is_file() and "Logistic regression predicting species" in report.read_text(encoding="utf-8")
    # report_saved comes with the job's result; its thread may still be ending, and a click then starts nothing.
    wait_idle(qtbot, runs.report_runner)
    # A place that cannot be written to: said in words, and the page stays usable.
    answer_save_dialog(monkeypatch, report / "inside-a-file.html")
    with qtbot.waitSignal(runs.report_runner.finished, timeout=LOAD_MS):
        click(qtbot, runs.report_button)
    assert "The report could not be saved. Studio cannot write inside-a-file.html" in runs.banner.text()

    # Train run 1's settings again on the open table: a third run, with run 1's model, trained as it was even
    # when the Model step was last left on searching for the best model.
    from dataclasses import replace

    window.project.set_tuning(replace(window.project.tuning, mode="auto"))
    runs.select_ids([1])
    with qtbot.waitSignal(window.train_panel.training_finished, timeout=LOAD_MS * 3):
        click(qtbot, runs.rerun_button)
    qtbot.waitUntil(lambda: not window.train_panel.is_training(), timeout=LOAD_MS)
    assert window.project.result.model_key == "logistic_regression"
    assert window.project.tuning.mode == "manual"
    click_sidebar(qtbot, window, Step.RUNS)
    # The run is written to the history off the GUI thread; the page shows it once the write is done.
    qtbot.waitUntil(lambda: runs.row_count() == 3, timeout=LOAD_MS)
    wait_history_written(qtbot, window)  # the run's outcome (its "runs" event) has reached the window too

    # Delete two runs.
    runs.select_ids([1, 2])
    click(qtbot, runs.delete_button)
    # Deleted on the history's thread: the list may show one row (refreshed by another write's outcome) a moment
    # before the deletion's own outcome says so in the banner.
    qtbot.waitUntil(lambda: runs.row_count() == 1 and "Deleted 2 runs" in runs.banner.text(), timeout=LOAD_MS)
    assert window.project.run_store.count() == 1


def test_a_file_that_is_not_a_history_is_reported_kept_and_no_run_is_lost(qtbot: QtBot, tmp_path: Path) -> None:
    path = default_runs_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage" * 1000)
    window = create_window(tmp_path / "settings")
    qtbot.addWidget(window)
    window.show()
    try:
        click_sidebar(qtbot, window, Step.RUNS)
        qtbot.waitUntil(lambda: "not a Studio run history" in window.runs_panel.banner.text(), timeout=LOAD_MS)
        assert window.runs_panel.row_count() == 0
        # Trained anyway: the run is kept beside the file, and the Results page says where.
        click_sidebar(qtbot, window, Step.DATA)
        train_on_the_sample(qtbot, window, "naive_bayes")
        wait_history_written(qtbot, window)
        go_next(qtbot, window, Step.RESULTS)
        assert "kept in runs.sqlite3.pending.jsonl" in window.results_panel.banner.text()
        assert '"model_key": "naive_bayes"' in (path.parent / "runs.sqlite3.pending.jsonl").read_text("utf-8")
        assert path.read_bytes() == b"garbage" * 1000, "left exactly as it was"
        assert sorted(p.name for p in path.parent.glob("runs*")) == ["runs.sqlite3", "runs.sqlite3.pending.jsonl"]
    finally:
        window.shutdown()


def test_saving_the_model_updates_the_runs_model_file(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    train_on_the_sample(qtbot, window, "naive_bayes")
    run_id = window.project.run_id
    assert run_id is not None and window.project.run_store.get(run_id).model_path == ""
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    model_path = tmp_path / "bayes.studio.joblib"
    answer_save_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(window.export_panel.saved, timeout=LOAD_MS):
        click(qtbot, window.export_panel.save_button)
    qtbot.waitUntil(lambda: not window.export_panel.runner.is_running(), timeout=LOAD_MS)
    wait_history_written(qtbot, window)
    assert window.project.run_store.get(run_id).model_path == str(model_path)


def test_the_history_can_be_kept_in_another_file_and_is_remembered(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    train_on_the_sample(qtbot, window, "logistic_regression")
    click_sidebar(qtbot, window, Step.RUNS)
    runs = window.runs_panel
    wait_runs_read(qtbot, window)
    assert runs.row_count() == 1

    elsewhere = tmp_path / "shared" / "team-runs.sqlite3"
    answer_save_dialog(monkeypatch, elsewhere)
    click(qtbot, runs.location.change_button)
    wait_runs_read(qtbot, window)
    assert window.project.run_store is not None and window.project.run_store.path == elsewhere
    assert runs.row_count() == 0  # a new, empty history
    assert str(elsewhere) in runs.location.label.text()

    train_model(qtbot, window, "naive_bayes")
    click_sidebar(qtbot, window, Step.RUNS)
    wait_runs_read(qtbot, window)
    assert runs.row_count() == 1 and "Naive Bayes" in runs.model.item(0, 4).text()
    # Remembered: a window opened on the same settings keeps runs in the chosen file.
    settings_dir = tmp_path / "settings"
    reopened = create_window(settings_dir, None)
    qtbot.addWidget(reopened)
    assert reopened.project.run_store is not None and reopened.project.run_store.path == elsewhere
    reopened.runs_panel.refresh()
    wait_runs_read(qtbot, reopened)
    assert reopened.runs_panel.row_count() == 1
    reopened.shutdown()


def test_a_history_file_that_cannot_be_used_is_explained(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    click_sidebar(qtbot, window, Step.RUNS)
    runs = window.runs_panel
    before = window.project.run_store
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    answer_save_dialog(monkeypatch, folder)
    click(qtbot, runs.location.change_button)
    wait_runs_read(qtbot, window)
    assert "cannot keep its run history" in runs.banner.text()
    assert window.project.run_store is before
