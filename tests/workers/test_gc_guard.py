"""Qt garbage must never be collected on a worker thread (it froze the UI tests once: see gc_guard)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Generator

import pytest
from PySide6.QtWidgets import QMenu, QWidget
from pytestqt.qtbot import QtBot

from studio.workers.gc_guard import LIBRARY_LOAD_OBJECTS, MODULES_LOADED, GuiThreadGarbageCollector
from studio.workers.runner import JobRunner


def _widget_in_a_cycle() -> weakref.ref:
    widget = QWidget()
    QMenu(widget).addAction("Recent file")
    holder: dict[str, object] = {"widget": widget}
    holder["self"] = holder  # only the cyclic collector can free this
    return weakref.ref(holder["widget"])  # type: ignore[arg-type]


def _allocating_job(stop: object) -> Generator[int, None, int]:
    # Lots of container allocations: under the interpreter's default rules this would trigger collections here.
    for step in range(20):
        junk = [[{} for _ in range(2_000)] for _ in range(10)]
        yield len(junk) + step
    return 1


def test_automatic_collection_is_off_and_runs_from_the_gui_thread(qtbot: QtBot,
                                                                  gui_thread_gc: GuiThreadGarbageCollector) -> None:
    assert not gc.isenabled()
    gc.collect()
    for _ in range(gui_thread_gc.thresholds[0] + 10):
        cycle: list[object] = []
        cycle.append(cycle)
    assert gui_thread_gc.collect_if_due() >= gui_thread_gc.thresholds[0]


def test_qt_garbage_survives_worker_allocations_and_goes_on_the_gui_thread(
        qtbot: QtBot, gui_thread_gc: GuiThreadGarbageCollector) -> None:
    gc.collect()
    widget = _widget_in_a_cycle()
    runner = JobRunner()
    # The GUI thread's own scheduled collection would rightly free the widget while the test waits; paused, only
    # a collection on the worker thread could free it.
    gui_thread_gc.timer.stop()
    try:
        with qtbot.waitSignal(runner.succeeded, timeout=30_000):
            runner.start(_allocating_job)
        qtbot.waitUntil(lambda: not runner.is_running(), timeout=5_000)
        assert widget() is not None, "a worker thread's allocations must not collect Qt objects"
    finally:
        gui_thread_gc.timer.start()
    gc.collect()
    assert widget() is None



def test_a_full_collection_due_after_libraries_loaded_freezes_what_is_old(
        qtbot: QtBot, gui_thread_gc: GuiThreadGarbageCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    gui_thread_gc.timer.stop()
    before = gui_thread_gc.modules_at_freeze
    every_generation_due = tuple(limit + 1 for limit in gui_thread_gc.thresholds)
    try:
        gc.collect()
        gc.unfreeze()
        long_lived = [[index] for index in range(1_000)]
        monkeypatch.setattr(gc, "get_count", lambda: every_generation_due)
        gui_thread_gc.modules_at_freeze = len(sys.modules) - MODULES_LOADED  # a library was just loaded
        gui_thread_gc.collect_if_due()
        assert gc.get_freeze_count() >= len(long_lived)
        assert gui_thread_gc.modules_at_freeze == len(sys.modules)

        # Nothing loaded since: a due full collection runs and frees what the session left in cycles.
        frozen = gc.get_freeze_count()
        made = _cycle()
        assert made() is not None
        gui_thread_gc.collect_if_due()
        assert made() is None
        # Nothing more frozen (a frozen object that another thread lets go of meanwhile leaves the count).
        assert gc.get_freeze_count() <= frozen
    finally:
        monkeypatch.undo()
        gc.unfreeze()
        gc.collect()
        gui_thread_gc.modules_at_freeze = before
        gui_thread_gc.timer.start()


class _Node:
    def __init__(self) -> None:
        self.itself = self


def _cycle() -> weakref.ref:
    return weakref.ref(_Node())


def test_a_library_loading_on_a_worker_is_frozen_not_walked(
        qtbot: QtBot, gui_thread_gc: GuiThreadGarbageCollector, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many new objects since the last check while modules were loaded (torch importing on a worker): frozen at
    once; the same count with no library loaded is collected as usual."""
    gui_thread_gc.timer.stop()
    before = gui_thread_gc.modules_at_freeze
    import_burst = (LIBRARY_LOAD_OBJECTS + 1, 0, 0)
    try:
        gc.collect()
        gc.unfreeze()
        made_by_the_import = [[index] for index in range(1_000)]
        monkeypatch.setattr(gc, "get_count", lambda: import_burst)
        gui_thread_gc.modules_at_freeze = len(sys.modules) - MODULES_LOADED
        assert gui_thread_gc.collect_if_due() == 0
        assert gc.get_freeze_count() >= len(made_by_the_import)
        assert gui_thread_gc.modules_at_freeze == len(sys.modules)

        gc.unfreeze()
        made = _cycle()
        gui_thread_gc.collect_if_due()  # no module loaded since: an ordinary young collection
        assert made() is None
        assert gc.get_freeze_count() == 0
    finally:
        monkeypatch.undo()
        gc.unfreeze()
        gc.collect()
        gui_thread_gc.modules_at_freeze = before
        gui_thread_gc.timer.start()
