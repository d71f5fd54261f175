"""The `studio` command is the installed package's, even run from a folder that holds an unrelated `studio/`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import studio


def test_the_studio_command_ignores_a_studio_folder_in_the_current_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / ("studio.exe" if os.name == "nt" else "studio")
    if not script.is_file():
        pytest.skip("Studio is not installed in this Python's environment (no studio script beside it)")
    decoy = tmp_path / "studio"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('the unrelated studio/ folder was imported')\n")
    (decoy / "__main__.py").write_text("raise SystemExit('the unrelated studio/ folder was run')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert studio.__version__ in done.stdout + done.stderr
