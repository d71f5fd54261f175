"""Tuning through the window: "Find the best model for me" fills the trials table; tuning one model within the
user's ranges; stopping keeps the best model; a bad range is refused in words."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
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
    wait_runs_read,
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
    # Tries stopped early (their partial scores can look better than the winner's) are folded away.
    trials = panel.trials_view.table_model.trials
    finished = [t for t in trials if not t.stopped_early]
    assert panel.trials_view.shown_count() == len(finished)
    assert panel.trials_view.stopped_box.isVisible() == (len(finished) < rows)
    winner = window.project.result
    assert winner is not None and winner.validation is None  # trained on all training rows
    assert window.project.model.key == winner.model_key
    assert not window.project.result_is_stale()
    assert "The winner:" in panel.trials_view.best_label.text()
    assert winner.model_label in panel.trials_view.best_label.text()
    # The search is one run in the history: the winner's, with its test scores and every try inside.
    wait_history_written(qtbot, window)
    runs = window.project.run_store.all()
    assert len(runs) == 1
    run = runs[0]
    assert run.id == window.project.run_id and run.metric("test", "accuracy") is not None
    assert run.search_tries == rows and run.search["best_trial"] == panel.trials_view.table_model.best_number
    assert [t["number"] for t in run.search["trials"]] == [t.number for t in trials]
    go_next(qtbot, window, Step.RESULTS)

    # The Runs page lists it once, marked as a search; opening it shows its tries, then its results.
    click_sidebar(qtbot, window, Step.RUNS)
    runs_page = window.runs_panel
    wait_runs_read(qtbot, window)
    assert runs_page.row_count() == 1
    assert runs_page.proxy.index(0, 4).data() == f"{run.model_label}  ·  Search: {rows} tries"
    assert runs_page.proxy.index(0, 6).data().endswith("(cross-validated)")
    runs_page.select_ids([run.id])
    click(qtbot, runs_page.open_button)
    wait_runs_read(qtbot, window)
    tries = runs_page.search_view
    assert tries is not None and tries.isVisible()
    assert runs_page.run_tabs.tabText(runs_page.run_tabs.currentIndex()) == f"Search: {rows} tries"
    assert tries.trial_count() == rows and tries.shown_count() == len(finished)
    assert [tries.shown_text(r, 1) for r in range(tries.shown_count())] == [t.model_label for t in finished]
    assert all(tries.shown_text(r, 3).endswith("%") for r in range(tries.shown_count()))
    assert f"A search for the best model:</b> {rows} tries" in tries.best_label.text()
    tab_bar = runs_page.run_tabs.tabBar()
    qtbot.mouseClick(tab_bar, Qt.MouseButton.LeftButton, pos=tab_bar.tabRect(0).center())
    assert runs_page.result_view is not None and runs_page.result_view.isVisible()


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
    assert _cell(window, trials.index(best), 5) == "Best try"


def test_tries_stopped_early_are_folded_away_and_every_word_shows_in_full(qtbot: QtBot) -> None:
    from studio.core.search.requests import Trial, TrialState
    from studio.ui.widgets.trials_view import MODEL, OUTCOME, SCORE, TrialsView

    view = TrialsView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    view.reset("accuracy")
    tries = ((TrialState.STOPPED, "logistic_regression", 1.0), (TrialState.DONE, "knn", 0.95),
             (TrialState.DONE, "svm", 0.9), (TrialState.PRUNED, "gradient_boosting", 0.97))
    for number, (state, key, score) in enumerate(tries, start=1):
        view.add_trial(Trial(number, key, (), score, state, 0.1, 0.1 * number, 0.95 if number > 1 else None,
                             5 if state is TrialState.DONE else 1, is_best=number == 2))
    # The partial scores (higher than the winner's) are not what a person sees first: the finished tries are.
    assert view.shown_count() == 2 and view.trial_count() == 4
    assert [view.shown_text(r, MODEL) for r in range(2)] == ["k-nearest neighbours", "Support vector machine"]
    box = view.stopped_box
    assert box.isVisible() and not box.isChecked() and box.text().startswith("Show the 2 tries stopped early")
    box.click()
    assert view.shown_count() == 4
    assert [view.shown_text(r, SCORE) for r in range(4)] == ["100.0% (partial)", "95.0%", "90.0%", "97.0% (partial)"]
    assert [view.shown_text(r, OUTCOME) for r in range(4)] == ["Out of time", "Best so far", "Finished",
                                                                "Stopped early"]
    # Names, scores and outcomes fit their columns (bold on the best row): nothing is cut to "Logis…".
    header = view.table.horizontalHeader()
    bold = view.table.font()
    bold.setBold(True)
    for column in (MODEL, SCORE, OUTCOME):
        for row in range(4):
            metrics = QFontMetrics(bold if row == 1 else view.table.font())
            assert metrics.horizontalAdvance(view.shown_text(row, column)) < header.sectionSize(column)
    assert view.table.width() >= sum(header.sectionSize(c) for c in range(header.count()))
    # The chart says scores as the table does: percentages.
    view._on_timer_timeout()
    assert list(view._trial_dots.getData()[1]) == pytest.approx([95.0, 90.0])
    assert view.plot.getAxis("left").labelText == "Accuracy (%)"


def test_errors_keep_their_units_on_the_chart(qtbot: QtBot) -> None:
    from studio.core.search.requests import Trial, TrialState
    from studio.ui.widgets.trials_view import TrialsView

    view = TrialsView()
    qtbot.addWidget(view)
    view.reset("rmse")
    view.add_trial(Trial(1, "knn", (), 12.5, TrialState.DONE, 0.1, 0.1, 12.5, 5, is_best=True))
    view._on_timer_timeout()
    assert list(view._trial_dots.getData()[1]) == [12.5]
    assert view.plot.getAxis("left").labelText == "Root mean squared error"
    assert view.shown_text(0, 3) == "12.5"

