"""The search itself: ``tune`` finds good settings (and, in automatic mode, the model) within a time budget,
running the trials' folds on the worker pool, then trains the winner.

``tune`` is a generator like ``training.train``: it yields an immutable ``TuneProgress`` after every trial and
returns a ``TuneResult``. Each trial is scored by cross-validation on the training rows (the test rows are never
looked at), with Optuna choosing the settings. The winner is then trained on all training rows and scored once on
the test rows by ``training.train``, so the Results page shows it like any other model.

How the budget is spent:
- every model family's first trial is at its cheap start (``frugal``), its second at its default settings, strong
  for each family (where they fit half the time left), so a good model exists early;
- then each next trial goes to the family whose best score, plus a bonus that shrinks as it gets more trials, is
  highest (an upper confidence bound), so the time goes to the families that pay, not spread evenly;
- Optuna's MedianPruner stops a trial that is worse than the median of earlier trials at the same point: models
  that train in iterations (boosting rounds, trees) report their first fold's held-out score as they grow, and
  every model reports after each fold, so bad settings cost a fraction of a full cross-validation;
- on long tables (a first fold of at least 4,000 training rows) a trial's first fold is fitted on a quarter of its
  rows first (and a sixteenth, on longer ones), and goes on to all of them only if that score is at least the
  median of the family's earlier trials on the same rows: multi-fidelity on rows, as successive halving does;
- the preparation is fitted once per fold before the trials, and every trial reuses it; a family that splits on
  categories itself (gradient boosting) gets the folds prepared a second time with category codes where the
  category columns would make many one-hot features;
- folds are fitted in worker processes (one per core, each fitting single-threaded; see ``pool``), and with a time
  budget the next trial starts as soon as a worker is free, so every core works all the time;
- the search stops in time to leave room for the final fit (on the free cores, for a family that fits on all of
  them), and for the ensemble's members only while an average of the trials so far beats the best one; a trial
  that would run past the deadline is abandoned (its result dropped; a fit with no steps to stop between is ended
  with its process), and a family whose trials take longer than the time left is not started again;
- at the end of the automatic search, the best trials' held-out predictions are averaged (greedy ensemble
  selection, ``studio.core.search.ensemble``, chosen in ``ensemble_choice``); when the average scores better than
  the best single trial, and there is time to train its members, the ensemble is what is trained.

The request and result types are in ``requests``, the families and measures in ``policy``, the words in ``words``.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Generator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal

import numpy as np

from studio.core.common.errors import Cancelled, DataError, StudioError
from studio.core.common.progress import CurvePoint, InterruptibleCaller, StopCheck, never_stop
from studio.core.common.words import plural
from studio.core.data.kinds import DataKind
from studio.core.data.target import Task
from studio.core.models.params import ParamValue
from studio.core.models.registry import ensemble_of, get_model
from studio.core.models.spec import CATEGORY_SPLITS, Growth, ModelSpec
from studio.core.prep.codes import code_positions
from studio.core.prep.config import PrepConfig
from studio.core.prep.images import ImageTraining
from studio.core.search.cores import free_cores, threads_for_free_cores
from studio.core.search.ensemble_choice import (
    ENSEMBLE_BUDGET_SHARE,
    ENSEMBLE_PER_FAMILY,
    RefitCost,
    choose_ensemble,
    held_out_probabilities,
    members_of,
    refit_time,
    winning_ensemble,
)
from studio.core.search.evaluation import Evaluation, choose_evaluation, evaluation_rows
from studio.core.search.frugal import CostCeilings, frugal_space
from studio.core.search.history import search_record
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.policy import auto_families, higher_is_better, metric_choices, resolve_metric
from studio.core.search.pool import FoldData, FoldEvent, FoldJob, TrialPool, row_rungs, trial_pool
from studio.core.search.requests import Trial, TrialState, TuneProgress, TuneRequest, TuneResult
from studio.core.search.spaces import SearchSpace, build_space
from studio.core.search.words import nothing_finished_message, trial_message
from studio.core.train.categories import code_features
from studio.core.train.splits import SplitIndices
from studio.core.train.training import TrainResult, train, usable_split

POLL_S = 0.05
# In the automatic search no single trial may take more than this share of the budget: a family whose defaults are
# that slow on this table would leave no time for the others.
TRIAL_SHARE = 0.35
# Optuna steps of the folds' scores, after any growth step (those count trees or rounds, far fewer than this).
FOLD_STEP = 1 << 30
# A row rung prunes only once this many of the family's trials were scored on the same rows.
ROW_RUNG_COMPETITORS = 3
# With a time budget, row rungs are for families whose trials take at least this long (the median so far).
ROW_RUNG_MIN_S = 1.0
# On a busy computer the preparation (and the libraries' first import) can take most of a short budget before a
# single model is fitted; a search that then ends with nothing is worse than one a few seconds late. The searching
# itself always gets at least this share of the budget (and MIN_SEARCH_S), said in words when it runs over.
MIN_SEARCH_SHARE = 0.25
MIN_SEARCH_S = 2.0
# Growth is not pruned before this many trees or rounds: a few small trees say little about a model yet.
PRUNE_FROM_SIZE = 8


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
    # Known settings tried before the search's own, in order: ("cheap", ...) the cheap start, ("defaults", ...)
    # the defaults (or, tuning one model, the person's own), ("start", ...) the spec's other known starts.
    queue: list[tuple[str, dict[str, ParamValue]]] = field(default_factory=list)
    ceilings: CostCeilings | None = None  # the cost settings' ceilings (automatic search only)
    # How many times its cheap start its defaults cost: the cost settings' ratios multiplied (an upper bound).
    defaults_cost: float = 1.0
    # Whether its trials take the category columns as codes.
    codes: bool = False
    # The row rungs' scores of its trials so far, by rung size, in "higher is better" units.
    rung_scores: dict[int, list[float]] = field(default_factory=dict)


# -- the search --------------------------------------------------------------------------------------------------
def tune(request: TuneRequest, should_stop: StopCheck = never_stop,
         finish_now: StopCheck = never_stop) -> Generator[TuneProgress, None, TuneResult]:
    """Search, then train the winner. ``should_stop`` abandons everything (``Cancelled``); ``finish_now`` ends
    the search early and keeps the best model found so far."""
    workers = request.workers or os.cpu_count() or 1
    # The worker processes start first: their imports overlap the preparation of the folds.
    free = free_cores()
    with threads_for_free_cores(free), InterruptibleCaller(should_stop) as call, trial_pool(workers) as pool:
        return (yield from _tune(request, should_stop, finish_now, call, pool, free))


def _tune(request: TuneRequest, should_stop: StopCheck, finish_now: StopCheck, call: InterruptibleCaller,
          pool: TrialPool, free: int) -> Generator[TuneProgress, None, TuneResult]:
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

    judged_by = ""

    def progress(stage: str, message: str, trial: Trial | None = None, fraction: float | None = None,
                 curve: CurvePoint | None = None) -> TuneProgress:
        if fraction is None:
            fraction = min(1.0, elapsed() / request.budget_s) if request.budget_s else None
        return TuneProgress(stage, fraction, message, trial, elapsed(), request.budget_s, curve, judged_by)

    yield progress("Preparing data", "Checking the target and splitting the rows", fraction=0.0)
    frame, y, _dropped, parts = usable_split(base)
    training_rows = np.sort(np.concatenate([parts.train, parts.validation]))
    if base.task is Task.CLASSIFICATION and len(np.unique(y[training_rows])) < 2:
        raise DataError("The training rows hold a single class, so there is nothing to tell apart.")
    if not base.prep.features(base.target):
        raise DataError("No columns are left to learn from: every column is left out.")
    features = len(base.prep.features(base.target))
    chosen = choose_evaluation(len(training_rows), features, request.budget_s, request.folds, task)
    folds, evaluation, prep_s = yield from _make_folds(request, chosen, frame.iloc[training_rows],
                                                       y[training_rows], call, progress)
    columns = folds[0].x_train.shape[1]
    rows_ratio = len(training_rows) / max(1, len(folds[0].y_train))
    held_rows = max(1, len(folds[0].y_valid))
    judged_by = evaluation.words

    families = _families(request, len(training_rows), columns, sign)
    # The same rows in each fold as the folds above (split by the evaluation as chosen, not as it was reported).
    coded_folds = yield from _coded_folds(request, families, chosen, frame.iloc[training_rows],
                                          y[training_rows], call, progress)
    imported: set[str] = set()
    yield progress("Searching", f"Trying {plural(len(families), 'kind')} of model, each judged by "
                   f"{evaluation.words}")
    if request.budget_s is not None:
        least = max(MIN_SEARCH_S, MIN_SEARCH_SHARE * request.budget_s)
        if deadline - time.perf_counter() < least:
            deadline = time.perf_counter() + least
            late = max(1, math.ceil(elapsed() + least - request.budget_s))
            yield progress("Searching", f"Preparing the data took {elapsed():.0f} s of the {request.budget_s:g} s "
                           f"given (the computer is busy), so the search ends about {late} s later than asked, "
                           "to try at least the quickest models")
    search = _Search(request, families, folds, metric, sign, pool.size, started,
                     RefitCost(rows_ratio, prep_s * rows_ratio, _scored_rows(parts, training_rows) / held_rows,
                               columns / max(1, coded_folds[0].x_train.shape[1]) if coded_folds else 1.0, free))
    pool.load(folds, coded_folds)
    while True:
        if should_stop():
            raise Cancelled()
        if finish_now():
            search.finished_early = True
        search.step(pool, deadline)
        for trial in search.take_ended():
            if trial.state is TrialState.DONE:
                # Only a family that has finished a trial can be trained at the end: its libraries are imported
                # now, not for every family at the start (torch took 14 s on a busy machine, competing with the
                # final fit of a model that needed none of it).
                needed = {module for module, _advice in get_model(trial.model_key).requires} - imported
                _import_in_background(needed)
                imported |= needed
            yield progress("Searching", trial_message(trial, metric), trial,
                           fraction=None if request.budget_s else len(search.trials) / (request.max_trials or 1))
        if search.over:
            break
    pool.end_all()
    trials, best, finished_early = search.trials, search.best, search.finished_early
    if best is None:
        if finished_early:
            raise Cancelled()
        raise StudioError(nothing_finished_message(trials, request))

    final_key, final_params = best.model_key, best.params
    what = f"{best.model_label} with the best settings"
    ensemble_scores = None
    winners: list[tuple[Trial, int]] = [(best, 1)]
    # Pictures are not averaged: each member would read and hold every picture again, for a small gain.
    if request.mode is TuneMode.AUTO and not isinstance(base.prep, ImageTraining):
        members, ensemble_scores = choose_ensemble(search.candidates, search.sign, folds, metric, task, deadline,
                                                   search.refit_cost)
        if members:
            combined, final_params = ensemble_of(members_of(members))
            final_key = combined.key
            what = f"An average of {len(members)} of the best trials"
            winners = members
    held_out = None
    if task is Task.CLASSIFICATION:
        held_out = held_out_probabilities(search.candidates, winners, folds, _held_out_words(evaluation))
    yield progress("Training the winner", f"{what}, on all {len(training_rows):,} training rows")
    refit = replace(base, frame=frame, model_key=final_key, params=dict(final_params),
                    fixed_split=SplitIndices(training_rows, training_rows[:0], parts.test, parts.stratified,
                                             parts.note), held_out=held_out)
    job = train(refit, should_stop)
    while True:
        try:
            item = next(job)
        except StopIteration as finished:
            result: TrainResult = finished.value
            break
        yield progress("Training the winner", item.message, curve=item.curve)
    yield progress("Done", "Search finished", fraction=1.0)
    tuned = TuneResult(tuple(trials), best, metric, result, finished_early, elapsed(),
                       tuple(f.spec.key for f in families), final_key, final_params, ensemble_scores,
                       evaluation.words)
    # The winner's run carries the search (its trials, its cross-validated score): one search is one run.
    return replace(tuned, train_result=replace(result, search=search_record(tuned, request)))


def _held_out_words(evaluation: Evaluation) -> str:
    if evaluation.is_holdout:
        return f"the {evaluation.holdout_rows:,} training rows the search held out"
    return (f"the training rows, each scored by a model that did not learn from it (the search's {evaluation.folds} "
            "folds)")


def _scored_rows(parts: SplitIndices, training_rows: np.ndarray) -> int:
    """The rows the final model predicts when it is scored: the test rows and a sample of the training rows."""
    from studio.core.evaluate.result_details import TRAIN_SCORE_ROWS

    return len(parts.test) + min(len(training_rows), TRAIN_SCORE_ROWS)


def _import_in_background(modules: set[str]) -> None:
    """The workers import what their models need; the final fit runs in this process, and importing torch there
    took two seconds the time kept for it did not foresee. A thread does it while the search goes on."""
    import importlib
    import threading

    for module in sorted(modules):
        threading.Thread(target=importlib.import_module, args=(module,), name=f"studio-import-{module}",
                         daemon=True).start()


def _make_folds(request: TuneRequest, evaluation: Evaluation, x: Any, y: np.ndarray, call: InterruptibleCaller,
                progress: Callable[..., TuneProgress], codes: tuple[int, ...] = ()
                ) -> Generator[TuneProgress, None, tuple[list[FoldData], Evaluation, float]]:
    """Preparation fitted on each fold's training part only (no peeking at its held-out rows), done once here
    and shared by every trial (the workers read the prepared folds; no trial fits the preparation again). Also
    returns the quickest fold's preparation time in this process, which foretells the final fit's. ``codes``:
    the folds are prepared with category codes at these features (``prep.codes``)."""
    from studio.core.prep.build import build_transformer

    folds = []
    prep_s = math.inf
    splits = evaluation_rows(evaluation, y, request.base.task, request.seed)
    if not codes:
        with suppress(Exception):  # a few rows may not suit every step; the real folds say so in words
            # Once on a few rows, untimed: the first fit imports what the preparation needs, which the final fit
            # (timed from these folds) does not pay again.
            call(partial(build_transformer(request.base.prep, request.base.target).fit_transform, x.iloc[:50],
                         y[:50]))
    for number, (fit_rows, held_rows) in enumerate(splits, start=1):
        transformer = build_transformer(request.base.prep, request.base.target, category_codes=bool(codes))
        x_fit, x_held = x.iloc[fit_rows], x.iloc[held_rows]
        fold_started = time.perf_counter()
        xt_fit = call(partial(transformer.fit_transform, x_fit, y[fit_rows]))
        xt_held = call(partial(transformer.transform, x_held))
        prep_s = min(prep_s, time.perf_counter() - fold_started)
        folds.append(FoldData(xt_fit, y[fit_rows], xt_held, y[held_rows], codes))
        what = "with category codes " if codes else ""
        if evaluation.is_holdout:
            yield progress("Preparing data", f"Holdout of {len(held_rows):,} rows prepared {what}".strip())
        else:
            yield progress("Preparing data", f"Fold {number} of {len(splits)} prepared {what}".strip())
    if evaluation.is_holdout:
        evaluation = replace(evaluation, holdout_rows=len(splits[0][1]))
    return folds, evaluation, prep_s


def _coded_folds(request: TuneRequest, families: list[_Family], evaluation: Evaluation, x: Any, y: np.ndarray,
                 call: InterruptibleCaller, progress: Callable[..., TuneProgress]
                 ) -> Generator[TuneProgress, None, list[FoldData]]:
    """The folds prepared again with category codes, when a family splits on categories itself and the category
    columns would make many one-hot features (``train.categories``); each such family's trials say which way it
    took the categories, so the winner is trained the way it was judged. Empty when no family takes codes."""
    base = request.base
    wanted: tuple[int, ...] = ()
    for family in families:
        if not family.spec.category_codes or not isinstance(base.prep, PrepConfig) \
                or not code_positions(base.prep, base.target):
            continue
        values = base.params if request.mode is TuneMode.TUNE else None
        positions = code_features(family.spec, family.spec.resolve(base.task, values), base.prep, base.target, x)
        family.codes = bool(positions)
        wanted = wanted or tuple(positions)
    if not wanted:
        return []
    folds, _evaluation, _prep_s = yield from _make_folds(request, evaluation, x, y, call, progress, wanted)
    return folds


def _families(request: TuneRequest, rows: int, columns: int, sign: float) -> list[_Family]:
    import optuna

    task = request.base.task
    if request.mode is TuneMode.TUNE:
        keys: tuple[str, ...] = (request.base.model_key,)
    else:
        kind = DataKind.IMAGES if isinstance(request.base.prep, ImageTraining) else DataKind.TABLE
        keys = auto_families(task, rows, columns, request.families, kind, request.budget_s)
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
        direction: Literal["minimize", "maximize"] = "maximize" if sign > 0 else "minimize"
        grid = space.grid() if request.method is SearchMethod.GRID and request.mode is TuneMode.TUNE else None
        sampler: Any
        if grid is not None:
            sampler = optuna.samplers.GridSampler(dict(grid), seed=seed)
        elif request.method is SearchMethod.RANDOM:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
        # Growth reports at sizes (trees, rounds) that every trial shares, and fold scores after them: a trial
        # worse than the median of earlier ones at the same size, or the same fold, is stopped there.
        pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=PRUNE_FROM_SIZE - 1)
        study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
        queue: list[tuple[str, dict[str, ParamValue]]] = []
        ceilings = None
        defaults_cost = 1.0
        if grid is None:
            # The defaults (or the user's values): a strong start, and never worse than not tuning. The
            # automatic search tries a family's cheap start before them, where the family has one.
            queue.append(("defaults", spec.resolve(task, values)))
            if request.mode is TuneMode.AUTO:
                queue += [("start", spec.resolve(task, dict(start))) for start in spec.search_starts]
                if spec.cost_params:
                    space = frugal_space(spec, space)
                    ceilings = CostCeilings.of(spec, space)
                    cheap = spec.resolve(task, spec.cheap_start(task))
                    if ceilings.ranges and cheap != queue[0][1]:
                        queue.insert(0, ("cheap", cheap))
                        defaults_cost = _cost_ratio(queue[1][1], cheap, ceilings)
        families.append(_Family(spec, space, study, grid_points=grid, queue=queue,
                                ceilings=ceilings if ceilings is not None and ceilings.ranges else None,
                                defaults_cost=defaults_cost))
    if not families:
        raise StudioError(f"No model can do {task.value}.")
    return families


def _cost_ratio(costly: dict[str, ParamValue], cheap: dict[str, ParamValue], ceilings: CostCeilings) -> float:
    ratio = 1.0
    for name in ceilings.ranges:
        high, low = costly.get(name), cheap.get(name)
        if isinstance(high, int | float) and isinstance(low, int | float) and low > 0:
            ratio *= max(1.0, float(high) / float(low))
    return ratio


def _pick_family(families: list[_Family], remaining: float) -> _Family | None:
    """Untried families first (in order; the automatic search tries each at its cheap start), then each family's
    defaults where they fit the time left, then the upper confidence bound on the best score. A family picked
    again tries its next known start (the spec's other starts) before the search's own settings."""
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
    # A cheap start underfits by design (24 rounds of boosting stopped far short of a table's scale of runs
    # scored); judged by that score alone, a family that would win never earned another trial. So each family's
    # strong defaults come next, where they are foreseen to take at most half the time left.
    for family in open_families:
        if family.queue and family.queue[0][0] == "defaults" and family.seconds \
                and min(family.seconds) * family.defaults_cost <= remaining / 2:
            return family
    scored = [(f, f.best) for f in open_families if f.best is not None]
    if not scored:
        return min(open_families, key=lambda f: f.trials)
    bests = np.array([best for _, best in scored], dtype=float)
    spread = float(np.ptp(bests)) if len(bests) > 1 else 0.0
    spread = max(spread, 0.01 * max(abs(float(bests.max())), 1e-3))
    # The upper confidence bound: a family's best so far, plus more room the fewer times it was tried.
    return max(scored, key=lambda pair: pair[1] + spread / math.sqrt(1 + pair[0].trials))[0]


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
    predict_s: float = 0.0
    reported: int = 0  # folds reported to Optuna, always in fold order, so the same seed prunes the same way
    state: TrialState | None = None  # set when it has ended
    note: str = ""
    ended_at: float = 0.0
    worker_lost: bool = False  # failed because its worker process died, not because of its settings
    rows_rung: int = 0  # the largest row rung it was scored on (0: none)
    grown: tuple[int, float] | None = None  # its first fold's last growth report: (trees or rounds, when)
    at_defaults: bool = False  # the family's first trial, at its known default settings


class _Search:
    """Hands folds to the worker processes and turns what they report into trials.

    With a time budget, the next trial starts as soon as a worker is free, so trials overlap and no core waits for
    the slowest fold of a trial. With only a number of trials, one trial runs at a time (its folds in parallel), so
    every trial is chosen knowing all earlier ones and the same seed gives the same search."""

    def __init__(self, request: TuneRequest, families: list[_Family], folds: list[FoldData], metric: str,
                 sign: float, workers: int, started: float, refit_cost: RefitCost) -> None:
        self.request, self.families, self.folds = request, families, folds
        self.refit_cost = refit_cost  # what the final fit costs beyond a worker's fit of a fold
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
        # Multi-fidelity on rows: a trial's first fold is scored on subsamples of its rows first (long tables
        # only), and fitted on all of them only while it keeps up with the family's earlier trials there.
        self.row_rungs = row_rungs(len(folds[0].y_train))
        # The best finished trials with their out-of-fold predictions (one array per fold), for the ensemble.
        self.candidates: list[tuple[Trial, list[np.ndarray]]] = []
        self.ensemble_reserve = 0.0  # the final fit's time if the ensemble that wins so far is trained

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
            waiting = next((r for r in self.running if r.state is None and r.pending), None)
            if waiting is None:
                family = self._next_family(search_deadline)
                if family is None:
                    break
                waiting = self._start_trial(family)
            job = waiting.pending.pop(0)
            waiting.jobs[job.job_id] = time.perf_counter()
            pool.submit(job)
        if not self.running and self._next_family(search_deadline) is None:
            self.over = True
            return
        for event in pool.events(POLL_S):
            owner = self.owner.get(event.job_id)
            if owner is not None and owner.state is None:
                self._on_event(owner, event, search_deadline, pool)

    def _next_family(self, search_deadline: float) -> _Family | None:
        """The family of the next trial; None while no trial should start (or none ever will)."""
        if self.finished_early or (self.running and not self.overlap):
            return None
        if self.request.max_trials is not None and self.started_count >= self.request.max_trials:
            return None
        remaining = search_deadline - time.perf_counter()
        return _pick_family(self.families, remaining) if remaining > 0 else None

    def refit_reserve(self) -> float:
        """Time to keep for the final fit: the best trial's, or the members' of the ensemble that beats it so far
        (``ensemble_reserve``)."""
        return max(self._single_refit(), self.ensemble_reserve)

    def _single_refit(self) -> float:
        return refit_time([self.best] if self.best else [], self.refit_cost)

    def _weigh_ensemble(self) -> None:
        """The time to keep for training the ensemble that beats the best single trial on the predictions kept so
        far, never more than a small share of the budget beyond the best trial's own fit; none while no average
        beats it. Kept for the average that wins now, not for the slowest candidates: that kept a sixth of the
        budget free for an ensemble the search then did not choose."""
        if self.request.budget_s is None:
            return
        most = self._single_refit() + ENSEMBLE_BUDGET_SHARE * self.request.budget_s
        chosen, _scores = winning_ensemble(
            self.candidates, self.sign, self.folds, self.metric, self.request.base.task,
            lambda trials: refit_time(trials, self.refit_cost, as_members=True) <= most)
        self.ensemble_reserve = refit_time([trial for trial, _weight in chosen], self.refit_cost, as_members=True) \
            if chosen else 0.0

    def _start_trial(self, family: _Family) -> _Running:
        import optuna

        request = self.request
        if family.grid_points is not None:
            grid = {name: optuna.distributions.CategoricalDistribution(points)
                    for name, points in family.grid_points.items()}
            handle = family.study.ask(grid)
            params = dict(family.space.fixed)
            params.update(handle.params)
            at_defaults = False
        else:
            kind, known = family.queue.pop(0) if family.queue else ("", None)
            if known is not None:
                family.study.enqueue_trial(family.space.encode(known))
            distributions = (family.ceilings.distributions(family.space, known) if family.ceilings is not None
                             else family.space.distributions())
            handle = family.study.ask(distributions)
            params = family.space.params_from(handle.params)
            at_defaults = kind == "defaults"
        if family.codes:
            # Said in its settings, so the winner is trained on codes as it was judged, whatever rows it gets.
            params[CATEGORY_SPLITS] = "codes"
        family.trials += 1
        if family.grid_points is not None and family.trials >= math.prod(map(len, family.grid_points.values())):
            family.exhausted = True
        share_deadline = math.inf
        if request.mode is TuneMode.AUTO and request.budget_s is not None and self.best is not None:
            share_deadline = time.perf_counter() + max(2.0, TRIAL_SHARE * request.budget_s)
        self.started_count += 1
        jobs = [FoldJob(next(self.job_ids), family.spec.key, request.base.task, params, index, self.metric,
                        report_growth=index == 0, keep_predictions=self.keep_predictions,
                        coded=bool(family.codes), row_rungs=self._row_rungs(family) if index == 0 else ())
                for index in range(len(self.folds))]
        run = _Running(self.started_count, family, handle, params, time.perf_counter(), share_deadline, jobs,
                       {job.job_id: job.fold for job in jobs}, at_defaults=at_defaults)
        for job in jobs:
            self.owner[job.job_id] = run
        self.running.append(run)
        return run

    def _on_event(self, run: _Running, event: FoldEvent, search_deadline: float, pool: TrialPool) -> None:
        if event.kind == "rows":
            self._on_rows(run, event, pool)
            return
        if event.kind == "grew":
            run.handle.report(event.score, event.step)
            size = run.params.get(run.family.spec.growth_param)
            if isinstance(size, int) and self._growth_overruns(run, event, size, search_deadline):
                self._end(run, TrialState.STOPPED, _out_of_time(run, search_deadline), pool)
                return
            # Judged only in the second half of its own growth: slow learning with many rounds trails early and
            # can still win, and pruning it then would lose the best setting.
            if isinstance(size, int) and 2 * event.step >= size and run.handle.should_prune():
                self._end(run, TrialState.PRUNED, f"stopped at {event.step} of {size} {_growth_words(run)} of its "
                          "first fold: worse than earlier trials at the same size", pool)
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
        run.predict_s = max(run.predict_s, event.predict_s)
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
            run.handle.report(mean, FOLD_STEP + run.reported)
            run.reported += 1
            if run.reported < total and run.handle.should_prune():
                self._end(run, TrialState.PRUNED, f"stopped after {run.reported} of {total} folds: worse than "
                          "earlier trials", pool)
                return
        if run.reported == total:
            self._end(run, TrialState.DONE, "", pool)

    def _growth_overruns(self, run: _Running, event: FoldEvent, size: int, search_deadline: float) -> bool:
        """Whether the trial's first fold, growing at the pace of its trees or rounds so far, would end after its
        deadline. Stopped now, its worker takes a trial that can finish: with a holdout there is no second fold to
        foresee the time from, and two large forests ran to the deadline and were dropped, four seconds each."""
        now = time.perf_counter()
        previous = run.grown
        run.grown = (event.step, now)
        # The pace since the previous size, not since the fit began: the first few trees also paid for reading
        # the fold and starting up, which multiplied by hundreds of trees foresaw a few seconds as twenty.
        if previous is None or event.step <= previous[0] or event.step >= size:
            return False
        step_s = (now - previous[1]) / (event.step - previous[0])
        return now + step_s * (size - event.step) > min(search_deadline, run.share_deadline)

    def _row_rungs(self, family: _Family) -> tuple[int, ...]:
        """The row rungs of the family's next trial. With a time budget, only for a family whose trials take a
        while: a quick fit saves little by stopping early and would wait for each verdict. With a trial count,
        always, so the same seed gives the same search."""
        if self.request.budget_s is not None and (not family.seconds
                                                  or float(np.median(family.seconds)) < ROW_RUNG_MIN_S):
            return ()
        return self.row_rungs

    def _on_rows(self, run: _Running, event: FoldEvent, pool: TrialPool) -> None:
        """A row rung's score: the fold goes on to all its rows if the score is at least the median of the
        family's earlier trials on the same rows (successive halving's rule, as the median pruner's), or if too
        few trials have been scored there to judge by. Otherwise the trial ends here, at a fraction of its cost."""
        run.rows_rung = event.step
        run.handle.report(event.score, self.row_rungs.index(event.step))  # below every growth or fold step
        scaled = self.sign * event.score
        earlier = run.family.rung_scores.setdefault(event.step, [])
        promising = math.isfinite(scaled) and (len(earlier) < ROW_RUNG_COMPETITORS
                                               or scaled >= float(np.median(earlier)))
        if math.isfinite(scaled):
            earlier.append(scaled)
        if promising:
            pool.go(event.job_id)
            return
        full = len(self.folds[0].y_train)
        self._end(run, TrialState.PRUNED, f"stopped after a fit on {event.step:,} of its {full:,} rows: worse than "
                  "earlier trials on the same rows", pool)

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
            if state is TrialState.PRUNED and not done_scores and run.rows_rung:
                family.seconds.append(duration * total * len(self.folds[0].y_train) / run.rows_rung)
            elif state is TrialState.PRUNED:
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
            if (state is TrialState.DONE and family.ceilings is not None and family.best is not None
                    and scaled > family.best):
                family.ceilings.improved(run.params)  # bigger models may be tried only while they pay
            family.best = scaled if family.best is None else max(family.best, scaled)
        trial = Trial(run.number, family.spec.key, tuple(sorted(run.params.items())), score, state, duration,
                      time.perf_counter() - self.started, score if is_best else (self.best.score if self.best else
                                                                                 None),
                      len(done_scores), note, is_best=is_best, fit_s=run.fit_s,
                      predict_s=run.predict_s, at_defaults=run.at_defaults, rows_rung=run.rows_rung)
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
        self._weigh_ensemble()


def _growth_words(run: _Running) -> str:
    return "trees" if run.family.spec.growth is Growth.TREES else "rounds"


def _out_of_time(run: _Running, search_deadline: float) -> str:
    return "took longer than its share of the time" if run.share_deadline < search_deadline else "ran out of time"


def _tell(family: _Family, handle: Any, score: float | None, state: Any = None) -> None:
    try:
        family.study.tell(handle, score, state=state)
    except RuntimeError:
        # The grid sampler announces a finished grid by calling study.stop(), which only works inside
        # study.optimize; the trial is stored all the same (Optuna stores it in a ``finally``).
        family.exhausted = True
