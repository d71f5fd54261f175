"""Worker tests run under the app's garbage-collection rule (see studio/workers/gc_guard.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication

from studio.workers.gc_guard import GuiThreadGarbageCollector


@pytest.fixture(scope="session")
def gui_thread_gc(qapp: QCoreApplication) -> Iterator[GuiThreadGarbageCollector]:
    """The app's rule: cyclic garbage is collected on the GUI thread only (see gc_guard).

    tests/ui, tests/workers and tests/perf each define this fixture; one run over several of them shares the
    first collector (a child of ``qapp``), so a test that pauses it pauses all collection.
    """
    running = qapp.findChild(GuiThreadGarbageCollector)
    if running is not None:
        yield running
        return
    collector = GuiThreadGarbageCollector(qapp)
    yield collector
    collector.stop()


@pytest.fixture(scope="session", autouse=True)
def _collect_garbage_on_gui_thread(gui_thread_gc: GuiThreadGarbageCollector) -> None:
    """Requesting the session fixture is enough; it switches automatic collection to the GUI thread."""
