"""Test accuracy and training time on real pictures shipped in installed packages, on a fixed seeded split.

Sets: scikit-learn's digits (1,797 scans of 8 × 8, 10 classes; 0..16 scaled to 0..255) and, when scikit-image is
installed, its ``lfw_subset`` (200 grayscale pictures of 25 × 25: 100 faces and 100 non-faces). Both ship inside
their packages, so nothing is downloaded. Each is written as a class-per-folder tree of PNG files and opened as
the Data step opens it (listed, then every file checked: exact copies are left out, as in the app).

The split: ``train_test_split(rows, test_size=0.25, stratify=labels, random_state=0)`` on the source's rows,
carried over to the rows Studio keeps and given to ``project.training_request(fixed_split=...)``.

Rows of the printed table, on the same training and test rows:

- Studio's small picture network (image_cnn, default settings and default augmentation, device "auto"); its
  early stopping holds out 15% of the training rows.
- The same with the augmentation switched off in the Prepare step (to see what the default augmentation does).
- The pixel baseline (image_pixels, default settings).
- A plain torch script: the PNG files read with PIL as grayscale, the same CNN (``build_small_cnn`` with the
  image_cnn defaults at the same input size), Adam at the same learning rate, batch 32, no augmentation, trained
  on every training row for as many epochs as Studio's run took.

Times are wall seconds of the whole run: Studio's through the training generator (reading, fitting, scoring
and the result's details), the plain script's from reading the files to its test predictions.

    .venv/bin/python -m pytest -m perf tests/perf/test_image_real_data.py -s

``STUDIO_PERF_TORCH_THREADS=1`` runs every side on one torch thread: on a shared 2-core machine two threads made
the same epoch 10 to 30 times slower whenever the neighbours were busy, which swamps the comparison of times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .bench import report
from .image_data import checked_folder, digits_tree, faces_tree, on_fresh_thread, row_of, studio_train, torch_threads

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.perf

THREADS = int(os.environ["STUDIO_PERF_TORCH_THREADS"]) if os.environ.get("STUDIO_PERF_TORCH_THREADS") else None
SETS: dict[str, Callable[[Path], tuple[Path, np.ndarray] | None]] = {"digits": digits_tree, "lfw_faces": faces_tree}


@dataclass(frozen=True)
class Row:
    name: str
    accuracy: float
    seconds: float
    note: str = ""


@pytest.mark.parametrize("dataset", list(SETS))
def test_real_pictures(dataset: str, tmp_path: Path) -> None:
    written = SETS[dataset](tmp_path / dataset)
    if written is None:
        pytest.skip(f"{dataset}: its package is not installed")
    root, labels = written
    folder = checked_folder(root)
    frame = folder.usable_frame()
    split, train_rows, test_rows = fixed_split(frame, labels)
    rows = measure(folder, frame, split, train_rows, test_rows)
    side = int(np.asarray(_first_picture(frame)).shape[0])
    print(f"\n{dataset}: {len(frame):,} of {len(labels):,} pictures kept by the check, {side} × {side} pixels, "
          f"{len(np.unique(labels))} classes; {len(train_rows):,} training and {len(test_rows):,} test pictures "
          "(seeded stratified 75/25 split)")
    print(f"  torch threads: {THREADS or torch.get_num_threads()}")
    print(f"  {'model':<44} {'test accuracy':>13} {'time (s)':>9}  notes")
    for row in rows:
        print(f"  {row.name:<44} {row.accuracy:>13.4f} {row.seconds:>9.1f}  {row.note}")
    studio, plain = rows[0], rows[-1]
    report(f"image_real_data[{dataset}]", "studio's default network at least as accurate as the plain script",
           studio_acc=studio.accuracy, studio_s=studio.seconds, plain_acc=plain.accuracy, plain_s=plain.seconds,
           no_augmentation_acc=rows[1].accuracy, pixels_acc=rows[2].accuracy, pixels_s=rows[2].seconds,
           acc_ratio=studio.accuracy / plain.accuracy, time_ratio=studio.seconds / plain.seconds)
    assert all(row.accuracy > 1.5 / len(np.unique(labels)) for row in rows)  # each learned something


def fixed_split(frame: Any, labels: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """The seeded stratified split of the source's rows, as positions in the rows Studio kept."""
    from sklearn.model_selection import train_test_split

    from studio.core.train.splits import explicit_split

    train, test = train_test_split(np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=0)
    position = {row_of(path): index for index, path in enumerate(frame["image"])}
    train_positions = np.asarray([position[r] for r in train if r in position], dtype=np.int64)
    test_positions = np.asarray([position[r] for r in test if r in position], dtype=np.int64)
    return (explicit_split(train_positions.tolist(), test_positions.tolist(), len(frame)), train_positions,
            test_positions)


def measure(folder: Any, frame: Any, split: Any, train_rows: np.ndarray, test_rows: np.ndarray) -> list[Row]:
    from studio.core.prep.images import ImagePrep

    cnn, cnn_s, cnn_fit_s = studio_train(folder, "image_cnn", fixed_split=split, threads=THREADS)
    network = cnn.pipeline[-1]
    epochs = int(network.n_epochs_)
    size = int(cnn.pipeline[0].size)
    plain_off = ImagePrep(flip=False, rotate=0, zoom=0.0, color=0.0)
    still, still_s, still_fit_s = studio_train(folder, "image_cnn", fixed_split=split, prep=plain_off, threads=THREADS)
    still_net = still.pipeline[-1]
    pixels, pixels_s, _ = studio_train(folder, "image_pixels", fixed_split=split, threads=THREADS)
    accuracy, plain_s = plain_script(frame, train_rows, test_rows, size, epochs)
    return [
        Row("Studio image_cnn (defaults)", _accuracy(cnn), cnn_s,
            f"{epochs} epochs (best {network.best_epoch_}), fitting {cnn_fit_s:.1f} s, {size} px, "
            f"{network.device_used_}"),
        Row("Studio image_cnn, augmentation off", _accuracy(still), still_s,
            f"{still_net.n_epochs_} epochs (best {still_net.best_epoch_}), fitting {still_fit_s:.1f} s"),
        Row("Studio image_pixels (pixel baseline)", _accuracy(pixels), pixels_s, "defaults"),
        Row("plain torch script (same CNN, Adam)", accuracy, plain_s,
            f"{epochs} epochs, no augmentation, no held-out part"),
    ]


def _accuracy(result: Any) -> float:
    return float(result.test.get("accuracy") or 0.0)


def _first_picture(frame: Any) -> Any:
    from PIL import Image

    with Image.open(frame["image"].iloc[0]) as image:
        return np.asarray(image)


def plain_script(frame: Any, train_rows: np.ndarray, test_rows: np.ndarray, size: int,
                 epochs: int) -> tuple[float, float]:
    """Test accuracy and wall seconds of a hand-written torch script on the same rows."""
    from PIL import Image

    from studio.core.models.torch.image_nets import build_small_cnn

    def run() -> tuple[float, float]:
        with torch_threads(THREADS):
            return fit()

    def fit() -> tuple[float, float]:
        started = time.perf_counter()
        paths = frame["image"].to_numpy()
        names = frame["class"].to_numpy().astype(str)
        classes, codes = np.unique(names, return_inverse=True)
        pictures = np.stack([np.asarray(Image.open(p).convert("L").resize((size, size))) for p in paths])
        x = torch.from_numpy(pictures[:, None, :, :].copy())
        y = torch.from_numpy(codes.astype(np.int64))
        x_train, y_train = x[train_rows], y[train_rows]
        torch.manual_seed(0)
        network = build_small_cnn(1, len(classes), size, 3, 32, 0.2)
        optimizer = torch.optim.Adam(network.parameters(), lr=2e-3)
        loss_function = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(0)
        network.train()
        for _ in range(epochs):
            order = torch.randperm(len(x_train), generator=generator)
            for start in range(0, len(order), 32):
                rows = order[start:start + 32]
                loss = loss_function(network(x_train[rows]), y_train[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        network.eval()
        with torch.no_grad():
            predicted = network(x[test_rows]).argmax(dim=1)
        accuracy = float((predicted == y[test_rows]).double().mean())
        return accuracy, time.perf_counter() - started

    return on_fresh_thread(run)
