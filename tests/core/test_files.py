"""Atomic writes: the saved file gets the permissions an ordinary save would give, and a failure changes nothing."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studio.core.common.files import atomic_write

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="Windows files have no POSIX permission bits")


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    """``umask(mask)`` sets the process umask for one test; the old one comes back after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_bytes(data: bytes):
    return lambda handle: handle.write(data)


@posix_only
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_file_gets_the_mode_an_ordinary_open_gives(tmp_path: Path, umask: Callable[[int], int], mask: int,
                                                       expected: int) -> None:
    umask(mask)
    path = tmp_path / "predictions.csv"
    atomic_write(path, write_bytes(b"a,b\n1,2\n"))
    assert mode_of(path) == expected
    ordinary = tmp_path / "ordinary.csv"
    with open(ordinary, "w"):
        pass
    assert mode_of(ordinary) == expected
    assert path.read_bytes() == b"a,b\n1,2\n"


@posix_only
@pytest.mark.parametrize("existing", [0o600, 0o640, 0o664])
def test_replacing_a_file_keeps_its_mode(tmp_path: Path, umask: Callable[[int], int], existing: int) -> None:
    umask(0o022)
    path = tmp_path / "model.joblib"
    path.write_bytes(b"old")
    path.chmod(existing)
    atomic_write(path, write_bytes(b"new"))
    assert path.read_bytes() == b"new"
    assert mode_of(path) == existing


@posix_only
def test_the_umask_is_left_as_it_was(tmp_path: Path, umask: Callable[[int], int]) -> None:
    umask(0o027)
    atomic_write(tmp_path / "a.txt", write_bytes(b"x"))
    assert os.umask(0o027) == 0o027


def test_failing_write_leaves_the_old_content_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    path.write_bytes(b"old content")

    def half_then_fail(handle) -> None:
        handle.write(b"half of the new")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


def test_failing_first_write_leaves_nothing(tmp_path: Path) -> None:
    def fail(handle) -> None:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        atomic_write(tmp_path / "new.csv", fail)
    assert list(tmp_path.iterdir()) == []


def test_creates_the_folder_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.bin"
    atomic_write(path, write_bytes(b"one"))
    atomic_write(path, write_bytes(b"two\r\n"))
    assert path.read_bytes() == b"two\r\n"  # bytes as given: no newline translation
    assert [p.name for p in path.parent.iterdir()] == ["out.bin"]


def test_temp_name_taken_by_someone_else_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import studio.core.common.temp_files as temp_files

    tokens = iter(["taken", "free"])
    monkeypatch.setattr(temp_files.secrets, "token_hex", lambda n: next(tokens))
    squatter = tmp_path / f".out.csv.{os.getpid()}-taken.studio-tmp"
    squatter.write_bytes(b"someone else's")
    atomic_write(tmp_path / "out.csv", write_bytes(b"mine"))
    assert (tmp_path / "out.csv").read_bytes() == b"mine"
    assert squatter.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == [squatter.name, "out.csv"]
