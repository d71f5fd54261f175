"""Automatic tuning: find good settings (and, in automatic mode, the model) within a time budget.

``tune`` is a generator like ``training.train``: it yields an immutable ``TuneProgress`` after every trial and
returns a ``TuneResult``. Each trial is scored by cross-validation on the training rows (the test rows are never
looked at), with Optuna choosing the settings. The winner is then trained on all training rows and scored once on
the test rows by ``training.train``, so the Results page shows it like any other model.

How the budget is spent:
- every model family's first trial uses its default settings, strong for each family, so a good model exists early;
- then each next trial goes to the family whose best score, plus a bonus that shrinks as it gets more trials, is
  highest (an upper confidence bound), so the time goes to the families that pay, not spread evenly;
- Optuna's MedianPruner stops a trial that is worse than the median of earlier trials at the same point: models
  that train in iterations (boosting rounds, trees) report their first fold's held-out score as they grow, and
  every model reports after each fold, so bad settings cost a fraction of a full cross-validation;
- folds are fitted in worker processes (one per core, each fitting single-threaded; see ``trial_pool``), and with
  a time budget the next trial starts as soon as a worker is free, so every core works all the time;
- the search stops in time to leave room for the final fit; a trial that would run past the deadline is abandoned
  (its result dropped; a fit with no steps to stop between is ended with its process), and a family whose trials
  take longer than the time left is not started again;
- at the end of the automatic search, the best trials' held-out predictions are averaged (greedy ensemble
  selection, ``studio.core.search.ensemble``); when the average scores better than the best single trial, and there is
  time to train its members, the ensemble is what is trained.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np

from studio.core.common.errors import Cancelled, DataError, StudioError
from studio.core.common.progress import CurvePoint, InterruptibleCaller, StopCheck, never_stop
from studio.core.data.target import Task, summarize_target
from studio.core.evaluate.crossval import fold_indices
from studio.core.evaluate.metrics import HIGHER_IS_BETTER, METRIC_LABELS
from studio.core.models.params import ParamValue
from studio.core.models.registry import ensemble_of, get_model, models_for
from studio.core.models.spec import ModelSpec
from studio.core.search.ensemble import blend, score_from_predictions, select_ensemble
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.pool import GROWTH_STEPS, FoldData, FoldEvent, FoldJob, TrialPool, trial_pool
from studio.core.search.spaces import ParamRange, SearchSpace, build_space
from studio.core.train.splits import SplitIndices
from studio.core.train.training import TrainRequest, TrainResult, train, usable_split

POLL_S = 0.05
# In the automatic search no single trial may take more than this share of the budget: a family whose defaults are
# that slow on this table would leave no time for the others.
TRIAL_SHARE = 0.35
# The out-of-fold predictions of this many of the best trials of each family are kept to weigh an ensemble from.
ENSEMBLE_PER_FAMILY = 2
# An ensemble has at most this many members. Time for training the best trial of as many families is kept at
# the end of an automatic search: an ensemble that cannot be trained in time is not used.
ENSEMBLE_MEMBERS = 5
ENSEMBLE_BUDGET_SHARE = 0.15
# An ensemble must beat the best single trial on at least this share of the folds, not only on average.
ENSEMBLE_FOLD_WINS = 0.5
# On tables up to this many rows the quick families (SearchPolicy.quick) are tried first.
SMALL_ROWS = 5_000
# Above this many training rows 3 folds are enough to compare settings, and each trial costs 40% less.
FIVE_FOLDS_MAX_ROWS = 10_000
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
# Classes this uneven (largest over smallest) make plain accuracy misleading, so "best" means balanced accuracy.
IMBALANCE_RATIO = 3.0


class TrialState(StrEnum):
    DONE = "done"
    PRUNED = "pruned"  # stopped after a few folds: clearly worse than earlier trials
    FAILED = "failed"  # the settings did not work on this data
    STOPPED = "stopped"  # ran out of time or the user asked to finish


@dataclass(frozen=True)
class Trial:
    number: int
    model_key: str
    params: tuple[tuple[str, ParamValue], ...]
    score: float | None  # mean cross-validation score of the finished folds
    state: TrialState
    duration_s: float
    finished_at_s: float  # since the start of the search
    best_score: float | None  # best score of all trials so far, this one included
    folds_done: int = 0
    note: str = ""
    is_best: bool = False  # the best so far when it ended (ties keep the earlier trial)
    fit_s: float = 0.0  # the longest single fold's fit, to foresee the final fit's time

    @property
    def model_label(self) -> str:
        return get_model(self.model_key).label

    def params_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)


@dataclass(frozen=True, slots=True)
class TuneProgress:
    """One step of the search; ``trial`` is set when a trial has ended, ``curve`` during the final fit."""

    stage: str
    fraction: float | None = None
    message: str = ""
    trial: Trial | None = None
    elapsed_s: float = 0.0
    budget_s: float | None = None
    curve: CurvePoint | None = None


@dataclass(frozen=True)
class TuneRequest:
    base: TrainRequest  # the data, target, task, preparation and split; ``model_key`` is the model tuned in TUNE
    mode: TuneMode = TuneMode.AUTO
    budget_s: float | None = 60.0  # wall time for everything, the final fit included; None: only max_trials
    metric: str | None = None  # None: the default for the task and target (see default_metric)
    method: SearchMethod = SearchMethod.BAYES
    max_trials: int | None = None
    # The user's ranges for TUNE mode (settings left out keep their value); None: the generated ones.
    ranges: tuple[ParamRange, ...] | None = None
    seed: int = 0
    folds: int | None = None  # None: 5, or 3 on large tables
    workers: int | None = None  # worker processes, each fitting one fold at a time; None: one per core
    families: tuple[str, ...] | None = None  # AUTO: only these model families; None: every suitable one


@dataclass(frozen=True)
class TuneResult:
    trials: tuple[Trial, ...]
    best: Trial
    metric: str
    train_result: TrainResult  # the winner trained on all training rows, scored once on the test rows
    finished_early: bool  # the user asked to stop and keep the best so far
    duration_s: float
    families: tuple[str, ...] = ()
    # What was trained at the end: the best trial's model and settings, or an ensemble of the best trials when
    # their average scored better in cross-validation.
    model_key: str = ""
    params: tuple[tuple[str, ParamValue], ...] = ()
    # When an ensemble won: its cross-validated score and the best single trial's (each the mean of the folds'
    # scores, like every trial's).
    ensemble_scores: tuple[float, float] | None = None

    @property
    def final_params(self) -> dict[str, ParamValue]:
        return dict(self.params) if self.model_key else self.best.params_dict()

    @property
    def final_key(self) -> str:
        return self.model_key or self.best.model_key


@dataclass
class _Family:
    """Search state of one model family (mutable, lives only inside the generator)."""

    spec: ModelSpec
    space: SearchSpace
    study: Any
    grid_points: dict[str, tuple[ParamValue, ...]] | None = None  # grid search: every setting's points, built once
    trials: int = 0
    best: float | None = None  # in "higher is better" units
    seconds: list[float] = field(default_factory=list)
    exhausted: bool = False
    note: str = ""
    starts: int = 1  # trials of known settings queued before the search's own: the defaults, then other starts


# -- choices the UI and CLI offer --------------------------------------------------------------------------------
def metric_choices(task: Task) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task is Task.CLASSIFICATION else REGRESSION_METRICS


def default_metric(task: Task, class_counts: tuple[tuple[str, int], ...] = ()) -> str:
    """RMSE for numbers; accuracy for classes of similar size, balanced accuracy when some are rare."""
    if task is Task.REGRESSION:
        return "rmse"
    counts = [count for _name, count in class_counts if count > 0]
    if len(counts) >= 2 and max(counts) / min(counts) > IMBALANCE_RATIO:
        return "balanced_accuracy"
    return "accuracy"


def resolve_metric(request: TuneRequest) -> str:
    """The request's metric, or the default for its task and class balance."""
    return request.metric or default_metric(request.base.task, _class_counts(request.base))


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def higher_is_better(metric: str) -> bool:
    return HIGHER_IS_BETTER.get(metric, True)


def auto_families(task: Task, rows: int, columns: int, include: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Model families the automatic search tries for this table, most promising first (each family's
    ``SearchPolicy`` says where it stands and on which tables it is left out)."""
    usable = [m for m in models_for(task) if (include is None or m.key in include) and not m.missing_requirement()]

    def fits(spec: ModelSpec) -> bool:
        policy = spec.search
        return policy is None or ((policy.max_rows is None or rows <= policy.max_rows)
                                  and (policy.max_columns is None or columns <= policy.max_columns))

    known = sorted((m for m in usable if m.search is not None and fits(m)), key=lambda m: m.search.rank)
    if rows <= SMALL_ROWS:
        # On small tables neighbours and kernel machines take a moment and are often the best; ensembles'
        # defaults can take a good share of a short budget, so the quick ones are tried first.
        known = [m for m in known if m.search.quick] + [m for m in known if not m.search.quick]
    # Families without a policy (a neural network, say) come after the proven ones, before the weakest: their
    # cost on a table is unknown, and the proven ones are quick and strong on small tables.
    others = [m for m in usable if m.search is None]
    position = next((i for i, m in enumerate(known) if m.search.newcomers_before), len(known))
    return tuple(m.key for m in known[:position] + others + known[position:])


# -- the search --------------------------------------------------------------------------------------------------
def tune(request: TuneRequest, should_stop: StopCheck = never_stop,
         finish_now: StopCheck = never_stop) -> Generator[TuneProgress, None, TuneResult]:
    """Search, then train the winner. ``should_stop`` abandons everything (``Cancelled``); ``finish_now`` ends
    the search early and keeps the best model found so far."""
    workers = request.workers or os.cpu_count() or 1
    # The worker processes start first: their imports overlap the preparation of the folds.
    with InterruptibleCaller(should_stop) as call, trial_pool(workers) as pool:
        return (yield from _tune(request, should_stop, finish_now, call, pool))


def _tune(request: TuneRequest, should_stop: StopCheck, finish_now: StopCheck, call: InterruptibleCaller,
          pool: TrialPool) -> Generator[TuneProgress, None, TuneResult]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    base = request.base
    task = base.task
    metric = resolve_metric(request)
    if metric not in metric_choices(task):
        raise StudioError(f"'{metric}' cannot judge {task.value}; choose one of "
                          f"{', '.join(metric_choices(task))}.")
    if request.budget_s is None and request.max_trials is None:
        raise StudioError("Give the search a time budget or a number of trials.")
    if request.budget_s is not None and request.budget_s <= 0:
        raise StudioError("The time budget must be more than 0 seconds.")
    sign = 1.0 if higher_is_better(metric) else -1.0
    deadline = started + request.budget_s if request.budget_s is not None else math.inf

    def elapsed() -> float:
        return time.perf_counter() - started

    def progress(stage: str, message: str, trial: Trial | None = None, fraction: float | None = None,
                 curve: CurvePoint | None = None) -> TuneProgress:
        if fraction is None:
            fraction = min(1.0, elapsed() / request.budget_s) if request.budget_s else None
        return TuneProgress(stage, fraction, message, trial, elapsed(), request.budget_s, curve)

    yield progress("Preparing data", "Checking the target and splitting the rows", fraction=0.0)
    frame, y, _dropped, parts = usable_split(base)
    training_rows = np.sort(np.concatenate([parts.train, parts.validation]))
    if base.task is Task.CLASSIFICATION and len(np.unique(y[training_rows])) < 2:
        raise DataError("The training rows hold a single class, so there is nothing to tell apart.")
    if not base.prep.features(base.target):
        raise DataError("No columns are left to learn from: every column is left out.")
    folds = yield from _make_folds(request, frame.iloc[training_rows], y[training_rows], call, progress)
    columns = folds[0].x_train.shape[1]

    families = _families(request, len(training_rows), columns, sign)
    _import_in_background({module for family in families for module, _advice in family.spec.requires})
    yield progress("Searching", f"Trying {len(families)} kind(s) of model with {len(folds)}-fold "
                   "cross-validation on the training rows")
    search = _Search(request, families, folds, metric, sign, pool.size, started)
    pool.load(folds)
    while True:
        if should_stop():
            raise Cancelled()
        if finish_now():
            search.finished_early = True
        search.step(pool, deadline)
        for trial in search.take_ended():
            yield progress("Searching", _trial_message(trial, metric), trial,
                           fraction=None if request.budget_s else len(search.trials) / (request.max_trials or 1))
        if search.over:
            break
    pool.end_all()
    trials, best, finished_early = search.trials, search.best, search.finished_early
    if best is None:
        if finished_early:
            raise Cancelled()
        raise StudioError(_nothing_finished_message(trials, request))

    final_key, final_params = best.model_key, best.params
    what = f"{best.model_label} with the best settings"
    ensemble_scores = None
    if request.mode is TuneMode.AUTO:
        members, ensemble_scores = _ensemble(search, folds, metric, task, deadline)
        if members:
            combined, final_params = ensemble_of(members)
            final_key = combined.key
            what = f"An average of {len(members)} of the best trials"
    yield progress("Training the winner", f"{what}, on all {len(training_rows):,} training rows")
    refit = replace(base, frame=frame, model_key=final_key, params=dict(final_params),
                    fixed_split=SplitIndices(training_rows, training_rows[:0], parts.test, parts.stratified,
                                             parts.note))
    job = train(refit, should_stop)
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            result: TrainResult = finished.value
            break
        yield progress("Training the winner", item.message, curve=item.curve)
    yield progress("Done", "Search finished", fraction=1.0)
    return TuneResult(tuple(trials), best, metric, result, finished_early, elapsed(),
                      tuple(f.spec.key for f in families), final_key, final_params, ensemble_scores)


def _import_in_background(modules: set[str]) -> None:
    """The workers import what their models need; the final fit runs in this process, and importing torch there
    took two seconds the time kept for it did not foresee. A thread does it while the search runs."""
    import importlib
    import threading

    for module in sorted(modules):
        threading.Thread(target=importlib.import_module, args=(module,), name=f"studio-import-{module}",
                         daemon=True).start()


def _ensemble(search: _Search, folds: list[FoldData], metric: str, task: Task, deadline: float
              ) -> tuple[list[tuple[str, dict[str, ParamValue], int]], tuple[float, float] | None]:
    """The best trials to average (model, settings, weight) and the scores of their average and of the best single
    trial, when the average scores better on the held-out rows of every fold and there is time to train all its
    members; else no members."""
    ranked = sorted(search.candidates, key=lambda pair: (-search.sign * (pair[0].score or 0.0), pair[0].number))
    if len(ranked) < 2:
        return [], None
    truth = np.concatenate([fold.y_valid for fold in folds])
    classes = np.unique(truth) if task is Task.CLASSIFICATION else None
    outputs = [_pooled(predictions, folds, classes) for _trial, predictions in ranked]
    single = score_from_predictions(metric, task, truth, outputs[0], classes)
    single_folds = _fold_scores(outputs[0], folds, metric, task, classes)
    best_score = ranked[0][0].score or 0.0
    time_left = deadline - time.perf_counter()
    # Fewer members when the best mix of more cannot be trained in the time left.
    for most in range(ENSEMBLE_MEMBERS, 1, -1):
        weights, mixed = select_ensemble(outputs, truth, metric, task, classes, max_members=most)
        chosen = [(trial, w) for (trial, _predictions), w in zip(ranked, weights, strict=True) if w]
        if len(chosen) < 2 or search.sign * mixed <= search.sign * single:
            return [], None
        # Scored like every trial (the mean of the folds' scores), so it compares with the trials table; and it
        # must win on at least half the folds: on small tables a single lucky fold (one more row right) would
        # otherwise pick an ensemble that is no better.
        mixed_folds = _fold_scores(blend(outputs, weights, task, classes), folds, metric, task, classes)
        wins = sum(search.sign * m > search.sign * s for m, s in zip(mixed_folds, single_folds, strict=True))
        fold_mean = float(np.mean(mixed_folds))
        if search.sign * fold_mean <= search.sign * best_score or wins < ENSEMBLE_FOLD_WINS * len(folds):
            return [], None
        if _refit_reserve([trial for trial, _ in chosen], len(folds)) <= time_left:
            heaviest_first = sorted(chosen, key=lambda pair: -pair[1])
            return [(trial.model_key, trial.params_dict(), weight) for trial, weight in heaviest_first], \
                (fold_mean, best_score)
    return [], None


def _fold_scores(pooled: np.ndarray, folds: list[FoldData], metric: str, task: Task,
                 classes: np.ndarray | None) -> list[float]:
    scores, start = [], 0
    for fold in folds:
        end = start + len(fold.y_valid)
        scores.append(score_from_predictions(metric, task, fold.y_valid, pooled[start:end], classes))
        start = end
    return scores


def _pooled(per_fold: list[np.ndarray], folds: list[FoldData], classes: np.ndarray | None) -> np.ndarray:
    """One trial's held-out predictions of every fold, in fold order. Probability columns follow each fold's own
    classes (a rare class can be missing from a fold's training part), so they are spread over all classes."""
    if classes is None or per_fold[0].ndim == 1:
        return np.concatenate(per_fold)
    spread = []
    for fold, predictions in zip(folds, per_fold, strict=True):
        full = np.zeros((len(predictions), len(classes)))
        full[:, np.searchsorted(classes, np.unique(fold.y_train))] = predictions
        spread.append(full)
    return np.concatenate(spread)


def _class_counts(base: TrainRequest) -> tuple[tuple[str, int], ...]:
    """The classes as the window counts them (``summarize_target``), so the CLI and the window choose the same
    default measure."""
    if base.task is not Task.CLASSIFICATION or base.target not in base.frame.columns:
        return ()
    return summarize_target(base.frame[base.target], base.task).class_counts


def _make_folds(request: TuneRequest, x: Any, y: np.ndarray, call: InterruptibleCaller,
                progress: Callable[..., TuneProgress]) -> Generator[TuneProgress, None, list[FoldData]]:
    """Preparation fitted on each fold's training part only (no peeking at its held-out rows), done once here
    and shared by every trial."""
    from studio.core.prep.build import build_transformer

    count = request.folds or (5 if len(y) <= FIVE_FOLDS_MAX_ROWS else 3)
    count = max(2, min(count, len(y) // 2))
    folds = []
    splits = fold_indices(y, request.base.task, count, request.seed, stratify=True)
    for number, (fit_rows, held_rows) in enumerate(splits, start=1):
        transformer = build_transformer(request.base.prep, request.base.target)
        x_fit, x_held = x.iloc[fit_rows], x.iloc[held_rows]
        xt_fit = call(lambda t=transformer, xf=x_fit, yf=y[fit_rows]: t.fit_transform(xf, yf))
        xt_held = call(lambda t=transformer, xh=x_held: t.transform(xh))
        folds.append(FoldData(xt_fit, y[fit_rows], xt_held, y[held_rows]))
        yield progress("Preparing data", f"Fold {number} of {count} prepared")
    return folds


def _families(request: TuneRequest, rows: int, columns: int, sign: float) -> list[_Family]:
    import optuna

    task = request.base.task
    if request.mode is TuneMode.TUNE:
        keys: tuple[str, ...] = (request.base.model_key,)
    else:
        keys = auto_families(task, rows, columns, request.families)
    families = []
    for index, key in enumerate(keys):
        spec = get_model(key)
        if task not in spec.tasks:
            raise StudioError(f"{spec.label} cannot do {task.value}; pick another model to tune.")
        values = request.base.params if request.mode is TuneMode.TUNE else None
        space = build_space(spec, task, values)
        if request.ranges is not None and request.mode is TuneMode.TUNE:
            space = space.with_ranges(request.ranges, values)
        seed = request.seed + 1000 * index
        direction = "maximize" if sign > 0 else "minimize"
        grid = space.grid() if request.method is SearchMethod.GRID and request.mode is TuneMode.TUNE else None
        sampler: Any
        if grid is not None:
            sampler = optuna.samplers.GridSampler(dict(grid), seed=seed)
        elif request.method is SearchMethod.RANDOM:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
        pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=GROWTH_STEPS // 2)
        study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
        starts = 0
        if grid is None:
            # The defaults (or the user's values) first: a strong start, and never worse than not tuning.
            study.enqueue_trial(space.encode(spec.resolve(task, values)))
            starts = 1
            if request.mode is TuneMode.AUTO:
                for start in spec.search_starts:
                    study.enqueue_trial(space.encode(spec.resolve(task, dict(start))))
                starts += len(spec.search_starts)
        families.append(_Family(spec, space, study, grid_points=grid, starts=starts))
    if not families:
        raise StudioError(f"No model can do {task.value}.")
    return families


def _pick_family(families: list[_Family], remaining: float) -> _Family | None:
    """Untried families first (in order), then their other known starts, then the upper confidence bound on the
    best score."""
    open_families = []
    for family in families:
        if family.exhausted:
            continue
        if family.seconds and min(family.seconds) > remaining:
            family.note = "skipped: its trials take longer than the time left"
            continue
        open_families.append(family)
    if not open_families:
        return None
    for family in open_families:
        if family.trials == 0:
            return family
    for family in open_families:  # then each family's other known starts
        if family.trials < family.starts:
            return family
    scored = [(f, f.best) for f in open_families if f.best is not None]
    if not scored:
        return min(open_families, key=lambda f: f.trials)
    bests = np.array([best for _, best in scored], dtype=float)
    spread = float(np.ptp(bests)) if len(bests) > 1 else 0.0
    spread = max(spread, 0.01 * max(abs(float(bests.max())), 1e-3))
    # The upper confidence bound: a family's best so far, plus more room the fewer times it was tried.
    return max(scored, key=lambda pair: pair[1] + spread / math.sqrt(1 + pair[0].trials))[0]


def _refit_reserve(winners: list[Trial], fold_count: int) -> float:
    """Time to keep for training the winner (or each member of an ensemble) on all training rows: the slowest
    fold's fit, scaled up to all the rows, with room for the live curve's bookkeeping and the scoring."""
    fits = [trial.fit_s for trial in winners if trial.folds_done]
    if not fits:
        return 0.5
    return 0.75 + 1.5 * sum(fits) * fold_count / max(1, fold_count - 1)


@dataclass
class _Running:
    """A trial whose folds are out with the workers (mutable, lives only inside the search)."""

    number: int
    family: _Family
    handle: Any
    params: dict[str, ParamValue]
    started: float
    share_deadline: float  # its share of the budget (automatic search), or infinity
    pending: list[FoldJob]
    fold_of: dict[int, int]  # job id -> its fold
    jobs: dict[int, float] = field(default_factory=dict)  # job id -> when it was handed to a worker
    scores: dict[int, float] = field(default_factory=dict)  # fold -> held-out score
    predictions: dict[int, np.ndarray] = field(default_factory=dict)
    fit_s: float = 0.0
    reported: int = 0  # folds reported to Optuna, always in fold order, so the same seed prunes the same way
    state: TrialState | None = None  # set when it has ended
    note: str = ""
    ended_at: float = 0.0
    worker_lost: bool = False  # failed because its worker process died, not because of its settings


class _Search:
    """Hands folds to the worker processes and turns what they report into trials.

    With a time budget, the next trial starts as soon as a worker is free, so trials overlap and no core waits for
    the slowest fold of a trial. With only a number of trials, one trial runs at a time (its folds in parallel), so
    every trial is chosen knowing all earlier ones and the same seed gives the same search."""

    def __init__(self, request: TuneRequest, families: list[_Family], folds: list[FoldData], metric: str,
                 sign: float, workers: int, started: float) -> None:
        self.request, self.families, self.folds = request, families, folds
        self.metric, self.sign, self.workers, self.started = metric, sign, workers, started
        self.overlap = request.budget_s is not None
        self.keep_predictions = request.mode is TuneMode.AUTO
        self.trials: list[Trial] = []
        self.best: Trial | None = None
        self.finished_early = False
        self.over = False
        self.running: list[_Running] = []
        self.owner: dict[int, _Running] = {}
        self.started_count = 0
        self.job_ids = itertools.count()
        # The best finished trials with their out-of-fold predictions (one array per fold), for the ensemble.
        self.candidates: list[tuple[Trial, list[np.ndarray]]] = []

    # -- one pass of the loop ------------------------------------------------------------------------------------
    def step(self, pool: TrialPool, deadline: float) -> None:
        now = time.perf_counter()
        search_deadline = deadline - self.refit_reserve()
        for run in self.running:
            if run.state is not None:
                continue
            if self.finished_early:
                self._end(run, TrialState.STOPPED, "the user asked to finish", pool)
            elif now >= min(search_deadline, run.share_deadline):
                self._end(run, TrialState.STOPPED, _out_of_time(run, search_deadline), pool)
        while pool.idle():
            run = next((r for r in self.running if r.state is None and r.pending), None)
            if run is None:
                family = self._next_family(search_deadline)
                if family is None:
                    break
                run = self._start_trial(family)
            job = run.pending.pop(0)
            run.jobs[job.job_id] = time.perf_counter()
            pool.submit(job)
        if not self.running and self._next_family(search_deadline) is None:
            self.over = True
            return
        for event in pool.events(POLL_S):
            run = self.owner.get(event.job_id)
            if run is not None and run.state is None:
                self._on_event(run, event, search_deadline, pool)

    def _next_family(self, search_deadline: float) -> _Family | None:
        """The family of the next trial; None while no trial should start (or none ever will)."""
        if self.finished_early or (self.running and not self.overlap):
            return None
        if self.request.max_trials is not None and self.started_count >= self.request.max_trials:
            return None
        remaining = search_deadline - time.perf_counter()
        return _pick_family(self.families, remaining) if remaining > 0 else None

    def refit_reserve(self) -> float:
        """Time to keep for the final fit. The automatic search keeps enough for an ensemble of the slowest
        candidates too, but never more than a small share of the budget beyond the best trial's own fit."""
        single = _refit_reserve([self.best] if self.best else [], len(self.folds))
        if not self.keep_predictions or self.request.budget_s is None:
            return single
        slowest = sorted((trial for trial, _ in self.candidates), key=lambda t: -t.fit_s)[:ENSEMBLE_MEMBERS]
        return max(single, min(_refit_reserve(slowest, len(self.folds)),
                               single + ENSEMBLE_BUDGET_SHARE * self.request.budget_s))

    def _start_trial(self, family: _Family) -> _Running:
        import optuna

        request = self.request
        if family.grid_points is not None:
            distributions = {name: optuna.distributions.CategoricalDistribution(points)
                             for name, points in family.grid_points.items()}
            handle = family.study.ask(distributions)
            params = dict(family.space.fixed)
            params.update(handle.params)
        else:
            handle = family.study.ask(family.space.distributions())
            params = family.space.params_from(handle.params)
        family.trials += 1
        if family.grid_points is not None and family.trials >= math.prod(map(len, family.grid_points.values())):
            family.exhausted = True
        share_deadline = math.inf
        if request.mode is TuneMode.AUTO and request.budget_s is not None and self.best is not None:
            share_deadline = time.perf_counter() + max(2.0, TRIAL_SHARE * request.budget_s)
        self.started_count += 1
        jobs = [FoldJob(next(self.job_ids), family.spec.key, request.base.task, params, index, self.metric,
                        report_growth=index == 0, keep_predictions=self.keep_predictions)
                for index in range(len(self.folds))]
        run = _Running(self.started_count, family, handle, params, time.perf_counter(), share_deadline, jobs,
                       {job.job_id: job.fold for job in jobs})
        for job in jobs:
            self.owner[job.job_id] = run
        self.running.append(run)
        return run

    def _on_event(self, run: _Running, event: FoldEvent, search_deadline: float, pool: TrialPool) -> None:
        if event.kind == "grew":
            run.handle.report(event.score, event.step)
            if run.handle.should_prune():
                self._end(run, TrialState.PRUNED, f"stopped after {event.step + 1}/{GROWTH_STEPS} of its first "
                          "fold: worse than earlier trials at the same point", pool)
            return
        if event.kind in ("failed", "lost"):
            run.worker_lost = event.kind == "lost"
            self._end(run, TrialState.FAILED, event.message, pool)
            return
        if event.kind != "done":
            return
        fold = run.fold_of[event.job_id]
        first = not run.scores
        run.scores[fold] = event.score
        run.fit_s = max(run.fit_s, event.fit_s)
        if event.predictions is not None:
            run.predictions[fold] = event.predictions
        total = len(self.folds)
        if first and total > 1:
            # The first fold shows how long the rest will take: give up now rather than at the deadline.
            fold_s = time.perf_counter() - run.jobs[event.job_id]
            foreseen = time.perf_counter() + fold_s * math.ceil((total - 1) / self.workers)
            if foreseen > min(search_deadline, run.share_deadline):
                self._end(run, TrialState.STOPPED, _out_of_time(run, search_deadline), pool)
                return
        while run.reported in run.scores:
            mean = float(np.mean([run.scores[k] for k in range(run.reported + 1)]))
            run.handle.report(mean, GROWTH_STEPS + run.reported)
            run.reported += 1
            if run.reported < total and run.handle.should_prune():
                self._end(run, TrialState.PRUNED, f"stopped after {run.reported} of {total} folds: worse than "
                          "earlier trials", pool)
                return
        if run.reported == total:
            self._end(run, TrialState.DONE, "", pool)

    def _end(self, run: _Running, state: TrialState, note: str, pool: TrialPool) -> None:
        run.state, run.note, run.ended_at = state, note, time.perf_counter()
        run.pending.clear()
        for job_id in run.jobs:
            pool.abandon(job_id)
        for job_id in [j for j, r in self.owner.items() if r is run]:
            del self.owner[job_id]

    # -- trials that have ended ----------------------------------------------------------------------------------
    def take_ended(self) -> list[Trial]:
        ended = [run for run in self.running if run.state is not None]
        self.running = [run for run in self.running if run.state is None]
        return [self._record(run) for run in ended]

    def _record(self, run: _Running) -> Trial:
        import optuna

        family, state, note = run.family, run.state or TrialState.STOPPED, run.note
        total = len(self.folds)
        done_scores = [run.scores[k] for k in sorted(run.scores)]
        score = float(np.mean(done_scores)) if done_scores else None
        duration = run.ended_at - run.started
        if state is TrialState.DONE and score is not None and math.isfinite(score):
            _tell(family, run.handle, score)
            family.seconds.append(duration)
        else:
            optuna_state = (optuna.trial.TrialState.PRUNED if state is TrialState.PRUNED
                            else optuna.trial.TrialState.FAIL)
            _tell(family, run.handle, None, optuna_state)
            if state is TrialState.PRUNED:
                family.seconds.append(duration * total / max(1, len(done_scores)))
            elif state is TrialState.STOPPED:
                family.seconds.append(duration * 2)
            if state is TrialState.FAILED and family.trials == 1 and not run.worker_lost:
                family.exhausted = True  # the defaults fail on this data: the family does not suit it
        if score is not None and not math.isfinite(score):
            state, score, note = TrialState.FAILED, None, "the score could not be computed"
        is_best = False
        if score is not None and state in (TrialState.DONE, TrialState.PRUNED):
            scaled = self.sign * score
            is_best = state is TrialState.DONE and (self.best is None or scaled > self.sign * (self.best.score or 0.0))
            family.best = scaled if family.best is None else max(family.best, scaled)
        trial = Trial(run.number, family.spec.key, tuple(sorted(run.params.items())), score, state, duration,
                      time.perf_counter() - self.started, score if is_best else (self.best.score if self.best else
                                                                                 None),
                      len(done_scores), note, is_best=is_best, fit_s=run.fit_s)
        if is_best:
            self.best = trial
        if state is TrialState.DONE and len(run.predictions) == total:
            self._keep_predictions(trial, [run.predictions[k] for k in range(total)])
        self.trials.append(trial)
        return trial

    def _keep_predictions(self, trial: Trial, predictions: list[np.ndarray]) -> None:
        """Keep the best trials of each family: an ensemble gains from models that err differently, and the
        best few trials of one family mostly err alike."""
        self.candidates.append((trial, predictions))
        same_family = [pair for pair in self.candidates if pair[0].model_key == trial.model_key]
        if len(same_family) > ENSEMBLE_PER_FAMILY:
            worst = min(same_family, key=lambda pair: self.sign * (pair[0].score or 0.0))
            self.candidates = [pair for pair in self.candidates if pair is not worst]


def _out_of_time(run: _Running, search_deadline: float) -> str:
    return "took longer than its share of the time" if run.share_deadline < search_deadline else "ran out of time"


def _tell(family: _Family, handle: Any, score: float | None, state: Any = None) -> None:
    try:
        family.study.tell(handle, score, state=state)
    except RuntimeError:
        # The grid sampler announces a finished grid by calling study.stop(), which only works inside
        # study.optimize; the trial is stored all the same (Optuna stores it in a ``finally``).
        family.exhausted = True


# -- words ---------------------------------------------------------------------------------------------------------
def format_score(metric: str, value: float | None) -> str:
    from studio.core.evaluate.metrics import format_metric

    return format_metric(metric, value)


def _trial_message(trial: Trial, metric: str) -> str:
    what = f"Trial {trial.number}: {trial.model_label}"
    if trial.state is TrialState.DONE:
        return f"{what} scored {format_score(metric, trial.score)}"
    return f"{what} {trial.state.value} ({trial.note})" if trial.note else f"{what} {trial.state.value}"


def _nothing_finished_message(trials: list[Trial], request: TuneRequest) -> str:
    if trials and all(t.state is TrialState.FAILED for t in trials):
        return f"Every trial failed on this data; the first said: {trials[0].note}"
    if request.budget_s is not None:
        return (f"No trial finished within {request.budget_s:g} seconds. Give the search more time, or use "
                "fewer rows.")
    return "No trial finished."


# -- the run history's view --------------------------------------------------------------------------------------------
def trial_runs(result: TuneResult, request: TuneRequest) -> list[dict[str, Any]]:
    """Every trial as a run for the run history (``RunStore.add``): its settings and cross-validated score.

    Trials have no test score (the test rows are only used once, for the winner, which is recorded with its
    test scores like any trained model)."""
    import dataclasses
    import datetime as dt

    from studio.core.store.model_file import library_versions

    base = request.base
    prep, split = dataclasses.asdict(base.prep), dataclasses.asdict(base.split)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    versions = library_versions()
    runs = []
    for trial in result.trials:
        cross_validation = {"metric": result.metric, "mean": trial.score, "folds_done": trial.folds_done}
        runs.append({
            "created": created, "dataset_path": str(base.source_path or ""), "target": base.target,
            "task": base.task.value,
            "model_key": trial.model_key, "model_label": trial.model_label, "params": trial.params_dict(),
            "prep": prep, "split": split, "duration_s": trial.duration_s,
            "metrics": {"cross_validation": cross_validation} if trial.score is not None else {},
            "details": {"tuning": {"trial": trial.number, "outcome": trial.state.value, "note": trial.note,
                                   "mode": request.mode.value, "winner": trial.number == result.best.number}},
            "versions": versions,
        })
    return runs
