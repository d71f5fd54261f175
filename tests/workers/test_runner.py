"""JobRunner: a core generator on a QThread, its items, result, failures and cancellation relayed as signals."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator

import pytest
from pytestqt.qtbot import QtBot

from studio.core.common.errors import Cancelled, DataError
from studio.workers.runner import _STILL_RUNNING, JobRunner

StopCheck = Callable[[], bool]
WAIT_MS = 10_000


class Recorder:
    """Everything a runner emits, in order."""

    def __init__(self, runner: JobRunner) -> None:
        self.events: list[tuple[str, tuple]] = []
        self.items: list[object] = []
        self.gui_thread = threading.get_ident()
        self.off_thread: list[str] = []
        runner.progressed.connect(self._on_progressed)
        runner.succeeded.connect(lambda value: self._record("succeeded", value))
        runner.failed.connect(lambda message, details: self._record("failed", message, details))
        runner.cancelled.connect(lambda: self._record("cancelled"))
        runner.finished.connect(lambda: self._record("finished"))

    def _on_progressed(self, item: object) -> None:
        self.items.append(item)
        self._check_thread("progressed")

    def _record(self, name: str, *args: object) -> None:
        self.events.append((name, args))
        self._check_thread(name)

    def _check_thread(self, name: str) -> None:
        # Listeners update widgets, so every signal must arrive on the GUI thread.
        if threading.get_ident() != self.gui_thread:
            self.off_thread.append(name)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[JobRunner]:
    job_runner = JobRunner()
    yield job_runner
    job_runner.stop()
    assert not job_runner.is_running()
    assert not _STILL_RUNNING


def run_to_end(qtbot: QtBot, runner: JobRunner, factory: Callable[[StopCheck], Generator]) -> Recorder:
    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        assert runner.start(factory)
    assert not runner.is_running()
    assert not recorder.off_thread, recorder.off_thread
    return recorder


def test_relays_items_then_the_result(qtbot: QtBot, runner: JobRunner) -> None:
    def job(should_stop: StopCheck) -> Generator[str, None, dict]:
        yield "reading"
        yield "fitting"
        yield "scoring"
        return {"accuracy": 0.9}

    recorder = run_to_end(qtbot, runner, job)
    assert recorder.items == ["reading", "fitting", "scoring"]
    assert recorder.events == [("succeeded", ({"accuracy": 0.9},)), ("finished", ())]


def test_studio_error_is_shown_as_its_own_words(qtbot: QtBot, runner: JobRunner) -> None:
    def job(should_stop: StopCheck) -> Generator[str, None, None]:
        yield "reading"
        raise DataError("Line 3 of data.csv has 3 values, but the header names 2 columns.")

    recorder = run_to_end(qtbot, runner, job)
    assert recorder.names() == ["failed", "finished"]
    message, details = recorder.events[0][1]
    assert message == "Line 3 of data.csv has 3 values, but the header names 2 columns."
    assert "Traceback" in details and "DataError" in details


def test_unexpected_exception_becomes_a_message_naming_its_type(qtbot: QtBot, runner: JobRunner) -> None:
    def job(should_stop: StopCheck) -> Generator[str, None, None]:
        yield "working"
        raise KeyError("bill_length_mm")

    recorder = run_to_end(qtbot, runner, job)
    assert recorder.names() == ["failed", "finished"]
    message, details = recorder.events[0][1]
    assert message.startswith("Something went wrong: KeyError")
    assert "bill_length_mm" in message
    assert "Traceback" in details


def test_exception_without_text_and_in_the_factory(qtbot: QtBot, runner: JobRunner) -> None:
    def factory(should_stop: StopCheck) -> Generator[str, None, None]:
        raise ZeroDivisionError

    recorder = run_to_end(qtbot, runner, factory)
    assert recorder.events[0][0] == "failed"
    assert recorder.events[0][1][0] == "Something went wrong: ZeroDivisionError"


def test_running_out_of_memory_is_explained(qtbot: QtBot, runner: JobRunner) -> None:
    def job(should_stop: StopCheck) -> Generator[str, None, None]:
        yield "allocating"
        raise MemoryError()

    recorder = run_to_end(qtbot, runner, job)
    assert "ran out of memory" in recorder.events[0][1][0]


def test_cancel_stops_the_job_at_its_next_check(qtbot: QtBot, runner: JobRunner) -> None:
    produced: list[int] = []
    closed = threading.Event()

    def job(should_stop: StopCheck) -> Generator[int, None, str]:
        try:
            for step in range(10_000):
                if should_stop():
                    raise Cancelled()
                time.sleep(0.005)
                produced.append(step)
                yield step
            return "never"
        finally:
            closed.set()

    recorder = Recorder(runner)
    assert runner.start(job)
    qtbot.waitUntil(lambda: len(recorder.items) >= 3, timeout=WAIT_MS)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        produced_before = len(produced)
        runner.cancel()
    assert recorder.names() == ["cancelled", "finished"]
    assert closed.is_set()  # the generator was closed, so its clean-up ran
    # The job stops at its next check: at most the step it was in when asked (and one that raced the request).
    assert len(produced) <= produced_before + 2
    assert len(recorder.items) <= produced_before + 1


def test_a_job_raising_cancelled_itself_reports_cancelled(qtbot: QtBot, runner: JobRunner) -> None:
    def job(should_stop: StopCheck) -> Generator[str, None, None]:
        yield "start"
        raise Cancelled()

    assert run_to_end(qtbot, runner, job).names() == ["cancelled", "finished"]


def test_only_one_job_at_a_time_and_the_next_may_start_after(qtbot: QtBot, runner: JobRunner) -> None:
    release = threading.Event()

    def slow(should_stop: StopCheck) -> Generator[str, None, str]:
        yield "waiting"
        release.wait(WAIT_MS / 1000)
        return "first"

    def quick(should_stop: StopCheck) -> Generator[str, None, str]:
        yield "quick"
        return "second"

    recorder = Recorder(runner)
    assert runner.start(slow)
    assert runner.is_running()
    assert not runner.start(quick)
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        release.set()
    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        assert runner.start(quick)
    results = [args[0] for name, args in recorder.events if name == "succeeded"]
    assert results == ["first", "second"]


def test_stop_joins_a_running_job_and_silences_it(qtbot: QtBot, runner: JobRunner) -> None:
    cleaned_up = threading.Event()

    def endless(should_stop: StopCheck) -> Generator[int, None, None]:
        try:
            step = 0
            while not should_stop():
                time.sleep(0.005)
                step += 1
                yield step
        finally:
            cleaned_up.set()

    recorder = Recorder(runner)
    assert runner.start(endless)
    qtbot.waitUntil(lambda: len(recorder.items) >= 2, timeout=WAIT_MS)
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 2
    assert cleaned_up.is_set()
    assert not runner.is_running()
    assert recorder.names() == ["finished"]
    # Whatever the thread queued before it was stopped must not reach listeners afterwards.
    seen = len(recorder.items)
    qtbot.wait(100)
    assert len(recorder.items) == seen
    assert recorder.names() == ["finished"]
    runner.stop()  # a second stop, with nothing running, is harmless

    # The next job's listeners hear only the next job.
    def quick(should_stop: StopCheck) -> Generator[str, None, str]:
        yield "next"
        return "next result"

    with qtbot.waitSignal(runner.finished, timeout=WAIT_MS):
        assert runner.start(quick)
    assert recorder.events[1:] == [("succeeded", ("next result",)), ("finished", ())]
    assert recorder.items[seen:] == ["next"]


def test_stop_without_a_job_does_nothing(qtbot: QtBot, runner: JobRunner) -> None:
    recorder = Recorder(runner)
    runner.stop()
    qtbot.wait(10)
    assert recorder.events == []


def test_ten_thousand_progress_signals_all_arrive(qtbot: QtBot, runner: JobRunner) -> None:
    """PySide6 6.12.0 corrupts a refcount per emit and aborts after a few hundred; this must survive."""
    count = 10_000

    def chatty(should_stop: StopCheck) -> Generator[tuple[int, str], None, int]:
        for step in range(count):
            yield (step, f"item {step}")
        return count

    recorder = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=60_000):
        assert runner.start(chatty)
    assert len(recorder.items) == count
    assert recorder.items[0] == (0, "item 0")
    assert recorder.items[-1] == (count - 1, f"item {count - 1}")
    assert all(item[0] == step for step, item in enumerate(recorder.items))  # type: ignore[index]
    assert recorder.events == [("succeeded", (count,)), ("finished", ())]
