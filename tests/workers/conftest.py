"""Worker tests run under the app's garbage-collection rule (see studio/workers/gc_guard.py)."""

from __future__ import annotations

import pytest

from studio.workers.gc_guard import GuiThreadGarbageCollector
from tests import qt_fixtures

gui_thread_gc = qt_fixtures.gui_thread_gc  # the shared Qt fixture, found by pytest by its name


@pytest.fixture(scope="session", autouse=True)
def _collect_garbage_on_gui_thread(gui_thread_gc: GuiThreadGarbageCollector) -> None:
    """Requesting the session fixture is enough; it switches automatic collection to the GUI thread."""
