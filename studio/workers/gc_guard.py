"""Python's cyclic garbage collector, run on the GUI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed. If that is a worker
thread and the garbage holds Qt objects (a closed dialog, a replaced form), their C++ destructors run there: Qt
takes its object lock and PySide then waits for the GIL, while the GUI thread holds the GIL and waits for that
lock. The process freezes (seen in the UI tests: a worker thread collecting a QMenu during training). Automatic
collection is therefore switched off and the same generational schedule is driven from a timer on the GUI thread.
Reference counting still frees everything that is not in a cycle at once.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start()

    def collect_if_due(self) -> int:
        """Collect the generations whose counts passed the interpreter's own thresholds; returns objects freed."""
        count0, count1, count2 = gc.get_count()
        freed = 0
        if count0 > self.thresholds[0]:
            freed += gc.collect(0)
            if count1 > self.thresholds[1]:
                freed += gc.collect(1)
                if count2 > self.thresholds[2]:
                    freed += gc.collect(2)
        return freed

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
