"""`studio train` records the run; `studio runs` lists it and `studio report` writes its HTML report."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli import run_cli
from studio.core.store.runs import RunStore, default_runs_path
from studio.resources import sample_dataset


def test_train_records_the_run_and_report_writes_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.joblib"
    assert run_cli(["train", str(sample_dataset()), "--target", "species", "--model", "logistic_regression",
                    "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Recorded as run 1" in err
    record = RunStore(default_runs_path()).get(1)
    assert record.model_path == str(out.resolve()) and record.model_key == "logistic_regression"

    assert run_cli(["runs"]) == 0
    listing = capsys.readouterr().out
    assert "Logistic regression -> species on penguins.csv" in listing and "accuracy" in listing

    report = tmp_path / "run.html"
    assert run_cli(["report", "1", "--out", str(report)]) == 0
    assert "Wrote the report of run 1" in capsys.readouterr().out
    text = report.read_text(encoding="utf-8")
    assert "Logistic regression predicting species" in text and "<svg" in text and "scikit-learn" in text


def test_report_of_an_unknown_run_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["report", "42", "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: There is no run number 42") and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()


def test_train_with_cross_validation_prints_the_folds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.joblib"
    assert run_cli(["train", str(sample_dataset()), "--target", "species", "--model", "naive_bayes",
                    "--cv-folds", "3", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "Cross-validation (3 folds), accuracy: mean" in stdout
    record = RunStore(default_runs_path()).all()[0]
    assert len(record.metrics["cross_validation"]["folds"]) == 3
    assert record.split["cv_folds"] == 3
    assert run_cli(["train", str(sample_dataset()), "--target", "species", "--cv-folds", "1",
                    "--out", str(out)]) == 2
    assert "at least 2 folds" in capsys.readouterr().err


def test_a_search_gets_a_report_and_so_does_a_trial_kept_by_an_older_studio(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["tune", str(sample_dataset()), "--target", "species", "--model", "knn", "--trials", "2",
                    "--out", str(tmp_path / "knn.joblib")]) == 0
    store = RunStore(default_runs_path())
    (search,) = store.all()
    assert search.search_tries == 2
    # Before a search was one run, each trial was a run of its own, with only its cross-validated score.
    old_trial = store.add({"created": "2025-01-01T00:00:00", "target": "species", "task": "classification",
                           "model_key": "knn", "model_label": "k-nearest neighbours", "params": {"n_neighbors": 5},
                           "prep": {}, "split": {}, "duration_s": 0.1,
                           "metrics": {"cross_validation": {"metric": "accuracy", "mean": 0.97, "folds_done": 5}},
                           "details": {"tuning": {"trial": 1, "outcome": "done", "winner": True}},
                           "versions": {}})
    capsys.readouterr()
    for run_id in (search.id, old_trial):
        report = tmp_path / f"run-{run_id}.html"
        assert run_cli(["report", str(run_id), "--out", str(report)]) == 0
        assert "Traceback" not in capsys.readouterr().err
        assert "k-nearest neighbours predicting species" in report.read_text(encoding="utf-8")
    assert run_cli(["runs"]) == 0
    listing = capsys.readouterr().out
    assert "(search of 2 tries; cross-validated accuracy " in listing
    assert "(one try of a search; cross-validated 97.0%)" in listing
