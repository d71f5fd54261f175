"""Immutable progress items that long-running core generators yield."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from studio.core.common.errors import Cancelled

StopCheck = Callable[[], bool]
T = TypeVar("T")


def result_of(job: Generator[Any, None, T]) -> T:
    """Run a job to its end without showing its progress (scripts and the command line), and return its result."""
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value


def never_stop() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One point of a live training curve; losses are None when not measured at this step."""

    step: int
    train_loss: float | None
    val_loss: float | None
    step_label: str = "iteration"
    loss_label: str = "loss"


@dataclass(frozen=True, slots=True)
class Progress:
    """A stage name, how far the whole job is (0..1, None when unknown) and an optional curve point."""

    stage: str
    fraction: float | None = None
    message: str = ""
    curve: CurvePoint | None = None


class InterruptibleCaller:
    """Runs calls that cannot check ``should_stop`` themselves (a library's monolithic fit or file read).

    Each call runs on one long-lived daemon thread while the calling thread polls ``should_stop``; on a stop
    request ``Cancelled`` is raised at once and the call is abandoned: it finishes in the background and its result
    is dropped. Library calls like these release the GIL for most of their work, so an abandoned call does not
    stall the window. One thread serves every call of a job, so OpenMP thread pools (which belong to the thread
    that starts them) are created once per job rather than once per chunk.
    """

    def __init__(self, should_stop: StopCheck, poll_s: float = 0.1) -> None:
        self._should_stop = should_stop
        self._poll_s = poll_s
        self._requests: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> InterruptibleCaller:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while (request := self._requests.get()) is not None:
            request()

    def __call__(self, work: Callable[[], T]) -> T:
        ticks = self.ticking(work, self._poll_s)
        while True:
            try:
                next(ticks)
            except StopIteration as finished:
                return finished.value

    def ticking(self, work: Callable[[], T], every_s: float) -> Generator[None, None, T]:
        """Run ``work`` like a call, yielding every ``every_s`` seconds while it runs; returns its result.

        The caller can look at what the work has produced so far between ticks (a model's per-round scores, say)
        without slowing the work down.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="studio-interruptible", daemon=True)
            self._thread.start()
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def request() -> None:
            try:
                outcome["value"] = work()
            except BaseException as exc:  # re-raised on the calling thread below
                outcome["error"] = exc
            finally:
                done.set()

        self._requests.put(request)
        wait_s = min(self._poll_s, every_s)
        next_tick = time.perf_counter() + every_s
        while not done.wait(wait_s):
            if self._should_stop():
                raise Cancelled()
            if time.perf_counter() >= next_tick:
                yield
                next_tick = time.perf_counter() + every_s
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def close(self) -> None:
        """Let the serving thread end once its current call (if any) returns."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread = None


def run_interruptibly(work: Callable[[], T], should_stop: StopCheck, poll_s: float = 0.1) -> T:
    """One call through a fresh InterruptibleCaller; see there."""
    with InterruptibleCaller(should_stop, poll_s) as caller:
        return caller(work)
