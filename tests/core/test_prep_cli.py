"""`studio train --prep FILE.json`: the command line trains with the preparation saved from the window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.data.profile import profile_frame
from studio.core.prep.config import Encoding, Treatment, default_prep, save_prep
from studio.core.store.model_file import load_model
from studio.resources import sample_dataset


def test_train_uses_the_preparation_file(tmp_path: Path, penguins: pd.DataFrame,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    prep = default_prep(profile_frame(penguins)).with_treatment("year", Treatment.EXCLUDE)
    prep = prep.with_column("island", encoding=Encoding.ORDINAL).with_derived("bill_ratio",
                                                                              "bill_length_mm / bill_depth_mm")
    prep_path = save_prep(tmp_path / "prep.json", prep)
    out = tmp_path / "model.joblib"
    code = run_cli(["train", str(sample_dataset()), "--target", "species", "--model", "logistic_regression",
                    "--prep", str(prep_path), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    bundle = load_model(out)
    names = [c["name"] for c in bundle.metadata["input_columns"]]
    assert "year" not in names and "bill_ratio" not in names
    features = list(bundle.pipeline.named_steps["prep"].get_feature_names_out())
    assert "island" in features and "bill_ratio" in features  # ordinal: one number for island
    assert len(features) == 8  # island 1, four measurements, sex 2, bill_ratio 1


def test_a_bad_preparation_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "prep.json"
    bad.write_text('{"columns": [{"name": "island", "kind": "categorical", "treatment": "sideways"}]}')
    code = run_cli(["train", str(sample_dataset()), "--target", "species", "--prep", str(bad),
                    "--out", str(tmp_path / "m.joblib")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("error: ") and "unknown treatment: 'sideways'" in err and "Traceback" not in err
    missing = run_cli(["train", str(sample_dataset()), "--target", "species", "--prep", str(tmp_path / "no.json"),
                       "--out", str(tmp_path / "m.joblib")])
    assert missing == 2 and "no preparation file" in capsys.readouterr().err
