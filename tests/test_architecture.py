"""The import rules of ARCHITECTURE.md, checked on the source: core is Qt-free, workers use QtCore only, and
importing Studio's library parts stays cheap."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDIO = ROOT / "studio"
QT_PACKAGES = {"PySide6", "pyqtgraph", "shiboken6"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, with its line: top level, inside functions and under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # ``from PySide6 import QtWidgets`` names the submodule only in the alias.
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                         if node.module in QT_PACKAGES)
    return found


def modules_under(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, f"no modules found under {folder}"
    return files


def test_imports_of_sees_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom PySide6 import QtWidgets\n\ndef f():\n    import pyqtgraph as pg\n"
                      "from . import sibling\n", encoding="utf-8")
    names = {name for _, name in imports_of(sample)}
    assert {"os", "PySide6", "PySide6.QtWidgets", "pyqtgraph"} <= names
    assert "sibling" not in names


@pytest.mark.parametrize("path", modules_under(STUDIO / "core"), ids=lambda p: str(p.relative_to(STUDIO)))
def test_core_never_imports_qt_or_the_layers_above(path: Path) -> None:
    bad = [f"line {line}: {name}" for line, name in imports_of(path)
           if name.split(".")[0] in QT_PACKAGES
           or name.startswith(("studio.ui", "studio.workers", "studio.app", "studio.cli"))]
    assert not bad, f"{path.relative_to(ROOT)} imports {', '.join(bad)}"


@pytest.mark.parametrize("path", modules_under(STUDIO / "workers"), ids=lambda p: str(p.relative_to(STUDIO)))
def test_workers_use_qtcore_only(path: Path) -> None:
    bad = []
    for line, name in imports_of(path):
        root = name.split(".")[0]
        other_qt = root == "PySide6" and name != "PySide6" and name.split(".")[1] != "QtCore"
        if root == "pyqtgraph" or other_qt or name.startswith("studio.ui"):
            bad.append(f"line {line}: {name}")
    assert not bad, f"{path.relative_to(ROOT)} imports {', '.join(bad)}; workers may use PySide6.QtCore only"


def loaded_after(statement: str) -> set[str]:
    """The top-level packages in sys.modules after running ``statement`` in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("statement", ["import studio", "import studio.core.project", "import studio.cli"])
def test_importing_the_library_stays_light(statement: str) -> None:
    heavy = loaded_after(statement) & {"PySide6", "shiboken6", "pyqtgraph", "torch", "sklearn"}
    assert not heavy, f"`{statement}` imports {', '.join(sorted(heavy))}"


def test_opening_the_window_leaves_the_heavy_libraries_for_later(tmp_path: Path) -> None:
    """scikit-learn alone takes about a second to import: the window must open without it (and without torch)."""
    statement = (
        "import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from studio.app import create_window\n"
        "app = QApplication([])\n"
        f"window = create_window(Path({str(tmp_path)!r}) / 'settings', Path({str(tmp_path)!r}) / 'runs.sqlite3')\n"
        "window.show(); app.processEvents()"
    )
    heavy = loaded_after(statement) & {"torch", "sklearn", "scipy", "optuna", "onnxruntime"}
    assert not heavy, f"opening the window imports {', '.join(sorted(heavy))}"
