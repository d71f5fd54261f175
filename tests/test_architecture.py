"""The import rules of ARCHITECTURE.md, checked on the source: core is Qt-free, workers use QtCore only, and
importing Studio's library parts stays cheap."""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
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


# -- the core tests need no Qt ------------------------------------------------------------------------------------

# Run with ``python -c`` from the checkout, as ``python -m pytest`` runs: cwd on sys.path, so ``tests.core.helpers``
# imports. A finder in front of every other one makes Qt impossible to import, as on a computer without PySide6
# (a ``None`` in sys.modules would trip pytest's assertion rewriting, which looks the plugin's modules up there).
_WITHOUT_QT = """
import sys

BLOCKED = {blocked!r}


class WithoutQt:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: Studio without Qt)", name=name)
        return None


sys.meta_path.insert(0, WithoutQt)
for name in BLOCKED:
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        sys.exit(f"{{name}} could still be imported")

import pytest

sys.exit(pytest.main(sys.argv[1:]))
"""


def test_the_core_tests_run_without_qt(tmp_path: Path) -> None:
    """Every module under tests/core, its conftest and the suite-wide one import without Qt (a few tests run too).
    The pytest-qt plugin is off (it is named ``pytest-qt``); it would import Qt as pytest starts."""
    script = _WITHOUT_QT.format(blocked=sorted(QT_PACKAGES | {"pytestqt"}))
    args = ["-p", "no:pytest-qt", "-p", "no:cacheprovider", "-q", "-W", "ignore::pytest.PytestConfigWarning",
            f"--basetemp={tmp_path / 'basetemp'}", "tests/core", "-k", "test_settings"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, check=False, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 5, output[-2000:]
    deselected = re.search(r"(\d+) deselected", output)
    assert deselected and int(deselected.group(1)) > 100, "every core test module should have been collected"


# -- no import cycle in studio/ -----------------------------------------------------------------------------------

def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """Import statements anywhere in a module (functions too), except in the body of ``if TYPE_CHECKING:``."""

    def __init__(self) -> None:
        self.found: list[ast.Import | ast.ImportFrom] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append(node)


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file for every module of ``package`` (under ``root``); a package is its ``__init__``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph(root: Path, package: str) -> dict[str, dict[str, int]]:
    """Module -> {imported module of the same package: line of the first such import}.

    Each import counts as the deepest module of the package that exists (``from a.b import c`` is ``a.b.c`` when
    that is a module, else ``a.b``); the parent packages Python imports on the way do not count.
    """
    modules = package_modules(root, package)

    def deepest(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        edges: dict[str, int] = {}
        for node in visitor.found:
            if isinstance(node, ast.Import):
                targets = [deepest(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    here = here[:len(here) - (node.level - 1)]
                    base = ".".join([*here, base] if base else here)
                targets = [deepest(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
                           for alias in node.names]
            for target in targets:
                if target is not None and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle, as a path that returns to its start, for each strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, {}):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)

    cycles = []
    for group in groups:
        start = min(group)
        came_from: dict[str, str] = {}
        frontier = [start]
        while start not in came_from:  # breadth-first inside the group, back to start: a shortest cycle
            following = []
            for node in frontier:
                for other in sorted(graph[node]):
                    if other in group and other not in came_from:
                        came_from[other] = node
                        following.append(other)
            frontier = following
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(came_from[path[-1]])
        cycles.append(path[::-1])
    return cycles


def test_import_graph_reads_every_form(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\nelse:\n"
                "    import os\n\ndef f():\n    from .sub import b\n",
        "c.py": "import pkg.sub.b as b\nfrom pkg import d\n",
        "d.py": "from pkg.sub import helper_name\nfrom . import e\n",
        "e.py": "",
        "sub/__init__.py": "from .. import e\n",
        "sub/b.py": "from ..c import something\nfrom . import unknown\nimport json\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path, "pkg")
    assert {module: set(edges) for module, edges in graph.items()} == {
        "pkg": set(),
        "pkg.a": {"pkg.sub.b"},  # inside a function: counted; under TYPE_CHECKING: not
        "pkg.c": {"pkg.sub.b", "pkg.d"},  # the deepest module, not the parent packages imported on the way
        "pkg.d": {"pkg.sub", "pkg.e"},  # a name from the package's __init__; a sibling module
        "pkg.e": set(),
        "pkg.sub": {"pkg.e"},
        "pkg.sub.b": {"pkg.c", "pkg.sub"},
    }
    assert import_cycles(graph) == [["pkg.c", "pkg.sub.b", "pkg.c"]]
    graph["pkg.e"]["pkg.a"] = 1  # a longer loop through the package's __init__: a, sub.b, sub, e
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub", "pkg.e", "pkg.a"]]  # the shortest, from a


def test_no_import_cycle_in_studio() -> None:
    graph = import_graph(ROOT, "studio")
    assert len(graph) > 50, "the graph should hold every module of studio/"
    cycles = import_cycles(graph)
    shown = ["".join(f"{before} (line {graph[before][after]}) -> " for before, after in itertools.pairwise(cycle))
             + cycle[-1] for cycle in cycles]
    assert not cycles, "import cycles (line = where the next module is imported):\n" + "\n".join(shown)


# -- model keys are compared inside studio/core/models only -------------------------------------------------------

def _strings(node: ast.expr) -> list[ast.Constant]:
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [item for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]


def model_key_comparisons(source: str, keys: set[str]) -> list[str]:
    """Where ``source`` compares with a model key written out (``==``, ``!=``, ``in`` a tuple, list or set of them,
    ``match``/``case``), or uses ``ENSEMBLE_KEY``: a model's behaviour belongs in its spec, not in checks of its
    key scattered over the app."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            constants = [c.value for operand in (node.left, *node.comparators) for c in _strings(operand)]
            if any(value in keys for value in constants):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.MatchValue) and any(c.value in keys for c in _strings(node.value)):
            found.append(f"line {node.lineno}: case {ast.unparse(node.value)}")
        elif ((isinstance(node, ast.Name) and node.id == "ENSEMBLE_KEY")
              or (isinstance(node, ast.Attribute) and node.attr == "ENSEMBLE_KEY")):
            found.append(f"line {node.lineno}: ENSEMBLE_KEY")
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "ENSEMBLE_KEY" for alias in node.names):
            found.append(f"line {node.lineno}: imports ENSEMBLE_KEY")
    return found


def registered_model_keys() -> set[str]:
    import studio.core.models.registry  # noqa: F401  (the built-in families register themselves on import)
    from studio.core.models.spec import registered_specs

    keys = {spec.key for spec in registered_specs()}
    assert {"random_forest", "ensemble"} <= keys
    return keys


def test_model_key_checker_catches_a_comparison() -> None:
    keys = {"random_forest", "ensemble"}
    assert model_key_comparisons('if key == "random_forest":\n    pass\n', keys)
    assert model_key_comparisons('ok = spec.key not in ("ensemble", "other")\n', keys)
    assert model_key_comparisons('ok = "random_forest" != key\n', keys)
    assert model_key_comparisons('match key:\n    case "ensemble":\n        pass\n', keys)
    assert model_key_comparisons("from studio.core.models.spec import ENSEMBLE_KEY\n", keys)
    assert model_key_comparisons("ok = key == spec_module.ENSEMBLE_KEY\n", keys)
    assert not model_key_comparisons('if key == "forest":\n    pass\nget_model("random_forest")\n', keys)


def test_model_keys_are_compared_in_the_model_specs_only() -> None:
    keys = registered_model_keys()
    models = STUDIO / "core" / "models"
    bad = [f"{path.relative_to(ROOT)} {where}" for path in sorted(STUDIO.rglob("*.py"))
           if not path.is_relative_to(models)
           for where in model_key_comparisons(path.read_text(encoding="utf-8"), keys)]
    assert not bad, "compare a model's capabilities (its spec), not its key:\n" + "\n".join(bad)
