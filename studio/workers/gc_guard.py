"""Python's cyclic garbage collector, run on the GUI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed. If that is a worker
thread and the garbage holds Qt objects (a closed dialog, a replaced form), their C++ destructors run there: Qt
takes its object lock and PySide then waits for the GIL, while the GUI thread holds the GIL and waits for that
lock. The process freezes (seen in the UI tests: a worker thread collecting a QMenu during training). Automatic
collection is therefore switched off and the same generational schedule is driven from a timer on the GUI thread.
Reference counting still frees everything that is not in a cycle at once.

A full collection walks every tracked object, and after PySide6, pandas and PyTorch are loaded that is
millions of them: about 80 ms in one go on a laptop, a visible stall. What loaded libraries create (modules,
classes, functions) lives as long as the process, so when a full collection falls due after many modules were
imported, the young generations are collected and everything older is frozen (``gc.freeze``): later full
collections walk only what the session made since. The same happens when a library loading on a worker thread
(PyTorch, for a search) has made tens of thousands of objects since the last check: collecting even the youngest
generation would walk them all at once. The price: cyclic garbage that was in the old generation at
that moment is never freed. It happens a handful of times a session (each library loaded for the first time:
PyTorch for the first network, onnx for the first export), and what is old garbage then is mostly what loading
made; a large object caught in a cycle at that moment (a failed run's traceback, say) would stay.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500
# This many modules imported since the last freeze: a library was loaded (pandas alone is several hundred).
MODULES_LOADED = 100
# More new objects than this between two checks, while modules were loaded: a library is being imported.
LIBRARY_LOAD_OBJECTS = 50_000


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.modules_at_freeze = 0
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start()

    def collect_if_due(self) -> int:
        """Collect the generations whose counts passed the interpreter's own thresholds; returns objects freed."""
        count0, count1, count2 = gc.get_count()
        freed = 0
        if count0 > LIBRARY_LOAD_OBJECTS and self._library_loaded():
            # A worker thread is importing a library: collecting what it made since the last tick would walk
            # hundreds of thousands of new objects in one go (0.2-0.4 s while torch imports), and they live as long
            # as the process.
            self._freeze()
            return 0
        if count0 > self.thresholds[0]:
            freed += gc.collect(0)
            if count1 > self.thresholds[1]:
                freed += gc.collect(1)
                if count2 > self.thresholds[2]:
                    if self._library_loaded():
                        self._freeze()
                    else:
                        freed += gc.collect(2)
        return freed

    def _library_loaded(self) -> bool:
        return len(sys.modules) - self.modules_at_freeze >= MODULES_LOADED

    def _freeze(self) -> None:
        gc.freeze()
        self.modules_at_freeze = len(sys.modules)

    def stop(self) -> None:
        self.timer.stop()
        gc.unfreeze()
        gc.enable()
