"""The command line's database source: ``studio train shop.sqlite --table customers`` or
``studio predict model.skops postgresql://ann@host/shop --query "SELECT ..."``.

The password never goes on the command line (other users see it in the process list, and the shell keeps it in its
history): it comes from the STUDIO_DB_PASSWORD environment variable, the system's password store, or a prompt
when a terminal is there to type it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from studio.core.common.errors import StudioError

T = TypeVar("T")

if TYPE_CHECKING:
    from studio.core.data.database import DatabaseCatalog, DatabaseLogin, DatabaseTable


def add_database_arguments(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group(
        "reading a database", "DATA may be a SQLite file (shop.sqlite) or a database address "
        "(sqlite:///shop.sqlite, postgresql://user@host/database, mysql://user@host/database). The password comes "
        "from the STUDIO_DB_PASSWORD environment variable, the system's password store, or a prompt; never put it "
        "in the address.")
    group.add_argument("--table", metavar="NAME", help="the database table to read")
    group.add_argument("--query", metavar="SQL", help="a SELECT query whose rows are read instead of a table")


def names_database(args: argparse.Namespace, name: str) -> bool:
    """True when ``name`` is a database; --table or --query with a table file is refused in words."""
    from studio.core.data.database import is_database_location

    if is_database_location(name):
        return True
    if getattr(args, "table", None) or getattr(args, "query", None):
        raise StudioError(f"--table and --query read from a database, and {name} is a table file: give a SQLite "
                          "file (shop.sqlite) or a database address (postgresql://user@host/database).")
    return False


def read_database_table(args: argparse.Namespace, name: str) -> DatabaseTable:
    """The rows of ``--table`` or ``--query`` in the database ``name``, read with progress on stderr."""
    from studio.core.data import database as db

    if db.url_has_password(name):
        raise StudioError("Leave the password out of the database address: a command line can be seen by others "
                          f"and is kept in the shell's history. Put it in the {db.PASSWORD_VARIABLE} environment "
                          "variable instead, or let Studio ask for it.")
    table, query = getattr(args, "table", None) or "", getattr(args, "query", None) or ""
    if table and query:
        raise StudioError("Give --table NAME or --query SQL, not both.")
    if "#table=" in name or "#query=" in name:
        # A source as a run records it (the run history's data column): its table or query, unless one is given.
        recorded = db.DatabaseSource.from_text(name)
        name = recorded.url
        if not table and not query:
            table, query = recorded.table, recorded.query
    login = _login(name)
    if not table and not query:
        catalog, login = _with_password(login, db.list_tables)
        if len(catalog.tables) != 1:
            raise StudioError(_which_table(catalog))
        table = catalog.tables[0].name
    source = db.DatabaseSource(login.url, table, query)

    def read(current: DatabaseLogin) -> DatabaseTable:
        return _drive(db.read_job(current, source))

    try:
        loaded, _ = _with_password(login, read)
    except db.TooManyRows as exc:
        raise StudioError(f"{exc} On the command line, add LIMIT {exc.limit} to --query to read the first rows."
                          ) from exc
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    return loaded


def _login(name: str) -> DatabaseLogin:
    from studio.core.data import database as db
    from studio.core.data.passwords import saved_password

    login = db.login_for(name, os.environ.get(db.PASSWORD_VARIABLE) or None)
    if not login.is_sqlite and login.password is None:
        stored = saved_password(login.url)
        if stored is not None:
            login = replace(login, password=stored)
    return login


def _with_password(login: DatabaseLogin, work: Callable[[DatabaseLogin], T]) -> tuple[T, DatabaseLogin]:
    """``work(login)``; when the server wants a password that was not given, asked for once on a terminal."""
    from studio.core.data import database as db

    try:
        return work(login), login
    except db.LoginFailed as exc:
        if login.password is not None or not sys.stdin.isatty():
            raise StudioError(f"{exc} Set the {db.PASSWORD_VARIABLE} environment variable to the password."
                              ) from exc
    login = replace(login, password=getpass.getpass(f"Password for {login.place()}: "))
    return work(login), login


def _which_table(catalog: DatabaseCatalog) -> str:
    place = catalog.login.place()
    if not catalog.tables:
        return f"{place} has no tables: give --query SQL to read."
    shown = ", ".join(info.label() for info in catalog.tables[:20])
    more = f" and {len(catalog.tables) - 20} more" if len(catalog.tables) > 20 else ""
    return f"Name the table to read with --table NAME, or give --query SQL. {place} has: {shown}{more}."


def _drive(job: Generator[Any, None, DatabaseTable]) -> DatabaseTable:
    """The job run to its end, a line on stderr per stage (the chunks' counts on one line each ten)."""
    from studio.core.common.progress import Progress

    stage = ""
    shown = 0
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return finished.value
        if not isinstance(item, Progress) or item.stage != "Reading":
            continue  # connecting and counting are quick; a line for them would precede every error line
        if item.stage != stage or (item.fraction is not None and item.fraction >= shown / 10 + 0.1):
            print(f"{item.stage}: {item.message}" if item.message else item.stage, file=sys.stderr)
            shown = int((item.fraction or 0) * 10)
        stage = item.stage
