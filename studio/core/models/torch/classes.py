"""What every class-predicting network (the table network, the picture network) tells the epoch loop: the loss,
the targets as class indexes, and accuracy as its validation measure; and how its scores become probabilities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class CrossEntropyLearner:
    _metric_label = "Accuracy"

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        from torch import nn

        return nn.CrossEntropyLoss()

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any:
        import torch

        return torch.as_tensor(y, dtype=torch.long).to(device)

    def _metric(self, outputs: Any, targets: Any) -> float:
        return float((outputs.argmax(dim=1) == targets).double().mean().item())


def softmax(scores: np.ndarray) -> np.ndarray:
    """Class probabilities from a network's scores, one row per row (the largest taken out first, so large scores
    cannot overflow)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
