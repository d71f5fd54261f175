"""Neural networks for tables: a torch multilayer perceptron as a scikit-learn classifier and regressor.

torch is imported inside functions only, so importing this module (and Studio) does not pay for it. The estimators
follow scikit-learn's rules (settings stored in ``__init__``, ``fit`` returns ``self``, fitted attributes end in
``_``), so they sit in the same Pipeline as every other model and can be cloned, cross-validated and saved.
Saved (pickle or skops), a fitted network is plain data, its layers and weights (``nets.describe_network``), and
becomes a torch module again on loading.

Training is a generator, ``fit_iter``, run by the epoch loop (``loop.Trainer``); ``fit`` simply drains it. After
fitting, the network lives on the CPU, so a saved model loads and predicts on a machine without a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from studio.core.models.torch.classes import CrossEntropyLearner, softmax
from studio.core.models.torch.devices import DEVICES
from studio.core.models.torch.loop import PREDICT_CHUNK, BatchReport, EpochReport, Trainer
from studio.core.models.torch.nets import (
    ACTIVATIONS,
    INITS,
    build_network,
    describe_network,
    parse_layers,
    rebuild_network,
)

MIN_VALIDATION_ROWS = 10
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "plateau", "cosine")


class _NetworkBase(BaseEstimator):
    """What the classifier and the regressor share; they differ in targets, loss and outputs."""

    _metric_label = ""
    _numeric_target = False
    # Fitted attributes, set by loop.Trainer when training ends. Only declared here: an unfitted estimator must
    # not have them, as scikit-learn's check_is_fitted and partial_fit look for them.
    network_: Any
    n_epochs_: int
    best_epoch_: int
    loss_curve_: list[float]
    validation_loss_curve_: list[float]
    stop_reason_: str
    device_used_: str

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
        trainer = Trainer(self, self._new_network(X.shape[1]))
        trainer.set_arrays(X, targets, x_val, y_val_encoded)
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
            trainer = Trainer(self, self._new_network(X.shape[1]) if first else self.network_, epochs=1, keep=True)
            self._partial_trainer = trainer
        trainer.set_arrays(X, self._encode_partial(y))
        for _ in trainer.run(None):
            pass
        return self

    def _first_partial_targets(self, y: Any, classes: Any) -> None:
        raise NotImplementedError

    def _new_network(self, n_inputs: int) -> Any:
        """The untrained network, its weights drawn from the seed without touching anyone else's random numbers."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if self.random_state is None else int(self.random_state))
            return build_network(n_inputs, parse_layers(self.hidden_layers), self._n_outputs(), self.activation,
                                 self.init, float(self.dropout))

    def _encode_partial(self, y: Any) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_partial_trainer", None)  # tensors and optimizer of an ongoing partial fit; not part of a model
        if state.get("network_") is not None:
            # skops' safe format stores plain data only and cannot construct tensors; see __setstate__.
            state["network_"] = describe_network(state["network_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        # A description since plain-data saving; files from earlier versions hold the torch module itself.
        if isinstance(state.get("network_"), dict):
            state["network_"] = rebuild_network(state["network_"])
        super().__setstate__(state)

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


class NetworkClassifier(CrossEntropyLearner, ClassifierMixin, _NetworkBase):
    """A multilayer perceptron for classes, trained with cross-entropy."""

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

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        return softmax(self._forward(X))

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
