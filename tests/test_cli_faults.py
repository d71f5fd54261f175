"""The command line under faults: anything unexpected is one ``error:`` line naming a log file (exit 1), Ctrl-C
during a search says "Stopped." without a worker's traceback (exit 130), and the prepared rows a killed search
left in the temporary folder are removed by the next command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from studio.cli import run_cli
from studio.core.common.logs import log_file_path
from studio.core.common.temp_files import SEARCH_PREFIX, clean_stale_search_folders
from studio.resources import sample_dataset
from tests.cli_helpers import assert_one_error_line

SEARCH_APPEARS_S = 60.0
posix_only = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals to a process group")


def dead_pid() -> int:
    """The id of a process that has ended (ids are not reused at once)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return int(child.stdout)


def test_an_unexpected_error_is_one_line_naming_the_log(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import studio.core.models.registry as registry

    def broken() -> list[object]:
        raise KeyError("a fault of Studio's own")

    monkeypatch.setattr(registry, "all_models", broken)
    assert run_cli(["models"]) == 1
    err = capsys.readouterr().err
    assert_one_error_line(err, "did not expect", str(log_file_path()))
    logged = log_file_path().read_text(encoding="utf-8")
    assert "Traceback" in logged and "a fault of Studio's own" in logged and "studio models" in logged


@posix_only
def test_sigterm_stops_a_command_like_ctrl_c(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`kill` (SIGTERM) unwinds the command, so a search on the way removes its rows, instead of ending Python."""
    import studio.core.models.registry as registry

    unwound: list[str] = []

    def killed_while_working() -> list[object]:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
        finally:
            unwound.append("cleaned up")
        return []

    monkeypatch.setattr(registry, "all_models", killed_while_working)
    assert run_cli(["models"]) == 143
    assert unwound == ["cleaned up"]
    assert capsys.readouterr().err.strip() == "Stopped."
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "the command's handler is gone afterwards"


def test_a_usage_error_stays_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["predict", "no-such-model.studio", "rows.csv", "--out", "p.csv"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_any_command_removes_the_search_folders_of_dead_processes(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{SEARCH_PREFIX}{dead_pid()}-abc123"
    live = tmp_path / f"{SEARCH_PREFIX}{os.getpid()}-def456"
    unrelated = tmp_path / "studio-search-notes"
    for folder in (stale, live, unrelated):
        folder.mkdir()
        (folder / "folds.joblib").write_bytes(b"rows")
    assert run_cli(["models"]) == 0
    assert not stale.exists(), "the dead search's rows are removed"
    assert live.exists() and unrelated.exists(), "a running search's folder, and anything else, is left alone"


def studio_command(*args: str, temp: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "studio", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_search_folder(process: subprocess.Popen[str], temp: Path) -> Path:
    deadline = time.monotonic() + SEARCH_APPEARS_S
    while time.monotonic() < deadline:
        found = [p for p in temp.glob(f"{SEARCH_PREFIX}*") if (p / "folds.joblib").exists()]
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the search never wrote its prepared rows")


def auto_train(temp: Path, out: Path) -> subprocess.Popen[str]:
    return studio_command("train", str(sample_dataset()), "--target", "species", "--auto", "--budget", "40",
                          "--out", str(out), temp=temp)


@posix_only
def test_ctrl_c_during_a_search_says_stopped_without_tracebacks(tmp_path: Path) -> None:
    process = auto_train(tmp_path, tmp_path / "model.studio")
    folder = wait_for_search_folder(process, tmp_path)
    time.sleep(0.5)  # the workers are fitting folds
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process of the command gets it
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1] == "Stopped."
    assert not folder.exists(), "the search's prepared rows are removed on the way out"
    assert not (tmp_path / "model.studio").exists()


@posix_only
def test_a_search_killed_outright_leaves_rows_the_next_command_removes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    process = auto_train(tmp_path, tmp_path / "model.studio")
    folder = wait_for_search_folder(process, tmp_path)
    os.killpg(process.pid, signal.SIGKILL)  # kill -9: nothing of Studio's runs on the way out
    process.communicate(timeout=30)
    assert folder.exists()

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert clean_stale_search_folders() == [folder] or not folder.exists()
    assert not folder.exists()
