"""The epoch loop every Studio network trains in, reading its batches from a source.

A source gives one epoch's batches as (inputs, targets) on the device: ``TensorSource`` holds rows already in
memory (a table's prepared features) and slices them in a new shuffled order each epoch; a source that reads
files (images through a ``DataLoader``) gives the same pairs. The loop yields an ``EpochReport`` per epoch and a
``BatchReport`` with the smoothed training loss every ``REPORT_SECONDS``, checks ``should_stop`` before every
batch, and keeps the best epoch's weights. Losses are summed on the device and read back only at reports, so a
GPU is not synchronised on every batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from studio.core.common.errors import Cancelled, StudioError
from studio.core.models.torch.devices import describe_hardware, device_failure, resolve_device

# The smoothed per-batch loss is reported about this often: enough for a live curve, while each report costs the
# window a repaint (about 10 ms of axis and curve drawing on a modest machine).
REPORT_SECONDS = 0.25
PREDICT_CHUNK = 65_536  # rows per forward pass when predicting, so memory stays bounded on large tables
IMPROVEMENT = 1e-4  # a validation loss must beat the best by this share to count as better
# Below this many multiply-adds per batch a CPU fit runs on one thread: for the small networks tables need, the
# threads' hand-offs cost more than they save, and on a busy machine they spin against scikit-learn's OpenMP
# threads (measured on 2 cores: 0.4 s on one thread against 10 s on two for the same fit).
ONE_THREAD_WORK = 5_000_000
CONV_ONE_THREAD_WORK = 50_000_000  # the same for convolutional networks, in multiply-adds per batch


class DivergedError(StudioError):
    """The loss became NaN or infinite before any epoch finished, so there are no good weights to keep."""


@dataclass(frozen=True, slots=True)
class EpochReport:
    epoch: int  # 1-based
    epochs: int  # the most epochs this run may take
    train_loss: float
    val_loss: float | None
    val_metric: float | None
    metric_label: str
    best_epoch: int  # the epoch whose weights are kept so far
    elapsed_s: float
    eta_s: float


@dataclass(frozen=True, slots=True)
class BatchReport:
    position: float  # in epochs: 2.5 is half way through the third epoch
    loss: float  # the training loss averaged over the batches since the last report


class BatchSource(Protocol):
    """Training or validation rows as batches on the device."""

    rows: int
    batch_size: int

    def epoch(self) -> Iterator[tuple[Any, Any]]:
        """One pass over the rows in a new shuffled order: (inputs, targets) per batch."""
        ...

    def in_order(self) -> Iterator[tuple[Any, Any]]:
        """One pass in the rows' own order (for validation), in chunks as large as memory allows."""
        ...

    def release(self) -> None:
        """Drop what the source holds on the device."""
        ...


class TensorSource:
    """Rows already in memory, moved to the device once; each epoch's batches are index slices of them."""

    def __init__(self, x: np.ndarray, targets: Any, device: Any, batch_size: int, generator: Any) -> None:
        import torch

        self.x: Any = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
        self.y: Any = targets
        self.device = device
        self.rows = int(self.x.shape[0])
        self.batch_size = max(1, min(int(batch_size), self.rows))
        self.generator = generator

    @property
    def batches(self) -> int:
        return math.ceil(self.rows / self.batch_size)

    def epoch(self) -> Iterator[tuple[Any, Any]]:
        import torch

        order = torch.randperm(self.rows, generator=self.generator).to(self.device)
        for index in range(self.batches):
            rows_here = order[index * self.batch_size:(index + 1) * self.batch_size]
            yield self.x[rows_here], self.y[rows_here]

    def in_order(self) -> Iterator[tuple[Any, Any]]:
        for start in range(0, self.rows, PREDICT_CHUNK):
            yield self.x[start:start + PREDICT_CHUNK], self.y[start:start + PREDICT_CHUNK]

    def release(self) -> None:
        self.x = self.y = None


class Learner(Protocol):
    """What the loop reads from the estimator it trains: its settings, loss and metric."""

    device: str
    epochs: int
    random_state: int | None
    learning_rate: float
    weight_decay: float
    optimizer: str
    lr_schedule: str
    patience: int
    batch_size: int
    l1: float
    early_stopping: bool
    _metric_label: str
    # What the loop sets on it once training ends: scikit-learn's fitted attributes.
    network_: Any
    n_epochs_: int
    best_epoch_: int
    loss_curve_: list[float]
    validation_loss_curve_: list[float]
    stop_reason_: str
    device_used_: str

    def _loss_function(self) -> Callable[[Any, Any], Any]: ...

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any: ...

    def _metric(self, outputs: Any, targets: Any) -> float: ...


class Trainer:
    """One fit: the network on the device, its optimizer, the batch sources, the best weights so far.

    The caller builds the network (seeded) and hands the rows over with ``set_arrays`` (rows in memory) or
    ``set_sources`` (any ``BatchSource``, such as images read from disk), using ``device`` and ``generator``.
    """

    def __init__(self, owner: Learner, network: Any, epochs: int | None = None, keep: bool = False) -> None:
        import torch

        self.owner = owner
        self.device = resolve_device(owner.device)
        self.epochs = int(epochs or owner.epochs)
        self.keep = keep  # partial_fit: build once, then train on new data epoch by epoch
        self.seed = 0 if owner.random_state is None else int(owner.random_state)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.source: BatchSource | None = None
        self.validation: BatchSource | None = None
        try:
            self.network = network.to(self.device)
        except RuntimeError as exc:
            raise device_failure(self.device, exc) from exc
        self.optimizer = self._make_optimizer()
        self.schedule = self._make_schedule()
        self.loss_function = owner._loss_function()
        self.weights = [m.weight for m in self.network.modules() if isinstance(m, torch.nn.Linear)]
        self.convolutional = any(isinstance(m, torch.nn.Conv2d) for m in self.network.modules())
        # Half-precision arithmetic where the card does it fast (CUDA): about twice the speed for pictures, with
        # the loss scaled so small gradients do not vanish.
        self.mixed = bool(getattr(owner, "mixed_precision", False)) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.mixed else None
        self.epochs_done = 0

    def set_sources(self, source: BatchSource, validation: BatchSource | None) -> None:
        self.source, self.validation = source, validation

    def set_arrays(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None = None,
                   y_val: np.ndarray | None = None) -> None:
        """Rows in memory: moved to the device once (a graphics card that cannot take them says so in words)."""
        owner, batch = self.owner, int(self.owner.batch_size)
        try:
            source = TensorSource(x, owner._target_tensor(y, self.device), self.device, batch, self.generator)
            validation = (TensorSource(x_val, owner._target_tensor(y_val, self.device), self.device, batch,
                                       self.generator) if x_val is not None and y_val is not None else None)
        except RuntimeError as exc:
            raise device_failure(self.device, exc) from exc
        self.set_sources(source, validation)

    def _make_optimizer(self) -> Any:
        import torch

        owner = self.owner
        rate, decay = float(owner.learning_rate), float(owner.weight_decay)
        parameters = self.network.parameters()
        if owner.optimizer == "sgd":
            return torch.optim.SGD(parameters, lr=rate, momentum=0.9, nesterov=True, weight_decay=decay)
        if owner.optimizer == "adamw":
            return torch.optim.AdamW(parameters, lr=rate, weight_decay=decay)
        return torch.optim.Adam(parameters, lr=rate, weight_decay=decay)

    def _make_schedule(self) -> Any:
        import torch

        if self.owner.lr_schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=self.epochs)
        if self.owner.lr_schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=0.5,
                                                              patience=max(1, int(self.owner.patience) // 3))
        return None

    def run(self, should_stop: Callable[[], bool] | None) -> Generator[EpochReport | BatchReport, None, Any]:
        """Train for the epochs asked; returns the owner with its fitted attributes set."""
        import torch

        threads = torch.get_num_threads()
        try:
            if self.keep:
                self.network.to(self.device)  # partial_fit: the network rests on the CPU between calls
            if self.device.type == "cpu" and self._work_per_batch() < ONE_THREAD_WORK:
                torch.set_num_threads(1)
            with torch.random.fork_rng(devices=[]):
                # Dropout draws from the global generator; a forked, seeded one keeps runs repeatable without
                # disturbing anyone else's random numbers.
                torch.manual_seed(self.seed + self.epochs_done)
                return (yield from self._epochs(should_stop))
        except (Cancelled, StudioError, ValueError):
            raise
        except RuntimeError as exc:  # CUDA errors and out-of-memory (a RuntimeError subclass) on a device
            if self.device.type == "cpu":
                raise
            raise device_failure(self.device, exc) from exc
        finally:
            torch.set_num_threads(threads)
            if not self.keep:
                self._release()

    def _work_per_batch(self) -> int:
        assert self.source is not None
        if self.convolutional:
            # A convolution's work grows with the picture; tiny pictures (8 px digits) still train faster on one
            # thread, which also stops them waiting on a busy neighbour (0.3 s an epoch against 2 to 10 s).
            per_picture = getattr(self.network, "work_per_picture", None)
            work = int(per_picture()) * self.source.batch_size if callable(per_picture) else None
            return ONE_THREAD_WORK if work is None or work >= CONV_ONE_THREAD_WORK else 0
        weights = sum(int(w.numel()) for w in self.weights)
        return weights * self.source.batch_size

    def _epochs(self, should_stop: Callable[[], bool] | None) -> Generator[EpochReport | BatchReport, None, Any]:
        import torch

        owner = self.owner
        source = self.source
        assert source is not None, "set_arrays or set_sources comes first"
        batches = math.ceil(source.rows / source.batch_size)
        has_val = self.validation is not None
        stop_early = has_val and bool(owner.early_stopping) and not self.keep
        best_loss, best_epoch, best_state = math.inf, 0, None
        train_losses: list[float] = []
        val_losses: list[float] = []
        reason = f"It trained for all {self.epochs} epochs."
        started = time.perf_counter()
        epoch = 0
        for epoch in range(1, self.epochs + 1):
            self.network.train()
            total = torch.zeros((), device=self.device)
            reported_total, reported_batches, last_report = 0.0, 0, time.perf_counter()
            for index, (inputs, targets) in enumerate(source.epoch()):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                with torch.autocast("cuda", dtype=torch.float16, enabled=self.mixed):
                    loss = self.loss_function(self.network(inputs), targets)
                if owner.l1:
                    loss = loss + float(owner.l1) * sum(w.abs().sum() for w in self.weights)
                self.optimizer.zero_grad(set_to_none=True)
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    loss.backward()
                    self.optimizer.step()
                total += loss.detach()
                if should_stop is not None and time.perf_counter() - last_report >= REPORT_SECONDS:
                    running = float(total.item())
                    if not math.isfinite(running):
                        break
                    smoothed = (running - reported_total) / (index + 1 - reported_batches)
                    reported_total, reported_batches, last_report = running, index + 1, time.perf_counter()
                    yield BatchReport(epoch - 1 + (index + 1) / batches, smoothed)
            train_loss = float(total.item()) / batches
            val_loss = metric = None
            if has_val:
                val_loss, metric = self._validate()
            if not math.isfinite(train_loss) or (val_loss is not None and not math.isfinite(val_loss)):
                if best_state is None:
                    self._release()
                    raise DivergedError(
                        f"The loss became too large to compute in epoch {epoch}, so training stopped with nothing "
                        f"to keep. Try a learning rate about ten times lower (now {owner.learning_rate:g}).")
                reason = (f"Training stopped in epoch {epoch}: the loss became too large to compute. The weights "
                          f"of epoch {best_epoch} are kept. A lower learning rate (now "
                          f"{owner.learning_rate:g}) would likely train further.")
                epoch -= 1
                break
            train_losses.append(train_loss)
            judged = val_loss if val_loss is not None else train_loss
            improved = judged < best_loss - IMPROVEMENT * abs(best_loss) or best_state is None
            if improved:
                best_loss = judged
            # Without validation rows there is nothing to judge by: the latest weights are the ones kept.
            if improved or not has_val:
                best_epoch = epoch
                best_state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
            if val_loss is not None:
                val_losses.append(val_loss)
            if self.schedule is not None:
                if self.owner.lr_schedule == "plateau":
                    self.schedule.step(judged)
                else:
                    self.schedule.step()
            elapsed = time.perf_counter() - started
            yield EpochReport(epoch, self.epochs, train_loss, val_loss, metric, owner._metric_label,
                              best_epoch, elapsed, elapsed / epoch * (self.epochs - epoch))
            if stop_early and epoch - best_epoch >= int(owner.patience):
                reason = (f"Training stopped early after epoch {epoch}: the validation loss had not improved for "
                          f"{owner.patience} epochs. The weights of epoch {best_epoch} are kept.")
                break
        self.epochs_done += max(epoch, 0)
        if best_state is not None and not self.keep:
            self.network.load_state_dict(best_state)
        self._publish(train_losses, val_losses, best_epoch if not self.keep else self.epochs_done, epoch, reason)
        return owner

    def _validate(self) -> tuple[float, float]:
        import torch

        assert self.validation is not None
        self.network.eval()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=self.mixed):
            chunks = [(self.network(inputs), targets) for inputs, targets in self.validation.in_order()]
            outputs = torch.cat([output.float() for output, _ in chunks])
            targets = torch.cat([target for _, target in chunks])
            loss = float(self.loss_function(outputs, targets).item())
            metric = self.owner._metric(outputs, targets)
        return loss, metric

    def _publish(self, train_losses: list[float], val_losses: list[float], best_epoch: int, epochs_run: int,
                 reason: str) -> None:
        owner = self.owner
        # Weights are kept on the CPU: the model file then opens and predicts on any machine.
        owner.network_ = self.network.to("cpu").eval()
        owner.n_epochs_ = epochs_run
        owner.best_epoch_ = best_epoch
        owner.loss_curve_ = list(getattr(owner, "loss_curve_", [])) + train_losses if self.keep else train_losses
        owner.validation_loss_curve_ = val_losses
        owner.stop_reason_ = reason
        owner.device_used_ = str(self.device)

    def _release(self) -> None:
        """Drop the device's copies of the data, so a GPU's memory is free once the fit ends."""
        for source in (self.source, self.validation):
            if source is not None:
                source.release()
        self.source = self.validation = None
        if self.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()


# -- driven by Studio's training generator -----------------------------------------------------------------------------
def fit_epochs(spec: Any, estimator: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
               y_val: np.ndarray, history: list[Any], should_stop: Callable[[], bool],
               call: Any = None) -> Generator[Any]:
    """Studio's "epochs" training style: the estimator's own loop, its reports turned into Progress items.

    The loop runs on the calling (worker) thread: it checks ``should_stop`` before every batch itself, and
    torch releases the GIL while it computes, so the window stays responsive.
    """
    from sklearn.base import is_classifier

    from studio.core.common.curves import BatchPoint, EpochPoint
    from studio.core.common.progress import Progress

    classification = is_classifier(estimator)
    loss_label = "Log loss" if classification else "Squared error (scaled target)"
    device = resolve_device(estimator.device)
    where = "the CPU" if device.type == "cpu" else (describe_hardware() if device.type == "cuda" else "the GPU")
    yield Progress("Fitting", 0.12, f"Training the neural network on {len(y):,} rows on {where}")
    has_val = x_val is not None and len(x_val) > 0
    message = "Epoch 1"
    job = estimator.fit_iter(x, y, x_val if has_val else None, y_val if has_val else None, should_stop)
    for report in job:
        if isinstance(report, BatchReport):
            point: Any = BatchPoint(int(report.position) + 1, report.loss, None, "epoch", loss_label,
                                    position=report.position)
            yield Progress("Fitting", None, message, point)
            continue
        point = EpochPoint(report.epoch, report.train_loss, report.val_loss, "epoch", loss_label,
                           metric=report.val_metric, metric_label=report.metric_label if report.val_metric
                           is not None else "", best_step=report.best_epoch, epochs=report.epochs,
                           eta_s=report.eta_s, elapsed_s=report.elapsed_s)
        history.append(point)
        message = f"Epoch {report.epoch} of {report.epochs}"
        yield Progress("Fitting", 0.12 + 0.83 * report.epoch / report.epochs, message, point)
    yield Progress("Finished training", 0.95, estimator.stop_reason_)
