"""Worker processes for the search: each fits and scores one fold of one trial at a time.

Processes rather than threads, for two reasons measured on this kind of work:
- on small tables a fold fits in milliseconds and the Python around each fit holds the GIL, so fold threads kept
  only about one core busy; processes keep every core busy, and trials overlap so no core waits for a trial's last
  fold;
- a fit with no steps to stop between (a kernel machine on a large table) cannot be stopped inside a thread; a
  process that runs past the search's deadline is ended, and a fresh one takes its place.

The prepared folds are written once per search with joblib and memory-mapped by every worker, so a worker started
in the middle of a search (after one was ended) reads them without a copy. A fold sent with row rungs is fitted
first on subsamples of its rows; after each the worker reports the score and waits for the search's verdict ("go"
or "abandon") before spending more, so a trial that is not promising costs a fraction of its fit.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import shutil
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from typing import Any, cast

import numpy as np

from studio.core.common.errors import Cancelled, StudioError, first_line
from studio.core.common.temp_files import new_search_folder
from studio.core.data.target import Task
from studio.core.models.params import ParamValue
from studio.core.search.ensemble import score_from_predictions

# Iterative models are grown in steps inside each fold, so a fold that is abandoned (out of time, pruned,
# stopped) stops within a step; its first fold reports the held-out score after each step for pruning. The steps
# end at powers of two of the trees or rounds (then the full count), so trials of different sizes report at the
# same sizes and are compared like for like: a budget that grows, as in successive halving. Steps start at a
# sixteenth of the full count, and at no fewer than this many trees or rounds.
FIRST_RUNG = 4
RUNG_SHARE = 16
# Row rungs (multi-fidelity on rows): a trial's first fold is fitted first on a quarter of its rows (and on a
# sixteenth too, on long tables), and goes on to all of them only if that score is promising. A rung has at least
# this many rows: fewer say little about the full fit.
ROW_RUNG_MIN_ROWS = 1_000
ROW_RUNG_SHARES = (16, 4)
ROW_RUNG_SEED = 0
# An abandoned fold that has not stopped after this long is ended with its process. Starting the process that
# takes its place costs about 1.5 s of imports, so a fold about to finish is left to finish.
GRACE_S = 2.0
# The workers end after this long without a search.
IDLE_CLOSE_S = 180.0
# A worker that dies this many times before it is ready means processes cannot be started here.
START_FAILURES = 3


@dataclass(frozen=True)
class FoldData:
    x_train: Any
    y_train: np.ndarray
    x_valid: Any
    y_valid: np.ndarray
    # Where the category codes are among the features, for a fold prepared with codes (``prep.codes``).
    codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class FoldJob:
    job_id: int
    model_key: str
    task: Task
    params: dict[str, ParamValue]
    fold: int
    metric: str
    report_growth: bool = False  # report the held-out score after each growth step (Optuna's pruning)
    keep_predictions: bool = False  # send back the held-out predictions (to weigh an ensemble of trials)
    coded: bool = False  # fitted on the folds prepared with category codes (a family that splits on categories)
    row_rungs: tuple[int, ...] = ()  # fitted first on these many of its rows, waiting for a verdict after each


@dataclass(frozen=True)
class FoldEvent:
    job_id: int
    # "grew": a growth step's held-out score (the fold goes on); "rows": the score of a fit on a subsample of
    # ``step`` rows (the fold waits for "go" or "abandon"); the others end the fold: "done", "failed" (the
    # settings do not work on this data), "abandoned" (asked to stop, or ended), "lost" (its process died).
    kind: str
    score: float = math.nan
    step: int = 0  # "grew": the trees or rounds grown so far
    fit_s: float = 0.0
    predict_s: float = 0.0  # predicting the held-out rows, to foresee the final model's scoring
    predictions: np.ndarray | None = None
    message: str = ""

    @property
    def final(self) -> bool:
        return self.kind not in ("grew", "rows")


# -- the worker's side -------------------------------------------------------------------------------------------
class _Abandoned(Exception):  # noqa: N818 - an event, like Cancelled
    """The fold's trial ended (out of time, pruned, stopped); its result is not wanted."""


class _Inbox:
    """The worker's messages; the abandon check reads ahead while a fold fits, keeping anything else for later."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.kept: deque[tuple[Any, ...]] = deque()

    def next(self) -> tuple[Any, ...]:
        return self.kept.popleft() if self.kept else self.connection.recv()

    def verdict(self, job_id: int) -> bool:
        """Wait for the search to say whether the fold goes on ("go") or not ("abandon", or "quit")."""
        while True:
            message = self.connection.recv()
            if message[0] in ("go", "abandon") and message[1] == job_id:
                return message[0] == "go"
            if message[0] in ("go", "abandon"):
                continue  # meant for a fold that has already ended
            self.kept.append(message)
            if message[0] == "quit":
                return False

    def abandoned(self, job_id: int) -> bool:
        while self.connection.poll():
            message = self.connection.recv()
            if message[0] in ("abandon", "go"):
                if message[0] == "abandon" and message[1] == job_id:
                    return True
                continue  # meant for a fold that has already ended
            self.kept.append(message)
            if message[0] == "quit":
                return True
        return False


# What the scikit-learn families' estimators, their scoring and their preparation import.
SEARCH_MODULES = ("sklearn.linear_model", "sklearn.tree", "sklearn.neighbors", "sklearn.naive_bayes", "sklearn.svm",
                  "sklearn.calibration", "sklearn.compose", "sklearn.preprocessing", "sklearn.ensemble",
                  "sklearn.metrics", "sklearn.pipeline")


def serve(connection: Connection) -> None:
    """A worker's life: fit the folds it is sent, one at a time, until told to quit or its pipe closes."""
    import signal

    # Ctrl-C in a terminal reaches every process of the command. The search stops its workers itself (they end
    # when their pipe closes), so a worker ignores it rather than print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    # One fold per core: a fit that spread over every core as well would oversubscribe them (OpenMP's spin-waits
    # made gradient boosting ten times slower). threadpoolctl limits the libraries loaded now (numpy's BLAS);
    # scikit-learn's OpenMP loads later, with its first fit, and reads the variable then.
    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(limits=1)
    # The search tries settings that libraries warn about (a solver that has not converged, say); the trial's score
    # already tells, and the warnings would only fill the terminal the window was started from.
    warnings.simplefilter("ignore")
    from studio.core.models.registry import all_models

    all_models()
    # The models' own modules are imported when a model is first made; here, before the worker says it is ready, so
    # a search's first trial is not charged 1-2 s of imports (on a busy computer its whole share of a short budget).
    _import_quietly(SEARCH_MODULES)
    inbox = _Inbox(connection)
    connection.send(("ready", os.getpid()))
    folds_path: str | None = None
    folds: list[list[FoldData]] = []  # the folds as usual, and those prepared with category codes
    while True:
        try:
            message = inbox.next()
        except (EOFError, OSError):
            return
        if message[0] == "load":
            # Read when the first fold is asked for: a newer search may already have replaced this one's file.
            folds_path, folds = message[1], []
        elif message[0] == "fit":
            job: FoldJob = message[1]
            try:
                if not folds:
                    import joblib

                    folds = joblib.load(folds_path, mmap_mode="c")
                event = _fit_fold(job, folds[int(job.coded)][job.fold], inbox)
            except _Abandoned:
                event = FoldEvent(job.job_id, "abandoned")
            except Exception as exc:  # settings a library refuses for this data (e.g. more neighbours than rows)
                event = FoldEvent(job.job_id, "failed", message=first_line(exc))
            connection.send(("event", event))
        elif message[0] == "import":
            _import_quietly(message[1])
        elif message[0] == "quit":
            return


def _import_quietly(modules: Sequence[str]) -> None:
    import importlib

    for name in modules:
        with suppress(ImportError):
            importlib.import_module(name)


def _fit_fold(job: FoldJob, fold: FoldData, inbox: _Inbox) -> FoldEvent:
    from studio.core.models.registry import get_model

    if inbox.abandoned(job.job_id):
        raise _Abandoned()
    spec = get_model(job.model_key)
    params = dict(job.params)
    if any(p.name == "device" for p in spec.params):
        # A search's networks train on the CPU, one per worker: a graphics card shared by a process per core
        # would hold a CUDA context in each (hundreds of MB apiece), and a search's small networks are bound by
        # kernel launches (0.65 s an epoch on an H100 against 0.31 s on one CPU core). The winner's final fit,
        # in the window's process, uses the card.
        params["device"] = "cpu"
    estimator = spec.make_estimator(job.task, params)
    if fold.codes and spec.category_codes:
        estimator.set_params(**{spec.category_codes: np.asarray(fold.codes, dtype=int)})
    if estimator.get_params().get("n_jobs") is not None:
        estimator.set_params(n_jobs=1)
    for size in job.row_rungs:
        rows = row_subsample(fold.y_train, size, job.task)
        if rows is None:
            continue
        from sklearn.base import clone

        sample = clone(estimator)
        grow(spec.growth_param, sample, _take(fold.x_train, rows), fold.y_train[rows],
             lambda: inbox.abandoned(job.job_id))
        score = score_predictions(job.metric, job.task, sample, fold.x_valid, fold.y_valid)
        inbox.connection.send(("event", FoldEvent(job.job_id, "rows", score, size)))
        if not inbox.verdict(job.job_id):
            raise _Abandoned()
    report = None
    if job.report_growth:
        def report(size: int) -> None:
            score = score_predictions(job.metric, job.task, estimator, fold.x_valid, fold.y_valid)
            inbox.connection.send(("event", FoldEvent(job.job_id, "grew", score, size)))

    started = time.perf_counter()
    grow(spec.growth_param, estimator, fold.x_train, fold.y_train, lambda: inbox.abandoned(job.job_id), report)
    fit_s = time.perf_counter() - started
    predictions = held_out_predictions(job.task, estimator, fold.x_valid)
    predict_s = time.perf_counter() - started - fit_s
    score = score_from_predictions(job.metric, job.task, fold.y_valid, predictions, _classes(estimator))
    return FoldEvent(job.job_id, "done", score, fit_s=fit_s, predict_s=predict_s,
                     predictions=predictions if job.keep_predictions else None)


def grow(size_name: str, estimator: Any, x: Any, y: np.ndarray, abandoned: Callable[[], bool],
         report: Callable[[int], None] | None = None) -> None:
    """Fit; boosting rounds and forest trees are added in steps (warm start gives the same model as one fit) and
    networks check ``abandoned`` every batch, so an abandoned fold stops within a step. Other fits run to their
    end unless their process is ended. ``size_name`` is the setting that counts trees or rounds ("" for none)."""
    fit_iter = getattr(estimator, "fit_iter", None)
    if callable(fit_iter):
        # Studio's networks train in their own loop, which checks a stop callable before every batch.
        try:
            for _report in fit_iter(x, y, None, None, abandoned):
                pass
        except Cancelled:
            raise _Abandoned() from None
        return
    settings = estimator.get_params()
    if not size_name or size_name not in settings or "warm_start" not in settings:
        estimator.fit(x, y)
        return
    total = int(settings[size_name])
    estimator.set_params(warm_start=True)
    for done in growth_rungs(total):
        if abandoned():
            raise _Abandoned()
        estimator.set_params(**{size_name: done})
        estimator.fit(x, y)
        if report is not None and done < total:
            report(done)
    estimator.set_params(warm_start=False)


def row_rungs(rows: int) -> tuple[int, ...]:
    """The subsample sizes a first fold of ``rows`` training rows is scored on before all of them: a sixteenth
    and a quarter of the rows, those with at least ``ROW_RUNG_MIN_ROWS``; none on smaller tables."""
    return tuple(rows // share for share in ROW_RUNG_SHARES if rows // share >= ROW_RUNG_MIN_ROWS)


def row_subsample(y: np.ndarray, size: int, task: Task) -> np.ndarray | None:
    """``size`` row positions, the same for every trial; for classes, each class keeps its share. None when a
    class would be left out (then the rung is skipped: a model that never saw a class says little)."""
    rng = np.random.default_rng(ROW_RUNG_SEED)
    if task is not Task.CLASSIFICATION:
        return np.sort(rng.permutation(len(y))[:size])
    picked = []
    labels = np.asarray(y).astype(str)
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        count = round(size * len(where) / len(y))
        if count < 1:
            return None
        picked.append(rng.permutation(where)[:count])
    return np.sort(np.concatenate(picked))


def _take(x: Any, rows: np.ndarray) -> Any:
    return x.iloc[rows] if hasattr(x, "iloc") else x[rows]


def growth_rungs(total: int) -> list[int]:
    """The sizes a model of ``total`` trees or rounds is grown through: powers of two from a sixteenth of it
    (at least ``FIRST_RUNG``), then ``total``."""
    rungs, size = [], FIRST_RUNG
    while size < total:
        if size * RUNG_SHARE >= total:
            rungs.append(size)
        size *= 2
    return [*rungs, total]


def _classes(estimator: Any) -> np.ndarray | None:
    classes = getattr(estimator, "classes_", None)
    return None if classes is None else np.asarray(classes)


def held_out_predictions(task: Task, estimator: Any, x: Any) -> np.ndarray:
    """Numbers for regression; for classes, the class probabilities (columns in ``classes_`` order) where the
    model gives them, else the predicted labels. One prediction call serves the score and the ensemble."""
    if task is Task.CLASSIFICATION and hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(x), dtype=float)
    predicted = np.asarray(estimator.predict(x))
    return predicted.astype(object) if task is Task.CLASSIFICATION else predicted.astype(float)


def score_predictions(metric: str, task: Task, estimator: Any, x: Any, y: np.ndarray) -> float:
    return score_from_predictions(metric, task, y, held_out_predictions(task, estimator, x), _classes(estimator))


# -- the search's side -------------------------------------------------------------------------------------------
@dataclass
class _Worker:
    process: Any
    connection: Connection
    ready: bool = False
    job: FoldJob | None = None
    abandoned_at: float | None = None


@dataclass
class TrialPool:
    """Worker processes, each given one fold at a time; ``events`` collects what they report."""

    size: int
    _workers: list[_Worker] = field(default_factory=list)
    _folds_path: str | None = None
    _folds_dir: str | None = None
    _start_failures: int = 0

    def __post_init__(self) -> None:
        # spawn, not fork: the window's process has threads (Qt's among them), and a forked copy of a process with
        # threads can hang; spawn is also what macOS and Windows do.
        self._context = multiprocessing.get_context("spawn")
        self.top_up()

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=serve, args=(child,), daemon=True, name="studio-search")
        with _ctrl_c_ignored_by_children():
            process.start()
        child.close()
        worker = _Worker(process, parent)
        if self._folds_path is not None:
            _send(worker, ("load", self._folds_path))
        return worker

    def _replace(self, worker: _Worker) -> None:
        if not worker.ready:
            self._start_failures += 1
        _kill(worker)
        self._workers[self._workers.index(worker)] = self._start()

    def load(self, folds: Sequence[FoldData], coded: Sequence[FoldData] = ()) -> None:
        """The search's prepared folds (and the same folds prepared with category codes, where a family takes
        them), written once for every worker to read."""
        import joblib

        # Named with this process's id: if the process is killed outright, the next start of Studio removes it.
        directory = str(new_search_folder())
        path = os.path.join(directory, "folds.joblib")
        joblib.dump([list(folds), list(coded)], path)
        previous, self._folds_dir, self._folds_path = self._folds_dir, directory, path
        for worker in self._workers:
            _send(worker, ("load", path))
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def idle(self) -> int:
        return sum(1 for w in self._workers if w.ready and w.job is None)

    def submit(self, job: FoldJob) -> None:
        worker = next(w for w in self._workers if w.ready and w.job is None)
        worker.job, worker.abandoned_at = job, None
        _send(worker, ("fit", job))

    def go(self, job_id: int) -> None:
        """The fold waiting after a row rung goes on to all its rows."""
        for worker in self._workers:
            if worker.job is not None and worker.job.job_id == job_id and worker.abandoned_at is None:
                _send(worker, ("go", job_id))

    def abandon(self, job_id: int) -> None:
        for worker in self._workers:
            if worker.job is not None and worker.job.job_id == job_id and worker.abandoned_at is None:
                _send(worker, ("abandon", job_id))
                worker.abandoned_at = time.perf_counter()

    def end_all(self) -> None:
        """End every fold still running at once: the search is over and wants the cores for the final fit, so
        the ended workers are replaced only when the next search begins."""
        for worker in [w for w in self._workers if w.job is not None]:
            _kill(worker)
            self._workers.remove(worker)

    def top_up(self) -> None:
        self._workers += [self._start() for _ in range(self.size - len(self._workers))]

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    def events(self, timeout: float) -> list[FoldEvent]:
        """What the workers reported within ``timeout`` seconds; folds that did not stop when abandoned are ended
        with their process (reported as "abandoned")."""
        events = []
        now = time.perf_counter()
        for worker in list(self._workers):
            if worker.job is not None and worker.abandoned_at is not None and now - worker.abandoned_at > GRACE_S:
                events.append(FoldEvent(worker.job.job_id, "abandoned", message="ended"))
                self._replace(worker)
        if self._start_failures >= START_FAILURES:
            raise StudioError("The search could not start its helper processes on this computer.")
        by_connection = {w.connection: w for w in self._workers}
        # wait() hands back some of the connections it was given; its stub widens them to sockets and handles.
        for connection in cast("list[Connection]", wait_connections(list(by_connection), timeout)):
            worker = by_connection[connection]
            try:
                message = connection.recv()
            except (EOFError, OSError):
                if worker.job is not None:
                    events.append(FoldEvent(worker.job.job_id, "lost", message="its helper process stopped "
                                            "unexpectedly (out of memory?)"))
                self._replace(worker)
                continue
            if message[0] == "ready":
                worker.ready = True
                self._start_failures = 0
            elif message[0] == "event":
                event: FoldEvent = message[1]
                events.append(event)
                if event.final and worker.job is not None and worker.job.job_id == event.job_id:
                    worker.job, worker.abandoned_at = None, None
        return events

    def close(self) -> None:
        for worker in self._workers:
            _send(worker, ("quit",))
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)  # reaped, so no process is left behind, not even a zombie
            worker.connection.close()
        self._workers = []
        if self._folds_dir is not None:
            shutil.rmtree(self._folds_dir, ignore_errors=True)


@contextmanager
def _ctrl_c_ignored_by_children() -> Iterator[None]:
    """A process started in here ignores Ctrl-C from its first instruction (an ignored signal stays ignored in a
    new program, and Python then installs no KeyboardInterrupt of its own): a worker still importing its libraries
    when Ctrl-C comes prints nothing. Only the main thread may change a signal's handling; elsewhere (the window's
    search thread, where no Ctrl-C comes) nothing changes."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _kill(worker: _Worker) -> None:
    worker.process.kill()
    worker.process.join(timeout=5)
    worker.connection.close()


def _send(worker: _Worker, message: tuple[Any, ...]) -> None:
    # A worker that died cannot be written to; ``events`` finds its closed pipe, reports its fold as lost and
    # starts another.
    with suppress(OSError):
        worker.connection.send(message)


_shared: TrialPool | None = None
_shared_lock = threading.Lock()
_shared_in_use = False
_idle_timer: threading.Timer | None = None


@contextmanager
def trial_pool(size: int) -> Iterator[TrialPool]:
    """A pool of ``size`` workers. The processes outlive one search (starting them costs about a second of
    imports each), so the next search starts at once; they end after ``IDLE_CLOSE_S`` without a search. A second
    search at the same time gets its own pool."""
    global _shared_in_use
    with _shared_lock:
        shared = not _shared_in_use
        if shared:
            _shared_in_use = True
            pool = _shared_of_size(size)
    if not shared:
        pool = TrialPool(size)
    try:
        yield pool
    finally:
        pool.end_all()
        if shared:
            with _shared_lock:
                _shared_in_use = False
                _close_when_idle()
        else:
            pool.close()


def warm_up(size: int | None = None, modules: Sequence[str] = ()) -> None:
    """Start the workers ahead of a search (the window does when a search is chosen), so the search does not
    spend its budget waiting for their imports; each also imports ``modules`` (torch, for a network)."""
    with _shared_lock:
        if _shared_in_use:
            return
        pool = _shared_of_size(size or os.cpu_count() or 1)
        if modules:
            for worker in pool._workers:
                _send(worker, ("import", tuple(modules)))
        _close_when_idle()


def _shared_of_size(size: int) -> TrialPool:
    """The shared pool with ``size`` live workers (called with the lock held)."""
    global _shared
    if _idle_timer is not None:
        _idle_timer.cancel()
    if _shared is not None and _shared.size != size:
        _shared.close()
        _shared = None
    if _shared is None:
        _shared = TrialPool(size)
    _shared.top_up()
    return _shared


def _close_when_idle() -> None:
    """Idle workers hold their imports in memory (scikit-learn, torch: hundreds of MB each on a many-core laptop),
    so they end when no search has used them for a while (called with the lock held)."""
    global _idle_timer
    if _idle_timer is not None:
        _idle_timer.cancel()
    timer = threading.Timer(IDLE_CLOSE_S, lambda: _close_if_idle(timer))
    timer.daemon = True  # never keeps the app from quitting
    _idle_timer = timer
    timer.start()


def _close_if_idle(timer: threading.Timer) -> None:
    global _shared
    with _shared_lock:
        # A timer that fired while a search or a warm-up was taking the pool has been replaced: it closes nothing.
        if timer is _idle_timer and _shared is not None and not _shared_in_use:
            _shared.close()
            _shared = None


@atexit.register
def _close_shared() -> None:
    global _shared
    with _shared_lock:
        if _idle_timer is not None:
            _idle_timer.cancel()
        if _shared is not None:
            _shared.close()
            _shared = None
