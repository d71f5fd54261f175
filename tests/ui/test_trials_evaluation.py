"""The trials view says how the search judges its tries: cross-validation on a small table, a holdout of so many
rows on a larger one."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.project import Project
from studio.core.search.history import SearchSummary
from studio.core.search.requests import Trial, TrialState, TuneProgress
from studio.ui.main_window import MainWindow
from studio.ui.widgets.search_run import SearchRun
from studio.ui.widgets.trials_view import SCORE, TrialsView
from tests.ui.helpers import choose_target, click, go_to_model_page, open_sample

HOLDOUT = "a holdout of 440 training rows"


def _view(qtbot: QtBot, width: int = 1024, height: int = 600) -> TrialsView:
    view = TrialsView()
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    view.reset("rmse")
    return view


def test_a_search_judged_on_a_holdout_says_so_above_its_tries(qtbot: QtBot, tmp_path: Path) -> None:
    view = _view(qtbot)
    search = SearchRun(Project(), view)
    # What the window's worker relays: the search's first progress after preparing says how tries are judged.
    search.on_progress(TuneProgress("Searching", 0.1, f"Trying 5 kinds of model, each judged by {HOLDOUT}",
                                    evaluation=HOLDOUT))
    assert HOLDOUT in view.best_label.text()
    assert "error on the holdout;" in view.plot_note.text()
    tooltip = view.table_model.headerData(SCORE, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tooltip == f"Each try's root mean squared error on {HOLDOUT}."
    search.on_progress(TuneProgress("Searching", 0.3, "Trial 1", evaluation=HOLDOUT,
                                    trial=Trial(1, "gradient_boosting", (), 21.5, TrialState.DONE, 0.4, 2.0, 21.5, 1,
                                                is_best=True)))
    assert f"21.5 on {HOLDOUT}" in view.best_label.text() and "cross-validation" not in view.best_label.text()
    if os.environ.get("STUDIO_SHOTS"):
        view._on_timer_timeout()
        view.grab().save(str(Path(os.environ["STUDIO_SHOTS"]) / "trials_holdout_1024x600.png"))
        view.resize(1180, 780)
        view.grab().save(str(Path(os.environ["STUDIO_SHOTS"]) / "trials_holdout_1180x780.png"))


def test_a_cross_validated_search_and_an_older_stored_one_say_cross_validation(qtbot: QtBot) -> None:
    view = _view(qtbot)
    view.set_evaluation("5-fold cross-validation on the training rows")
    assert "5-fold cross-validation" in view.best_label.text()
    view.add_trial(Trial(1, "knn", (), 12.5, TrialState.DONE, 0.1, 0.1, 12.5, 5, is_best=True))
    assert "12.5 in cross-validation" in view.best_label.text()
    # A search kept before holdouts existed has no words for it: it was cross-validated.
    older = SearchSummary.of({"metric": "rmse", "mode": "auto", "tries": 0, "trials": []})
    assert older is not None and older.evaluation == "" and older.judged == "in cross-validation"
    stored = SearchSummary.of({"metric": "rmse", "mode": "auto", "tries": 0, "trials": [], "evaluation": HOLDOUT})
    assert stored is not None and stored.judged == f"on {HOLDOUT}"


def test_the_search_options_say_how_tries_are_judged(qtbot: QtBot, window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    click(qtbot, window.model_panel.mode_choice.buttons["auto"])
    intro = window.model_panel.search_options.intro.text()
    assert "each first small and quick to train" in intro and "a share of them held out" in intro
    if os.environ.get("STUDIO_SHOTS"):
        for width, height in ((1024, 600), (1180, 780)):
            window.resize(width, height)
            qtbot.wait(50)
            window.grab().save(str(Path(os.environ["STUDIO_SHOTS"]) / f"search_options_{width}x{height}.png"))
