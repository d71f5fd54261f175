"""A picture classifier as a scikit-learn estimator: uint8 pixels (N, H, W, C) in, classes out.

It sits after ``prep.images.ImageReader`` in the Pipeline, so a saved model predicts from image files. The
pixels stay in memory as uint8 (a quarter of floats); each epoch's batches are augmented by the Prepare step's
torchvision transforms (a fresh draw per small group of pictures) in a ``DataLoader`` (with worker processes
when a graphics card does the training, so the CPU keeps it fed). A pretrained body is frozen first and only the
new last layer learns; "fine-tune" then trains the whole network a little longer at a tenth of the learning rate.
Training runs in the shared epoch loop (``loop.Trainer``): live curves, early stopping on the best epoch, cancel
between batches, mixed precision on CUDA.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from studio.core.common.errors import DataError, StudioError
from studio.core.common.words import plural
from studio.core.models.torch.classes import CrossEntropyLearner, softmax
from studio.core.models.torch.devices import DEVICES
from studio.core.models.torch.image_nets import ARCHITECTURES, BACKBONES, SMALL_CNN
from studio.core.models.torch.loop import BatchReport, EpochReport, Trainer

_Part = tuple[np.ndarray, np.ndarray, np.ndarray]  # pixels, the rows of them in this part, their targets
PREDICT_BATCH = 256
# Pictures up to this size (uint8) are copied to the device once when not augmented; more go a batch at a time.
DEVICE_COPY_BYTES = 1 << 30
MIN_VALIDATION_IMAGES = 10


def augmentation_text(prep: Any) -> str:
    """An ImagePrep's augmentation settings as the estimator keeps them (plain text, so the model file stays
    plain data)."""
    return json.dumps({k: getattr(prep, k) for k in ("flip", "rotate", "zoom", "color", "blur", "noise")},
                      sort_keys=True)


def _augmenter(text: str, size: int) -> Any:
    if not text:
        return None
    from studio.core.prep.images import ImagePrep

    return replace(ImagePrep(), **json.loads(text)).augmenter(size)


def pictures_per_draw(size: int) -> int:
    """How many pictures of a batch share one random draw of the augmentation. A torchvision transform costs
    about the same per call whatever it is given, so on small pictures (where that overhead is nearly all of the
    cost, and dwarfs the network's own work) groups of up to 8 share a draw; from 224 pixels up every picture
    gets its own."""
    return max(1, min(8, 65_536 // max(1, size * size)))


class _AugmentedBatches:
    """Pictures as a torch Dataset read a batch at a time (the sampler gives lists of indexes): uint8, channels
    first, after fresh random augmentations, one per group of ``pictures_per_draw`` pictures. ``rows`` picks this
    part's pictures out of the whole array, which is never copied (it may be a file mapped into memory)."""

    def __init__(self, pixels: np.ndarray, rows: np.ndarray, targets: Any, augmenter: Any) -> None:
        self.pixels, self.rows, self.targets, self.augmenter = pixels, rows, targets, augmenter
        self.group = pictures_per_draw(int(pixels.shape[1]))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, indexes: list[int]) -> tuple[Any, Any]:
        import torch

        picked = np.asarray(indexes, dtype=np.int64)
        batch = _batch(self.pixels, self.rows[picked])
        groups = [self.augmenter(batch[start:start + self.group]) for start in range(0, len(batch), self.group)]
        return torch.cat(groups), self.targets[torch.from_numpy(picked)]


def _batch(pixels: np.ndarray, rows: np.ndarray) -> Any:
    """Some pictures as a uint8 (N, C, H, W) tensor; sorted reads, as a mapped file reads fastest in order."""
    import torch

    order = np.argsort(rows, kind="stable")
    chunk = np.empty((len(rows), *pixels.shape[1:]), dtype=np.uint8)
    chunk[order] = pixels[rows[order]]
    return torch.from_numpy(np.ascontiguousarray(chunk.transpose(0, 3, 1, 2)))


class ImageSource:
    """Pictures as batches on the device (loop.BatchSource), from uint8 pixels (N, H, W, C) and the rows of
    them this part uses. Without augmentation, pictures that fit the device budget move to it once and batches
    are slices; more than that are sent a batch at a time. With augmentation, a DataLoader augments each picture
    anew every epoch."""

    def __init__(self, pixels: np.ndarray, rows: np.ndarray, targets: Any, device: Any, batch_size: int,
                 generator: Any, augmenter: Any = None, workers: int = 0) -> None:
        self.device = device
        self.rows = len(rows)
        self.batch_size = max(1, min(int(batch_size), self.rows))
        self.generator = generator
        self.source_pixels: Any = pixels
        self.source_rows = np.asarray(rows, dtype=np.int64)
        self.pixels: Any = None
        self.targets: Any = targets
        self.loader: Any = None
        if augmenter is None:
            self.targets = targets.to(device)
            if self.rows * int(np.prod(pixels.shape[1:])) <= DEVICE_COPY_BYTES:
                self.pixels = _batch(pixels, self.source_rows).to(device)
        else:
            from torch.utils.data import BatchSampler, DataLoader, RandomSampler

            cuda = device.type == "cuda"
            # A torch Dataset in all but its base class.
            dataset = cast(Any, _AugmentedBatches(pixels, self.source_rows, targets, augmenter))
            batches = BatchSampler(RandomSampler(dataset, generator=generator), self.batch_size, drop_last=False)
            self.loader = DataLoader(dataset, sampler=batches, batch_size=None, num_workers=workers, pin_memory=cuda,
                                     persistent_workers=workers > 0,
                                     multiprocessing_context="spawn" if workers > 0 else None)

    def epoch(self) -> Iterator[tuple[Any, Any]]:
        import torch

        if self.loader is not None:
            for inputs, targets in self.loader:
                yield inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)
            return
        order = torch.randperm(self.rows, generator=self.generator)
        for start in range(0, self.rows, self.batch_size):
            rows = order[start:start + self.batch_size]
            on_device = rows.to(self.device)
            if self.pixels is not None:
                yield self.pixels[on_device], self.targets[on_device]
            else:
                batch = _batch(self.source_pixels, self.source_rows[rows.numpy()])
                yield batch.to(self.device, non_blocking=True), self.targets[on_device]

    def in_order(self) -> Iterator[tuple[Any, Any]]:
        for start in range(0, self.rows, PREDICT_BATCH):
            part = slice(start, start + PREDICT_BATCH)
            pictures = (self.pixels[part] if self.pixels is not None
                        else _batch(self.source_pixels, self.source_rows[part]).to(self.device))
            yield pictures, self.targets[part].to(self.device)

    def release(self) -> None:
        self.loader = None
        self.pixels = self.targets = self.source_pixels = None


class _Phase:
    """The estimator's settings with another learning rate and epoch count: the fine-tuning phase's owner."""

    def __init__(self, owner: ImageClassifier, learning_rate: float, epochs: int) -> None:
        self.__dict__.update({k: getattr(owner, k) for k in owner.get_params()})
        self.learning_rate, self.epochs = learning_rate, epochs
        self.owner = owner
        self._metric_label = owner._metric_label
        self.optimizer, self.weight_decay = owner.optimizer, owner.weight_decay
        self.lr_schedule, self.l1 = owner.lr_schedule, owner.l1

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        return self.owner._loss_function()

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any:
        return self.owner._target_tensor(y, device)

    def _metric(self, outputs: Any, targets: Any) -> float:
        return self.owner._metric(outputs, targets)


class ImageClassifier(CrossEntropyLearner, ClassifierMixin, BaseEstimator):
    """A convolutional network for pictures: a small one from scratch, or a pretrained one with a new last layer."""

    # Settings the epoch loop reads that pictures do not need as choices.
    optimizer = "adamw"
    weight_decay = 1e-4
    lr_schedule = "plateau"
    l1 = 0.0
    network_: Any
    n_epochs_: int
    best_epoch_: int
    loss_curve_: list[float]
    validation_loss_curve_: list[float]
    stop_reason_: str
    device_used_: str

    def __init__(self, architecture: str = SMALL_CNN, depth: int = 3, width: int = 32, dropout: float = 0.2,
                 learning_rate: float = 1e-3, epochs: int = 30, batch_size: int = 32, early_stopping: bool = True,
                 patience: int = 6, fine_tune: bool = False, fine_tune_epochs: int = 10, weights_file: str = "",
                 augmentation: str = "", mixed_precision: bool = True, workers: int = -1,
                 validation_fraction: float = 0.15, device: str = "auto", random_state: int | None = 0) -> None:
        self.architecture = architecture
        self.depth = depth
        self.width = width
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.patience = patience
        self.fine_tune = fine_tune
        self.fine_tune_epochs = fine_tune_epochs
        self.weights_file = weights_file
        self.augmentation = augmentation
        self.mixed_precision = mixed_precision
        self.workers = workers
        self.validation_fraction = validation_fraction
        self.device = device
        self.random_state = random_state

    @property
    def pretrained(self) -> bool:
        return self.architecture in BACKBONES

    # -- fitting --------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> ImageClassifier:  # noqa: N803 - scikit-learn's argument names
        for _ in self.fit_iter(X, y):
            pass
        return self

    def fit_iter(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None,  # noqa: N803
                 should_stop: Callable[[], bool] | None = None
                 ) -> Generator[EpochReport | BatchReport, None, ImageClassifier]:
        self._check_settings()
        pixels = _pixels(X)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, targets = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError("The training pictures hold a single class, so there is nothing to tell apart.")
        self.image_shape_ = tuple(int(v) for v in pixels.shape[1:])
        # Parts are (pixels, rows of them, their targets): the pictures are never copied per part, since they
        # may be larger than memory (a mapped file, see ImageReader).
        train: _Part = (pixels, np.arange(len(pixels)), targets)
        validation: _Part | None = None
        if X_val is not None and y_val is not None and len(X_val):
            y_val = column_or_1d(y_val)
            usable = np.isin(y_val, self.classes_)
            if usable.any():
                validation = (_pixels(X_val), np.flatnonzero(usable), np.searchsorted(self.classes_, y_val[usable]))
        elif self.early_stopping and len(pixels) >= 2 * MIN_VALIDATION_IMAGES:
            rows = np.random.default_rng(self.random_state).permutation(len(pixels))
            held = max(MIN_VALIDATION_IMAGES, round(len(pixels) * float(self.validation_fraction)))
            validation = (pixels, np.sort(rows[:held]), targets[np.sort(rows[:held])])
            train = (pixels, np.sort(rows[held:]), targets[np.sort(rows[held:])])
        network = self._new_network(pixels.shape[3], pixels.shape[1])
        if self.pretrained:
            network.freeze_body(True)
        first = Trainer(self, network)
        self._set_sources(first, train, validation)
        yield from first.run(should_stop)
        if self.pretrained and self.fine_tune and int(self.fine_tune_epochs) > 0:
            yield from self._fine_tune(train, validation, should_stop)
        self.network_.freeze_body(False)
        self.n_features_in_ = 1
        return self

    def _fine_tune(self, train: _Part, validation: _Part | None,
                   should_stop: Callable[[], bool] | None) -> Generator[EpochReport | BatchReport, None, None]:
        """The whole network trained on, gently, from the best frozen epoch."""
        done, curve, val_curve = self.n_epochs_, list(self.loss_curve_), list(self.validation_loss_curve_)
        network = self.network_
        network.freeze_body(False)
        phase = _Phase(self, float(self.learning_rate) / 10.0, int(self.fine_tune_epochs))
        second = Trainer(phase, network)  # type: ignore[arg-type]
        self._set_sources(second, train, validation)
        total = done + int(self.fine_tune_epochs)
        for report in second.run(should_stop):
            if isinstance(report, EpochReport):
                yield replace(report, epoch=report.epoch + done, epochs=total,
                              best_epoch=report.best_epoch + done)
            else:
                yield BatchReport(report.position + done, report.loss)
        self.network_ = phase.network_  # type: ignore[attr-defined]
        self.n_epochs_ = done + phase.n_epochs_  # type: ignore[attr-defined]
        self.best_epoch_ = done + phase.best_epoch_  # type: ignore[attr-defined]
        self.loss_curve_ = curve + phase.loss_curve_  # type: ignore[attr-defined]
        self.validation_loss_curve_ = val_curve + phase.validation_loss_curve_  # type: ignore[attr-defined]
        self.stop_reason_ = (f"The pretrained body was frozen for {done} epochs, then the whole network was "
                             f"fine-tuned. {phase.stop_reason_}")  # type: ignore[attr-defined]
        self.device_used_ = phase.device_used_  # type: ignore[attr-defined]

    def _set_sources(self, trainer: Trainer, train: _Part, held: _Part | None) -> None:
        import torch

        from studio.core.models.torch.devices import device_failure

        device = trainer.device
        pixels, rows, targets = train
        size = int(pixels.shape[1])
        workers = self._workers(device)
        try:
            source = ImageSource(pixels, rows, torch.as_tensor(targets, dtype=torch.long), device,
                                 int(self.batch_size), trainer.generator, _augmenter(self.augmentation, size), workers)
            validation = (ImageSource(held[0], held[1], torch.as_tensor(held[2], dtype=torch.long), device,
                                      int(self.batch_size), trainer.generator) if held is not None else None)
        except RuntimeError as exc:
            raise device_failure(device, exc) from exc
        trainer.set_sources(source, validation)

    def _workers(self, device: Any) -> int:
        if int(self.workers) >= 0:
            return int(self.workers)
        # On the CPU the training itself wants the cores; a graphics card waits for pictures unless workers
        # augment them in parallel.
        return 0 if device.type == "cpu" else min(4, max(1, (os.cpu_count() or 2) - 1))

    def _new_network(self, channels: int, size: int) -> Any:
        import torch

        from studio.core.models.torch.image_nets import build_backbone, build_small_cnn, load_pretrained

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if self.random_state is None else int(self.random_state))
            if not self.pretrained:
                return build_small_cnn(channels, len(self.classes_), size, int(self.depth), int(self.width),
                                       float(self.dropout))
            network = build_backbone(self.architecture, channels, len(self.classes_), size, float(self.dropout))
        load_pretrained(network, self._pretrained_state())
        return network

    def _pretrained_state(self) -> dict[str, Any]:
        from studio.core.models.torch.weights import KNOWN_WEIGHTS, read_weights, weights_file

        path = self.weights_file or str(weights_file(self.architecture))
        if not self.weights_file and not os.path.isfile(path):
            known = KNOWN_WEIGHTS[self.architecture]
            raise StudioError(f"The pretrained weights of {known.label} are not on this computer yet. Train from "
                              "the window or the command line once while online to download them "
                              f"({known.megabytes:.0f} MB), or choose a weights file you already have.")
        return read_weights(path)

    def _check_settings(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {self.architecture!r}.")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {self.device!r}.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {self.dropout!r}.")
        if not float(self.learning_rate) > 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}.")
        if min(int(self.batch_size), int(self.epochs), int(self.patience), int(self.depth), int(self.width)) < 1:
            raise ValueError("batch_size, epochs, patience, depth and width must be at least 1.")

    # -- predicting -----------------------------------------------------------------------------------------------
    def _scores(self, X: Any) -> np.ndarray:  # noqa: N803
        import torch

        check_is_fitted(self, "network_")
        pixels = _pixels(X)
        if tuple(pixels.shape[1:]) != tuple(self.image_shape_):
            channels = plural(int(self.image_shape_[2]), "channel")
            raise DataError(f"The network reads pictures of {self.image_shape_[0]} × {self.image_shape_[1]} pixels "
                            f"with {channels}; it was given {tuple(pixels.shape[1:])}.")
        network = self.network_.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(pixels), PREDICT_BATCH):
                parts.append(network(_nchw(pixels[start:start + PREDICT_BATCH])).double().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, len(self.classes_)))

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        return softmax(self._scores(X))

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    # -- saving ---------------------------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        if state.get("network_") is not None and not isinstance(state["network_"], dict):
            from studio.core.models.torch.image_nets import describe_image_network

            # skops' safe format stores plain data only; the network is rebuilt by name on loading.
            state["network_"] = describe_image_network(state["network_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if isinstance(state.get("network_"), dict):
            from studio.core.models.torch.image_nets import rebuild_image_network

            state["network_"] = rebuild_image_network(state["network_"])
        super().__setstate__(state)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _pixels(x: Any) -> np.ndarray:
    pixels = np.asarray(x)
    if pixels.ndim != 4 or pixels.dtype != np.uint8:
        raise DataError("An image model reads pictures (uint8 pixels, one row per picture); it was given "
                        f"an array of shape {pixels.shape} and type {pixels.dtype}.")
    return pixels


def _nchw(pixels: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
