"""Shared by the network benchmarks, free of Qt so it also runs on a machine without a window toolkit: Studio's
prepared training rows, and the hand-written torch loop they are compared with."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from studio.core.data.profile import profile_frame
from studio.core.data.target import Task, target_values
from studio.core.prep.build import build_transformer
from studio.core.prep.config import default_prep
from studio.core.train.splits import SplitConfig, split_rows

from .bench import median

EPOCHS = 8
TARGET = "label"
SETTINGS = {"hidden_layers": "64, 32", "batch_size": 64, "learning_rate": 1e-3, "epochs": EPOCHS,
            "early_stopping": False}


def prepared(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The training rows as Studio prepares them: the same split, transformer and label coding."""
    y = target_values(frame[TARGET], Task.CLASSIFICATION).to_numpy().astype(object)
    parts = split_rows(pd.Series(y), len(frame), SplitConfig())
    transformer = build_transformer(default_prep(profile_frame(frame)), TARGET)
    x_train = transformer.fit_transform(frame.iloc[parts.train], y[parts.train])
    _, codes = np.unique(y[parts.train], return_inverse=True)
    return np.asarray(x_train, dtype=np.float32), codes.astype(np.int64)


def plain_loop(x: np.ndarray, y: np.ndarray, device: str, threads: int) -> float:
    """Seconds per epoch of a hand-written loop, on a fresh thread (as Studio's worker is); median of epochs 2+."""
    import torch

    from studio.core.models.torch.nets import build_network

    epoch_seconds: list[float] = []

    def run() -> None:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        network = build_network(x.shape[1], (64, 32), 2, "relu", "default", 0.0).to(device)
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
        loss_function = torch.nn.CrossEntropyLoss()
        features, targets = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        generator = torch.Generator().manual_seed(0)
        for _ in range(EPOCHS):
            started = time.perf_counter()
            order = torch.randperm(len(x), generator=generator).to(device)
            for start in range(0, len(x), 64):
                rows = order[start:start + 64]
                loss = loss_function(network(features[rows]), targets[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            float(loss.item())  # waits for the device, as the end of an epoch does in Studio
            epoch_seconds.append(time.perf_counter() - started)

    previous = torch.get_num_threads()
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    torch.set_num_threads(previous)
    return median(epoch_seconds[1:])


def studio_core_epoch(frame: pd.DataFrame, device: str) -> tuple[float, float, str]:
    """Seconds per epoch of Studio's own training generator without a window (batch reports and the cancel check
    on, as in the window), on a fresh thread; also the test accuracy and the device used."""
    from studio.core.common.curves import EpochPoint
    from studio.core.models.params import ParamValue
    from studio.core.train.training import TrainRequest, train

    settings: dict[str, ParamValue] = {**SETTINGS, "device": device}
    request = TrainRequest(frame, TARGET, Task.CLASSIFICATION, default_prep(profile_frame(frame)), SplitConfig(),
                           "neural_network", settings)
    times: list[float] = []
    outcome: dict[str, object] = {}

    def run() -> None:
        job = train(request, lambda: False)
        while True:
            try:
                item = next(job)
            except StopIteration as finished:
                outcome["result"] = finished.value
                return
            if isinstance(item.curve, EpochPoint):
                times.append(time.perf_counter())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    result = outcome["result"]
    return ((times[-1] - times[0]) / (len(times) - 1), float(result.test.get("accuracy") or 0.0),  # type: ignore[attr-defined]
            str(result.pipeline[-1].device_used_))  # type: ignore[attr-defined]
