"""Importing torch on a background thread: how long the main thread is held up, with and without the preloader.

Each try is a fresh interpreter (torch can be imported only once per process): the main thread sleeps 5 ms in a
loop and records its longest wait while another thread runs ``import torch``. The plain import is the baseline,
measured in the same run and alternated with the preloaded one so both see the same load.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from .bench import median, report

pytestmark = [
    pytest.mark.perf,
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preloader acts on Linux only"),
]

TRIES = 3
PROBE = """
import gc, json, sys, threading, time
gc.disable()  # as in the window, where the GUI thread's timer collects (studio/workers/gc_guard.py)
if sys.argv[1] == "preload":
    from studio.workers import torch_libraries
    torch_libraries.install()
def work():
    import torch  # noqa: F401
worker = threading.Thread(target=work)
gaps, last = [], time.perf_counter()
started = last
worker.start()
while worker.is_alive():
    time.sleep(0.005)
    now = time.perf_counter()
    gaps.append(now - last)
    last = now
print(json.dumps({"worst_ms": max(gaps) * 1000, "import_s": time.perf_counter() - started}))
"""


def _try(mode: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=300,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_main_thread_keeps_running_while_torch_imports() -> None:
    plain: list[dict[str, float]] = []
    preloaded: list[dict[str, float]] = []
    for _ in range(TRIES):
        plain.append(_try("plain"))
        preloaded.append(_try("preload"))
    plain_worst = median([p["worst_ms"] for p in plain])
    preloaded_worst = median([p["worst_ms"] for p in preloaded])
    report("torch import stall", "worst main-thread gap under 100 ms while torch imports",
           plain_worst_ms=plain_worst, preloaded_worst_ms=preloaded_worst,
           ratio=preloaded_worst / plain_worst,
           plain_import_s=median([p["import_s"] for p in plain]),
           preloaded_import_s=median([p["import_s"] for p in preloaded]))
    assert preloaded_worst < plain_worst
