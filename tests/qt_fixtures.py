"""Qt fixtures shared by the window, worker and benchmark tests (the core tests import no Qt, so these live apart
from tests/conftest.py). Each of those folders' conftest imports what it uses from here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication

from studio.workers.gc_guard import GuiThreadGarbageCollector


@pytest.fixture(scope="session")
def gui_thread_gc(qapp: QCoreApplication) -> Iterator[GuiThreadGarbageCollector]:
    """The app's rule for tests too: cyclic garbage is collected on the GUI thread only (see gc_guard).

    One run over several folders shares the first collector (a child of ``qapp``), so a test that pauses it pauses
    all collection.
    """
    running = qapp.findChild(GuiThreadGarbageCollector)
    if running is not None:
        yield running
        return
    collector = GuiThreadGarbageCollector(qapp)
    yield collector
    collector.stop()
