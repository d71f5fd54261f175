"""The preloader that loads torch's native libraries with the interpreter lock released (torch_libraries)."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.workers import torch_libraries

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preloader acts on Linux only")


@linux_only
def test_loads_a_library_through_dlopen_and_skips_missing_ones(tmp_path: Path) -> None:
    name = ctypes.util.find_library("m")
    assert name is not None
    loaded = torch_libraries.load_without_interpreter_lock([
        (tmp_path / "absent.so", os.RTLD_NOW),
        (Path(name) if Path(name).is_absolute() else _library_path(name), os.RTLD_NOW),
    ])
    assert loaded == 1


def _library_path(soname: str) -> Path:
    for folder in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
                   "/usr/lib/aarch64-linux-gnu"):
        if (Path(folder) / soname).exists():
            return Path(folder) / soname
    pytest.skip(f"{soname} is not in a usual folder")


@linux_only
@pytest.mark.skipif(torch_libraries.torch_library_folder() is None, reason="needs torch installed")
def test_the_first_import_of_torch_goes_through_the_preloader() -> None:
    """In a fresh interpreter: the preloader sits first, lets the main thread ask about torch without loading
    anything, sees a worker thread's ``import torch``, loads both libraries, and torch imports and computes as
    usual; a second install is the same preloader, and none is needed afterwards."""
    probe = (
        "import sys\n"
        "from studio.workers import torch_libraries\n"
        "preloader = torch_libraries.install()\n"
        "assert sys.meta_path[0] is preloader and not preloader.done\n"
        "assert torch_libraries.install() is preloader\n"
        "import importlib.util, threading\n"
        "assert importlib.util.find_spec('torch') is not None and not preloader.done\n"
        "worker = threading.Thread(target=__import__, args=('torch',))\n"
        "worker.start(); worker.join()\n"
        "import torch\n"
        "assert preloader.done and preloader.loaded == 2, preloader.loaded\n"
        "assert float(torch.ones(3).sum()) == 3.0\n"
        "assert torch_libraries.install() is None\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=240,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_does_nothing_once_torch_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", sys)
    assert torch_libraries.install() is None
