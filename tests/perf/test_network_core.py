"""Time per epoch of Studio's network training (the core generator, no window) against a plain torch loop.

Free of Qt, so it also runs where no window toolkit is installed (a GPU server):
``python -m pytest -m perf tests/perf/test_network_core.py -s``, or without pytest's conftests
``python -m tests.perf.test_network_core``.
"""

from __future__ import annotations

import pytest

from .bench import classification_frame, median, report
from .network_bench import plain_loop, prepared, studio_core_epoch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.perf

ROWS = 50_000
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.mark.parametrize("device", DEVICES)
def test_network_core_epoch_time(device: str) -> None:
    measure(device)


def measure(device: str) -> None:
    frame = classification_frame(ROWS)
    x, y = prepared(frame)
    plain_loop(x[:2000], y[:2000], device, 1)  # warm-up: imports, allocator, kernels
    studio_core_epoch(classification_frame(2_000, seed=1), device)
    studio, plain_default, plain_one = [], [], []
    for _ in range(2):  # interleaved rounds
        plain_default.append(plain_loop(x, y, device, torch.get_num_threads()))
        plain_one.append(plain_loop(x, y, device, 1))
        seconds, accuracy, used = studio_core_epoch(frame, device)
        studio.append(seconds)
    plain = min(median(plain_default), median(plain_one))
    assert used.startswith(device) and accuracy > 0.6
    report(f"network_core_epoch_time[{device}]", "studio at most 1.10x the plain loop per epoch",
           train_rows=str(len(y)), studio_epoch_s=median(studio), plain_epoch_s=plain, ratio=median(studio) / plain,
           plain_default_threads_s=median(plain_default), plain_one_thread_s=median(plain_one),
           default_threads=str(torch.get_num_threads()), rounds="/".join(f"{s / plain:.2f}" for s in studio),
           test_acc=accuracy, device_used=used)


if __name__ == "__main__":
    for name in ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",):
        measure(name)
