"""Suite-wide setup: Qt draws offscreen, so the window tests need no screen."""

from __future__ import annotations

import os

# Set before pytest-qt creates the QApplication, which happens lazily in the first Qt test.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
