"""Shared by the picture benchmarks, free of Qt so they also run on a GPU server: folders of pictures written once
(drawn shapes, scikit-learn's digits, scikit-image's faces), Studio's side of a run and the plain torchvision loop
it is compared with.

Every folder is class-per-folder with PNG files named by the picture's position in its source array, so a split
drawn on the source's rows can be carried over to the rows Studio keeps after its check of the files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

SIZE = 64
SHAPES = ("circle", "square", "triangle", "cross")
T = TypeVar("T")


# -- folders of pictures ---------------------------------------------------------------------------------------
def draw_shapes(root: Path, count: int = 1_000, size: int = SIZE, seed: int = 0) -> Path:
    """``count`` colour pictures of ``size`` × ``size`` pixels, one shape each, in four class folders.

    Shapes vary in place, size and colour on a noisy background, so the network has real work to do and PNG
    decoding costs what it costs for a photo-like file (noise does not compress away).
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for name in SHAPES:
        (root / name).mkdir(parents=True, exist_ok=True)
    for index in range(count):
        name = SHAPES[index % len(SHAPES)]
        background = rng.integers(0, 90, 3)
        noise = rng.integers(-20, 21, (size, size, 3))
        image = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(image)
        side = int(rng.integers(size // 4, size // 2))
        x, y = (int(v) for v in rng.integers(2, size - side - 2, 2))
        colour = tuple(int(v) for v in rng.integers(140, 256, 3))
        if name == "circle":
            draw.ellipse([x, y, x + side, y + side], fill=colour)
        elif name == "square":
            draw.rectangle([x, y, x + side, y + side], fill=colour)
        elif name == "triangle":
            draw.polygon([(x, y + side), (x + side, y + side), (x + side // 2, y)], fill=colour)
        else:
            bar = max(2, side // 4)
            middle = side // 2
            draw.rectangle([x + middle - bar // 2, y, x + middle + bar // 2, y + side], fill=colour)
            draw.rectangle([x, y + middle - bar // 2, x + side, y + middle + bar // 2], fill=colour)
        image.save(root / name / f"{index:05d}.png")
    return root


def write_gray_tree(root: Path, pictures: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> Path:
    """uint8 grayscale pictures (N, H, W) as ``root/<class name>/<row>.png``."""
    from PIL import Image

    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
    for row, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        Image.fromarray(np.ascontiguousarray(picture), "L").save(root / names[int(label)] / f"{row:05d}.png")
    return root


def digits_tree(root: Path) -> tuple[Path, np.ndarray]:
    """scikit-learn's digits (1,797 pictures of 8 × 8, values 0..16 scaled to 0..255) and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pictures = np.rint(digits.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    return write_gray_tree(root, pictures, labels, tuple(str(d) for d in range(10))), labels


def faces_tree(root: Path) -> tuple[Path, np.ndarray] | None:
    """scikit-image's ``lfw_subset`` (200 pictures of 25 × 25: 100 faces, then 100 non-faces), or None when
    scikit-image is not installed. It ships inside the package, so nothing is downloaded."""
    try:
        from skimage import data
    except ImportError:
        return None
    pictures = np.rint(data.lfw_subset() * 255.0).clip(0, 255).astype(np.uint8)
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [100, len(pictures) - 100])
    return write_gray_tree(root, pictures, labels, ("face", "not_face")), labels


def row_of(path: str) -> int:
    """The source row a picture was written from (its file name)."""
    return int(Path(path).stem)


# -- running ---------------------------------------------------------------------------------------------------
def on_fresh_thread(work: Callable[[], T]) -> T:
    """``work()`` on a new thread, as Studio's worker runs a training (torch's thread pools belong to the thread
    that first uses them, so both sides of a comparison start alike)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller's thread, where pytest reports it
            box["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads for the work inside (None: left as they are), restored afterwards."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def drain(job: Generator[Any, None, T], on_item: Callable[[Any], None] | None = None) -> T:
    """Run a generator to its end; its return value."""
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]
        if on_item is not None:
            on_item(item)


def checked_folder(root: Path) -> Any:
    """The folder as the Data step opens it: listed, then every file checked."""
    from studio.core.data.images import check_images, list_image_folder

    folder = list_image_folder(root)
    return folder.with_check(drain(check_images(folder)))


def image_cnn(**overrides: Any) -> Any:
    """Studio's small picture network as the Model step builds it: the image_cnn defaults, with ``overrides``,
    and the Prepare step's default augmentation."""
    from studio.core.data.target import Task
    from studio.core.models.registry import get_model
    from studio.core.models.torch.image_estimator import augmentation_text
    from studio.core.prep.images import ImagePrep

    estimator = get_model("image_cnn").make_estimator(Task.CLASSIFICATION, overrides)
    prep = ImagePrep()
    return estimator.set_params(augmentation=augmentation_text(prep) if prep.augments else "")


def plain_augmentation(size: int) -> Any:
    """The v2 transforms a person writes for the Prepare step's default augmentation (mirror, turn up to 10°, zoom
    up to 10%, brightness and contrast up to 20%); the benchmarks check they equal Studio's."""
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomHorizontalFlip(), v2.RandomRotation(10.0),
                       v2.RandomResizedCrop(size, scale=(0.81, 1.0), ratio=(0.9, 1.1), antialias=True),
                       v2.ColorJitter(brightness=0.2, contrast=0.2)])


def same_augmentation(size: int) -> bool:
    from studio.core.prep.images import ImagePrep

    return repr(plain_augmentation(size)) == repr(ImagePrep().augmenter(size))


@dataclass(frozen=True)
class Timing:
    """One training run: the whole wall time (reading included), the time spent reading files into memory before
    training (Studio only; the plain loop reads inside its epochs), and each epoch's end since the start."""

    seconds: float
    decode_s: float
    epoch_ends: tuple[float, ...]

    @property
    def steady_epoch_s(self) -> float:
        """Median epoch time after the first (which holds the worker start-up)."""
        ends = (0.0, *self.epoch_ends)
        epochs = np.diff(ends)
        return float(np.median(epochs[1:])) if len(epochs) > 1 else float(epochs[0])


def studio_fit(root: Path, epochs: int, device: str = "cpu", batch_size: int = 32, workers: int | None = None,
               threads: int | None = None, **overrides: Any) -> tuple[Timing, Any]:
    """Studio's path for a folder: ``ImageReader`` at the pictures' size (threads decode every file once, into
    uint8 memory), then ``ImageClassifier.fit_iter`` with the default augmentation, all pictures trained on (no
    early stopping, so no held-out part), cancel checks and batch reports on as in the app. ``workers``: the
    estimator's DataLoader processes (None: its own choice, as in the app; the Model step does not offer it).
    ``threads``: torch's CPU threads for the run (None: torch's default, as in the app)."""
    from studio.core.data.images import list_image_folder
    from studio.core.models.torch.loop import EpochReport
    from studio.core.prep.images import ImagePrep

    def run() -> tuple[Timing, Any]:
        with torch_threads(threads):
            return fit()

    def fit() -> tuple[Timing, Any]:
        frame = list_image_folder(root).frame
        started = time.perf_counter()
        reader = ImagePrep().reader(SIZE)
        pixels = reader.fit_transform(frame)
        decoded = time.perf_counter() - started
        estimator = image_cnn(epochs=epochs, early_stopping=False, device=device, batch_size=batch_size,
                              **overrides)
        if workers is not None:
            estimator.set_params(workers=workers)
        ends: list[float] = []
        for report in estimator.fit_iter(pixels, frame["class"].to_numpy().astype(str), should_stop=lambda: False):
            if isinstance(report, EpochReport):
                ends.append(time.perf_counter() - started)
        return Timing(time.perf_counter() - started, decoded, tuple(ends)), estimator

    return on_fresh_thread(run)


def plain_fit(root: Path, epochs: int, workers: int, device: str = "cpu", batch_size: int = 32,
              mixed: bool = False, threads: int | None = None) -> Timing:
    """What a person writes: torchvision's ``ImageFolder`` (PIL decodes each file every epoch), the same v2
    transforms, a ``DataLoader``, the same network (``build_small_cnn``, default settings, same seed) and Adam at
    Studio's learning rate. ``mixed``: float16 autocast with a gradient scaler (CUDA only)."""
    import torch
    from torchvision import datasets
    from torchvision.transforms import v2

    from studio.core.models.torch.image_nets import build_small_cnn

    def run() -> Timing:
        with torch_threads(threads):
            return fit()

    def fit() -> Timing:
        started = time.perf_counter()
        transform = v2.Compose([v2.PILToTensor(), plain_augmentation(SIZE)])
        dataset = datasets.ImageFolder(str(root), transform=transform)
        cuda = device.startswith("cuda")
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                                             pin_memory=cuda, persistent_workers=workers > 0,
                                             generator=torch.Generator().manual_seed(0))
        torch.manual_seed(0)
        network = build_small_cnn(3, len(dataset.classes), SIZE).to(device)
        optimizer = torch.optim.Adam(network.parameters(), lr=2e-3)
        loss_function = torch.nn.CrossEntropyLoss()
        scaler = torch.amp.GradScaler("cuda") if mixed else None
        ends: list[float] = []
        network.train()
        for _ in range(epochs):
            for inputs, targets in loader:
                inputs = inputs.to(device, non_blocking=True)
                targets = targets.to(device, non_blocking=True)
                with torch.autocast("cuda", dtype=torch.float16, enabled=mixed):
                    loss = loss_function(network(inputs), targets)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            float(loss.item())  # waits for the device, as the end of an epoch does in Studio
            ends.append(time.perf_counter() - started)
        return Timing(time.perf_counter() - started, 0.0, tuple(ends))

    return on_fresh_thread(run)


def studio_train(folder: Any, model_key: str, params: dict[str, Any] | None = None, fixed_split: Any = None,
                 prep: Any = None, threads: int | None = None) -> tuple[Any, float, float]:
    """A whole run through Studio's training generator, as the window starts it: the project's request for the
    checked folder (default settings with ``params`` overlaid; the default preparation unless ``prep``, an
    ImagePrep, is given). Returns the TrainResult, the run's wall seconds and the seconds of its fitting stage
    (first to last "Fitting" item). ``threads``: torch's CPU threads (None: torch's default)."""
    from studio.core.project import ModelConfig, Project
    from studio.core.train.training import train

    project = Project()
    project.set_dataset(folder)
    project.set_image_check(folder.check)
    if prep is not None:
        project.set_image_prep(prep)
    config = ModelConfig(model_key)
    for name, value in (params or {}).items():
        config = config.with_param(name, value)
    project.set_model(config)
    request = project.training_request(fixed_split=fixed_split)
    fitting: list[float] = []

    def on_item(item: Any) -> None:
        if item.stage == "Fitting":
            fitting.append(time.perf_counter())

    def run() -> tuple[Any, float]:
        with torch_threads(threads):
            started = time.perf_counter()
            result = drain(train(request), on_item)
            return result, time.perf_counter() - started

    result, seconds = on_fresh_thread(run)
    return result, seconds, (fitting[-1] - fitting[0]) if len(fitting) > 1 else 0.0
