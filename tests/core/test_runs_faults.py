"""The run history under faults, each checking that nothing is lost: a file that is not a history is refused and
left alone, a history locked by another program keeps its runs aside until it is free, a full disk keeps them in
memory, a damaged row is left out and named, a history from a newer Studio opens read-only, an older one is
migrated with every run kept."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import studio.core.store.runs as runs_module
from studio.cli import run_cli
from studio.core.store.runs import SCHEMA_VERSION, HistoryRefusedError, RunsKeptAsideError, RunStore

ROOT = Path(__file__).resolve().parents[2]


def small_run(index: int = 0) -> dict:
    return {"created": "2026-01-01T00:00:00", "target": "y", "task": "regression", "model_key": "knn",
            "model_label": "k-nearest neighbours", "params": {"n_neighbors": index}, "prep": {"columns": []},
            "split": {"seed": 1}, "duration_s": 0.1, "metrics": {"test": {"mae": float(index)}},
            "history": [], "details": {}, "versions": {"studio": "x"}}


@pytest.fixture
def history(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / "runs.sqlite3")
    store.add_many([small_run(i) for i in range(1, 4)])
    return store


@pytest.fixture
def quick_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_module, "BUSY_TIMEOUT_S", 0.2)


def held_by_another_program(path: Path) -> Iterator[sqlite3.Connection]:
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield locker
    finally:
        locker.close()


def test_an_existing_text_file_is_refused_in_words_and_never_renamed(tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("my notes, not a database\n", encoding="utf-8")
    with pytest.raises(HistoryRefusedError, match="not a Studio run history") as refused:
        RunStore(notes)
    assert "leaves it as it is" in str(refused.value)
    assert notes.read_text(encoding="utf-8") == "my notes, not a database\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.sqlite3"]


def test_a_new_path_and_an_empty_file_become_histories(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    for path in (tmp_path / "new" / "runs.sqlite3", empty):
        store = RunStore(path)
        store.add(small_run(1))
        assert RunStore(path).count() == 1


def test_a_locked_history_keeps_the_run_aside_and_adds_it_once_free(history: RunStore,
                                                                     quick_lock_wait: None) -> None:
    locker_context = held_by_another_program(history.path)
    next(locker_context)
    with pytest.raises(RunsKeptAsideError, match=r"in use by another program.*kept in runs\.sqlite3\.pending\.jsonl"):
        history.add(small_run(4))
    assert history.has_pending() and history.count() == 3  # still readable while locked
    assert history.flush_pending.__doc__  # (the window's retry calls it)
    with pytest.raises(sqlite3.OperationalError):
        history.flush_pending()  # still locked: kept
    locker_context.close()

    assert history.flush_pending() == 1
    assert not history.has_pending()
    assert [r.params["n_neighbors"] for r in history.all()] == [4, 3, 2, 1]


def test_a_run_kept_aside_goes_in_first_with_the_next_run(history: RunStore, quick_lock_wait: None) -> None:
    locker_context = held_by_another_program(history.path)
    next(locker_context)
    with pytest.raises(RunsKeptAsideError):
        history.add(small_run(4))
    locker_context.close()
    new_id = history.add(small_run(5))
    assert history.get(new_id).params == {"n_neighbors": 5}
    assert [r.params["n_neighbors"] for r in history.all()] == [5, 4, 3, 2, 1]
    assert not history.pending_path.exists()


def test_the_runs_kept_aside_survive_a_restart(history: RunStore, quick_lock_wait: None) -> None:
    locker_context = held_by_another_program(history.path)
    next(locker_context)
    with pytest.raises(RunsKeptAsideError):
        history.add(small_run(4))
    locker_context.close()
    reopened = RunStore(history.path)  # the next start of Studio adds them
    assert reopened.count() == 4 and not reopened.has_pending()


FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys
    from studio.core.store.runs import RunStore, RunsKeptAsideError
    run = json.loads(sys.argv[2])
    store = RunStore(sys.argv[1])
    store.add_many([{**run, "params": {"n_neighbors": i}} for i in range(3)])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # as a disk that is full
    big = {**run, "params": {"n_neighbors": 99}, "details": {"blob": "z" * 400_000}}
    try:
        store.add(big)
        outcome = "stored"
    except RunsKeptAsideError as exc:
        outcome = str(exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
    added = store.flush_pending()
    print(json.dumps({"outcome": outcome, "added": added,
                      "runs": [r.params["n_neighbors"] for r in store.all()]}))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="file-size limits are POSIX")
def test_a_full_disk_keeps_the_run_in_memory_until_it_fits(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path / "runs.sqlite3"),
                               json.dumps(small_run())], capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert finished.returncode == 0, finished.stderr
    found = json.loads(finished.stdout.strip().splitlines()[-1])
    assert "kept in memory" in found["outcome"], found
    assert found["added"] == 1
    assert found["runs"] == [99, 2, 1, 0], "the earlier runs are whole, and the new one is in"


def test_one_damaged_row_is_left_out_and_named(history: RunStore, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite3.connect(history.path) as connection:
        connection.execute("UPDATE runs SET metrics = '{not json' WHERE id = 2")
        connection.execute("UPDATE runs SET task = 'banana' WHERE id = 3")
    assert [r.id for r in history.summaries()] == [1]
    assert [name.split(":")[0] for name in history.skipped] == ["run 3", "run 2"]
    assert "not readable" in history.skipped[1] and "banana" in history.skipped[0]

    monkeypatch.setenv("STUDIO_SETTINGS_DIR", str(history.path.parent / "settings"))
    monkeypatch.setenv("STUDIO_DATA_DIR", str(history.path.parent))
    assert run_cli(["runs"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "run 2 of the run history could not be read" in captured.err and "run 3" in captured.err
    assert len(captured.out.strip().splitlines()) == 1


def test_a_history_from_a_newer_studio_opens_read_only(history: RunStore) -> None:
    with sqlite3.connect(history.path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = history.path.read_bytes()
    newer = RunStore(history.path)
    assert "newer Studio" in newer.damage_note and newer.read_only
    assert newer.count() == 3 and len(newer.summaries()) == 3
    with pytest.raises(RunsKeptAsideError, match="read-only"):
        newer.add(small_run(9))
    assert newer.pending_path.exists()
    with sqlite3.connect(history.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3
    assert len(before) > 0


def test_an_older_history_is_migrated_with_every_run_kept(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as connection:  # as the first Studio wrote it: no version, fewer columns
        connection.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
                           "dataset_path TEXT NOT NULL DEFAULT '', dataset_fingerprint TEXT NOT NULL DEFAULT '', "
                           "target TEXT NOT NULL, task TEXT NOT NULL, model_key TEXT NOT NULL, model_label TEXT "
                           "NOT NULL, params TEXT NOT NULL, prep TEXT NOT NULL, split TEXT NOT NULL, device TEXT "
                           "NOT NULL DEFAULT 'cpu', duration_s REAL NOT NULL, metrics TEXT NOT NULL, history TEXT "
                           "NOT NULL, details TEXT NOT NULL, model_path TEXT NOT NULL DEFAULT '', versions TEXT "
                           "NOT NULL)")
        connection.execute("INSERT INTO runs (created, target, task, model_key, model_label, params, prep, split, "
                           "duration_s, metrics, history, details, versions) VALUES ('2025-01-01', 'y', "
                           "'regression', 'knn', 'k-nearest neighbours', '{}', '{}', '{}', 1.0, "
                           "'{\"test\": {\"mae\": 1.5}}', '[]', '{}', '{}')")
    store = RunStore(path)
    assert store.damage_note == ""
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [r.metric("test", "mae") for r in store.all()] == [1.5]
    store.add(small_run(2))
    assert store.count() == 2


def test_letting_go_of_runs_saved_elsewhere_keeps_those_set_aside_since(history: RunStore,
                                                                        quick_lock_wait: None) -> None:
    """Runs set aside are saved to another file while the history's own writer goes on: the history takes them in
    the meantime, then another run is set aside. Letting go of the saved runs must not let go of that one."""
    for index in (10, 11):
        with contextlib.contextmanager(held_by_another_program)(history.path), pytest.raises(RunsKeptAsideError):
            history.add(small_run(index))
    saved = history.pending_runs()
    assert [run["params"]["n_neighbors"] for run in saved] == [10, 11]
    history.add(small_run(12))  # free again: 10 and 11 go in with it
    with contextlib.contextmanager(held_by_another_program)(history.path), pytest.raises(RunsKeptAsideError):
        history.add(small_run(13))
    history.forget_pending(saved)
    assert [run["params"]["n_neighbors"] for run in history.pending_runs()] == [13]
