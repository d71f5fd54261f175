"""Tables from databases: SQLite files and any SQLAlchemy URL (PostgreSQL, MySQL, SQL Server).

A database is named by a *location*: a SQLite file (``shop.sqlite``) or a URL (``postgresql://ann@host/shop``).
The password never travels in it: it is a separate argument, kept out of every repr, setting and run record
(:class:`DatabaseSource` holds the URL without it). What to read is a table or a query.

Reading is a generator run by a worker: it counts the rows (so a huge result is refused in words before it is
read, with the choice to read its first rows), yields the first rows as soon as they arrive (:class:`FirstRows`),
then reads the rest in chunks with progress, checking ``should_stop`` between chunks. Values come back as a CSV's
would: numbers stored as text become numbers, dates become dates, and columns pandas cannot hold (blobs, arrays,
intervals) are left out with a sentence.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled, DataError, first_line
from studio.core.common.progress import InterruptibleCaller, Progress, StopCheck, never_stop, result_of
from studio.core.common.words import plural
from studio.core.data.tabular import MISSING_MARKERS, LoadedTable
from studio.core.data.tabular import _unique_names as unique_names

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".db3")
SQLITE_MAGIC = b"SQLite format 3\x00"
# A few million rows fit any desktop; past this many cells (or rows) the read is refused with the choice to read the
# first rows, rather than filling the memory and stalling the computer.
MAX_ROWS = 10_000_000
MAX_CELLS = 300_000_000
PREVIEW_ROWS = 100
# The first chunk is small so the first rows show at once; the later ones are large so reading stays fast.
FIRST_CHUNK_ROWS = 1_000
CHUNK_ROWS = 100_000
# Rows per Arrow batch from SQLite: the first chunk is one batch, so it stays small.
ARROW_BATCH_ROWS = 5_000
CONNECT_TIMEOUT_S = 5
# The first words of queries that read rows.
READING_WORDS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "(", "PRAGMA", "SHOW", "EXPLAIN", "DESCRIBE"})
PASSWORD_VARIABLE = "STUDIO_DB_PASSWORD"
# The drivers Studio installs as extras (wheels only: none of them compiles on install), by SQLAlchemy dialect.
DRIVERS = {"postgresql": ("psycopg", "psycopg[binary]", "PostgreSQL"),
           "mysql": ("pymysql", "pymysql", "MySQL"),
           "mariadb": ("pymysql", "pymysql", "MariaDB"),
           "mssql": ("pymssql", "pymssql", "SQL Server")}
_CONNECT_ARGS: dict[str, dict[str, Any]] = {
    "psycopg": {"connect_timeout": CONNECT_TIMEOUT_S},
    # Every transaction read-only, as PostgreSQL's below: the server refuses a query that changes a table, whatever
    # its first word.
    "pymysql": {"connect_timeout": CONNECT_TIMEOUT_S, "init_command": "SET SESSION TRANSACTION READ ONLY"},
    "pymssql": {"login_timeout": CONNECT_TIMEOUT_S},
}
# Spaces and SQL's punctuation stay readable in a recorded query; a '/' is encoded, so the text's last path part is
# the query (the run history shows that part as the data's name).
QUERY_SAFE = " *,=<>()!:;+-_.'\""
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+]*://")


class LoginFailed(DataError):  # noqa: N818 - reads as what happened, like the other DataErrors
    """The server refused the user name or password (or wants a password that was not given)."""


class TooManyRows(DataError):  # noqa: N818
    """More rows than Studio reads at once; ``rows`` is how many there are (at least), ``limit`` how many fit."""

    def __init__(self, message: str, rows: int, limit: int) -> None:
        super().__init__(message)
        self.rows = rows
        self.limit = limit


@dataclass(frozen=True)
class DatabaseLogin:
    """Where a database is and the password to open it with. The password is left out of the repr, so it appears
    in no log or traceback; only :attr:`url` (without it) is ever written down."""

    url: str
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def user(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).username or ""

    def place(self) -> str:
        """The database in a few words: the file's name, or user@host/database."""
        return describe_url(self.url)


@dataclass(frozen=True)
class DatabaseSource:
    """What was read: the URL without its password, and a table or a query. Its :meth:`as_text` is what a run
    records, and :meth:`from_text` reads it back, so prediction and retraining can read the same rows again."""

    url: str
    table: str = ""
    query: str = ""

    def __post_init__(self) -> None:
        if bool(self.table) == bool(self.query.strip()):
            raise DataError("Choose a table, or write a query (one of the two).")

    def as_text(self) -> str:
        if self.table:
            return f"{self.url}#table={quote(self.table, safe='')}"
        return f"{self.url}#query={quote(self.query.strip(), safe=QUERY_SAFE)}"

    @classmethod
    def from_text(cls, text: str) -> DatabaseSource:
        marker = max(text.rfind("#table="), text.rfind("#query="))
        url, what = (text[:marker], text[marker + 1:]) if marker >= 0 else (text, "")
        if what.startswith("table="):
            return cls(url, table=unquote(what.removeprefix("table=")))
        if what.startswith("query="):
            return cls(url, query=unquote(what.removeprefix("query=")))
        raise DataError(f"'{text}' does not name a database table or query.")

    def describe(self) -> str:
        place = describe_url(self.url)
        if self.table:
            return f"table '{self.table}' of {place}"
        return f"a query on {place}"


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int | None  # None: could not be counted (a view that fails, say)

    def label(self) -> str:
        return self.name if self.rows is None else f"{self.name} ({plural(self.rows, 'row')})"


@dataclass(frozen=True)
class DatabaseCatalog:
    """The tables (and views) of a database, with their row counts."""

    login: DatabaseLogin
    tables: tuple[TableInfo, ...]


@dataclass(frozen=True)
class DatabasePreview:
    """The first rows of a table or query, and how many rows it has in all (None: unknown)."""

    source: DatabaseSource
    frame: pd.DataFrame
    rows: int | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FirstRows:
    """Yielded while reading, once the first rows are in: the window shows them while the rest is read. The frame
    is a copy nobody changes."""

    frame: pd.DataFrame
    total_rows: int | None


@dataclass(frozen=True)
class DatabaseTable(LoadedTable):
    """A table read from a database: the rows, and the source they came from (its ``path`` is the source's text,
    which runs record)."""

    source: DatabaseSource = DatabaseSource("sqlite://", query="SELECT 1")
    notes: tuple[str, ...] = ()
    # Rows left unread because the person chose to read only the first ones.
    rows_left_out: int = 0

    @property
    def name(self) -> str:
        return self.source.table or "query"

    def describe_format(self) -> str:
        parts = [f"{len(self.frame):,} rows", f"{self.frame.shape[1]} columns",
                 f"from {self.source.describe()}"]
        if self.rows_left_out:
            parts.append(f"{self.rows_left_out:,} more rows not read")
        return ", ".join(parts)


# -- locations ----------------------------------------------------------------------------------------------------
def is_database_location(text: str | Path) -> bool:
    """True for a SQLAlchemy URL or a SQLite file (by its suffix, or by its first bytes)."""
    text = str(text)
    if _URL.match(text):
        return text.split(":", 1)[0].split("+", 1)[0].lower() in ("sqlite", *DRIVERS, "oracle")
    path = Path(text)
    if path.suffix.lower() in SQLITE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def login_for(location: str | Path, password: str | None = None) -> DatabaseLogin:
    """A login from a file or URL. A password written inside the URL is taken out of it (``password`` wins)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = str(location).strip()
    if not text:
        raise DataError("Give a database file or a database address (a URL such as postgresql://user@host/name).")
    if not _URL.match(text):
        path = Path(text).expanduser().resolve()
        return DatabaseLogin(f"sqlite:///{path}", None)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise DataError(f"'{text}' is not a database address Studio understands ({first_line(exc, 120)}). It looks "
                        "like postgresql://user@host:5432/database.") from exc
    inline = url.password
    if inline is not None:
        url = url._replace(password=None)  # set() reads None as "unchanged"
    return DatabaseLogin(url.render_as_string(hide_password=False), password if password is not None else
                         (str(inline) if inline is not None else None))


def url_has_password(text: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(_URL.match(text.strip())) and make_url(text.strip()).password is not None
    except Exception:
        return False


def describe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return url
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or "memory").name
    who = f"{parsed.username}@" if parsed.username else ""
    return f"{who}{parsed.host or 'localhost'}{f':{parsed.port}' if parsed.port else ''}/{parsed.database or ''}"


# -- connecting ---------------------------------------------------------------------------------------------------
def open_engine(login: DatabaseLogin) -> Engine:
    """An engine for the login, checked by connecting once; every failure is a sentence."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = make_url(login.url)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        database = url.database or ""
        if not database:
            raise DataError("Give the SQLite file to open.")
        _check_sqlite_file(Path(database))
        # Read-only: a query can never change the file, and a mistyped name is refused rather than created.
        url = url.set(database=f"file:{quote(database)}?mode=ro", query={"uri": "true"})
    else:
        if backend in DRIVERS and "+" not in url.drivername:
            url = url.set(drivername=f"{backend}+{DRIVERS[backend][0]}")
        if login.password is not None:
            url = url.set(password=login.password)
        connect_args = dict(_CONNECT_ARGS.get(url.get_driver_name(), {}))
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=False)
    except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise DataError(_missing_driver(backend)) from exc
    except ArgumentError as exc:
        raise DataError(f"Studio cannot open {describe_url(login.url)}: {first_line(exc, 160)}.") from exc
    try:
        with engine.connect():
            pass
    except Exception as exc:
        engine.dispose()
        raise connection_error(exc, login) from exc
    return engine


def _check_sqlite_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"There is no file at {path}.")
    if path.is_dir():
        raise DataError(f"{path.name} is a folder, not a database file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise DataError(f"Studio cannot read {path.name}: {exc.strerror or exc}.") from exc
    if head != SQLITE_MAGIC:
        raise DataError(f"{path.name} is not a SQLite database (its first bytes say otherwise). Open a .sqlite or "
                        ".db file made by SQLite, or a table file with 'Open a file…'.")


def _missing_driver(backend: str) -> str:
    if backend in DRIVERS:
        module, package, name = DRIVERS[backend]
        return (f"Reading {name} needs the {module} package, which is not installed. Install it with "
                f"pip install \"{package}\" and try again.")
    return f"Studio has no driver for '{backend}' databases. It reads SQLite, PostgreSQL, MySQL and SQL Server."


def connection_error(exc: BaseException, login: DatabaseLogin) -> DataError:
    """A failed connection in words: wrong password, no server, no such database."""
    if isinstance(exc, ImportError | ModuleNotFoundError):
        from sqlalchemy.engine import make_url

        return DataError(_missing_driver(make_url(login.url).get_backend_name()))
    original = getattr(exc, "orig", None) or exc
    detail = str(original).strip()
    lowered = detail.lower()
    place = login.place()
    user = login.user or "this user"
    if any(words in lowered for words in ("password authentication failed", "access denied for user",
                                          "login failed for user", "authentication failed")):
        return LoginFailed(f"{place} refused the user name or password: check the password for {user}.")
    if "no password supplied" in lowered or "password is required" in lowered:
        return LoginFailed(f"{place} asks for the password of {user}.")
    if ("does not exist" in lowered and "database" in lowered) or "unknown database" in lowered:
        return DataError(f"The server has no database called '{_database_name(login.url)}'. Check its name.")
    if any(words in lowered for words in ("timeout expired", "timed out", "connection refused", "could not connect",
                                          "can't connect", "could not translate host name", "name or service not known",
                                          "nodename nor servname", "no route to host", "network is unreachable",
                                          "connection failed")):
        waited = (f" (it did not answer within {CONNECT_TIMEOUT_S} seconds)"
                  if "timeout expired" in lowered or "timed out" in lowered else "")
        return DataError(f"Studio could not reach the database server of {place}{waited}. Check the address and "
                         "port, and that the server is running and lets this computer in "
                         f"({first_line(original, 160)}).")
    if "unable to open database" in lowered or "file is not a database" in lowered:
        return DataError(f"{place} could not be opened as a SQLite database ({first_line(original, 160)}).")
    return DataError(f"Studio could not connect to {place}: {first_line(original, 200)}")


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or ""


@contextmanager
def _connection(login: DatabaseLogin) -> Iterator[Connection]:
    engine = open_engine(login)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # A query that would change data is refused by the server.
                connection = connection.execution_options(postgresql_readonly=True)
            yield connection
    finally:
        engine.dispose()


# -- listing ------------------------------------------------------------------------------------------------------
def list_tables_job(login: DatabaseLogin, should_stop: StopCheck = never_stop
                    ) -> Generator[Progress, None, DatabaseCatalog]:
    """The tables and views of a database with their row counts, as a job for a worker."""
    from sqlalchemy import inspect

    yield Progress("Connecting", None, f"Connecting to {login.place()}")
    with _connection(login) as connection, InterruptibleCaller(should_stop) as call:
        inspector = inspect(connection)
        try:
            names = sorted(inspector.get_table_names()) + sorted(inspector.get_view_names())
        except Exception as exc:
            raise DataError(f"Studio could not list the tables of {login.place()}: {_why(exc)}") from exc
        tables = []
        for index, name in enumerate(names):
            yield Progress("Counting rows", index / max(len(names), 1), f"Counting the rows of {name}")
            rows = call(partial(_count_or_none, connection, _table_sql(connection, name)))
            tables.append(TableInfo(name, rows))
    return DatabaseCatalog(login, tuple(tables))


def _table_sql(connection: Connection, table: str) -> str:
    return f"SELECT * FROM {connection.dialect.identifier_preparer.quote(table)}"


def source_sql(connection: Connection, source: DatabaseSource) -> str:
    if source.table:
        return _table_sql(connection, source.table)
    query = source.query.strip().rstrip(";").strip()
    first = query.split(None, 1)[0].upper() if query else ""
    if first not in READING_WORDS:
        # Refused before it reaches the server: besides the read-only connection, a query that changes data
        # must never run by mistake from a preview.
        raise DataError(f"Studio only reads data: write a query that starts with SELECT (this one starts with "
                        f"{first or 'nothing'}).")
    if _statements(query) > 1:
        raise DataError("Write one query: Studio reads the rows of a single SELECT (this text holds several "
                        "statements, separated by ';').")
    return query


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _statements(sql: str) -> int:
    """How many statements ``sql`` holds: its semicolons outside quotes and comments, plus one."""
    count, quote_char, index = 1, "", 0
    while index < len(sql):
        char = sql[index]
        if quote_char:
            if char == quote_char:
                quote_char = ""
        elif char in "'\"`":
            quote_char = char
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            index = len(sql) if end < 0 else end + 1
        elif char == ";" and _COMMENTS.sub("", sql[index + 1:]).strip():
            count += 1
        index += 1
    return count


def _count(connection: Connection, sql: str) -> int:
    from sqlalchemy import text

    return int(connection.execute(text(f"SELECT COUNT(*) FROM ({sql}) AS studio_rows")).scalar_one())


def _count_or_none(connection: Connection, sql: str) -> int | None:
    """The rows ``sql`` returns, or None when the database cannot count them (a query that is no SELECT)."""
    try:
        return _count(connection, sql)
    except Exception:
        connection.rollback()  # a failed statement leaves PostgreSQL's transaction unusable
        return None


def _why(exc: BaseException) -> str:
    return first_line(getattr(exc, "orig", None) or exc, 240)


# -- reading ------------------------------------------------------------------------------------------------------
def preview_job(login: DatabaseLogin, source: DatabaseSource, rows: int = PREVIEW_ROWS,
                should_stop: StopCheck = never_stop) -> Generator[Progress, None, DatabasePreview]:
    """The first ``rows`` rows of a table or query and its row count, as a job: what the person sees before
    loading. A query that fails or returns nothing is said here."""
    yield Progress("Connecting", None, f"Connecting to {login.place()}")
    with _connection(login) as connection, InterruptibleCaller(should_stop) as call:
        sql = source_sql(connection, source)
        yield Progress("Reading", None, "Reading the first rows")
        with _results(connection, sql, source, call) as (names, fetch):
            frame = _frame(call(lambda: fetch(rows)), names)
        yield Progress("Counting rows", None, "Counting the rows")
        total = call(lambda: _count_or_none(connection, sql))
    if frame.empty:
        raise DataError(_no_rows(source))
    frame, notes = as_csv_values(frame)
    return DatabasePreview(source, frame, total, notes)


Fetch = Callable[[int], list[tuple]]


@contextmanager
def _results(connection: Connection, sql: str, source: DatabaseSource, call: InterruptibleCaller
             ) -> Iterator[tuple[list[str], Fetch]]:
    """The column names and a ``fetch(n)`` of the rows of ``sql``, streamed from the server (a server-side cursor
    where the database has one), so a big result is never held twice."""
    from sqlalchemy import text

    def execute() -> Any:
        return connection.execution_options(stream_results=True).execute(text(sql))

    try:
        result = call(execute)
    except Cancelled:
        raise
    except Exception as exc:
        connection.rollback()
        raise _query_error(exc, source) from exc
    if not result.returns_rows:
        result.close()
        raise DataError("The query returns no table: write a SELECT that returns rows.")
    names = [str(name) for name in result.keys()]  # noqa: SIM118 - a result is no dict
    # Without server-side cursors (SQLite) nothing is buffered in between, so the driver's cursor is read directly:
    # its plain tuples become columns faster than SQLAlchemy's rows. A streamed result has rows buffered in
    # SQLAlchemy already, so it is read through the result.
    cursor = result if connection.dialect.supports_server_side_cursors else result.cursor

    def fetch(count: int) -> list[tuple]:
        try:
            return list(cursor.fetchmany(count))
        except Exception as exc:
            raise _query_error(exc, source) from exc

    try:
        yield names, fetch
    finally:
        result.close()


def _query_error(exc: BaseException, source: DatabaseSource) -> DataError:
    if isinstance(exc, DataError):
        return exc
    if source.table:
        return DataError(f"Studio could not read the table '{source.table}': {_why(exc)}")
    return DataError(f"The query failed: {_why(exc)}")


def _no_rows(source: DatabaseSource) -> str:
    if source.table:
        return f"The table '{source.table}' has no rows."
    return "The query returned no rows: check its WHERE conditions, or try it on a table you know has rows."


def _frame(rows: list[tuple], names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=range(len(names)), coerce_float=True, nrows=len(rows))
    frame.columns = pd.Index(names)
    return frame


def read_job(login: DatabaseLogin, source: DatabaseSource, should_stop: StopCheck = never_stop,
             first_rows: int | None = None, max_rows: int = MAX_ROWS
             ) -> Generator[Progress | FirstRows, None, DatabaseTable]:
    """Read a table or query as a job for a worker: counted first, then read in chunks with progress.

    ``first_rows``: read only this many (the person chose to read the first rows of a result too large to read
    whole). Without it, a result of more than ``max_rows`` rows (or cells past :data:`MAX_CELLS`) raises
    :class:`TooManyRows` before any row is read; an uncounted one, as soon as it passes the limit.

    A SQLite file is read through Arrow (ADBC's SQLite driver, several times faster than row tuples) when the
    driver is installed and the columns keep one type each; a column that mixes types (SQLite allows it) is read
    again the plain way, which takes any value.
    """
    try:
        return (yield from _read(login, source, should_stop, first_rows, max_rows, arrow=True))
    except _ArrowGaveUp:
        return (yield from _read(login, source, should_stop, first_rows, max_rows, arrow=False))


def _read(login: DatabaseLogin, source: DatabaseSource, should_stop: StopCheck, first_rows: int | None,
          max_rows: int, arrow: bool) -> Generator[Progress | FirstRows, None, DatabaseTable]:
    yield Progress("Connecting", None, f"Connecting to {login.place()}")
    chunks: list[pd.DataFrame] = []
    read = 0
    with _connection(login) as connection, InterruptibleCaller(should_stop) as call:
        sql = source_sql(connection, source)
        yield Progress("Counting rows", None, "Counting the rows")
        total = call(lambda: _count_or_none(connection, sql))
        if total == 0:
            raise DataError(_no_rows(source))
        with _chunks(connection, sql, source, call, arrow) as (names, next_chunk):
            if first_rows is None:
                limit = min(max_rows, max(1, MAX_CELLS // max(len(names), 1)))
                if total is not None and total > limit:
                    raise TooManyRows(_too_many(total, limit, source), total, limit)
                stop_at = limit + 1  # uncounted: one row past the limit tells that the result is too large
            else:
                limit = stop_at = first_rows
            wanted = total if first_rows is None or total is None else min(first_rows, total)
            size = FIRST_CHUNK_ROWS
            while read < stop_at:
                chunk = next_chunk(min(size, stop_at - read))
                if chunk is None or chunk.empty:
                    break
                if read + len(chunk) > stop_at:
                    chunk = chunk.iloc[:stop_at - read]
                chunks.append(chunk)
                read += len(chunk)
                if read > limit:
                    raise TooManyRows(_too_many(read, limit, source, at_least=True), read, limit)
                if len(chunks) == 1:
                    yield FirstRows(as_csv_values(chunk.copy())[0], wanted)
                yield Progress("Reading", min(read / wanted, 1.0) if wanted else None,
                               f"{read:,} of {wanted:,} rows" if wanted else f"{read:,} rows")
                if should_stop():
                    raise Cancelled()
                size = CHUNK_ROWS
    if not chunks:
        raise DataError(_no_rows(source))
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
    yield Progress("Reading", 1.0, "Recognising numbers and dates")
    frame, notes = as_csv_values(frame)
    if frame.shape[1] == 0:
        raise DataError(f"The rows from {source.describe()} have no columns Studio can use. " + " ".join(notes))
    left_out = total - read if first_rows is not None and total is not None and total > read else 0
    return DatabaseTable(frame=frame, path=source.as_text(), encoding=None, delimiter=None, source=source,
                         notes=notes, rows_left_out=left_out)


class _ArrowGaveUp(Exception):  # noqa: N818 - an event, like StopIteration
    """The Arrow reader could not read this SQLite result (a column mixing types): read it the plain way."""


NextChunk = Callable[[int], pd.DataFrame | None]


@contextmanager
def _chunks(connection: Connection, sql: str, source: DatabaseSource, call: InterruptibleCaller, arrow: bool
            ) -> Iterator[tuple[list[str], NextChunk]]:
    """The column names and a ``next_chunk(n)`` giving about ``n`` more rows as a frame (None at the end)."""
    if arrow and connection.dialect.name == "sqlite" and _has_arrow_sqlite():
        with _arrow_chunks(connection, sql, call) as found:
            yield found
        return
    with _results(connection, sql, source, call) as (names, fetch):

        def next_chunk(count: int) -> pd.DataFrame | None:
            rows = call(partial(fetch, count))
            return _frame(rows, names) if rows else None

        yield names, next_chunk


def _has_arrow_sqlite() -> bool:
    import importlib.util

    return importlib.util.find_spec("adbc_driver_sqlite") is not None


@contextmanager
def _arrow_chunks(connection: Connection, sql: str, call: InterruptibleCaller
                  ) -> Iterator[tuple[list[str], NextChunk]]:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    database = str(connection.engine.url.database or "")  # already "file:<path>?mode=ro"

    def start() -> Any:
        opened = adbc.connect(f"{database}?mode=ro" if "mode=ro" not in database else database)
        try:
            cursor = opened.cursor()
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(ARROW_BATCH_ROWS)})
            cursor.execute(sql)
            # The cursor is kept with the reader: once collected, it closes the stream the reader reads.
            return opened, cursor, cursor.fetch_record_batch()
        except BaseException:
            opened.close()
            raise

    try:
        opened, cursor, reader = call(start)
    except Cancelled:
        raise
    except Exception as exc:  # the plain reader says what is wrong (or reads it)
        raise _ArrowGaveUp() from exc

    def read_batches(count: int) -> pd.DataFrame | None:
        batches = []
        rows = 0
        while rows < count:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except Exception as exc:  # a value of another type than the column's first ones
                raise _ArrowGaveUp() from exc
            batches.append(batch)
            rows += batch.num_rows
        return pa.Table.from_batches(batches, schema=reader.schema).to_pandas() if batches else None

    try:
        yield [str(name) for name in reader.schema.names], lambda count: call(partial(read_batches, count))
    finally:
        reader.close()
        cursor.close()
        opened.close()


def _too_many(rows: int, limit: int, source: DatabaseSource, at_least: bool = False) -> str:
    what = f"The table '{source.table}'" if source.table else "The query"
    count = f"more than {limit:,}" if at_least else f"{rows:,}"
    return (f"{what} has {count} rows, more than Studio reads at once ({limit:,}). Read its first {limit:,} rows, "
            "or narrow the query (a WHERE condition, or LIMIT).")


def read_database(location: str | Path, source_table: str = "", query: str = "", password: str | None = None,
                  first_rows: int | None = None) -> DatabaseTable:
    """Read a table or query at once (for scripts and the command line)."""
    login = login_for(location, password)
    return result_of(read_job(login, DatabaseSource(login.url, source_table, query), first_rows=first_rows))


def list_tables(login: DatabaseLogin) -> DatabaseCatalog:
    return result_of(list_tables_job(login))


# -- values -------------------------------------------------------------------------------------------------------
_PLAIN_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_MISSING = frozenset(MISSING_MARKERS)
_SNIFF = 1_000


def as_csv_values(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The frame with its values as a CSV of the same rows would hold them, and notes on what was left out.

    SQLite keeps whatever it is given, so numbers often arrive as text ('3.5'), with '' or 'NA' for a gap: such a
    column becomes numbers, as ``read_csv`` would make it. Text that is numbers only in part ('1,234', 'n/a') is
    left as text for the profile to recognise, as it does for a CSV. Dates become dates, decimals and UUIDs plain
    values; blobs, arrays and intervals, which no model reads, are left out with a sentence. Column names are made
    unique (a join often returns two 'id' columns), as for a file.
    """
    names = unique_names([str(c) for c in frame.columns])
    notes = []
    keep: dict[str, pd.Series] = {}
    for position, name in enumerate(names):
        converted, why = _as_csv_column(frame.iloc[:, position])
        if why:
            notes.append(f"The column '{name}' {why}, which Studio cannot learn from; it was left out.")
        else:
            keep[name] = converted.rename(name)
    return pd.DataFrame(keep, index=frame.index), tuple(notes)


def _as_csv_column(series: pd.Series) -> tuple[pd.Series, str]:
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return series, "holds time intervals (convert them to a number of days or hours in the query)"
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:  # text only (pandas' str dtype)
        return _numbers_from_text(series), ""
    if series.dtype != object:
        return series, ""
    present = series.dropna()
    if present.empty:
        return series.astype(float), ""
    sample = present.iloc[:_SNIFF]
    types = {type(value) for value in sample}
    if types & {bytes, bytearray, memoryview}:
        return series, "holds binary data (pictures or files)"
    if types & {list, tuple, dict}:
        return series, "holds lists or nested values (arrays or JSON)"
    if types & {dt.timedelta}:
        return series, "holds time intervals (convert them to a number of days or hours in the query)"
    if types <= {dt.date, dt.datetime, pd.Timestamp} and types:
        return pd.to_datetime(series, errors="coerce"), ""
    if types & {decimal.Decimal}:
        return pd.to_numeric(series, errors="coerce"), ""
    if types & {uuid.UUID}:
        return series.map(lambda value: str(value) if value is not None and value == value else None), ""
    if types <= {str, int, float, bool} and str in types:
        return _numbers_from_text(series), ""
    return series, ""


def _numbers_from_text(series: pd.Series) -> pd.Series:
    """Text that is all plain numbers (gaps and missing markers aside) as numbers; anything else unchanged."""
    head = series.dropna().iloc[:_SNIFF]
    if not all(_PLAIN_NUMBER.match(v) or v.strip() in _MISSING if isinstance(v, str) else True for v in head):
        return series  # a column of words, decided on its first values without touching the rest
    values = series.to_numpy(dtype=object)
    is_text = series.notna().to_numpy() if series.dtype != object else \
        np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    text = values[is_text]
    stripped = pd.Series(text, dtype=object).str.strip()
    gap = stripped.isin(_MISSING).to_numpy()
    numbers = pd.to_numeric(stripped.where(~gap), errors="coerce")
    if int(numbers.isna().sum()) != int(gap.sum()):  # some text further down is no number: keep the column's text
        return series
    result = values.copy()
    result[np.flatnonzero(is_text)] = numbers.to_numpy(dtype=object)
    converted = pd.to_numeric(pd.Series(result, index=series.index, name=series.name), errors="coerce")
    if converted.isna().sum() != series.isna().sum() + int(gap.sum()):
        return series
    return converted
