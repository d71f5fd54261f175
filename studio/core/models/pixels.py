"""The baseline for pictures: each picture shrunk to a few pixels and read as a row of numbers, for a plain
logistic regression. Every picture model's result has this to beat."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class PixelShrinker(TransformerMixin, BaseEstimator):
    """uint8 pictures (N, H, W, C) in; each one averaged down to ``size`` × ``size`` and flattened to numbers
    between 0 and 1."""

    def __init__(self, size: int = 16) -> None:
        self.size = size

    def fit(self, X: Any, y: Any = None) -> PixelShrinker:  # noqa: N803 - scikit-learn's argument names
        pixels = np.asarray(X)
        self.n_features_in_ = int(np.prod(pixels.shape[1:])) if pixels.ndim == 4 else 1
        return self

    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        from PIL import Image

        pixels = np.asarray(X, dtype=np.uint8)
        size = min(int(self.size), pixels.shape[1]) if pixels.ndim == 4 else int(self.size)
        out = np.empty((len(pixels), size * size * pixels.shape[3]), dtype=np.float32)
        for row, picture in enumerate(pixels):
            image = Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture)
            small = np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float32)
            out[row] = small.reshape(-1) / 255.0
        return out
