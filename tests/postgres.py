"""A real PostgreSQL server for the database tests: one per test session, in a temporary folder, on a loopback
port, loaded with a real table (scikit-learn's wine measurements) and a table of types pandas cannot hold.

PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user that Debian's package makes
(or a user made here with ``useradd``). Without PostgreSQL installed, the tests that use it are skipped with the
reason. Qt-free, so the core tests can use it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "wine-cellar-7"
USER = "studio"
DATABASE = "shop"
SERVER_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str = USER
    password: str = PASSWORD
    database: str = DATABASE

    def url(self, with_password: bool = False) -> str:
        secret = f":{self.password}" if with_password else ""
        return f"postgresql://{self.user}{secret}@127.0.0.1:{self.port}/{self.database}"


def _bin_folder() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(Path(f).parent.name))
    return Path(folders[-1]) if folders and (Path(folders[-1]) / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_user() -> str | None:
    """Who runs the server: ourselves when not root, else the postgres user (made when missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True)
    return SERVER_USER


def _run(command: list[str], user: str | None) -> None:
    full = ["runuser", "-u", user, "--", *command] if user else command
    done = subprocess.run(full, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:1])} failed: {done.stderr.strip() or done.stdout.strip()}")


def start_server() -> Iterator[PostgresServer]:
    """Start a server, load its tables, yield it, and stop it (with its folder) afterwards."""
    binaries = _bin_folder()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (no initdb): apt-get install postgresql runs these tests")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="studio-postgres-"))
    data = folder / "data"
    started = False
    try:
        secret = folder / "password"
        secret.write_text("postgres-admin\n")
        if user:
            shutil.chown(folder, user)
            shutil.chown(secret, user)
        _run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
              f"--pwfile={secret}", "-E", "UTF8", "--no-sync"], user)
        port = _free_port()
        options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                   "-c synchronous_commit=off")
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o", options,
              "start"], user)
        started = True
        server = PostgresServer(port)
        _load(server)
        yield server
    finally:
        if started:
            with contextlib.suppress(Exception):
                _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
        shutil.rmtree(folder, ignore_errors=True)


def _load(server: PostgresServer) -> None:
    from sklearn.datasets import load_wine
    from sqlalchemy import create_engine, text

    admin = create_engine(f"postgresql+psycopg://postgres:postgres-admin@127.0.0.1:{server.port}/postgres",
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {server.user} LOGIN PASSWORD '{server.password}'"))
        connection.execute(text(f"CREATE DATABASE {server.database} OWNER {server.user}"))
    admin.dispose()
    engine = create_engine(server.url(with_password=True).replace("postgresql://", "postgresql+psycopg://"))
    wine = load_wine(as_frame=True)
    frame = wine.frame.copy()
    frame["cultivar"] = [f"cultivar_{int(v)}" for v in frame.pop("target")]
    frame.columns = [str(c).replace("/", "_") for c in frame.columns]
    with engine.begin() as connection:
        frame.to_sql("wine", connection, index=False)
        connection.execute(text(
            "CREATE TABLE oddities (id integer, reading numeric(8, 3), label text, taken date, photo bytea, "
            "sizes integer[], waited interval, tag uuid)"))
        connection.execute(text(
            "INSERT INTO oddities SELECT i, i * 1.25, 'label ' || (i % 3), DATE '2024-01-01' + i, "
            "'\\x00ff'::bytea, ARRAY[i, i + 1], make_interval(hours => i), gen_random_uuid() "
            "FROM generate_series(1, 30) AS i"))
        connection.execute(text("CREATE TABLE nothing (a integer)"))
    engine.dispose()
