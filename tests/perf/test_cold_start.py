"""Cold start: from launching the process to the main window shown and the event loop run once.

Measured from the parent, so interpreter start-up and every import count, as they do for a user. The baseline is
a bare QApplication with an empty QMainWindow, started the same way in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .bench import median, report

pytestmark = pytest.mark.perf

RUNS = 5
REPO = Path(__file__).resolve().parents[2]
# Heavy libraries that must not be paid for before the user needs them.
WATCHED = ("sklearn", "torch", "scipy", "pyqtgraph", "pandas", "pyarrow")

# The real entry point, studio.app.main, with a zero-delay timer queued first: it fires on the first pass of the
# event loop that main() enters after window.show(), i.e. once the window is shown and events were processed.
STUDIO_SCRIPT = """
import json
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])

def shown():
    visible = any(isinstance(w, QMainWindow) and w.isVisible() for w in app.topLevelWidgets())
    print("SHOWN " + ("1" if visible else "0"), flush=True)
    print("MODULES " + " ".join(m for m in WATCHED if m in sys.modules), flush=True)
    print("ORIGINS " + json.dumps(ORIGINS), flush=True)
    app.quit()

WATCHED = {watched!r}
ORIGINS = {{}}
if {audit!r}:
    import traceback

    class _Audit:
        # Records which Studio line first imports a watched package; never finds anything itself.
        def find_spec(self, name, path=None, target=None):
            if name in WATCHED and name not in ORIGINS:
                ORIGINS[name] = [f"{{f.filename.split('/studio/')[-1]}}:{{f.lineno}}"
                                 for f in traceback.extract_stack() if "/studio/" in f.filename]
            return None

    sys.meta_path.insert(0, _Audit())

QTimer.singleShot(0, shown)
from studio.app import main
sys.exit(main(["--settings-dir", sys.argv[1]]))
"""

BARE_SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1180, 780)
window.show()

def shown():
    print("SHOWN " + ("1" if window.isVisible() else "0"), flush=True)
    app.quit()

QTimer.singleShot(0, shown)
sys.exit(app.exec())
"""


def launch(script: str, settings_dir: Path) -> tuple[float, dict[str, str]]:
    """Seconds from Popen to the SHOWN line, and the child's tagged output lines."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    # stderr joins stdout so Qt's warnings cannot fill an unread pipe and stall the child.
    child = subprocess.Popen([sys.executable, "-c", script, str(settings_dir)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    output = []
    elapsed = None
    for line in child.stdout:
        output.append(line)
        if line.startswith("SHOWN ") and elapsed is None:
            elapsed = time.perf_counter() - started
    child.wait(timeout=60)
    text = "".join(output)
    assert child.returncode == 0 and elapsed is not None, text[-3000:]
    lines = {}
    for line in output:
        tag, _, value = line.rstrip("\n").partition(" ")
        lines[tag] = value
    assert lines.get("SHOWN") == "1", text[-3000:]
    return elapsed, lines


def test_cold_start(tmp_path: Path) -> None:
    studio_script = STUDIO_SCRIPT.format(watched=WATCHED, audit=False)
    # One untimed launch of each warms the disk cache (and the bytecode cache, unless PYTHONDONTWRITEBYTECODE is
    # set), as on any second start of the app.
    launch(BARE_SCRIPT, tmp_path)
    launch(studio_script, tmp_path)
    studio_times, bare_times = [], []
    for _ in range(RUNS):  # interleaved, so a burst of machine load hits both alike
        bare_times.append(launch(BARE_SCRIPT, tmp_path)[0])
        studio_times.append(launch(studio_script, tmp_path)[0])
    # A separate run with the import audit on, so the timed runs carry no import hook.
    _, audit = launch(STUDIO_SCRIPT.format(watched=WATCHED, audit=True), tmp_path)
    imported = audit["MODULES"].split()
    origins = json.loads(audit["ORIGINS"])
    studio_s, bare_s = median(studio_times), median(bare_times)
    report("cold_start", "studio under 1.5 s",
           studio_median_s=studio_s, bare_qt_median_s=bare_s, ratio=studio_s / bare_s,
           studio_runs="/".join(f"{t:.2f}" for t in studio_times),
           bare_runs="/".join(f"{t:.2f}" for t in bare_times))
    lazy = {name: name not in imported for name in ("sklearn", "torch", "scipy")}
    report("cold_start_imports", "sklearn, torch and scipy not imported at start",
           imported_at_show=",".join(imported) or "none",
           **{f"{name}_lazy": "yes" if ok else "NO" for name, ok in lazy.items()})
    for name in imported:
        print(f"  first import of {name} from: {' <- '.join(reversed(origins.get(name, ['?'])[-4:]))}")
    assert 0 < bare_s < 30 and 0 < studio_s < 60
