"""The window's look holds under a dark system palette: Studio's light headers and panels keep dark text.

Run in a fresh process: changing a running application's style under the other tests' live widgets can crash Qt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from studio.ui.style import apply_style

app = QApplication([])
dark = QPalette()
for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#f1f3f4"),
                     (QPalette.ColorRole.Base, "#2b2c2f"), (QPalette.ColorRole.Text, "#f1f3f4"),
                     (QPalette.ColorRole.Button, "#303134"), (QPalette.ColorRole.ButtonText, "#f1f3f4")):
    dark.setColor(role, QColor(colour))
app.setPalette(dark)
apply_style(app)
palette = app.palette()
pairs = {name: (palette.color(getattr(QPalette.ColorRole, ground)).lightness(),
                palette.color(getattr(QPalette.ColorRole, text)).lightness())
         for name, ground, text in (("window", "Window", "WindowText"), ("base", "Base", "Text"),
                                    ("button", "Button", "ButtonText"))}
sheet = app.styleSheet()
header = sheet[sheet.index("QHeaderView::section"):]
print(json.dumps({"pairs": pairs, "header": header[:header.index("}")]}))
"""


def test_a_dark_system_palette_still_gives_dark_text_on_light_ground() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (ground, text) in found["pairs"].items():
        assert ground > 200 and text < 80, name
    # The table headers' light ground comes with its own dark text in the style sheet.
    assert "color: #22313f" in found["header"]
