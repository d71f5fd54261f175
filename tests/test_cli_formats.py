"""`studio train` and `studio predict` on the other formats: a workbook's sheet named with --sheet and kept with
the model, JSON Lines and ARFF to predict, and tables at a web address (a local web server)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.store.model_file import load_model
from studio.resources import sample_dataset
from tests.cli_helpers import assert_one_error_line, last_json
from tests.core.web_server import Answer, local_server

FAST = ["--model", "random_forest", "--param", "n_estimators=10"]


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return pd.read_csv(sample_dataset())


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory, penguins: pd.DataFrame) -> Path:
    """Penguins on their own sheet, after a sheet of notes that has rows too (so the default would be wrong)."""
    path = tmp_path_factory.mktemp("formats") / "penguins.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame({"note": ["counted in 2008", "counted in 2009"]}).to_excel(writer, sheet_name="About",
                                                                               index=False)
        penguins.to_excel(writer, sheet_name="Penguins", index=False)
    return path


@pytest.fixture(scope="module")
def sheet_model(tmp_path_factory: pytest.TempPathFactory, workbook: Path) -> Path:
    out = tmp_path_factory.mktemp("models") / "species.studio"
    assert run_cli(["train", str(workbook), "--sheet", "Penguins", "--target", "species", *FAST,
                    "--out", str(out)]) == 0
    return out


def test_train_reads_the_named_sheet_and_the_model_keeps_it(sheet_model: Path, workbook: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert load_model(sheet_model).read_options.sheet == "Penguins"
    out = tmp_path / "predictions.csv"
    capsys.readouterr()
    assert run_cli(["predict", str(sheet_model), str(workbook), "--out", str(out)]) == 0  # no --sheet: the model's
    assert "for 344 rows of penguins.ods" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == 344


def test_a_sheet_that_is_not_there_is_one_error_line(workbook: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(workbook), "--sheet", "Birds", "--target", "species", *FAST,
                    "--out", str(tmp_path / "m.studio")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "penguins.ods has no sheet called 'Birds'",
                          "Its sheets are: 'About', 'Penguins'.")


@pytest.mark.parametrize("suffix", [".jsonl", ".arff", ".feather"])
def test_predict_reads_other_formats(sheet_model: Path, penguins: pd.DataFrame, tmp_path: Path, suffix: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = penguins.drop(columns="species").head(20)
    path = tmp_path / f"new{suffix}"
    if suffix == ".jsonl":
        path.write_text(rows.to_json(orient="records", lines=True), encoding="utf-8")
    elif suffix == ".feather":
        rows.to_feather(path)
    else:
        path.write_text(_arff(rows), encoding="utf-8")
    out = tmp_path / "predictions.csv"
    code = run_cli(["predict", str(sheet_model), str(path), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    predictions = pd.read_csv(out)
    assert len(predictions) == 20 and predictions.iloc[:, 0].isin(["Adelie", "Chinstrap", "Gentoo"]).all()


def _arff(rows: pd.DataFrame) -> str:
    lines = ["@relation penguins"]
    for column in rows.columns:
        if pd.api.types.is_numeric_dtype(rows[column]):
            lines.append(f"@attribute {column} numeric")
        else:
            values = ",".join(f"'{v}'" for v in sorted(rows[column].dropna().unique()))
            lines.append(f"@attribute {column} {{{values}}}")
    lines.append("@data")
    for record in rows.itertuples(index=False):
        lines.append(",".join("?" if pd.isna(v) else (f"'{v}'" if isinstance(v, str) else str(v)) for v in record))
    return "\n".join(lines) + "\n"


def test_train_and_predict_from_web_addresses(penguins: pd.DataFrame, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    parquet = tmp_path / "penguins.parquet"
    penguins.to_parquet(parquet)
    new_rows = penguins.drop(columns="species").tail(10)
    out = tmp_path / "from-web.studio"
    with local_server() as server:
        train_url = server.serve("/data/penguins.parquet", Answer(parquet.read_bytes()))
        predict_url = server.serve("/api/new-rows", Answer(new_rows.to_json(orient="records").encode(),
                                                           content_type="application/json"))
        assert run_cli(["train", train_url, "--target", "species", *FAST, "--out", str(out)]) == 0
        assert last_json(capsys.readouterr().out)["accuracy"] > 0.8
        code = run_cli(["predict", str(out), predict_url, "--out", str(tmp_path / "p.csv")])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert "for 10 rows of new-rows" in captured.out
        code = run_cli(["predict", str(out), server.url + "/gone.csv", "--out", str(tmp_path / "q.csv")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "(the server answered 404, not found)")
    assert load_model(out).metadata["source"] == "penguins.parquet"
