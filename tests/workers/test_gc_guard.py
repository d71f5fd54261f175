"""Qt garbage must never be collected on a worker thread (it froze the UI tests once: see gc_guard)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Generator

from PySide6.QtWidgets import QMenu, QWidget
from pytestqt.qtbot import QtBot

from studio.workers.gc_guard import GuiThreadGarbageCollector
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
