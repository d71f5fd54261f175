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


def test_a_trial_of_a_search_gets_a_report_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["tune", str(sample_dataset()), "--target", "species", "--model", "knn", "--trials", "2",
                    "--out", str(tmp_path / "knn.joblib")]) == 0
    trial = next(r for r in RunStore(default_runs_path()).all() if "tuning" in r.details)
    capsys.readouterr()
    report = tmp_path / "trial.html"
    assert run_cli(["report", str(trial.id), "--out", str(report)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert "k-nearest neighbours predicting species" in report.read_text(encoding="utf-8")
