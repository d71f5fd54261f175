"""Immutable progress items that long-running core generators yield."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from studio.core.errors import Cancelled

StopCheck = Callable[[], bool]
T = TypeVar("T")


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


def run_interruptibly(work: Callable[[], T], should_stop: StopCheck, poll_s: float = 0.1) -> T:
    """Run a call that cannot check ``should_stop`` itself (a library's monolithic fit or file read).

    The call runs on a daemon thread while this one polls ``should_stop``; on a stop request ``Cancelled`` is
    raised at once and the call is abandoned: it finishes in the background and its result is dropped. Library
    calls like these release the GIL for most of their work, so the abandoned thread does not stall the window.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised on the calling thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="studio-interruptible", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(poll_s)
        if should_stop() and thread.is_alive():
            raise Cancelled()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
