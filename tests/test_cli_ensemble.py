"""The ensemble on the command line: trained from its members, saved, predicting, reported in words; a search whose
ensemble won says what it trained."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import studio.cli
from studio.cli import run_cli
from studio.core.models.ensemble_spec import members_json
from studio.core.search.requests import Trial, TrialState, TuneRequest, TuneResult
from studio.core.store.model_file import load_model
from studio.resources import sample_dataset
from tests.cli_helpers import last_json

PENGUINS = sample_dataset()
MEMBERS = members_json([("logistic_regression", {"C": 0.5}, 2), ("random_forest", {"n_estimators": 10}, 1)])


def test_an_ensemble_trains_saves_and_predicts_from_the_command_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ensemble.joblib"
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "ensemble",
                    "--param", f"members={MEMBERS}", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert last_json(captured.out)["accuracy"] > 0.9
    assert "Trained ensemble of the best models" in captured.out
    assert load_model(out).metadata["params"]["members"] == MEMBERS

    predictions = tmp_path / "predictions.csv"
    assert run_cli(["predict", str(out), str(PENGUINS), "--out", str(predictions)]) == 0
    frame = pd.read_csv(predictions)
    assert set(frame["prediction (Studio)"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (frame["prediction (Studio)"] == frame["species"]).mean() > 0.9
    assert "with Ensemble of the best models" in capsys.readouterr().out

    # Not offered in the list of models a person picks from.
    assert run_cli(["models"]) == 0
    assert "ensemble" not in capsys.readouterr().out


def test_bad_members_get_one_line_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "ensemble",
                    "--param", 'members=[{"model": "ensemble"}]', "--out", str(tmp_path / "x.joblib")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "Member 1 of the ensemble is itself an ensemble" in err


def test_a_search_that_trained_an_ensemble_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's report of a search's outcome when an ensemble won: the search itself is replaced by one whose
    outcome is an ensemble really trained on the sample (the search's choice is tested in tests/core)."""
    def search_with_an_ensemble_winner(search: TuneRequest) -> TuneResult:
        from studio.core.train.training import train

        job = train(replace(search.base, model_key="ensemble", params={"members": MEMBERS}))
        while True:
            try:
                next(job)
            except StopIteration as finished:
                trained = finished.value
                break
        trials = tuple(Trial(number=n, model_key=key, params=params, score=score, state=TrialState.DONE,
                             duration_s=0.1, finished_at_s=0.1 * n, best_score=0.97, folds_done=5, is_best=n == 1)
                       for n, key, params, score in ((1, "logistic_regression", (("C", 0.5),), 0.97),
                                                     (2, "random_forest", (("n_estimators", 10),), 0.96)))
        return TuneResult(trials=trials, best=trials[0], metric="accuracy", train_result=trained,
                          finished_early=False, duration_s=1.0, model_key="ensemble", params=(("members", MEMBERS),))

    monkeypatch.setattr(studio.cli, "_run_search", search_with_an_ensemble_winner)
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--auto", "--budget", "5",
                    "--out", str(tmp_path / "auto.joblib")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert ("The winner: a mix of a logistic regression and a random forest from the best trials (Logistic "
            "regression, 2 of 3 votes (Flexibility: 0.5); Random forest, 1 of 3 votes (Number of trees: 10))"
            ) in captured.err
    assert load_model(tmp_path / "auto.joblib").metadata["model"] == "ensemble"

    code = run_cli(["tune", str(PENGUINS), "--target", "species", "--model", "logistic_regression",
                    "--trials", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Trained instead: a mix of a logistic regression and a random forest" in captured.out
    summary = last_json(captured.out)
    assert summary["model"] == "ensemble" and summary["params"] == {"members": MEMBERS}
    assert summary["best_trial"] == {"number": 1, "model": "logistic_regression", "params": {"C": 0.5}}
