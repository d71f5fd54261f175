"""The first step of every image model's Pipeline: a column of image file paths in, uint8 pixels out, so a
saved model predicts from image files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from studio.core.data.images import IMAGE_COLUMN, ImageReadError, display_name, read_pixels


def image_paths(x: Any) -> list[str]:
    """File paths from what a Pipeline step is given: a frame with an ``image`` column (or one column), a
    Series, or a list."""
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        column = IMAGE_COLUMN if IMAGE_COLUMN in x.columns else x.columns[0]
        return [str(p) for p in x[column]]
    if isinstance(x, pd.Series):
        return [str(p) for p in x]
    return [str(p) for p in np.asarray(x, dtype=object).ravel()]


class ImageReader(TransformerMixin, BaseEstimator):
    """Image file paths in, uint8 pixels (N, size, size, channels) out. Fitting learns nothing."""

    def __init__(self, size: int = 64, grayscale: bool = False, fit_mode: str = "pad") -> None:
        self.size = size
        self.grayscale = grayscale
        self.fit_mode = fit_mode

    def fit(self, X: Any, y: Any = None) -> ImageReader:  # noqa: N803 - scikit-learn's argument names
        self.n_channels_ = 1 if self.grayscale else 3
        return self

    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        pixels, failures = self.read(image_paths(X))
        if failures:
            why = next(iter(failures.values()))
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise ImageReadError(f"{why}{more}")
        return pixels

    def read(self, paths: Sequence[str]) -> tuple[np.ndarray, dict[int, str]]:
        """Pixels for every path (black where a file failed) and, by position, why each failure failed."""
        from concurrent.futures import ThreadPoolExecutor

        channels = 1 if self.grayscale else 3
        out = picture_array((len(paths), int(self.size), int(self.size), channels))
        failures: dict[int, str] = {}

        def one(index: int) -> None:
            try:
                out[index] = read_pixels(paths[index], int(self.size), bool(self.grayscale), str(self.fit_mode))
            except ImageReadError as exc:
                failures[index] = str(exc)
            except Exception as exc:  # whatever a damaged file raised: that row fails, the others are read
                failures[index] = f"{display_name(paths[index])} could not be read ({type(exc).__name__})."

        # Pillow decodes without holding the GIL: threads read several pictures at once.
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            list(pool.map(one, range(len(paths))))
        return out, dict(sorted(failures.items()))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([IMAGE_COLUMN], dtype=object)


def memory_budget() -> int:
    """Bytes of decoded pictures kept in memory: half of the memory free now (all of it counted on a system that
    does not say), at least 256 MB."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows and systems without these names
        return 2 << 30
    return max(256 << 20, free // 2)


def picture_array(shape: tuple[int, int, int, int]) -> np.ndarray:
    """A zeroed uint8 array for decoded pictures: in memory when it fits the budget, otherwise in a temporary file
    mapped into memory, which the system pages in and out as training reads it. The file has no name (it is
    removed at once, or on closing where the system cannot), so nothing is left behind."""
    import tempfile

    size = int(np.prod(shape))
    if size <= memory_budget():
        return np.zeros(shape, dtype=np.uint8)
    handle = tempfile.TemporaryFile(prefix="studio-pictures-")  # noqa: SIM115 - lives as long as the array
    handle.truncate(size)
    return np.memmap(handle, dtype=np.uint8, mode="r+", shape=shape)
