"""Epoch time of Studio's picture training on a CUDA card against a plain torchvision script (skipped without one).

The same drawn pictures (4,000 of 64 × 64 in 4 classes), network, augmentation, epochs and batch size as the CPU
benchmark (``test_image_training_perf.py``). Studio: ``ImageReader`` into memory, then ``ImageClassifier`` on
``cuda`` with its defaults (float16 mixed precision, DataLoader worker processes it picks itself, pinned memory).
Plain: ``ImageFolder`` + ``DataLoader`` (pinned memory, persistent workers) + Adam, timed with Studio's worker
count and with up to 8 workers, with and without float16 autocast; the fastest counts. The epoch time is the
median of epochs 2 and later (the first holds the worker start-up), so Studio's one-off decoding is left out
here; the CPU benchmark counts it.

Free of Qt, so it runs on a GPU server without the window toolkit:
``python -m pytest -m perf tests/perf/test_image_gpu_perf.py -s`` or ``python -m tests.perf.test_image_gpu_perf``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from .bench import median, report
from .image_data import SIZE, draw_shapes, plain_fit, same_augmentation, studio_fit

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytestmark = [pytest.mark.perf, pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

IMAGES = 4_000
EPOCHS = 5
BATCH = 32
ROUNDS = 2


def test_image_epoch_time_on_cuda(tmp_path: Path) -> None:
    measure(tmp_path)


def measure(folder: Path) -> None:
    assert same_augmentation(SIZE)
    shapes = draw_shapes(folder / "shapes", IMAGES)
    small = draw_shapes(folder / "small", 256, seed=1)
    # Warm-up: CUDA context, cuDNN's kernel choice, spawned workers' imports.
    _, warm = studio_fit(small, 1, device="cuda", batch_size=BATCH)
    studio_workers = warm._workers(torch.device("cuda"))
    plain_fit(small, 1, studio_workers, device="cuda", batch_size=BATCH, mixed=True)
    choices = sorted({studio_workers, min(8, os.cpu_count() or 1)})
    plain: dict[tuple[int, bool], list[float]] = {(w, m): [] for w in choices for m in (False, True)}
    studio: list[float] = []
    estimator = None
    for _ in range(ROUNDS):
        for workers, mixed in plain:
            timing = plain_fit(shapes, EPOCHS, workers, device="cuda", batch_size=BATCH, mixed=mixed)
            plain[(workers, mixed)].append(timing.steady_epoch_s)
        timing, estimator = studio_fit(shapes, EPOCHS, device="cuda", batch_size=BATCH)
        studio.append(timing.steady_epoch_s)
    assert estimator is not None and estimator.device_used_.startswith("cuda") and estimator.n_epochs_ == EPOCHS
    best = min(plain, key=lambda key: median(plain[key]))
    studio_s, plain_s = median(studio), median(plain[best])
    report("image_epoch_time[cuda]", "studio at most 1.10x the plain loop per epoch",
           images=str(IMAGES), epochs=str(EPOCHS), batch=str(BATCH), device=torch.cuda.get_device_name(0),
           studio_epoch_s=studio_s, plain_epoch_s=plain_s, ratio=studio_s / plain_s,
           studio_workers=str(studio_workers), plain_best=f"workers={best[0]},amp={best[1]}",
           plain_by_setting=" ".join(f"w{w}{'amp' if m else 'fp32'}:{median(v):.3f}" for (w, m), v in plain.items()),
           rounds="/".join(f"{s / plain_s:.2f}" for s in studio),
           studio_images_per_s=IMAGES / studio_s, plain_images_per_s=IMAGES / plain_s)


if __name__ == "__main__":
    if not torch.cuda.is_available():
        raise SystemExit("No CUDA device: nothing to measure.")
    with tempfile.TemporaryDirectory() as place:
        measure(Path(place))
