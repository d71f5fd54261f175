"""The README's first command installs no torch and no CUDA: pip's own dry-run report against the public index.

This machine's pip configuration serves local wheels (and hides what PyPI would send), so the test switches it off
(PIP_CONFIG_FILE=/dev/null, no PIP_* variables) and asks PyPI itself. Without a network it skips."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


def test_the_base_install_pulls_no_torch_and_no_nvidia_package(tmp_path: Path) -> None:
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable from here")
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "screenshots")
    for name in ("studio", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         # The build backend already installed here: no download of setuptools just to read the metadata.
         "--no-build-isolation",
         "--report", str(report), str(source)],
        capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp_path)
    if done.returncode != 0 and "NewConnectionError" in done.stderr + done.stdout:
        pytest.skip("PyPI is not reachable from here")
    assert done.returncode == 0, done.stdout + done.stderr
    names = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
             for item in json.loads(report.read_text())["install"]}
    assert "studio-desktop" in names
    assert "pyside6-essentials" in names and "scikit-learn" in names  # the report did resolve the whole install
    assert not {"torch", "torchvision", "triton"} & names, sorted(names)
    assert not [name for name in names if name.startswith("nvidia")], sorted(names)


def test_the_readme_first_command_leaves_torch_to_the_installer() -> None:
    """A laptop without an NVIDIA card must not download CUDA: the setup command installs Studio without torch
    and lets studio.install_torch pick the index; CI finds the test command by its shape (.ci/run)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if re.match(r"^python3[.0-9]* -m venv ", line)]
    setup, test = commands[0], commands[1]
    assert "[torch]" not in setup and "-m studio.install_torch" in setup and "studio --sample" in setup
    assert " -q " not in setup + test.split("pytest")[0]  # pip says what it does
    assert [line for line in lines if re.match(r"^python3[.0-9]* -m venv .*pytest", line)] == [test]
    assert "grep -m1 -E '^python3[.0-9]* -m venv .*pytest' README.md" in (ROOT / ".ci" / "run").read_text()
