"""A search in the run history: one search is one run (the winner's) carrying its trials; older histories with a run
per trial still open; how the winner compares with the default model, and the members of a mix, in words."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from studio.core.data.target import Task
from studio.core.models.choice_spec import CHOICE_KEY
from studio.core.models.ensemble_spec import describe_members
from studio.core.models.registry import get_model
from studio.core.search.history import DefaultTrial, SearchSummary, compared_with_default
from studio.core.search.modes import TuneMode
from studio.core.search.requests import TrialState, TuneRequest
from studio.core.store.runs import SCHEMA_VERSION, RunStore, run_from_result
from tests.core.helpers import make_request
from tests.core.test_runs import small_run
from tests.core.test_tuning import run_tuning


def test_a_search_is_recorded_as_one_run_carrying_its_trials(penguins: pd.DataFrame, tmp_path: Path) -> None:
    request = TuneRequest(make_request(penguins, "species", Task.CLASSIFICATION, "random_forest"), TuneMode.AUTO,
                          budget_s=None, max_trials=4, families=("logistic_regression", "knn", "random_forest"))
    _items, result = run_tuning(request)
    store = RunStore(tmp_path / "runs.sqlite3")
    run_id = store.add(run_from_result(result.train_result))

    assert store.count() == 1
    run = store.get(run_id)
    # The run is the final model's: its test scores and settings, with the search inside.
    assert run.model_key == result.final_key and run.metric("test", "accuracy") is not None
    assert run.is_search and run.search_tries == len(result.trials) == 4
    assert run.config()["Model: chosen by"] == "a search for the best model (4 tries)"
    search = SearchSummary.of(run.search)
    assert search is not None and search.metric == "accuracy" and search.mode is TuneMode.AUTO
    assert search.cv_score == pytest.approx(result.cv_score)
    assert search.best_number == result.best.number
    kept = [(t.number, t.model_key, t.params, t.score, t.state, t.folds_done, t.is_best, t.at_defaults)
            for t in search.trials]
    assert kept == [(t.number, t.model_key, t.params, t.score, t.state, t.folds_done, t.is_best, t.at_defaults)
                    for t in result.trials]
    # Each family's first trial is its defaults, or its cheap start where it has one (the forest: a dozen trees);
    # the default ("Let Studio choose") is compared with as the best of its families' trials at defaults: what
    # that quick choice would have kept.
    assert [t.at_defaults for t in search.trials[:3]] == [True, True, False]
    assert search.trials[2].model_key == "random_forest" and search.trials[2].params_dict()["n_estimators"] == 12
    chosen_from = get_model(CHOICE_KEY).candidates(Task.CLASSIFICATION)
    at_defaults = [t for t in result.trials if t.at_defaults and t.model_key in chosen_from and t.score is not None]
    best_default = max(at_defaults, key=lambda t: t.score or 0.0)
    assert search.default is not None and search.default.number == best_default.number
    words = compared_with_default(search)
    assert words.startswith((f"Better than the default model ({best_default.model_label}, ",
                             f"The default model ({best_default.model_label}")), words

    # The leaderboard reads runs without their bulk: the search's count and score, not its trials.
    light = store.summaries()[0].search
    assert "trials" not in light and light["tries"] == 4 and light["cv_score"] == pytest.approx(result.cv_score)
    assert store.summaries()[0].search_tries == 4


def test_a_history_with_a_run_per_trial_opens_and_takes_a_search_run(tmp_path: Path) -> None:
    """Studio before version 2 of the store kept each trial as a run, in a table without the "search" column."""
    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript("""
            CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL,
                dataset_path TEXT NOT NULL DEFAULT '', dataset_fingerprint TEXT NOT NULL DEFAULT '',
                target TEXT NOT NULL, task TEXT NOT NULL, model_key TEXT NOT NULL, model_label TEXT NOT NULL,
                params TEXT NOT NULL, prep TEXT NOT NULL, split TEXT NOT NULL, device TEXT NOT NULL DEFAULT 'cpu',
                duration_s REAL NOT NULL, metrics TEXT NOT NULL, history TEXT NOT NULL, details TEXT NOT NULL,
                model_path TEXT NOT NULL DEFAULT '', versions TEXT NOT NULL);
            PRAGMA user_version=1;""")
        for number in (1, 2):
            connection.execute(
                "INSERT INTO runs (created, target, task, model_key, model_label, params, prep, split, duration_s, "
                "metrics, history, details, versions) VALUES (?, 'y', 'regression', 'knn', 'k-nearest neighbours', "
                "'{}', '{}', '{}', 0.1, ?, '[]', ?, '{}')",
                ("2025-01-01T00:00:00", json.dumps({"cross_validation": {"metric": "rmse", "mean": 0.5}}),
                 json.dumps({"tuning": {"trial": number, "outcome": "done", "winner": number == 1}})))

    store = RunStore(path)
    assert not store.damage_note
    old = store.all()
    assert [r.id for r in old] == [2, 1] and not any(r.is_search for r in old)
    assert old[0].details["tuning"]["trial"] == 2 and old[0].explanations == {}
    search = {"metric": "rmse", "mode": "tune", "cv_score": 0.4, "tries": 1,
              "trials": [{"number": 1, "model_key": "knn", "params": {}, "score": 0.4, "state": "done"}]}
    new_id = store.add({**small_run(3), "search": search})
    assert store.get(new_id).search == search and store.get(new_id).search_tries == 1
    assert [r.search_tries for r in store.summaries()] == [1, 0, 0]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert RunStore(path).count() == 3  # opening it again changes nothing


def _summary(cv: float | None, default: DefaultTrial | None, metric: str = "accuracy", best: int = 2,
             mode: TuneMode = TuneMode.AUTO, ensemble: tuple[float, float] | None = None) -> SearchSummary:
    return SearchSummary(mode, metric, cv, 10, 3, best, "knn", ensemble, default, False, 12.0, ())


@pytest.mark.parametrize(("summary", "words"), [
    (_summary(0.971, DefaultTrial(5, "Random forest", 0.950, TrialState.DONE, False)),
     "Better than the default model (Random forest, 95.0%) by 2.1 points in cross-validation."),
    (_summary(0.9501, DefaultTrial(5, "Random forest", 0.950, TrialState.DONE, False)),
     "The default model (Random forest, 95.0%) scored as well in cross-validation."),
    (_summary(0.95, DefaultTrial(2, "Random forest", 0.95, TrialState.DONE, False)),
     "The default model (Random forest) won: no other try scored better."),
    (_summary(0.97, DefaultTrial(5, "Random forest", None, TrialState.STOPPED, False)),
     "The default model (Random forest) did not finish in time, so there is no score to compare the winner "
     "with."),
    (_summary(0.97, DefaultTrial(1, "k-nearest neighbours", 0.9, TrialState.DONE, True), mode=TuneMode.TUNE),
     "Better than the settings you started from (90.0%) by 7.0 points in cross-validation."),
    (_summary(0.97, DefaultTrial(1, "k-nearest neighbours", 0.97, TrialState.DONE, False), best=1,
              mode=TuneMode.TUNE), "The default settings won: no other try scored better."),
    (_summary(1.5, DefaultTrial(4, "Random forest", 1.75, TrialState.DONE, False), metric="rmse"),
     "Its error is 0.25 lower than that of the default model (Random forest, 1.75) in cross-validation."),
    # A mix of the best tries is compared by its own score, even when the default was the best single try.
    (_summary(0.98, DefaultTrial(2, "Random forest", 0.96, TrialState.DONE, False), ensemble=(0.98, 0.96)),
     "Better than the default model (Random forest, 96.0%) by 2.0 points in cross-validation."),
    (_summary(0.98, None), ""),
])
def test_the_winner_is_compared_with_the_default_in_words(summary: SearchSummary, words: str) -> None:
    assert compared_with_default(summary) == words


@pytest.mark.parametrize(("members", "words"), [
    ([("decision_tree", {}, 3), ("decision_tree", {"max_depth": 3}, 2)], "a mix of two decision trees"),
    ([("random_forest", {}, 2), ("logistic_regression", {}, 1)], "a mix of a random forest and a logistic regression"),
    ([("knn", {}, 1), ("random_forest", {}, 1), ("random_forest", {}, 1), ("naive_bayes", {}, 1)],
     "a mix of two random forests, a k-nearest neighbours model and a naive Bayes model"),
    ([("svm", {}, 1)], "a single support vector machine"),
])
def test_the_members_of_a_mix_are_said_in_plain_words(members: list, words: str) -> None:
    assert describe_members(members) == words
    assert "%" not in words


def test_the_results_say_the_cross_validated_score_and_why_validation_is_empty() -> None:
    from studio.core.search.history import results_words

    words = results_words(_summary(0.971, DefaultTrial(5, "Random forest", 0.950, TrialState.DONE, False)))
    assert words.startswith("Chosen by a search of 10 tries (Accuracy in cross-validation: 97.1%).")
    assert "validation column is empty" in words
    assert words.endswith("Better than the default model (Random forest, 95.0%) by 2.1 points in cross-validation.")
    assert results_words(_summary(None, None)) == ""
