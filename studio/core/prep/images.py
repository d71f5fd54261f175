"""Preparing pictures: the size and colour the network sees, and the augmentation applied while it trains.

``ImageReader`` is the first step of every image model's Pipeline: it turns a column of file paths into uint8
pixels (N, H, W, C) at the chosen size, so a saved model predicts from image files. Augmentation happens only
while training, on those pixels, with torchvision's v2 transforms (``ImagePrep.augmenter``); the Prepare page's
preview runs the very same transforms, so it shows exactly what the network sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.data.images import IMAGE_COLUMN, read_pixels

if TYPE_CHECKING:
    from studio.core.prep.image_reader import ImageReader

FITS = ("pad", "stretch", "crop")
FIT_WORDS = {"pad": "keep the whole picture and fill the sides with black",
             "stretch": "stretch the picture to a square",
             "crop": "cut out the middle square (the edges are lost)"}
MIN_SIZE, MAX_SIZE = 8, 512
PRETRAINED_MIN_SIZE = 64  # pretrained networks shrink a picture 32 times; smaller ones leave them nothing to see
PRETRAINED_SIZE = 224  # the size the pretrained networks learned at


@dataclass(frozen=True)
class ImageColumn:
    """The one "column" an image model learns from, shaped like the table preparation's columns."""

    name: str = IMAGE_COLUMN
    kind: str = "image"
    treatment: str = "read as pixels"


@dataclass(frozen=True)
class ImagePrep:
    """How pictures are prepared. ``size`` None: follow the pictures' own size (see ``input_size``)."""

    size: int | None = None
    grayscale: bool = False
    fit: str = "pad"
    flip: bool = True  # mirror left-right at random
    rotate: int = 10  # turn by up to this many degrees either way (0: off)
    zoom: float = 0.1  # crop and zoom by up to this share (0: off)
    color: float = 0.2  # vary brightness and contrast by up to this share (0: off)
    blur: bool = False  # soften some pictures a little
    noise: float = 0.0  # add speckle noise of this strength (0: off)

    def features(self, target: str | None = None) -> tuple[ImageColumn, ...]:
        return (ImageColumn(),)

    @property
    def augments(self) -> bool:
        return bool(self.flip or self.rotate or self.zoom or self.color or self.blur or self.noise)

    def input_size(self, typical_side: int, pretrained: bool = False) -> int:
        """The square size the network sees: the chosen one, or the pictures' own (never upscaled, except to
        what a pretrained network needs), capped so training stays quick."""
        if self.size is not None:
            size = int(self.size)
        else:
            size = min(typical_side, 128 if not pretrained else PRETRAINED_SIZE)
        if pretrained:
            size = max(size, PRETRAINED_MIN_SIZE)
        return max(MIN_SIZE, min(MAX_SIZE, size))

    def problems(self) -> list[str]:
        if self.size is not None and not MIN_SIZE <= self.size <= MAX_SIZE:
            return [f"The picture size must lie between {MIN_SIZE} and {MAX_SIZE} pixels."]
        if self.fit not in FITS:
            return [f"Unknown way to make pictures square: {self.fit!r}."]
        return []

    def describe(self, size: int) -> str:
        colour = "grayscale" if self.grayscale else "colour"
        return f"{size} × {size} pixels in {colour}; non-square pictures: {FIT_WORDS[self.fit]}"

    def augmentation_words(self) -> str:
        parts = []
        if self.flip:
            parts.append("mirrored")
        if self.rotate:
            parts.append(f"turned up to {self.rotate}°")
        if self.zoom:
            parts.append(f"zoomed up to {self.zoom:.0%}")
        if self.color:
            parts.append(f"brightness and contrast varied up to {self.color:.0%}")
        if self.blur:
            parts.append("sometimes softened")
        if self.noise:
            parts.append("speckled")
        return ("While training, pictures are " + ", ".join(parts) + ".") if parts else "No augmentation."

    def augmenter(self, size: int) -> Any:
        """torchvision v2 transforms for one uint8 (C, H, W) tensor, or None when nothing is augmented."""
        if not self.augments:
            return None
        from torchvision.transforms import v2

        steps: list[Any] = []
        if self.flip:
            steps.append(v2.RandomHorizontalFlip())
        if self.rotate:
            steps.append(v2.RandomRotation(float(self.rotate)))
        if self.zoom:
            steps.append(v2.RandomResizedCrop(size, scale=(max(0.05, 1.0 - float(self.zoom)) ** 2, 1.0),
                                              ratio=(0.9, 1.1), antialias=True))
        if self.color:
            steps.append(v2.ColorJitter(brightness=float(self.color), contrast=float(self.color)))
        if self.blur:
            steps.append(v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.5))], p=0.3))
        if self.noise:
            steps.extend([v2.ToDtype(_float32(), scale=True), v2.GaussianNoise(sigma=float(self.noise) * 0.2,
                                                                                clip=True),
                          v2.ToDtype(_uint8(), scale=True)])
        return v2.Compose(steps)

    def reader(self, size: int) -> ImageReader:
        from studio.core.prep.image_reader import ImageReader

        return ImageReader(size=size, grayscale=self.grayscale, fit_mode=self.fit)

    def preview(self, path: str, size: int, count: int = 8, seed: int = 0) -> list[np.ndarray]:
        """The picture as the network sees it (first) and ``count - 1`` augmented versions: uint8 (H, W, C)."""
        pixels = read_pixels(path, size, self.grayscale, self.fit)
        shown = [pixels]
        augmenter = self.augmenter(size)
        if augmenter is None:
            return shown
        import torch

        tensor = torch.from_numpy(np.array(pixels.transpose(2, 0, 1)))  # an own, writable copy
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(count - 1):
                shown.append(augmenter(tensor).numpy().transpose(1, 2, 0).copy())
        return shown


def _float32() -> Any:
    import torch

    return torch.float32


def _uint8() -> Any:
    import torch

    return torch.uint8


@dataclass(frozen=True)
class ImageTraining:
    """What a training run of pictures takes from the Prepare step: the preparation, the size it resolved to,
    the folder the paths are under, and the groups of near copies that must stay on one side of the split.
    It stands where a table run has its PrepConfig."""

    prep: ImagePrep
    size: int
    root: str = ""
    near_groups: tuple[tuple[int, ...], ...] = ()

    def features(self, target: str | None = None) -> tuple[ImageColumn, ...]:
        return self.prep.features(target)

    def reader(self) -> ImageReader:
        return self.prep.reader(self.size)
