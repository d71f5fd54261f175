"""Pictures larger than memory: the reader decodes them into a mapped temporary file, and the network trains from
it a batch at a time, with the same result as from memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.prep import image_reader
from studio.core.prep.image_reader import ImageReader

torch = pytest.importorskip("torch")


def test_pictures_over_the_memory_budget_go_to_a_mapped_file_and_train_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core.models.torch import image_estimator
    from studio.core.models.torch.image_estimator import ImageClassifier

    rng = np.random.default_rng(0)
    paths, labels = [], []
    for index in range(60):
        light = index % 2
        pixels = rng.integers(0, 60, (20, 20, 3), dtype=np.uint8) + (120 if light else 0)
        path = tmp_path / f"{index:02d}.png"
        Image.fromarray(pixels.astype(np.uint8)).save(path)
        paths.append(str(path))
        labels.append("light" if light else "dark")
    in_memory, failures = ImageReader(size=16).read(paths)
    assert not failures and not isinstance(in_memory, np.memmap)

    monkeypatch.setattr(image_reader, "memory_budget", lambda: 1024)
    mapped, failures = ImageReader(size=16).read(paths)
    assert not failures and isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(np.asarray(mapped), in_memory)

    settings = {"epochs": 3, "batch_size": 16, "device": "cpu", "workers": 0}
    from_memory = ImageClassifier(**settings).fit(in_memory, np.array(labels))
    # Nothing is copied to the device at once either: every batch is read from the mapped file.
    monkeypatch.setattr(image_estimator, "DEVICE_COPY_BYTES", 0)
    from_file = ImageClassifier(**settings).fit(mapped, np.array(labels))
    np.testing.assert_allclose(from_file.predict_proba(in_memory), from_memory.predict_proba(in_memory), atol=1e-5)
    assert from_file.loss_curve_ == pytest.approx(from_memory.loss_curve_, rel=1e-5)
