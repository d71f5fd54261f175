"""Fixtures of the opt-in benchmarks: the real, styled main window, with the app's GUI-thread garbage collector.

Qt's offscreen platform is chosen by the suite-wide ``tests/conftest.py``.

Every benchmark measures a plain baseline in the same run, so the ratio means something on any machine; the
asserts are loose sanity checks and the goals are reported rather than enforced, so a busy machine cannot make
the suite flaky.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication

from studio.app import create_window
from studio.ui.main_window import MainWindow
from studio.ui.style import apply_style
from studio.workers import torch_libraries
from studio.workers.gc_guard import GuiThreadGarbageCollector
from tests import qt_fixtures

gui_thread_gc = qt_fixtures.gui_thread_gc  # the shared Qt fixture, found by pytest by its name


@pytest.fixture(autouse=True)
def _collect_on_gui_thread() -> None:
    """Start each benchmark with the previous one's cyclic garbage gone, collected here on the GUI thread.

    pyqtgraph's context menus outlive their window in reference cycles. Collected later, they would add a pause
    inside the next timing and, in a benchmark without ``gui_thread_gc``, be destroyed on a worker thread (Qt then
    prints "QBasicTimer::start: Timers cannot be started from another thread"; see studio/workers/gc_guard.py).
    """
    gc.collect()


@pytest.fixture
def window(qapp: QApplication, gui_thread_gc: GuiThreadGarbageCollector,
           tmp_path: Path) -> Iterator[MainWindow]:
    """The main window as ``studio.app.main`` builds it: styled, shown, the other kinds' pages made once idle,
    settings in ``tmp_path``, and cyclic garbage collected on the GUI thread only (so its pauses count in the
    heartbeat, as in the app). Every background thread is joined afterwards."""
    apply_style(qapp)
    torch_libraries.install()
    main_window = create_window(tmp_path / "settings")
    main_window.show()
    main_window.make_kind_pages_when_idle()
    qapp.processEvents()
    yield main_window
    main_window.shutdown()
    main_window.close()
    # Destroy the C++ widgets now, on the GUI thread, rather than whenever the collector breaks the wrappers'
    # cycles (see _collect_on_gui_thread for what remains after this).
    shiboken6.delete(main_window)
    qapp.processEvents()
