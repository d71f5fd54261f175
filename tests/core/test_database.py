"""Tables from databases: SQLite files and a real PostgreSQL server (tests/postgres.py), read as a CSV would be,
with every bad input said in a sentence and nothing hanging."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import Cancelled, DataError
from studio.core.data import database as db
from studio.core.data.passwords import can_remember, connect_job, remember_password, saved_password
from studio.core.data.profile import ColumnKind, profile_frame
from studio.core.data.tabular import load_table
from tests.mariadb import MariaDBServer
from tests.postgres import PostgresServer


def drain(job: Generator[Any, None, Any]) -> tuple[list[Any], Any]:
    items = []
    while True:
        try:
            items.append(next(job))
        except StopIteration as finished:
            return items, finished.value


def make_shop(path: Path, rows: int = 300) -> Path:
    """A SQLite file as people make them: numbers kept as text with blanks and 'NA', dates as text, a blob."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, city TEXT, spend TEXT, visits INTEGER, "
                       "joined TEXT, churned TEXT, photo BLOB)")
    connection.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (i, ["Lyon", "Oslo", "Porto"][i % 3], "" if i % 10 == 0 else f"{i * 1.5:.2f}", "NA" if i % 13 == 0 else i % 9,
         f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}", "yes" if i % 4 == 0 else "no", b"\x89PNG")
        for i in range(1, rows + 1)])
    connection.execute("CREATE TABLE orders (id INTEGER, customer INTEGER, amount REAL)")
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i % 50 + 1, i * 2.0) for i in range(1, 101)])
    connection.execute("CREATE TABLE empty (a INTEGER)")
    connection.commit()
    connection.close()
    return path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made once: Studio opens database files read-only, so no test can change it."""
    return make_shop(tmp_path_factory.mktemp("shop") / "shop.sqlite")


def test_locations_tell_databases_from_table_files(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    assert db.is_database_location(shop) and db.is_database_location("postgresql://ann@db.example/shop")
    assert db.is_database_location("sqlite:///shop.sqlite") and not db.is_database_location(tmp_path / "table.csv")
    login = db.login_for("postgresql://ann:s3cret@db.example:5433/shop")
    assert login.password == "s3cret" and "s3cret" not in login.url and "s3cret" not in repr(login)
    assert login.place() == "ann@db.example:5433/shop"
    assert db.url_has_password("mysql://ann:pw@host/db") and not db.url_has_password("mysql://ann@host/db")


def test_tables_are_listed_with_row_counts(shop: Path) -> None:
    catalog = db.list_tables(db.login_for(shop))
    assert [(t.name, t.rows) for t in catalog.tables] == [("customers", 300), ("empty", 0), ("orders", 100)]
    assert catalog.tables[0].label() == "customers (300 rows)"


def test_numbers_stored_as_text_read_as_a_csv_of_the_same_rows(shop: Path, tmp_path: Path) -> None:
    table = db.read_database(shop, "customers")
    assert table.notes == ("The column 'photo' holds binary data (pictures or files), which Studio cannot learn "
                           "from; it was left out.",)
    frame = table.frame
    assert frame["spend"].dtype == float and frame["spend"].isna().sum() == 30
    assert frame["visits"].dtype == float and frame["visits"].isna().sum() == 23
    # The same rows written as a CSV and read by the CSV reader profile to the same kinds and values.
    csv = tmp_path / "customers.csv"
    with sqlite3.connect(shop) as connection:
        pd.read_sql("SELECT id, city, spend, visits, joined, churned FROM customers", connection).to_csv(csv,
                                                                                                         index=False)
    from_csv = load_table(csv).frame
    assert [(p.name, p.kind) for p in profile_frame(frame)] == [(p.name, p.kind) for p in profile_frame(from_csv)]
    assert {p.name: p.kind for p in profile_frame(frame)}["joined"] is ColumnKind.DATE
    np.testing.assert_allclose(frame["spend"].to_numpy(), from_csv["spend"].to_numpy())


def test_preview_shows_the_first_rows_and_the_count(shop: Path) -> None:
    login = db.login_for(shop)
    _, preview = drain(db.preview_job(login, db.DatabaseSource(login.url, query="SELECT * FROM orders;"), rows=5))
    assert preview.rows == 100 and list(preview.frame["id"]) == [1, 2, 3, 4, 5]


def test_reading_yields_first_rows_then_progress_in_chunks(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "FIRST_CHUNK_ROWS", 10)
    monkeypatch.setattr(db, "CHUNK_ROWS", 50)
    monkeypatch.setattr(db, "ARROW_BATCH_ROWS", 10)
    login = db.login_for(shop)
    items, table = drain(db.read_job(login, db.DatabaseSource(login.url, table="orders")))
    first = [i for i in items if isinstance(i, db.FirstRows)]
    assert len(first) == 1 and len(first[0].frame) == 10 and first[0].total_rows == 100
    fractions = [i.fraction for i in items if isinstance(i, db.Progress) and i.stage == "Reading" and i.fraction]
    assert fractions == pytest.approx([10 / 100, 60 / 100, 1.0, 1.0])
    assert len(table.frame) == 100 and table.path == f"{login.url}#table=orders"
    assert table.describe_format() == "100 rows, 3 columns, from table 'orders' of shop.sqlite"


def test_reading_is_cancelled_between_chunks(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "FIRST_CHUNK_ROWS", 10)
    monkeypatch.setattr(db, "ARROW_BATCH_ROWS", 10)
    login = db.login_for(shop)
    asked = {"stop": False}
    job = db.read_job(login, db.DatabaseSource(login.url, table="customers"), should_stop=lambda: asked["stop"])
    with pytest.raises(Cancelled):
        for item in job:
            if isinstance(item, db.FirstRows):
                asked["stop"] = True


def test_the_source_recorded_reads_back_without_a_password() -> None:
    query = "SELECT a / b AS ratio FROM t WHERE note = 'x#y'"
    source = db.DatabaseSource("postgresql://ann@host/shop", query=query)
    assert db.DatabaseSource.from_text(source.as_text()) == source
    assert Path(source.as_text()).name.startswith("shop#query=SELECT a %2F b")
    table_source = db.DatabaseSource("sqlite:////data/shop.sqlite", table="my table")
    assert db.DatabaseSource.from_text(table_source.as_text()) == table_source
    with pytest.raises(DataError, match="Choose a table, or write a query"):
        db.DatabaseSource("sqlite:///x.db")


@pytest.mark.parametrize(("table", "query", "words"), [
    ("", "SELECT * FROM nowhere", "The query failed: no such table: nowhere"),
    ("", "SELECT * FROM orders WHERE amount < 0", "The query returned no rows"),
    ("empty", "", "The table 'empty' has no rows."),
    ("", "DELETE FROM orders", "Studio only reads data: write a query that starts with SELECT (this one starts "
                               "with DELETE)"),
    ("", "SELECT * FROM orders; DELETE FROM orders", "Write one query: Studio reads the rows of a single SELECT"),
])
def test_bad_queries_are_said_in_words(shop: Path, table: str, query: str, words: str) -> None:
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        db.read_database(shop, table, query)
    with sqlite3.connect(shop) as connection:  # nothing was changed
        assert connection.execute("SELECT COUNT(*) FROM orders").fetchone() == (100,)


def test_missing_or_foreign_files_are_said(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="There is no file at"):
        db.read_database(tmp_path / "nope.sqlite", "t")
    assert not (tmp_path / "nope.sqlite").exists()  # not created by opening it
    (tmp_path / "notes.db").write_text("just text")
    with pytest.raises(DataError, match=r"notes\.db is not a SQLite database"):
        db.read_database(tmp_path / "notes.db", "t")


def test_too_many_rows_are_refused_with_the_choice_of_the_first(shop: Path) -> None:
    login = db.login_for(shop)
    source = db.DatabaseSource(login.url, table="customers")
    with pytest.raises(db.TooManyRows, match=r"has 300 rows, more than Studio reads at once \(120\)") as caught:
        drain(db.read_job(login, source, max_rows=120))
    assert (caught.value.rows, caught.value.limit) == (300, 120)
    _, first = drain(db.read_job(login, source, first_rows=120))
    assert len(first.frame) == 120 and first.rows_left_out == 180
    assert "180 more rows not read" in first.describe_format()


def test_an_uncountable_result_is_stopped_at_the_limit(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_count_or_none", lambda connection, sql: None)
    login = db.login_for(shop)
    with pytest.raises(db.TooManyRows, match="more than 50 rows"):
        drain(db.read_job(login, db.DatabaseSource(login.url, table="customers"), max_rows=50))


def test_a_sqlite_column_mixing_types_is_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrow types a column by its first rows; a later value of another type makes Studio read it the plain way.
    monkeypatch.setattr(db, "ARROW_BATCH_ROWS", 10)
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE readings (a INTEGER, b TEXT)")
        connection.executemany("INSERT INTO readings VALUES (?, ?)",
                               [(i if i < 50 else ("n/a" if i % 2 else 2.5), f"r{i}") for i in range(100)])
    frame = db.read_database(path, "readings").frame
    # As in a CSV, 'n/a' is a gap in a column of numbers.
    assert frame["a"].dtype == float and frame["a"].iloc[49] == 49 and frame["a"].iloc[50] == 2.5
    assert frame["a"].isna().sum() == 25 and len(frame) == 100


def test_semicolons_inside_quotes_are_one_statement() -> None:
    assert db._statements("SELECT ';' AS x, \"a;b\" FROM t; -- done; really\n") == 1
    assert db._statements("SELECT 1; SELECT 2") == 2


def test_duplicate_column_names_are_made_unique(shop: Path) -> None:
    table = db.read_database(shop, query="SELECT c.id, o.id, o.amount FROM customers c JOIN orders o "
                             "ON o.customer = c.id")
    assert list(table.frame.columns) == ["id", "id_1", "amount"]


def test_without_a_password_store_nothing_is_remembered() -> None:
    # This machine is headless: keyring has only its "fail" backend, so Studio asks each time.
    if can_remember():
        pytest.skip("this computer has a password store")
    assert not remember_password("postgresql://ann@host/shop", "secret")
    assert saved_password("postgresql://ann@host/shop") is None


def test_an_unreachable_server_is_said_within_seconds() -> None:
    port = _closed_port()
    started = time.perf_counter()
    with pytest.raises(DataError, match="could not reach the database server"):
        db.list_tables(db.login_for(f"postgresql://ann@127.0.0.1:{port}/shop", "pw"))
    assert time.perf_counter() - started < db.CONNECT_TIMEOUT_S + 5


def test_a_server_that_never_answers_is_said_after_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    # libpq waits at least 2 seconds; Studio's own limit is a few seconds more.
    monkeypatch.setitem(db._CONNECT_ARGS, "psycopg", {"connect_timeout": 2})
    with socket.socket() as silent:  # accepts the connection (the backlog does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(DataError, match=r"could not reach the database server .* did not answer within"):
            db.list_tables(db.login_for(f"postgresql://ann@127.0.0.1:{port}/shop", "pw"))
    assert time.perf_counter() - started < 2 + 5


def test_a_missing_driver_is_said_with_its_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pymysql(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pymysql"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pymysql)
    with pytest.raises(DataError, match=r'Reading MySQL needs the pymysql package.*pip install "pymysql"'):
        db.list_tables(db.login_for("mysql://ann@127.0.0.1/shop", "pw"))


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a real PostgreSQL server -------------------------------------------------------------------------------------
def test_postgres_tables_preview_and_read(postgres_server: PostgresServer) -> None:
    login = db.login_for(postgres_server.url(), postgres_server.password)
    catalog = db.list_tables(login)
    assert [(t.name, t.rows) for t in catalog.tables] == [("nothing", 0), ("oddities", 30), ("wine", 178)]
    source = db.DatabaseSource(login.url, query="SELECT alcohol, color_intensity, cultivar FROM wine "
                               "WHERE alcohol > 13")
    _, preview = drain(db.preview_job(login, source, rows=3))
    assert len(preview.frame) == 3 and preview.rows is not None and 0 < preview.rows < 178
    _, table = drain(db.read_job(login, source))
    assert len(table.frame) == preview.rows and table.frame["alcohol"].min() > 13
    assert table.path == f"{postgres_server.url()}#query={db.quote(source.query, safe=db.QUERY_SAFE)}"
    assert postgres_server.password not in table.path


def test_postgres_types_pandas_cannot_hold_are_left_out_in_words(postgres_server: PostgresServer) -> None:
    table = db.read_database(postgres_server.url(), "oddities", password=postgres_server.password)
    assert list(table.frame.columns) == ["id", "reading", "label", "taken", "tag"]
    assert table.frame["reading"].dtype == float and table.frame["reading"].iloc[0] == 1.25
    assert str(table.frame["taken"].dtype).startswith("datetime64")
    assert isinstance(table.frame["tag"].iloc[0], str)
    said = " ".join(table.notes)
    for words in ("'photo' holds binary data", "'sizes' holds lists", "'waited' holds time intervals"):
        assert words in said


@pytest.mark.parametrize(("password", "words"), [
    ("not-the-password", "refused the user name or password: check the password for studio"),
    (None, "asks for the password of studio"),
])
def test_postgres_wrong_or_missing_password(postgres_server: PostgresServer, password: str | None,
                                            words: str) -> None:
    with pytest.raises(db.LoginFailed, match=words):
        db.list_tables(db.login_for(postgres_server.url(), password))


class MemoryKeyring:
    """A password store in memory, standing in for the system's (macOS Keychain, Windows Credential Manager,
    Secret Service)."""

    def __init__(self) -> None:
        import keyring.backend

        class Backend(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def __init__(self) -> None:
                super().__init__()
                self.stored: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.stored.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.stored[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                self.stored.pop((service, username), None)

        self.backend = Backend()


def test_postgres_password_remembered_in_the_system_store_only(postgres_server: PostgresServer,
                                                               tmp_path: Path) -> None:
    import keyring

    memory = MemoryKeyring()
    before = keyring.get_keyring()
    keyring.set_keyring(memory.backend)
    try:
        assert can_remember()
        login = db.login_for(postgres_server.url(), postgres_server.password)
        drain(connect_job(login, remember=True))
        assert memory.backend.stored == {("Studio database", postgres_server.url()): postgres_server.password}
        # Next time no password is typed: the store's is used.
        _, catalog = drain(connect_job(db.login_for(postgres_server.url()), remember=False))
        assert "wine" in [t.name for t in catalog.tables]
    finally:
        keyring.set_keyring(before)
    assert saved_password(postgres_server.url()) is None  # back to this machine's: none


def test_postgres_bad_queries_and_no_database(postgres_server: PostgresServer) -> None:
    password = postgres_server.password
    with pytest.raises(DataError, match='The query failed: column "grapes" does not exist'):
        db.read_database(postgres_server.url(), query="SELECT grapes FROM wine", password=password)
    with pytest.raises(DataError, match="The table 'nothing' has no rows"):
        db.read_database(postgres_server.url(), "nothing", password=password)
    with pytest.raises(DataError, match=r"The query failed: .*(data-modifying|read-only)"):  # the server refuses
        db.read_database(postgres_server.url(), query="WITH gone AS (DELETE FROM wine RETURNING *) "
                            "SELECT * FROM gone", password=password)
    assert len(db.read_database(postgres_server.url(), "wine", password=password).frame) == 178
    with pytest.raises(DataError, match="The server has no database called 'cellar'"):
        db.list_tables(db.login_for(postgres_server.url().replace("/shop", "/cellar"), password))


# -- a real MariaDB server, spoken to as MySQL --------------------------------------------------------------------
def test_mysql_tables_preview_and_read_with_numbers_kept_as_text(mariadb_server: MariaDBServer) -> None:
    login = db.login_for(mariadb_server.url(), mariadb_server.password)
    assert [(t.name, t.rows) for t in db.list_tables(login).tables] == [("wine", 178)]
    source = db.DatabaseSource(login.url, query="SELECT alcohol_text, color_intensity, cultivar FROM wine "
                               "WHERE alcohol > 13")
    _, preview = drain(db.preview_job(login, source, rows=3))
    assert len(preview.frame) == 3 and preview.rows is not None and 0 < preview.rows < 178
    _, table = drain(db.read_job(login, source))
    assert len(table.frame) == preview.rows
    assert table.frame["alcohol_text"].dtype == float and table.frame["alcohol_text"].min() > 13
    assert mariadb_server.password not in table.path and quote(mariadb_server.password) not in table.path


def test_mysql_wrong_password_and_failing_query_in_words(mariadb_server: MariaDBServer) -> None:
    with pytest.raises(db.LoginFailed, match="refused the user name or password: check the password for studio"):
        db.list_tables(db.login_for(mariadb_server.url(), "not-the-password"))
    with pytest.raises(DataError, match=r"The query failed: .*Unknown column 'grapes'"):
        db.read_database(mariadb_server.url(), query="SELECT grapes FROM wine", password=mariadb_server.password)


def test_mysql_queries_run_in_read_only_transactions(mariadb_server: MariaDBServer) -> None:
    # The server itself refuses a query that would change a table, whatever its first word: a locking read
    # starts with SELECT, so only the server's read-only transaction stops it.
    with pytest.raises(DataError, match=r"The query failed: .*READ ONLY transaction"):
        db.read_database(mariadb_server.url(), query="SELECT * FROM wine FOR UPDATE",
                         password=mariadb_server.password)
    assert len(db.read_database(mariadb_server.url(), "wine", password=mariadb_server.password).frame) == 178
