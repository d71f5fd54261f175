"""``studio train --auto`` and ``studio tune`` on the penguins sample."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from studio.cli import run_cli
from studio.core.store.model_file import load_model
from studio.core.store.runs import open_user_store
from studio.resources import sample_dataset
from tests.cli_helpers import last_json

PENGUINS = sample_dataset()


def test_train_auto_finds_a_model_within_the_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "best.joblib"
    started = time.perf_counter()
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--auto", "--budget", "6", "--out", str(out)])
    elapsed = time.perf_counter() - started
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert elapsed < 6 + 4
    assert last_json(captured.out)["accuracy"] > 0.9
    assert "trial   1  Logistic regression" in captured.err
    # How the trials are judged: penguins is small, so by cross-validation (a larger table gets a holdout).
    assert "each judged by 5-fold cross-validation on the training rows" in captured.err
    saved = load_model(out).metadata
    assert f"Training the winner: {saved['model_label']}" in captured.err
    # The search is one run: the winner's, with its model file, test scores and every trial inside.
    runs = open_user_store().all()
    assert len(runs) == 1
    assert runs[0].model_path == str(out.resolve()) and runs[0].metric("test", "accuracy") is not None
    assert runs[0].search_tries == captured.err.count("  trial ")
    assert captured.err.rstrip().splitlines()[-1].startswith(f"Recorded as run {runs[0].id} ")


def test_tune_searches_the_given_ranges_and_prints_the_best(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "knn.joblib"
    code = run_cli(["tune", str(PENGUINS), "--target", "species", "--model", "knn", "--trials", "4",
                    "--range", "n_neighbors=2:12", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = last_json(captured.out)
    assert summary["model"] == "knn" and summary["metric"] == "accuracy"
    assert 2 <= summary["params"]["n_neighbors"] <= 12
    assert summary["params"]["weights"] == "distance"  # not named in --range: kept
    assert summary["test"]["accuracy"] > 0.9
    assert captured.err.count("  trial ") == 4
    assert load_model(out).metadata["params"]["n_neighbors"] == summary["params"]["n_neighbors"]


def test_a_search_is_one_run_in_the_runs_listing(capsys: pytest.CaptureFixture[str]) -> None:
    """Even without a saved model: the search is recorded once, and `studio runs` lists it once."""
    assert run_cli(["tune", str(PENGUINS), "--target", "species", "--model", "knn", "--trials", "3"]) == 0
    err = capsys.readouterr().err
    assert err.count("  trial ") == 3
    assert err.rstrip().splitlines()[-1].startswith("Recorded as run 1 ")
    assert run_cli(["runs"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("    1  ") and "k-nearest neighbours -> species" in lines[0]
    assert "(search of 3 tries; cross-validated accuracy " in lines[0]
    run = open_user_store().get(1)
    assert run.search_tries == 3 and run.model_path == ""


@pytest.mark.parametrize(("arguments", "fragment"), [
    (["--range", "n_neighbors=30:3"], "above the highest"),
    (["--range", "n_neighbors"], "NAME=LOW:HIGH"),
    (["--metric", "rmse"], "cannot judge classification"),
    (["--trials", "0"], "must be 1 or more"),
])
def test_tune_mistakes_get_one_line_in_words(arguments: list[str], fragment: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["tune", str(PENGUINS), "--target", "species", "--model", "knn", *arguments])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and "Traceback" not in err
