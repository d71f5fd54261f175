"""Over- and underfitting told from a network's epoch curves."""

from __future__ import annotations

from types import SimpleNamespace

from studio.core.common.curves import EpochPoint
from studio.core.common.progress import CurvePoint
from studio.core.evaluate.curve_diagnosis import describe_epochs


def curve(train: list[float], val: list[float | None], kept: int | None = None) -> list[EpochPoint]:
    best = kept or len(train)
    return [EpochPoint(i + 1, t, v, "epoch", "Log loss", best_step=min(best, i + 1), epochs=100)
            for i, (t, v) in enumerate(zip(train, val, strict=True))]


def test_validation_rising_while_training_falls_is_overfitting() -> None:
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05]
    val = [1.0, 0.7, 0.5, 0.55, 0.6, 0.7, 0.8]
    text = describe_epochs(curve(train, val, kept=3))
    assert text.startswith("The network overfits after epoch 3")
    assert "0.5 → 0.8" in text and "The weights of epoch 3 are kept" in text and "dropout" in text
    no_restore = describe_epochs(curve(train, val, kept=7))
    assert "turn on 'Stop early'" in no_restore


def test_still_falling_at_the_end_is_underfitting() -> None:
    train = [1.0 - 0.08 * i for i in range(10)]
    text = describe_epochs(curve(train, [t + 0.05 for t in train]))
    assert text.startswith("The network may underfit") and "more epochs" in text


def test_a_loss_that_hardly_moves_is_underfitting() -> None:
    text = describe_epochs(curve([1.0, 0.99, 0.98, 0.97], [1.0, 1.0, 0.99, 0.99]))
    assert text.startswith("The network underfits") and "higher learning rate" in text


def test_curves_that_level_off_together_fit_well() -> None:
    train = [1.0, 0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2]
    val = [1.0, 0.55, 0.35, 0.25, 0.25, 0.25, 0.25, 0.25]
    assert describe_epochs(curve(train, val, kept=4)).startswith("The network fits well")


def test_nothing_to_say_without_epochs() -> None:
    assert describe_epochs([CurvePoint(i, 1.0, 1.0) for i in range(10)]) == ""
    assert describe_epochs(curve([1.0, 0.5], [1.0, 0.5])) == ""
    assert "without validation rows" in describe_epochs(curve([1.0, 0.5, 0.3, 0.3, 0.3, 0.3], [None] * 6))


def test_a_diverged_network_says_so_first() -> None:
    import numpy as np
    from sklearn.pipeline import Pipeline

    from studio.core.evaluate.curve_diagnosis import describe_fit
    from studio.core.models.torch.estimators import NetworkRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    network = NetworkRegressor(optimizer="sgd", learning_rate=0.5, epochs=30, early_stopping=False,
                               hidden_layers="64, 64").fit(x, x @ rng.normal(size=5))
    result = SimpleNamespace(history=curve([1.0, 0.5, 0.4], [1.0, 0.6, 0.5]),
                             pipeline=Pipeline([("model", network)]))
    words = describe_fit(result)
    assert words.startswith("Training stopped in epoch 2: the loss became too large to compute")
    assert "lower learning rate" in words
    healthy = SimpleNamespace(history=result.history, pipeline=None)
    assert describe_fit(healthy) == describe_epochs(result.history)
