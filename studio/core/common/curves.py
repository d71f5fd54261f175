"""Curve points of training that runs in epochs (neural networks), on top of the plain CurvePoint.

They are CurvePoints, so everything that shows or prints a curve keeps working; a view that knows them can show
more (the per-batch loss faintly, the validation metric, the epoch whose weights were kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.common.progress import CurvePoint


@dataclass(frozen=True, slots=True)
class EpochPoint(CurvePoint):
    """One finished epoch: losses, the validation metric and the epoch whose weights are kept so far."""

    metric: float | None = None
    metric_label: str = ""
    best_step: int | None = None
    epochs: int = 0  # the most epochs the run may take
    eta_s: float | None = None  # at most this long to the last epoch (early stopping may end sooner)
    elapsed_s: float | None = None  # since the first epoch began


@dataclass(frozen=True, slots=True)
class BatchPoint(CurvePoint):
    """The training loss averaged over the batches since the last point; ``position`` is in epochs (2.5 = half
    way through the third epoch). ``step`` is the epoch it belongs to."""

    position: float = 0.0
