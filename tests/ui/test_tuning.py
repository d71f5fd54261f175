"""Tuning through the window: "Find the best model for me" fills the trials table; tuning one model within the
user's ranges; stopping keeps the best model; a bad range is refused in words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow
from tests.ui.helpers import (
    LOAD_MS,
    TRAIN_MS,
    choose_target,
    click,
    click_sidebar,
    go_next,
    go_to_model_page,
    open_sample,
    wait_history_written,
    wait_idle,
)


def _open_penguins_at_model_step(qtbot: QtBot, window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)


def _type(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _cell(window: MainWindow, row: int, column: int) -> str:
    model = window.train_panel.trials_view.table_model
    return model.data(model.index(row, column))


def test_choosing_a_search_starts_its_worker_processes_ahead(qtbot: QtBot, window: MainWindow) -> None:
    from studio.core.search import pool as trial_pool

    trial_pool._close_shared()
    _open_penguins_at_model_step(qtbot, window)
    assert trial_pool._shared is None  # picking a model by hand starts nothing
    click(qtbot, window.model_panel.mode_choice.buttons["auto"])
    pool = trial_pool._shared
    assert pool is not None and len(pool.pids()) == pool.size
    # They import scikit-learn while the person is still choosing, and are ready before the search starts
    # (reading their "ready" messages is what ``events`` does).
    def all_ready() -> bool:
        pool.events(0.0)
        return pool.idle() == pool.size

    qtbot.waitUntil(all_ready, timeout=LOAD_MS)


def test_finding_the_best_model_fills_the_trials_table(qtbot: QtBot, window: MainWindow) -> None:
    _open_penguins_at_model_step(qtbot, window)
    options = window.model_panel.search_options
    click(qtbot, window.model_panel.mode_choice.buttons["auto"])
    assert not window.model_panel.model_list.isVisible()
    assert options.isVisible() and not options.ranges.isVisible()
    assert options.metric_combo.currentText() == "Accuracy (recommended)"
    options.budget_combo.setCurrentIndex(options.budget_combo.findText("Custom…"))
    assert options.custom_seconds.isVisible()
    options.custom_seconds.setValue(8)
    options.custom_seconds.editingFinished.emit()
    assert window.project.tuning.budget_s == 8

    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    assert "best kind of model" in panel.what_label.text()
    assert panel.start_button.text() == "Start the search"
    assert panel.trials_view.isVisible()
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_MS):
        click(qtbot, panel.start_button)
    wait_idle(qtbot, panel.runner)

    rows = panel.trials_view.trial_count()
    assert rows >= 2
    # Every family starts from its defaults: on a small table the quick ones first. Trials overlap (one per
    # free core), so the table lists them as they end; the first column is their number.
    by_number = {_cell(window, r, 0): _cell(window, r, 1) for r in range(rows)}
    assert by_number["1"] == "Logistic regression"
    assert by_number["2"] == "k-nearest neighbours"
    # Scores in the words of the metric ("98.6%", "97.1% (partial)" for a trial cut short), or a dash.
    assert all("%" in _cell(window, r, 3) or _cell(window, r, 3) == "–" for r in range(rows))
    assert panel.trials_view.table_model.headerData(3, Qt.Orientation.Horizontal) == "Accuracy"
    winner = window.project.result
    assert winner is not None and winner.validation is None  # trained on all training rows
    assert window.project.model.key == winner.model_key
    assert not window.project.result_is_stale()
    assert "The winner:" in panel.trials_view.best_label.text()
    assert winner.model_label in panel.trials_view.best_label.text()
    # Every trial is in the run history, beside the winner's own run with its test scores.
    wait_history_written(qtbot, window)
    runs = window.project.run_store.all()
    trial_runs = [r for r in runs if "tuning" in r.details]
    assert len(trial_runs) == rows
    assert [r.details["tuning"]["trial"] for r in trial_runs if r.details["tuning"]["winner"]] == \
        [panel.trials_view.table_model.best_number]
    assert runs[0].id == window.project.run_id and runs[0].metric("test", "accuracy") is not None
    go_next(qtbot, window, Step.RESULTS)

    # A trial's run opens on the Runs page like any other (its details hold only the trial).
    click_sidebar(qtbot, window, Step.RUNS)
    window.runs_panel.select_ids([trial_runs[0].id])
    assert window.runs_panel.open_selected()
    assert window.runs_panel.result_view is not None and window.runs_panel.result_view.isVisible()


def test_tuning_one_model_within_narrowed_ranges_and_stopping_keeps_the_best(qtbot: QtBot,
                                                                             window: MainWindow) -> None:
    _open_penguins_at_model_step(qtbot, window)
    panel = window.model_panel
    panel.select_model("knn")
    click(qtbot, panel.mode_choice.buttons["tune"])
    options = panel.search_options
    assert options.ranges.isVisible() and options.method_combo.isVisible()
    assert panel.model_list.isVisible() and not panel.form.isVisible()
    options.method_combo.setCurrentIndex(options.method_combo.findData("random"))
    low = options.findChild(QLineEdit, "low_n_neighbors")
    high = options.findChild(QLineEdit, "high_n_neighbors")
    _type(qtbot, low, "abc")
    assert options.error.isVisible() and "is not a number" in options.error.text()
    _type(qtbot, low, "20")
    _type(qtbot, high, "5")
    assert "above the highest" in options.error.text()
    _type(qtbot, low, "2")
    _type(qtbot, high, "12")
    assert not options.error.isVisible()
    assert window.project.tuning.method == "random"
    assert [(r.name, r.low, r.high) for r in window.project.tuning.ranges if r.name == "n_neighbors"] == \
        [("n_neighbors", 2, 12)]

    go_next(qtbot, window, Step.TRAIN)
    train = window.train_panel
    assert "k-nearest neighbours" in train.what_label.text()
    click(qtbot, train.start_button)  # one minute, but stopped by hand below
    qtbot.waitUntil(lambda: train.trials_view.trial_count() >= 3, timeout=TRAIN_MS)
    assert train.cancel_button.text() == "Stop and keep the best"
    with qtbot.waitSignal(train.training_finished, timeout=LOAD_MS):
        click(qtbot, train.cancel_button)
    wait_idle(qtbot, train.runner)

    trials = train.trials_view.table_model.trials
    assert {t.model_key for t in trials} == {"knn"}
    assert all(2 <= t.params_dict()["n_neighbors"] <= 12 for t in trials)
    assert "You stopped the search" in train.trials_view.best_label.text()
    result = window.project.result
    assert result is not None and result.model_key == "knn"
    best = next(t for t in trials if t.is_best and t.number == train.trials_view.table_model.best_number)
    assert result.params["n_neighbors"] == best.params_dict()["n_neighbors"]
    assert _cell(window, trials.index(best), 5) == "Best so far"


def test_a_trial_that_did_not_finish_its_folds_shows_a_partial_score(qtbot: QtBot) -> None:
    from studio.core.search.requests import Trial, TrialState
    from studio.ui.widgets.trials_view import TrialsView

    view = TrialsView()
    qtbot.addWidget(view)
    view.reset("accuracy")
    for number, state in enumerate((TrialState.DONE, TrialState.PRUNED, TrialState.STOPPED), start=1):
        view.add_trial(Trial(number, "knn", (("n_neighbors", 5),), 0.9, state, 0.1, 0.1 * number, 0.9, 1))
    model = view.table_model
    assert [model.data(model.index(row, 3)) for row in range(3)] == ["90.0%", "90.0% (partial)", "90.0% (partial)"]

