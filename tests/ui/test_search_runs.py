"""Searches on the Runs page, from a run history written beforehand: a search is one row marked as a search, opens on
its tries and compares by its cross-validated score; a try kept as a run by an older Studio still opens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.core.search.history import trial_plain
from studio.core.search.requests import Trial, TrialState
from studio.ui.main_window import MainWindow
from tests.core.test_runs import small_run
from tests.ui.helpers import click, click_sidebar, wait_runs_read

TRIES = (Trial(1, "linear_regression", (), 1.9, TrialState.STOPPED, 0.2, 0.3, None, 1, "ran out of time",
               at_defaults=True),
         Trial(2, "knn", (("n_neighbors", 5),), 1.2, TrialState.DONE, 0.1, 0.5, 1.2, 5, is_best=True,
               at_defaults=True),
         Trial(3, "random_forest", (), 1.5, TrialState.DONE, 0.4, 0.9, 1.2, 5, at_defaults=True, rows_rung=1_500))
SEARCH = {"version": 1, "mode": "auto", "method": "bayes", "metric": "rmse", "budget_s": 10.0, "duration_s": 9.5,
          "finished_early": False, "cv_score": 1.2, "best_trial": 2, "final_model": "knn", "ensemble_scores": None,
          "default": {"trial": 3, "model_key": "random_forest", "model_label": "Random forest", "score": 1.5,
                      "state": "done", "yours": False},
          "tries": 3, "stopped_early": 1, "trials": [trial_plain(t) for t in TRIES]}


def test_a_search_is_one_row_that_opens_on_its_tries_and_compares_by_its_score(qtbot: QtBot,
                                                                                 window: MainWindow) -> None:
    store = window.project.run_store
    assert store is not None
    plain = store.add(small_run(1))
    old_try = store.add({**small_run(2), "metrics": {"cross_validation": {"metric": "rmse", "mean": 1.4}},
                         "details": {"tuning": {"trial": 1, "outcome": "done", "winner": False}}})
    search = store.add({**small_run(3), "search": SEARCH})

    click_sidebar(qtbot, window, Step.RUNS)
    runs = window.runs_panel
    wait_runs_read(qtbot, window)
    assert runs.row_count() == 3
    cells = {int(runs.proxy.index(r, 0).data()): (runs.proxy.index(r, 4).data(), runs.proxy.index(r, 6).data())
             for r in range(3)}
    assert cells[search] == ("k-nearest neighbours  ·  Search: 3 tries", "1.2 (root mean squared error, "
                             "cross-validated)")
    assert cells[old_try][0] == "k-nearest neighbours  ·  one try of a search"
    assert cells[plain] == ("k-nearest neighbours", "–")

    # Compared with a run trained by hand, the search says how it chose its model and what it scored.
    runs.select_ids([plain, search])
    click(qtbot, runs.compare_button)
    wait_runs_read(qtbot, window)
    compare = runs.compare_view
    assert compare is not None and compare.isVisible()
    labels = [compare.table.verticalHeaderItem(r).text() for r in range(compare.table.rowCount())]
    row = labels.index("Cross-validated in its search")
    assert [compare.table.item(row, c).text() for c in range(2)] == ["–", "1.2 (root mean squared error, 3 tries)"]
    chosen = labels.index("Model: chosen by")
    assert compare.table.item(chosen, 1).text() == "a search for the best model (3 tries)"
    click(qtbot, runs.back_button)

    # Opened, a search shows its finished tries first; the one stopped early is a click away.
    runs.select_ids([search])
    click(qtbot, runs.open_button)
    wait_runs_read(qtbot, window)
    tries = runs.search_view
    assert tries is not None and tries.isVisible() and runs.run_tabs.tabBar().isVisible()
    assert runs.run_tabs.tabText(1) == "Search: 3 tries"
    assert [tries.shown_text(r, 1) for r in range(tries.shown_count())] == ["k-nearest neighbours", "Random forest"]
    assert [tries.shown_text(r, 3) for r in range(tries.shown_count())] == ["1.2", "1.5"]
    # The forest's try was fitted on a subsample of its rows first, which the history kept.
    assert "first fitted on 1,500 rows" in str(tries.shown.index(1, 3).data(Qt.ItemDataRole.ToolTipRole))
    assert "first fitted" not in str(tries.shown.index(0, 3).data(Qt.ItemDataRole.ToolTipRole))
    text = tries.best_label.text()
    assert "3 tries, 1 of them stopped early, in 10 s" in text and "root mean squared error 1.2" in text
    assert "Its error is 0.3 lower than that of the default model (Random forest, 1.5)" in text
    click(qtbot, tries.stopped_box)
    assert tries.shown_count() == 3 and tries.shown_text(0, 5) == "Out of time"

    # A try kept as a run by an older Studio opens as a run of its own, with no search beside it.
    click(qtbot, runs.back_button)
    runs.select_ids([old_try])
    click(qtbot, runs.open_button)
    wait_runs_read(qtbot, window)
    assert runs.result_view is not None and runs.result_view.isVisible()
    assert not runs.run_tabs.tabBar().isVisible()
