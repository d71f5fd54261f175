"""Training throughput of Studio's picture path against a plain torchvision script, on the CPU.

Both sides train the same small CNN (``build_small_cnn`` with the image_cnn defaults: depth 3, width 32, dropout
0.2, same seed) on the same 1,000 drawn pictures of 64 × 64 in 4 classes, for the same epochs and batch size, with
the same v2 augmentation (checked equal by ``repr``).

- Studio: ``ImageReader`` decodes every file once, with threads, into uint8 memory; ``ImageClassifier.fit_iter``
  then augments each picture in its DataLoader (with the worker count it picks itself; 0 on the CPU) and trains
  in the shared epoch loop (AdamW, cancel checks and batch reports on). Its time includes the decoding.
- Plain: torchvision's ``ImageFolder`` (PIL decodes every file every epoch, inside the DataLoader), ``v2``
  transforms, Adam. It runs with 0, 1 and up to 4 loader workers; the fastest counts, as a person would tune it.

Images per second are pictures × epochs over the whole wall time of each side (start-up, decoding and worker
start-up included). Two interleaved rounds; the medians count. Studio with one loader worker is timed too, for the
record: the augmentation then runs in its own process beside the training, which a plain script with workers
does, but the spawned worker's start-up (3-4 s here) and its competition with the training threads cost more
than the overlap gains over a few epochs.

On a shared machine two torch threads are at the mercy of the neighbours (a parallel region waits for its second
thread to be scheduled; the same epoch measured 4 s and 42 s minutes apart here). ``STUDIO_PERF_TORCH_THREADS=1``
runs both sides on one thread, which is steadier:

    STUDIO_PERF_TORCH_THREADS=1 .venv/bin/python -m pytest -m perf tests/perf/test_image_training_perf.py -s

    .venv/bin/python -m pytest -m perf tests/perf/test_image_training_perf.py -s
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .bench import median, report
from .image_data import SIZE, checked_folder, draw_shapes, plain_fit, same_augmentation, studio_fit, studio_train

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytestmark = pytest.mark.perf

IMAGES = 1_000
EPOCHS = 3
BATCH = 32
ROUNDS = 2
THREADS = int(os.environ["STUDIO_PERF_TORCH_THREADS"]) if os.environ.get("STUDIO_PERF_TORCH_THREADS") else None


def plain_worker_choices() -> list[int]:
    """Loader workers a person would try on this machine: none, one, and one per core up to 4."""
    return sorted({0, 1, min(4, os.cpu_count() or 1)})


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_shapes(tmp_path_factory.mktemp("shapes"), IMAGES)


def test_image_training_throughput(shapes: Path, tmp_path: Path) -> None:
    assert same_augmentation(SIZE)
    # Warm-up on a few pictures: imports, the allocator, the kernels and a spawned loader worker's start-up files.
    small = draw_shapes(tmp_path / "small", 64, seed=1)
    studio_fit(small, 1, batch_size=BATCH, threads=THREADS)
    studio_fit(small, 1, batch_size=BATCH, workers=1, threads=THREADS)
    plain_fit(small, 1, 1, batch_size=BATCH, threads=THREADS)
    pictures = IMAGES * EPOCHS
    studio_rates: list[float] = []
    studio_one_worker: list[float] = []
    studio_decode: list[float] = []
    studio_epochs: list[float] = []
    plain_rates: dict[int, list[float]] = {w: [] for w in plain_worker_choices()}
    plain_epochs: dict[int, list[float]] = {w: [] for w in plain_worker_choices()}
    estimator = None
    for _ in range(ROUNDS):
        for workers in plain_rates:
            timing = plain_fit(shapes, EPOCHS, workers, batch_size=BATCH, threads=THREADS)
            plain_rates[workers].append(pictures / timing.seconds)
            plain_epochs[workers].append(timing.steady_epoch_s)
        timing, estimator = studio_fit(shapes, EPOCHS, batch_size=BATCH, threads=THREADS)
        studio_rates.append(pictures / timing.seconds)
        studio_decode.append(timing.decode_s)
        studio_epochs.append(timing.steady_epoch_s)
        one_worker, _ = studio_fit(shapes, EPOCHS, batch_size=BATCH, workers=1, threads=THREADS)
        studio_one_worker.append(pictures / one_worker.seconds)
    assert estimator is not None and estimator.n_epochs_ == EPOCHS and estimator.device_used_ == "cpu"
    best_workers = max(plain_rates, key=lambda w: median(plain_rates[w]))
    plain = median(plain_rates[best_workers])
    studio = median(studio_rates)
    # The whole run through the training generator once (split, validation each epoch, scoring), for the record.
    result, seconds, fitting = studio_train(checked_folder(shapes), "image_cnn",
                                            {"epochs": EPOCHS, "early_stopping": False, "device": "cpu"},
                                            threads=THREADS)
    trained = result.split_sizes[0]
    report("image_training_throughput[cpu]", "studio at least 0.9x the plain script's images/s",
           images=str(IMAGES), epochs=str(EPOCHS), batch=str(BATCH), threads=str(THREADS or torch.get_num_threads()),
           studio_images_per_s=studio, plain_images_per_s=plain, ratio=studio / plain,
           plain_best_workers=str(best_workers),
           plain_by_workers=" ".join(f"{w}:{median(r):.0f}" for w, r in plain_rates.items()),
           studio_rounds="/".join(f"{r:.0f}" for r in studio_rates),
           studio_decode_s=median(studio_decode), studio_epoch_s=median(studio_epochs),
           plain_epoch_s=median(plain_epochs[best_workers]),
           studio_one_worker_images_per_s=median(studio_one_worker),
           one_worker_ratio=median(studio_one_worker) / plain,
           generator_images_per_s=trained * EPOCHS / seconds, generator_fit_images_per_s=trained * EPOCHS / fitting,
           generator_train_images=str(trained), generator_test_acc=float(result.test.get("accuracy") or 0.0))

