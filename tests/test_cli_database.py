"""`studio train` and `studio predict` on databases: a SQLite file or an SQLAlchemy URL with --table or --query,
the password from STUDIO_DB_PASSWORD (never on the command line)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.store.runs import open_user_store
from tests.cli_helpers import assert_one_error_line, last_json
from tests.core.test_database import make_shop
from tests.mariadb import MariaDBServer
from tests.postgres import PostgresServer

FAST = ["--model", "logistic_regression"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("cli-db") / "shop.sqlite", rows=300)


def test_train_on_a_table_then_predict_rows_of_a_query(shop: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "churn.studio"
    code = run_cli(["train", str(shop), "--table", "customers", "--target", "churned", *FAST, "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "accuracy" in last_json(captured.out)
    assert "note: The column 'photo' holds binary data" in captured.err
    assert "from table 'customers' of shop.sqlite" in captured.err
    # The run records the source, so it can be read again: the URL (no password) and the table.
    assert open_user_store().summaries()[0].dataset_path == f"sqlite:///{shop}#table=customers"

    out = tmp_path / "predictions.csv"
    code = run_cli(["predict", str(model), f"sqlite:///{shop}", "--query",
                    "SELECT city, spend, visits, joined FROM customers WHERE id > 290", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Predicted 'churned' for 10 rows of query" in captured.out
    predictions = pd.read_csv(out, encoding="utf-8-sig")
    assert len(predictions) == 10 and set(predictions.iloc[:, 0]) <= {"yes", "no"}

    # The source as a run records it reads the same rows again.
    again = tmp_path / "again.csv"
    assert run_cli(["predict", str(model), f"sqlite:///{shop}#table=customers", "--out", str(again)]) == 0
    assert len(pd.read_csv(again, encoding="utf-8-sig")) == 300


@pytest.mark.parametrize(("arguments", "words"), [
    (["{shop}"], "Name the table to read with --table NAME, or give --query SQL. shop.sqlite has: customers "
                 "(300 rows), empty (0 rows), orders (100 rows)."),
    (["{shop}", "--table", "empty"], "The table 'empty' has no rows."),
    (["{shop}", "--query", "SELECT * FROM nowhere"], "The query failed: no such table: nowhere"),
    (["{shop}", "--query", "DROP TABLE customers"], "Studio only reads data"),
    (["{shop}", "--table", "customers", "--query", "SELECT 1"], "Give --table NAME or --query SQL, not both."),
    (["postgresql://ann:secret@127.0.0.1/shop", "--table", "t"], "Leave the password out of the database address"),
    (["{csv}", "--table", "t"], "--table and --query read from a database, and "),
])
def test_bad_database_arguments_get_one_sentence(shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 arguments: list[str], words: str) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,churned\n1,yes\n")
    filled = [a.format(shop=shop, csv=csv) for a in arguments]
    code = run_cli(["train", *filled, "--target", "churned", "--out", str(tmp_path / "m.studio")])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, words)


def train_then_predict_strong_wines(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> pd.DataFrame:
    """`studio train` on the server's wine table, then `studio predict` on the rows of a query; the predictions."""
    model = tmp_path / "wine.studio"
    code = run_cli(["train", url, "--table", "wine", "--target", "cultivar", *FAST, "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert last_json(captured.out)["accuracy"] > 0.8
    out = tmp_path / "strong.csv"
    assert run_cli(["predict", str(model), url, "--query", "SELECT * FROM wine WHERE alcohol > 14", "--out",
                    str(out)]) == 0
    predictions = pd.read_csv(out, encoding="utf-8-sig")
    assert len(predictions) > 0 and predictions.iloc[:, 0].str.startswith("cultivar_").all()
    return predictions


def test_postgres_train_and_predict_with_the_password_from_the_environment(
        postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run_cli(["train", postgres_server.url(), "--table", "wine", "--target", "cultivar", *FAST, "--out",
                    str(tmp_path / "wine.studio")]) == 2  # no password anywhere, and no terminal to ask on
    assert_one_error_line(capsys.readouterr().err, "asks for the password of studio", "STUDIO_DB_PASSWORD")

    monkeypatch.setenv("STUDIO_DB_PASSWORD", postgres_server.password)
    train_then_predict_strong_wines(postgres_server.url(), tmp_path, capsys)
    assert postgres_server.password not in capsys.readouterr().err


def test_mysql_train_and_predict_rows_of_a_query(mariadb_server: MariaDBServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STUDIO_DB_PASSWORD", mariadb_server.password)
    predictions = train_then_predict_strong_wines(mariadb_server.url(), tmp_path, capsys)
    assert predictions["alcohol_text"].min() > 14  # the user's text cells, written back as they were
