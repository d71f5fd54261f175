"""``studio retrain``: a saved model trained again on new rows, saved, recorded with a link to the old model, and
the old and the new model's scores side by side."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.data.tabular import load_table
from studio.core.store.model_file import load_model
from studio.core.store.runs import open_user_store
from studio.resources import sample_dataset
from tests.cli_helpers import assert_one_error_line

PENGUINS = sample_dataset()


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample as the rows the model was first trained on and the rows that came later."""
    folder = tmp_path_factory.mktemp("retrain-cli")
    frame = load_table(PENGUINS).frame
    old = frame.sample(frac=0.5, random_state=5)
    old.to_csv(folder / "old.csv", index=False)
    frame.drop(old.index).to_csv(folder / "new.csv", index=False)
    return folder / "old.csv", folder / "new.csv"


@pytest.fixture(scope="module")
def model_path(tables: tuple[Path, Path]) -> Path:
    out = tables[0].with_name("species.studio")
    assert run_cli(["train", str(tables[0]), "--target", "species", "--model", "random_forest",
                    "--param", "n_estimators=10", "--seed", "4", "--out", str(out)]) == 0
    return out


def test_retrain_saves_records_and_ends_with_both_scores(model_path: Path, tables: tuple[Path, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "species-new.studio"
    capsys.readouterr()
    code = run_cli(["retrain", str(model_path), str(tables[1]), "--out", str(out), "--old-data", str(tables[0])])
    captured = capsys.readouterr()

    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    scores = json.loads(lines[-1])
    assert set(scores) == {"old", "new"}
    assert scores["new"]["accuracy"] > 0.8 and scores["old"]["accuracy"] > 0.8
    assert re.fullmatch(r"On \d+ new test rows the new model's accuracy is [\d.]+% against [\d.]+% for the old one\.",
                        lines[-2]), lines[-2]
    assert "Preparing data" in captured.err and "Comparing" in captured.err

    new_bundle = load_model(out)
    old_bundle = load_model(model_path)
    assert new_bundle.metadata["model"] == "random_forest" and new_bundle.metadata["params"]["n_estimators"] == 10
    assert new_bundle.metadata["split"]["seed"] == 4
    assert new_bundle.metadata["prep"] == old_bundle.metadata["prep"]

    record = open_user_store().all()[0]
    assert record.model_path == str(out.resolve())
    assert record.details["retrained_from"] == {"path": str(model_path.resolve()),
                                                "created": old_bundle.metadata["created"]}
    assert record.dataset_path == str(tables[1])


def test_retrain_without_the_target_column_exits_2_with_one_line(model_path: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "no-target.csv"
    load_table(PENGUINS).frame.drop(columns="species").to_csv(rows, index=False)
    out = tmp_path / "never.studio"
    capsys.readouterr()
    code = run_cli(["retrain", str(model_path), str(rows), "--out", str(out)])

    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "no 'species' column")
    assert not out.exists()


def test_retrain_with_a_changed_column_type_names_the_column(model_path: Path, tables: tuple[Path, Path],
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(tables[1])
    frame["flipper_length_mm"] = "long"
    rows = tmp_path / "words.csv"
    frame.to_csv(rows, index=False)
    capsys.readouterr()
    code = run_cli(["retrain", str(model_path), str(rows), "--out", str(tmp_path / "never.studio")])

    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "'flipper_length_mm' held numbers", "words")


def test_retrain_refuses_to_overwrite_the_old_model(model_path: Path, tables: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = model_path.read_bytes()
    capsys.readouterr()
    code = run_cli(["retrain", str(model_path), str(tables[1]), "--out", str(model_path)])

    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "another name")
    assert model_path.read_bytes() == before


def test_retrain_with_too_few_new_rows_exits_2_with_one_line(model_path: Path, tables: tuple[Path, Path],
                                                             tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "few.csv"
    pd.read_csv(tables[1]).head(6).to_csv(rows, index=False)
    capsys.readouterr()
    code = run_cli(["retrain", str(model_path), str(rows), "--out", str(tmp_path / "never.studio")])

    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "The new rows are too few to split")
