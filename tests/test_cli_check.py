"""``studio check``: new rows compared with a model's training rows, in words, ending with a JSON line."""

from __future__ import annotations

import re
from pathlib import Path

import joblib
import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.store.model_file import load_model, save_model
from studio.resources import sample_dataset
from tests.cli_helpers import assert_one_error_line, last_json

PENGUINS = sample_dataset()
INPUTS = {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("check") / "species.studio"
    assert run_cli(["train", str(PENGUINS), "--target", "species", "--model", "random_forest",
                    "--param", "n_estimators=10", "--out", str(out)]) == 0
    return out


def test_the_training_table_has_not_drifted(model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = run_cli(["check", str(model_path), str(PENGUINS)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = last_json(captured.out)
    assert result["drifted"] == [] and result["checked"] is True and result["rows"] == 344
    assert set(result["columns"]) == INPUTS
    assert all(not column["drifted"] for column in result["columns"].values())
    assert result["columns"]["island"]["ks"] is None  # NaN is written as null
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("All 7 columns look alike in training and in the new rows")


def test_a_shifted_column_is_named_and_exits_1(model_path: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    shifted = pd.read_csv(PENGUINS)
    shifted["body_mass_g"] = shifted["body_mass_g"] * 1.3
    data = tmp_path / "heavier.csv"
    shifted.to_csv(data, index=False)
    capsys.readouterr()
    code = run_cli(["check", str(model_path), str(data)])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    result = last_json(captured.out)
    assert result["drifted"] == ["body_mass_g"]
    assert result["columns"]["body_mass_g"]["psi"] > 0.2 and result["columns"]["body_mass_g"]["drifted"] is True
    lines = captured.out.strip().splitlines()
    assert re.fullmatch(r"`body_mass_g` in the new rows is typically 3\d% higher than in training "
                        r"\(median 5\d{3} against 4\d{3}\)\.", lines[0]), lines[0]
    assert lines[1].startswith("These columns look alike") and "body_mass_g" not in lines[1]


def test_a_missing_column_is_said_not_an_error(model_path: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "no_year.csv"
    pd.read_csv(PENGUINS).drop(columns=["year"]).to_csv(data, index=False)
    capsys.readouterr()
    assert run_cli(["check", str(model_path), str(data)]) == 1
    out = capsys.readouterr().out
    assert "`year` is not in the new rows at all" in out
    assert last_json(out)["columns"]["year"]["absent"] is True


@pytest.mark.parametrize("which", ["model", "data"])
def test_a_missing_file_is_one_error_line(which: str, model_path: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing-here.csv"
    argv = ["check", str(missing), str(PENGUINS)] if which == "model" else ["check", str(model_path), str(missing)]
    capsys.readouterr()
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_error_line(captured.err, "nothing-here.csv")


def test_a_model_without_a_profile_says_drift_cannot_be_checked(model_path: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bundle = load_model(model_path)
    older = {k: v for k, v in bundle.metadata.items() if k != "training_profile"}
    path = save_model(tmp_path / "older.studio", bundle.pipeline, older)
    capsys.readouterr()
    assert run_cli(["check", str(path), str(PENGUINS)]) == 0
    out = capsys.readouterr().out
    assert "drift cannot be checked" in out.splitlines()[0]
    assert last_json(out) == {"drifted": [], "columns": {}, "rows": 344, "checked": False}


def test_a_pickle_era_file_needs_trust(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = load_model(model_path)
    old = tmp_path / "old.studio.joblib"
    joblib.dump({"studio_model": 1, "metadata": bundle.metadata, "pipeline": bundle.pipeline}, old)
    capsys.readouterr()
    assert run_cli(["check", str(old), str(PENGUINS)]) == 2
    assert_one_error_line(capsys.readouterr().err, "If you trust it, add --trust.")
    assert run_cli(["check", str(old), str(PENGUINS), "--trust"]) == 0
    assert last_json(capsys.readouterr().out)["drifted"] == []


def test_predicting_rows_unlike_the_training_rows_says_so(model_path: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    shifted = pd.read_csv(PENGUINS)
    shifted["body_mass_g"] = shifted["body_mass_g"] * 1.3
    data = tmp_path / "heavier.csv"
    shifted.to_csv(data, index=False)
    capsys.readouterr()

    assert run_cli(["predict", str(model_path), str(data), "--out", str(tmp_path / "p.csv")]) == 0

    err = capsys.readouterr().err
    assert "note: These rows differ from the training rows" in err
    assert "`body_mass_g` in the new rows is typically 30% higher than in training" in err
    assert "bill_length_mm" not in err  # an unchanged column is left alone
    assert (tmp_path / "p.csv").is_file()
