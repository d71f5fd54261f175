"""Over- or underfitting read from a network's epoch curves, told in words for the Results step.

The rules look at the shape of the curves, not at one score: overfitting is the validation loss rising again
after its best epoch while the training loss keeps falling; underfitting is a curve still clearly falling when
training ended, or one that hardly fell at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from studio.core.common.curves import EpochPoint
from studio.core.common.progress import CurvePoint
from studio.core.models.imbalance import inner_model

RISE = 0.02  # the validation loss must end this share above its best to count as rising
STILL_FALLING = 0.01  # over the last few epochs, losses falling by more than this share per epoch
BARELY_LEARNED = 0.1  # a training loss that fell by less than this share over the run
# The network's stop reason says this when the loss became NaN or infinite (see models.torch.loop).
DIVERGED_MARK = "too large to compute"
RECENT = 3  # epochs looked at for "still falling"


def describe_fit(result: Any) -> str:
    """The words for a training result: why a network stopped, when that was a problem, then how it fitted."""
    pictures = bool(getattr(result, "image_cases", ()))
    words = describe_epochs(getattr(result, "history", ()), "pictures" if pictures else "rows")
    pipeline = getattr(result, "pipeline", None)
    model = inner_model(pipeline[-1]) if pipeline is not None and hasattr(pipeline, "steps") else None
    reason = str(getattr(model, "stop_reason_", ""))
    if DIVERGED_MARK in reason:
        return f"{reason} {words}".strip()
    return words


def describe_epochs(history: Sequence[CurvePoint], unit: str = "rows") -> str:
    """One or two sentences on how the network fitted; "" when the history is not from epochs or too short."""
    epochs = [p for p in history if isinstance(p, EpochPoint) and p.train_loss is not None]
    if len(epochs) < 3:
        return ""
    train = [float(p.train_loss) for p in epochs]  # type: ignore[arg-type]
    val = [p.val_loss for p in epochs]
    last = epochs[-1]
    kept = last.best_step or last.step
    if any(v is None or not math.isfinite(v) for v in val):
        return _underfit_or_fine(train, None, kept, last.step, unit)
    val_f = [float(v) for v in val]  # type: ignore[arg-type]
    best_index = min(range(len(val_f)), key=val_f.__getitem__)
    best_epoch = epochs[best_index].step
    after = len(epochs) - 1 - best_index
    rose = val_f[-1] > val_f[best_index] * (1 + RISE) if val_f[best_index] > 0 else val_f[-1] > val_f[best_index]
    if after >= 2 and rose and train[-1] < train[best_index]:
        kept_words = (f"The weights of epoch {kept} are kept, from before it began."
                      if kept <= best_epoch else f"The final weights (epoch {kept}) are kept; turn on "
                      "'Stop early' to keep the best epoch's instead.")
        remedy = ("More augmentation (Prepare step), more dropout or more pictures" if unit == "pictures" else
                  "More dropout, a larger L2 penalty or a smaller network")
        return (f"The network overfits after epoch {best_epoch}: from then on its loss kept falling on the "
                f"training {unit} ({train[best_index]:.3g} → {train[-1]:.3g}) but rose on the validation {unit} "
                f"({val_f[best_index]:.3g} → {val_f[-1]:.3g}), so it was memorising the training {unit}. "
                f"{kept_words} {remedy} would let it train longer before that happens.")
    return _underfit_or_fine(train, val_f, kept, last.step, unit)


def _underfit_or_fine(train: list[float], val: list[float] | None, kept: int, last_epoch: int,
                      unit: str = "rows") -> str:
    watched = val if val is not None else train
    which = "validation" if val is not None else "training"
    if train[0] > 0 and (train[0] - min(train)) / train[0] < BARELY_LEARNED:
        return (f"The network underfits: its training loss hardly fell ({train[0]:.3g} → {train[-1]:.3g}), so it "
                "has not found the patterns yet. Try a higher learning rate, more epochs, or a larger network.")
    recent = watched[-RECENT:]
    if len(recent) >= 3 and recent[0] > 0:
        per_epoch = (recent[0] - recent[-1]) / recent[0] / (len(recent) - 1)
        if per_epoch > STILL_FALLING and kept == last_epoch:
            return (f"The network may underfit: its {which} loss was still falling when training ended at epoch "
                    f"{last_epoch}, so more epochs (or a higher learning rate) would likely help.")
    if val is None:
        return f"The training loss levelled off; without validation {unit} Studio cannot tell whether it overfits."
    return (f"The network fits well: training and validation loss fell together and levelled off; the weights of "
            f"epoch {kept} are kept.")
