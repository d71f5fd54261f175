"""Reading options on the command line: ``--decimal ,`` (and the rest) read the table as told, are kept with the
run and in the model file, and ``studio predict`` reads the next file the same way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.data.read_options import ReadOptions
from studio.core.data.tabular import load_table
from studio.core.serve.predict import PREDICTION_COLUMN, predict_job
from studio.core.store.model_file import load_model
from studio.core.store.runs import open_user_store
from tests.cli_helpers import assert_one_error_line
from tests.core.helpers import drain


def write_amounts(path: Path, amounts: list[str], with_target: bool = True) -> Path:
    """A comma-separated file whose amounts are quoted with a decimal comma ("1,250" is one and a quarter), which
    detection alone would read as thousands (1250), as is usual in a comma-separated file."""
    lines = ["amount,size" + (",price" if with_target else "")]
    for index, amount in enumerate(amounts):
        value = float(amount.replace(",", "."))
        lines.append(f'"{amount}",{index % 3}' + (f",{2 * value:.4f}" if with_target else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_decimal_option_is_kept_with_the_model_and_used_by_predict(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    amounts = [f"{i // 4},{(i % 4) * 250:03d}" for i in range(40)]  # 0,000 0,250 ... 9,750
    data = write_amounts(tmp_path / "train.csv", amounts)
    assert load_table(data).frame["amount"].max() == 9750  # what detection alone would make of it
    model = tmp_path / "price.studio"

    code = run_cli(["train", str(data), "--target", "price", "--model", "linear_regression", "--decimal", ",",
                    "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "decimal comma" in captured.err  # the table is described as read
    bundle = load_model(model)
    assert bundle.metadata["read_options"] == {"decimal": ","}
    assert bundle.read_options == ReadOptions(decimal=",")
    run = open_user_store().all()[0]
    assert run.read_options == {"decimal": ","}

    new = write_amounts(tmp_path / "new.csv", ["2,500", "5,000", "7,250"], with_target=False)
    out = tmp_path / "predicted.csv"
    code = run_cli(["predict", str(model), str(new), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    predicted = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    # Read as 2.5, 5 and 7.25 (not 2500...), so the prices are about twice that.
    prices = [float(value.replace(",", ".")) for value in predicted[PREDICTION_COLUMN]]
    assert prices == pytest.approx([5.0, 10.0, 14.5], abs=0.5)  # a little shrinkage; 2500 would be ~5000
    assert predicted["amount"].tolist() == ["2,500", "5,000", "7,250"]  # the user's text, as written
    # The Predict page's job reads the file the same way, and a choice made there takes the model's place.
    in_window = drain(predict_job(bundle, new))
    assert in_window[PREDICTION_COLUMN].tolist() == pytest.approx([5.0, 10.0, 14.5], abs=0.5)
    overridden = drain(predict_job(bundle, new, options=ReadOptions(decimal=".")))
    assert overridden[PREDICTION_COLUMN].iloc[0] > 1000  # read as 2500: the person's choice was followed


def test_other_reading_options_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "report.txt"
    rows = "".join(f"{i}|{i % 2}|{'yes' if i % 3 else 'no'}\n" for i in range(30))
    data.write_bytes(("Exported by the shop\n" + rows).encode("cp1250"))
    model = tmp_path / "m.studio"
    code = run_cli(["train", str(data), "--target", "column_3", "--model", "random_forest", "--param",
                    "n_estimators=5", "--delimiter", "|", "--skip-rows", "1", "--no-header", "--encoding", "cp1250",
                    "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert load_model(model).read_options == ReadOptions("|", None, "cp1250", False, 1)


def test_a_wrong_reading_option_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_amounts(tmp_path / "train.csv", ["1,5", "2,5"])
    code = run_cli(["train", str(data), "--target", "price", "--encoding", "martian", "--out",
                    str(tmp_path / "m.studio")])
    assert code != 0
    assert_one_error_line(capsys.readouterr().err, "does not know the text encoding 'martian'")
