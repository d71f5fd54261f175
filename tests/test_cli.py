"""The ``studio`` command line, in-process and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.store.model_file import load_model
from studio.resources import sample_dataset
from tests.cli_helpers import assert_one_error_line, last_json

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = sample_dataset()
FAST = ["--model", "random_forest", "--param", "n_estimators=10"]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "species.joblib"
    assert run_cli(["train", str(PENGUINS), "--target", "species", *FAST, "--out", str(out)]) == 0
    return out


# -- train ------------------------------------------------------------------------------------------------------
def test_train_writes_the_model_and_ends_with_metrics_json(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.joblib"
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "random_forest",
                    "--param", "n_estimators=20", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = last_json(captured.out)
    assert metrics["accuracy"] > 0.9
    assert set(metrics) >= {"accuracy", "balanced_accuracy", "f1_macro"}
    bundle = load_model(out)
    assert bundle.metadata["params"]["n_estimators"] == 20
    assert bundle.metadata["model"] == "random_forest"
    # Progress goes to stderr: one line per stage and per curve point.
    assert "Preparing data" in captured.err and "trees grown" in captured.err
    assert "train loss" in captured.err and "validation loss" in captured.err


def test_train_regression_with_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mass.joblib"
    code = run_cli(["train", str(PENGUINS), "--target", "body_mass_g", "--model", "linear_regression",
                    "--param", "alpha=0.5", "--val-size", "0", "--test-size", "0.2", "--seed", "3",
                    "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert set(last_json(captured.out)) == {"mae", "rmse", "r2"}
    assert "2 rows without a value for 'body_mass_g' were left out" in captured.out
    metadata = load_model(out).metadata
    assert metadata["task"] == "regression"
    assert metadata["split_sizes"] == [273, 0, 69]
    assert metadata["params"] == {"alpha": 0.5}


def test_train_with_explicit_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # year is a number with three values: guessed as classes, trained as a number on request.
    code = run_cli(["train", str(PENGUINS), "--target", "year", "--task", "regression", "--model", "knn",
                    "--out", str(tmp_path / "year.joblib")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "mae" in last_json(captured.out)


def test_train_rows_file_fixes_the_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(PENGUINS)
    rows = list(range(len(frame)))
    test_rows = rows[1::5]
    train_rows = [r for r in rows if r not in set(test_rows)]
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": train_rows, "test": test_rows}), encoding="utf-8")
    out = tmp_path / "fixed.joblib"

    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "logistic_regression",
                    "--train-rows", str(split_file), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    bundle = load_model(out)
    assert bundle.metadata["split_sizes"] == [len(train_rows), 0, len(test_rows)]
    assert bundle.metadata["metrics"]["validation"] == {}
    # The reported accuracy is the model's accuracy on exactly the listed test rows.
    predicted = bundle.pipeline.predict(frame.iloc[test_rows])
    expected = float((predicted == frame["species"].iloc[test_rows].to_numpy()).mean())
    assert last_json(captured.out)["accuracy"] == pytest.approx(expected)


def test_train_in_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "sub.joblib"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "studio", "train", str(PENGUINS), "--target", "species", "--model",
         "gradient_boosting", "--param", "max_iter=10", "learning_rate=0.3", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["accuracy"] > 0.9
    assert "Round 10 of 10" in done.stderr
    assert load_model(out).metadata["params"]["learning_rate"] == 0.3


def test_errors_in_a_subprocess_are_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "studio", "train", str(tmp_path / "missing.csv"), "--target", "x", "--out",
         str(tmp_path / "m.joblib")], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert_one_error_line(done.stderr, "missing.csv")
    assert done.stdout == ""


# -- predict ----------------------------------------------------------------------------------------------------
def test_predict_writes_a_csv(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "predictions.csv"
    assert run_cli(["predict", str(model_path), str(PENGUINS), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    predictions = pd.read_csv(out)
    source = pd.read_csv(PENGUINS)
    assert len(predictions) == len(source)
    assert predictions.columns[0] == "prediction (Studio)"
    assert set(predictions["prediction (Studio)"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert (predictions["prediction (Studio)"] == source["species"]).mean() > 0.9
    assert {f"probability of {name} (Studio)" for name in ("Adelie", "Chinstrap", "Gentoo")} <= set(predictions.columns)
    assert captured.out.strip().count("\n") == 0 and "344 rows" in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"], "no temp file left behind"


def test_predict_replaces_an_existing_file(model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    out.write_text("old", encoding="utf-8")
    new_rows = tmp_path / "new.csv"
    pd.read_csv(PENGUINS).drop(columns=["species"]).head(5).to_csv(new_rows, index=False)
    assert run_cli(["predict", str(model_path), str(new_rows), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 5


def test_predict_reports_a_missing_column(model_path: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    lacking = tmp_path / "lacking.csv"
    pd.read_csv(PENGUINS).drop(columns=["island"]).to_csv(lacking, index=False)
    out = tmp_path / "p.csv"
    assert run_cli(["predict", str(model_path), str(lacking), "--out", str(out)]) == 2
    assert_one_error_line(capsys.readouterr().err, "'island'")
    assert not out.exists()


def test_predict_with_a_file_that_is_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["predict", str(PENGUINS), str(PENGUINS), "--out", str(tmp_path / "p.csv")]) == 2
    assert_one_error_line(capsys.readouterr().err, "not a Studio model file")


# -- models and screenshots -------------------------------------------------------------------------------------
def test_models_lists_keys_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["models"]) == 0
    out = capsys.readouterr().out
    for key in ("logistic_regression", "linear_regression", "random_forest", "gradient_boosting", "knn", "svm"):
        assert f"{key}  " in out
    assert "Random forest (classification, regression)" in out
    assert "n_estimators = 100  [1..5000]" in out
    assert "max_depth = no limit  [1..100 or none]" in out
    assert "max_features = sqrt (regression: third)  [sqrt | third | all]" in out
    assert "balanced = false  [true | false]  (classification only)" in out


def test_screenshots_without_the_window_code_is_a_clear_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the module were missing, whatever the checkout holds.
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # the command sets it when unset; keep it out of os.environ
    monkeypatch.setitem(sys.modules, "studio.ui.screenshots", None)
    assert run_cli(["screenshots", "--out", str(tmp_path)]) == 2
    assert_one_error_line(capsys.readouterr().err, "Screenshots need the window code")


def test_screenshots_prints_what_render_all_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    fake = types.ModuleType("studio.ui.screenshots")
    written = [tmp_path / "data.png", tmp_path / "train.png"]
    sizes = []
    fake.render_all = lambda out, create_window, size: sizes.append(size) or written  # type: ignore[attr-defined]
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setitem(sys.modules, "studio.ui.screenshots", fake)
    assert run_cli(["screenshots", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(p) for p in written]
    assert run_cli(["screenshots", "--out", str(tmp_path), "--size", "1024x600"]) == 0
    assert sizes == [(1180, 780), (1024, 600)]
    assert run_cli(["screenshots", "--out", str(tmp_path), "--size", "big"]) == 2
    assert_one_error_line(capsys.readouterr().err, "--size takes the width and height in pixels")


# -- mistakes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("extra", "fragments"), [
    (["--model", "deep_magic"], ["no model called 'deep_magic'", "random_forest"]),
    (["--model", "random_forest", "--param", "n_estimators=many"], ["'many' is not a valid value for n_estimators"]),
    (["--model", "random_forest", "--param", "n_estimators=0"], ["Number of trees must lie between 1 and 5000; got 0"]),
    (["--model", "random_forest", "--param", "leaves=3"], ["no setting called 'leaves'"]),
    (["--model", "random_forest", "--param", "n_estimators"], ["NAME=VALUE"]),
    (["--param", "n_estimators=10"], ["name that model with --model"]),
    (["--model", "linear_regression"], ["Linear regression cannot do classification"]),
    (["--task", "regression"], ["can only be predicted as classification"]),
    (["--model", "knn", "--param", "n_neighbors=400"], ["Training failed", "n_neighbors"]),
])
def test_train_mistakes_are_one_error_line(extra: list[str], fragments: list[str], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.joblib"
    assert run_cli(["train", str(PENGUINS), "--target", "species", *extra, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert_one_error_line(captured.err.splitlines()[-1], *fragments)
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_missing_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(tmp_path / "nope.csv"), "--target", "x", "--out", str(tmp_path / "m")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "nope.csv")


def test_unknown_target_lists_the_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(PENGUINS), "--target", "wingspan", "--out", str(tmp_path / "m")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "no column called 'wingspan'", "species, island")


def test_unreadable_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    assert run_cli(["train", str(binary), "--target", "x", "--out", str(tmp_path / "m")]) == 2
    assert_one_error_line(capsys.readouterr().err, "binary data")


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not valid JSON"),
    ('{"train": [1, 2]}', 'must hold {"train"'),
    ('{"train": "all", "test": [1]}', "'train' must be a list of whole numbers"),
    ('{"train": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "test": [9999]}', "between 0 and 343"),
])
def test_bad_split_file(content: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    split_file = tmp_path / "split.json"
    split_file.write_text(content, encoding="utf-8")
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--train-rows", str(split_file),
                    "--out", str(tmp_path / "m")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, fragment)


def test_os_errors_are_one_line(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    # The output folder cannot be created: a file stands where it should be.
    code = run_cli(["predict", str(model_path), str(PENGUINS), "--out", str(blocker / "sub" / "p.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert_one_error_line(err)
    assert "Errno" not in err


@pytest.mark.parametrize("argv", [
    [],
    ["train", str(PENGUINS)],
    ["train", str(PENGUINS), "--target", "species", "--out", "m", "--test-size", "1.5"],
    ["predict", "model.joblib"],
    ["fly"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(argv) == 2
    err = capsys.readouterr().err
    assert "usage: studio" in err and "Traceback" not in err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert run_cli(["train", "--help"]) == 0
    assert "--train-rows" in capsys.readouterr().out
    assert run_cli(["--version"]) == 0
    assert capsys.readouterr().out.startswith("studio ")


def test_every_command_is_routed_to_the_command_line_not_the_window(capsys: pytest.CaptureFixture[str]) -> None:
    from studio.__main__ import main
    from studio.cli import command_names

    names = command_names()
    assert {"train", "tune", "predict", "models", "report", "runs", "screenshots"} <= names
    for name in sorted(names):
        assert main([name, "--help"]) == 0
        assert f"usage: studio {name}" in capsys.readouterr().out


def test_a_network_without_pytorch_is_one_clear_line(without_torch: None, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "neural_network",
                    "--out", str(tmp_path / "model.joblib")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "PyTorch, which is not installed", "python -m studio.install_torch")
    assert not (tmp_path / "model.joblib").exists()


def test_train_without_a_model_lets_studio_choose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chosen.studio"
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Chose a model: Studio tried gradient boosting, random forest and logistic regression" in captured.err
    bundle = load_model(out)
    assert bundle.metadata["model"] in ("gradient_boosting", "random_forest", "logistic_regression")
    assert last_json(captured.out)["accuracy"] > 0.9


def test_tuning_the_quick_choice_is_refused_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["tune", str(PENGUINS), "--target", "species", "--model", "studio_choice", "--trials", "2"]) == 2
    assert_one_error_line(capsys.readouterr().err, "Let Studio choose has no settings to tune")
