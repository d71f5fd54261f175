"""A real MariaDB server (MySQL's protocol) for the database tests: one per test session, in a temporary folder,
on a loopback port, loaded with a real table (scikit-learn's wine measurements, one column of them stored as text,
as exports often leave numbers).

As root the server runs as root (``--user=root``, which MariaDB allows when asked by name). Without MariaDB or
MySQL installed (Debian's ``mariadb-server``), or without the pymysql driver, the tests that use it are skipped
with the reason. Qt-free, so the core tests can use it.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "wine cellar 7"  # a space: the URL must carry it encoded, never as typed
USER = "studio"
DATABASE = "shop"
READY_S = 60


@dataclass(frozen=True)
class MariaDBServer:
    port: int
    user: str = USER
    password: str = PASSWORD
    database: str = DATABASE

    def url(self) -> str:
        return f"mysql://{self.user}@127.0.0.1:{self.port}/{self.database}"


def _program(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next((str(Path(folder) / name) for folder in ("/usr/sbin", "/usr/bin")
                                            if (Path(folder) / name).exists()), None)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server() -> Iterator[MariaDBServer]:
    """Start a server, load its table, yield it, and stop it (with its folder) afterwards."""
    server_program = _program("mariadbd", "mysqld")
    install = _program("mariadb-install-db", "mysql_install_db")
    if server_program is None or install is None:
        pytest.skip("MariaDB is not installed: apt-get install mariadb-server runs these tests")
    pytest.importorskip("pymysql", reason="the pymysql driver (Studio's mysql extra) is not installed")
    folder = Path(tempfile.mkdtemp(prefix="studio-mariadb-"))
    data, socket_path = folder / "data", folder / "socket"
    user = "root" if os.geteuid() == 0 else getpass.getuser()
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([install, "--no-defaults", f"--datadir={data}", f"--user={user}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=180)
        port = _free_port()
        log = (folder / "log").open("wb")
        server = subprocess.Popen(
            [server_program, "--no-defaults", f"--datadir={data}", f"--user={user}", f"--port={port}",
             "--bind-address=127.0.0.1", f"--socket={socket_path}", f"--pid-file={folder / 'pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--innodb-flush-log-at-trx-commit=0"],
            stdout=log, stderr=subprocess.STDOUT)
        _load(port, socket_path, server)
        yield MariaDBServer(port)
    finally:
        if server is not None:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(30)
            if server.poll() is None:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _load(port: int, socket_path: Path, server: subprocess.Popen[bytes]) -> None:
    import pymysql
    from sklearn.datasets import load_wine
    from sqlalchemy import create_engine
    from sqlalchemy.engine import URL

    ready_by = time.monotonic() + READY_S
    while True:
        try:
            admin = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)
            break
        except pymysql.err.OperationalError:
            if server.poll() is not None or time.monotonic() > ready_by:
                raise RuntimeError("MariaDB did not start: see its log in the test's temporary folder") from None
            time.sleep(0.2)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {DATABASE}")
        cursor.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (PASSWORD,))
        cursor.execute(f"GRANT ALL ON {DATABASE}.* TO '{USER}'@'127.0.0.1'")
    admin.close()
    wine = load_wine(as_frame=True)
    frame = wine.frame.copy()
    frame["cultivar"] = [f"cultivar_{int(v)}" for v in frame.pop("target")]
    frame.columns = [str(c).replace("/", "_") for c in frame.columns]
    frame["alcohol_text"] = [f"{value:.2f}" for value in frame["alcohol"]]  # numbers kept as text
    engine = create_engine(URL.create("mysql+pymysql", USER, PASSWORD, "127.0.0.1", port, DATABASE))
    with engine.begin() as connection:
        frame.to_sql("wine", connection, index=False)
    engine.dispose()
