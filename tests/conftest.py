"""Suite-wide setup, free of Qt so the core tests run where PySide6 is not installed.

The Qt fixtures live with the tests that use them: tests/ui, tests/workers and tests/perf.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Qt draws offscreen, so the window tests need no screen. Set before pytest-qt creates the QApplication, which
# happens lazily in the first Qt test.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def _data_dir_for_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For fixtures wider than one test (a module's trained model): the per-test folders below come later."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_DATA_DIR", str(tmp_path_factory.mktemp("session-data")))
        patch.setenv("STUDIO_SETTINGS_DIR", str(tmp_path_factory.mktemp("session-settings")))
        yield


@pytest.fixture(autouse=True)
def _data_dir_in_tmp_path(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run history and settings never land in the real user folders, from the window, the CLI or a child."""
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("STUDIO_SETTINGS_DIR", str(tmp_path_factory.mktemp("settings")))


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a computer where Studio was installed without its neural-network part (PyTorch)."""
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        return None if name.split(".")[0] == "torch" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A real PostgreSQL server for the database tests (tests/postgres.py); skipped where none is installed."""
    from tests.postgres import start_server

    yield from start_server()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[object]:
    """A real MariaDB server, spoken to as MySQL (tests/mariadb.py); skipped where none is installed."""
    from tests.mariadb import start_server

    yield from start_server()
