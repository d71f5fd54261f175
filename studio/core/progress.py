"""Immutable progress items that long-running core generators yield."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

StopCheck = Callable[[], bool]


def never_stop() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One point of a live training curve; losses are None when not measured at this step."""

    step: int
    train_loss: float | None
    val_loss: float | None
    step_label: str = "iteration"


@dataclass(frozen=True, slots=True)
class Progress:
    """A stage name, how far the whole job is (0..1, None when unknown) and an optional curve point."""

    stage: str
    fraction: float | None = None
    message: str = ""
    curve: CurvePoint | None = None
