"""Neural networks for tables: a torch multilayer perceptron as a scikit-learn classifier and regressor.

torch is imported inside functions only, so importing this module (and Studio) does not pay for it. The estimators
follow scikit-learn's rules (settings stored in ``__init__``, ``fit`` returns ``self``, fitted attributes end in
``_``), so they sit in the same Pipeline as every other model and can be cloned, cross-validated and pickled.

Training is a generator, ``fit_iter``: it yields an ``EpochReport`` per epoch and a ``BatchReport`` with the
smoothed training loss every ``REPORT_SECONDS``, and checks ``should_stop`` before every batch. ``fit`` simply
drains it. The data goes to the device once; batches are index slices of the tensors already there. Losses are
summed on the device and read back only at reports, so a GPU is not synchronised on every batch.

After fitting, the network lives on the CPU, so a saved model loads and predicts on a machine without a GPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from studio.core.errors import Cancelled, StudioError, first_line

# The smoothed per-batch loss is reported about this often: enough for a live curve, while each report costs the
# window a repaint (about 10 ms of axis and curve drawing on a modest machine).
REPORT_SECONDS = 0.25
PREDICT_CHUNK = 65_536  # rows per forward pass when predicting, so memory stays bounded on large tables
MIN_VALIDATION_ROWS = 10
IMPROVEMENT = 1e-4  # a validation loss must beat the best by this share to count as better
# Below this many multiply-adds per batch a CPU fit runs on one thread: for the small networks tables need, the
# threads' hand-offs cost more than they save, and on a busy machine they spin against scikit-learn's OpenMP
# threads (measured on 2 cores: 0.4 s on one thread against 10 s on two for the same fit).
ONE_THREAD_WORK = 5_000_000

ACTIVATIONS = ("relu", "tanh", "gelu")
INITS = ("default", "he", "xavier")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "plateau", "cosine")
DEVICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(StudioError):
    """The chosen device (a graphics card) is missing, failed or ran out of memory; the CPU would work."""


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


# -- devices ----------------------------------------------------------------------------------------------------
def resolve_device(choice: str) -> Any:
    """The torch device for a setting: "auto" takes CUDA, then Apple's MPS, then the CPU."""
    import torch

    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise DeviceError("No NVIDIA graphics card (CUDA) is usable on this computer. Choose 'Automatic' or "
                            "'Processor (CPU)' as the device in the Model step.")
    if choice == "mps" and not _mps_available():
        raise DeviceError("No Apple graphics chip (MPS) is usable on this computer. Choose 'Automatic' or "
                            "'Processor (CPU)' as the device in the Model step.")
    if choice not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {choice!r}.")
    return torch.device(choice)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@cache
def describe_hardware() -> str:
    """What "Automatic" would use, in words: "NVIDIA H100 80GB HBM3", "Apple graphics chip (MPS)", "CPU only"."""
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
    if _mps_available():
        return "Apple graphics chip (MPS)"
    return "CPU only"


def hardware_note() -> str:
    return f"Found on this computer: {describe_hardware()}."


# -- the network ------------------------------------------------------------------------------------------------
def parse_layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in str(text).replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(f"hidden_layers must be whole numbers separated by commas, e.g. '64, 32'; got "
                         f"{text!r}.") from None
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"hidden_layers needs at least one layer of at least one unit; got {text!r}.")
    return sizes


def build_network(n_inputs: int, layers: tuple[int, ...], n_outputs: int, activation: str, init: str,
                  dropout: float) -> Any:
    """A plain ``nn.Sequential`` (Linear, activation, dropout, ... Linear): only torch's own classes, so the
    pickled model needs nothing from Studio to load, and it exports to TorchScript as is."""
    import torch
    from torch import nn

    make_activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[activation]
    modules: list[nn.Module] = []
    width = n_inputs
    for size in layers:
        modules.append(nn.Linear(width, size))
        modules.append(make_activation())
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = size
    modules.append(nn.Linear(width, n_outputs))
    network = nn.Sequential(*modules)
    if init != "default":
        gain_name = {"relu": "relu", "tanh": "tanh", "gelu": "relu"}[activation]
        with torch.no_grad():
            for module in network:
                if isinstance(module, nn.Linear):
                    if init == "he":
                        nn.init.kaiming_uniform_(module.weight, nonlinearity=gain_name)
                    else:
                        nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain(gain_name))
                    nn.init.zeros_(module.bias)
    return network


# -- the estimators ---------------------------------------------------------------------------------------------
class _NetworkBase(BaseEstimator):
    """What the classifier and the regressor share; they differ in targets, loss and outputs."""

    _metric_label = ""
    _numeric_target = False

    def __init__(self, hidden_layers: str = "64, 32", activation: str = "relu", init: str = "default",
                 dropout: float = 0.0, optimizer: str = "adam", learning_rate: float = 1e-3,
                 batch_size: int = 64, epochs: int = 100, weight_decay: float = 0.0, l1: float = 0.0,
                 early_stopping: bool = True, patience: int = 10, validation_fraction: float = 0.1,
                 lr_schedule: str = "none", device: str = "auto", random_state: int | None = 0) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.init = init
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.l1 = l1
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.lr_schedule = lr_schedule
        self.device = device
        self.random_state = random_state

    # Subclasses: targets to training form, the loss, and a validation metric.
    def _encode_targets(self, y: Any) -> np.ndarray:
        raise NotImplementedError

    def _encode_validation(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Encoded validation targets and a mask of the rows usable for the loss."""
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        raise NotImplementedError

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any:
        raise NotImplementedError

    def _metric(self, outputs: Any, targets: Any) -> float:
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    # -- fitting ------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _NetworkBase:  # noqa: N803 - scikit-learn's argument names
        job = self.fit_iter(X, y)
        for _ in job:
            pass
        return self

    def fit_iter(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None,  # noqa: N803
                 should_stop: Callable[[], bool] | None = None
                 ) -> Generator[EpochReport | BatchReport, None, _NetworkBase]:
        """Fit from scratch, yielding reports. Without ``X_val`` and with early stopping on, a share of the
        training rows (``validation_fraction``) is held out for it."""
        self._check_settings()
        self.__dict__.pop("_partial_trainer", None)  # a new fit starts over; partial_fit then continues from it
        X, y = validate_data(self, X, y, dtype=np.float32, reset=True, y_numeric=self._numeric_target)  # noqa: N806
        targets = self._encode_targets(y)
        x_val = y_val_encoded = None
        if X_val is not None and y_val is not None and len(X_val):
            x_val = validate_data(self, X_val, dtype=np.float32, reset=False)
            y_val_encoded, usable = self._encode_validation(y_val)
            x_val, y_val_encoded = x_val[usable], y_val_encoded[usable]
            if not len(x_val):
                x_val = y_val_encoded = None
        elif self.early_stopping and len(X) >= 2 * MIN_VALIDATION_ROWS:
            rows = np.random.default_rng(self.random_state).permutation(len(X))
            held = max(MIN_VALIDATION_ROWS, round(len(X) * self.validation_fraction))
            x_val, y_val_encoded = X[rows[:held]], targets[rows[:held]]
            X, targets = X[rows[held:]], targets[rows[held:]]  # noqa: N806
        trainer = _Trainer(self, X, targets, x_val, y_val_encoded)
        return (yield from trainer.run(should_stop))

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> _NetworkBase:  # noqa: N803
        """One more epoch over ``X, y`` (the first call builds the network); no early stopping."""
        first = not hasattr(self, "network_")
        self._check_settings()
        X, y = validate_data(self, X, y, dtype=np.float32, reset=first, y_numeric=self._numeric_target)  # noqa: N806
        if first:
            self._first_partial_targets(y, classes)
        trainer = getattr(self, "_partial_trainer", None)
        if first or trainer is None:
            # After a plain fit, training goes on from the fitted weights (with a fresh optimizer).
            trainer = _Trainer(self, X, self._encode_partial(y), None, None, epochs=1, keep=True,
                               network=None if first else self.network_)
            self._partial_trainer = trainer
        else:
            trainer.set_data(X, self._encode_partial(y))
        for _ in trainer.run(None):
            pass
        return self

    def _first_partial_targets(self, y: Any, classes: Any) -> None:
        raise NotImplementedError

    def _encode_partial(self, y: Any) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_partial_trainer", None)  # tensors and optimizer of an ongoing partial fit; not part of a model
        return state

    def _check_settings(self) -> None:
        parse_layers(self.hidden_layers)
        for name, allowed in (("activation", ACTIVATIONS), ("init", INITS), ("optimizer", OPTIMIZERS),
                              ("lr_schedule", SCHEDULES), ("device", DEVICES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {self.dropout!r}.")
        if not float(self.learning_rate) > 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}.")
        if int(self.batch_size) < 1 or int(self.epochs) < 1 or int(self.patience) < 1:
            raise ValueError("batch_size, epochs and patience must be at least 1.")
        if float(self.weight_decay) < 0 or float(self.l1) < 0:
            raise ValueError("weight_decay and l1 must not be negative.")
        if not 0.0 < float(self.validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction must lie in (0, 1); got {self.validation_fraction!r}.")

    # -- predicting ---------------------------------------------------------------------------------------------
    def _forward(self, X: Any) -> np.ndarray:  # noqa: N803
        import torch

        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float32, reset=False)  # noqa: N806
        network = self.network_
        network.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(X), PREDICT_CHUNK):
                parts.append(network(torch.from_numpy(np.ascontiguousarray(X[start:start + PREDICT_CHUNK])))
                             .double().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self._n_outputs()))


class NetworkClassifier(ClassifierMixin, _NetworkBase):
    """A multilayer perceptron for classes, trained with cross-entropy."""

    _metric_label = "Accuracy"

    def _encode_targets(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"Classification needs at least two classes; the data has only one class: "
                             f"{self.classes_[0]!r}.")
        return encoded.astype(np.int64)

    def _encode_validation(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        y = column_or_1d(y)
        # A class seen only in the validation rows has no output; those rows are left out of the loss.
        usable = np.isin(y, self.classes_)
        encoded = np.zeros(len(y), dtype=np.int64)
        encoded[usable] = np.searchsorted(self.classes_, y[usable])
        return encoded, usable

    def _first_partial_targets(self, y: Any, classes: Any) -> None:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        if len(self.classes_) < 2:
            raise ValueError("Classification needs at least two classes; pass them all as `classes` to the "
                             "first partial_fit.")

    def _encode_partial(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True)
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"partial_fit got classes it was not told about: {np.unique(y[unknown])!r}.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        from torch import nn

        return nn.CrossEntropyLoss()

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any:
        import torch

        return torch.as_tensor(y, dtype=torch.long).to(device)

    def _metric(self, outputs: Any, targets: Any) -> float:
        return float((outputs.argmax(dim=1) == targets).double().mean().item())

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        logits = self._forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        outputs = self._forward(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class NetworkRegressor(RegressorMixin, _NetworkBase):
    """A multilayer perceptron for numbers, trained with mean squared error on the standardised target."""

    _metric_label = "R²"
    _numeric_target = True

    def _encode_targets(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True).astype(np.float64)
        self.target_mean_ = float(np.mean(y))
        spread = float(np.std(y))
        self.target_scale_ = spread if spread > 0 and math.isfinite(spread) else 1.0
        return ((y - self.target_mean_) / self.target_scale_).astype(np.float32)

    def _encode_validation(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        y = column_or_1d(y).astype(np.float64)
        return ((y - self.target_mean_) / self.target_scale_).astype(np.float32), np.isfinite(y)

    def _first_partial_targets(self, y: Any, classes: Any) -> None:
        self._encode_targets(y)

    def _encode_partial(self, y: Any) -> np.ndarray:
        y = column_or_1d(y, warn=True).astype(np.float64)
        return ((y - self.target_mean_) / self.target_scale_).astype(np.float32)

    def _n_outputs(self) -> int:
        return 1

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        from torch import nn

        mse = nn.MSELoss()
        return lambda outputs, targets: mse(outputs.squeeze(1), targets)

    def _target_tensor(self, y: np.ndarray, device: Any) -> Any:
        import torch

        return torch.as_tensor(y, dtype=torch.float32).to(device)

    def _metric(self, outputs: Any, targets: Any) -> float:
        residual = ((outputs.squeeze(1) - targets) ** 2).sum()
        total = ((targets - targets.mean()) ** 2).sum()
        return float((1.0 - residual / total).item()) if float(total.item()) > 0 else float("nan")

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        outputs = self._forward(X)
        return outputs[:, 0] * self.target_scale_ + self.target_mean_


# -- the training loop ------------------------------------------------------------------------------------------
class _Trainer:
    """One fit: the tensors on the device, the network, its optimizer, the best weights so far."""

    def __init__(self, owner: _NetworkBase, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
                 y_val: np.ndarray | None, epochs: int | None = None, keep: bool = False,
                 network: Any = None) -> None:
        import torch

        self.owner = owner
        self.device = resolve_device(owner.device)
        self.epochs = int(epochs or owner.epochs)
        self.keep = keep  # partial_fit: build once, then train on new data epoch by epoch
        self.seed = 0 if owner.random_state is None else int(owner.random_state)
        self.generator = torch.Generator().manual_seed(self.seed)
        if network is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                network = build_network(x.shape[1], parse_layers(owner.hidden_layers), owner._n_outputs(),
                                        owner.activation, owner.init, float(owner.dropout))
        try:
            self.network = network.to(self.device)
            self.set_data(x, y)
            self.x_val = self._tensor(x_val) if x_val is not None else None
            self.y_val = owner._target_tensor(y_val, self.device) if y_val is not None else None
        except RuntimeError as exc:
            raise _device_failure(self.device, exc) from exc
        self.optimizer = self._make_optimizer()
        self.schedule = self._make_schedule()
        self.loss_function = owner._loss_function()
        self.weights = [m.weight for m in self.network if isinstance(m, torch.nn.Linear)]
        self.epochs_done = 0

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = self._tensor(x)
        self.y = self.owner._target_tensor(y, self.device)

    def _tensor(self, x: np.ndarray) -> Any:
        import torch

        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)

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
            raise _device_failure(self.device, exc) from exc
        finally:
            torch.set_num_threads(threads)
            if not self.keep:
                self._release()

    def _work_per_batch(self) -> int:
        weights = sum(int(w.numel()) for w in self.weights)
        return weights * max(1, min(int(self.owner.batch_size), int(self.x.shape[0])))

    def _epochs(self, should_stop: Callable[[], bool] | None) -> Generator[EpochReport | BatchReport, None, Any]:
        import torch

        owner = self.owner
        rows = int(self.x.shape[0])
        batch = max(1, min(int(owner.batch_size), rows))
        batches = math.ceil(rows / batch)
        has_val = self.x_val is not None
        stop_early = has_val and bool(owner.early_stopping) and not self.keep
        best_loss, best_epoch, best_state = math.inf, 0, None
        train_losses: list[float] = []
        val_losses: list[float] = []
        reason = f"It trained for all {self.epochs} epochs."
        started = time.perf_counter()
        epoch = 0
        for epoch in range(1, self.epochs + 1):
            self.network.train()
            order = torch.randperm(rows, generator=self.generator).to(self.device)
            total = torch.zeros((), device=self.device)
            reported_total, reported_batches, last_report = 0.0, 0, time.perf_counter()
            for index in range(batches):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                rows_here = order[index * batch:(index + 1) * batch]
                loss = self.loss_function(self.network(self.x[rows_here]), self.y[rows_here])
                if owner.l1:
                    loss = loss + float(owner.l1) * sum(w.abs().sum() for w in self.weights)
                self.optimizer.zero_grad(set_to_none=True)
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

        assert self.x_val is not None and self.y_val is not None
        self.network.eval()
        with torch.no_grad():
            outputs = torch.cat([self.network(self.x_val[start:start + PREDICT_CHUNK])
                                 for start in range(0, int(self.x_val.shape[0]), PREDICT_CHUNK)])
            loss = float(self.loss_function(outputs, self.y_val).item())
            metric = self.owner._metric(outputs, self.y_val)
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
        self.x = self.y = self.x_val = self.y_val = None
        if self.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()


def _device_failure(device: Any, exc: BaseException) -> DeviceError:
    text = first_line(exc)
    if "out of memory" in str(exc).lower():
        return DeviceError(f"The graphics card ({device}) ran out of memory. Train on the CPU instead (device "
                             "'Processor (CPU)' in the Model step), or use a smaller batch size or fewer units.")
    return DeviceError(f"The graphics card ({device}) failed: {text}. Train on the CPU instead (device "
                         "'Processor (CPU)' in the Model step).")


# -- driven by Studio's training generator ----------------------------------------------------------------------
def fit_epochs(spec: Any, estimator: _NetworkBase, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None,
               y_val: np.ndarray, history: list[Any], should_stop: Callable[[], bool],
               call: Any = None) -> Generator[Any]:
    """Studio's "epochs" training style: the estimator's own loop, its reports turned into Progress items.

    The loop runs on the calling (worker) thread: it checks ``should_stop`` before every batch itself, and
    torch releases the GIL while it computes, so the window stays responsive.
    """
    from studio.core.curves import BatchPoint, EpochPoint
    from studio.core.progress import Progress

    classification = isinstance(estimator, NetworkClassifier)
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
