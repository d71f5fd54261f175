"""The network on a graphics card (CUDA or Apple MPS). Skipped cleanly on machines without one.

Run on a GPU machine: ``python -m pytest -q -m gpu tests/core/test_torch_gpu.py``.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import Cancelled
from studio.core.data.target import Task
from studio.core.models.torch.devices import DeviceError, describe_hardware
from studio.core.models.torch.estimators import NetworkClassifier
from studio.core.store.model_file import load_model, metadata_for, save_model

from .helpers import make_request, run_training

torch = pytest.importorskip("torch")
HAS_CUDA = torch.cuda.is_available()
HAS_MPS = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not (HAS_CUDA or HAS_MPS), reason="no CUDA or MPS device")]
DEVICE = "cuda" if HAS_CUDA else "mps"


def test_hardware_is_named() -> None:
    found = describe_hardware()
    assert found != "CPU only"
    if HAS_CUDA:
        assert found.startswith(torch.cuda.get_device_name(0))


def test_trains_on_the_gpu_and_keeps_weights_on_the_cpu(tmp_path: Path, penguins: pd.DataFrame) -> None:
    _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                          {"epochs": 40, "device": "auto"}))
    network = result.pipeline[-1]
    assert network.device_used_.startswith(DEVICE)
    accuracy, baseline = result.test.get("accuracy"), result.test.baseline_of("accuracy")
    assert accuracy is not None and baseline is not None and accuracy > baseline + 0.3
    assert all(p.device.type == "cpu" for p in network.network_.parameters())

    # The file opens and predicts where no GPU is visible at all.
    path = save_model(tmp_path / "gpu.studio.joblib", result.pipeline, metadata_for(result))
    expected = result.pipeline.predict(penguins).astype(str)
    np.save(tmp_path / "expected.npy", expected)
    penguins.to_csv(tmp_path / "rows.csv", index=False)
    script = ("import sys, numpy as np, pandas as pd, torch; from studio.core.store.model_file import load_model;"
              "assert not torch.cuda.is_available();"
              f"b = load_model(r'{path}'); rows = pd.read_csv(r'{tmp_path / 'rows.csv'}');"
              f"got = b.pipeline.predict(rows).astype(str); exp = np.load(r'{tmp_path / 'expected.npy'}', "
              "allow_pickle=True); assert (got == exp).all(), (got != exp).sum()")
    done = subprocess.run([sys.executable, "-c", script], env={**_env(), "CUDA_VISIBLE_DEVICES": ""},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_model(path).pipeline[-1].device_used_.startswith(DEVICE)


@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA's memory statistics")
def test_the_data_leaves_the_card_after_training() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200_000, 64)).astype(np.float32)  # 51 MB on the card while training
    y = np.where(x[:, 0] > 0, "a", "b")
    NetworkClassifier(device="cuda", epochs=1, batch_size=50_000).fit(x[:1000], y[:1000])  # cuBLAS workspaces
    before = torch.cuda.memory_allocated()
    network = NetworkClassifier(device="cuda", epochs=2, batch_size=50_000).fit(x, y)
    assert torch.cuda.memory_allocated() - before < 4 << 20
    assert network.device_used_ == "cuda"


def test_gpu_and_cpu_learn_alike(penguins: pd.DataFrame) -> None:
    scores = {}
    for device in ("cpu", DEVICE):
        _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network",
                                              {"epochs": 30, "device": device, "early_stopping": False}))
        scores[device] = result.history[-1].val_loss
    assert scores[DEVICE] == pytest.approx(scores["cpu"], rel=0.05, abs=0.01)


def test_cancel_on_the_gpu_within_a_batch() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 8)).astype(np.float32)
    y = np.where(x[:, 0] > 0, "a", "b")
    calls = []

    def stop_on_third() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        list(NetworkClassifier(device=DEVICE, batch_size=16).fit_iter(x, y, should_stop=stop_on_third))
    assert len(calls) == 3


@pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA to limit the card's memory")
def test_out_of_memory_says_so_and_points_to_the_cpu() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 256)).astype(np.float32)
    y = np.where(x[:, 0] > 0, "a", "b")
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(0.0005)  # ~40 MB of an 80 GB card
    try:
        with pytest.raises(DeviceError, match=r"ran out of memory.*CPU"):
            NetworkClassifier(device="cuda", hidden_layers="4096, 4096", batch_size=4096, epochs=2).fit(x, y)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    # The card is usable again right after.
    NetworkClassifier(device="cuda", hidden_layers="16", epochs=2).fit(x[:500], y[:500])


def test_pickled_gpu_model_has_no_device_tensors() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = np.where(x[:, 0] > 0, "a", "b")
    network = NetworkClassifier(device=DEVICE, epochs=3).fit(x, y)
    again = pickle.loads(pickle.dumps(network))
    assert all(p.device.type == "cpu" for p in again.network_.parameters())
    np.testing.assert_array_equal(again.predict(x), network.predict(x))


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_picture_network_trains_on_the_gpu_with_mixed_precision_and_predicts_on_the_cpu() -> None:
    from studio.core.models.torch.image_estimator import ImageClassifier

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 60, (240, 32, 32, 3), dtype=np.uint8)
    labels = np.array(["dark", "light"] * 120)
    pixels[labels == "light"] += 120  # two classes a network tells apart at once
    network = ImageClassifier(epochs=4, batch_size=32, device="auto", early_stopping=False, workers=0)
    network.fit(pixels, labels)
    assert network.device_used_.startswith(DEVICE)
    assert all(p.device.type == "cpu" for p in network.network_.parameters())
    assert (network.predict(pixels) == labels).mean() > 0.9
    # A saved and reopened picture network answers the same.
    again = pickle.loads(pickle.dumps(network))
    np.testing.assert_allclose(again.predict_proba(pixels[:16]), network.predict_proba(pixels[:16]), atol=1e-6)
