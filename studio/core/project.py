"""The single source of truth for one Studio session: data, choices and the last result.

Configs are frozen dataclasses that are replaced, never mutated, and every change notifies subscribers with the
name of what changed. Several changes made inside ``batch()`` notify once each, after all of them are applied, so
no subscriber sees half of them. Problems (a run that could not be stored) are events too. Writes to the run
history go through a writer the window replaces with one that runs them off its thread. The window subscribes;
nothing here knows about Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.data.kinds import DataKind, Dataset
from studio.core.data.profile import ColumnProfile
from studio.core.data.read_options import ReadOptions
from studio.core.data.target import TargetSummary, Task, allowed_tasks, infer_task, summarize_target, target_problems
from studio.core.models.params import ParamValue
from studio.core.models.registry import DEFAULT_MODEL, get_model
from studio.core.prep.config import PrepConfig, default_prep
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.train.splits import SplitConfig, split_problems

if TYPE_CHECKING:
    from studio.core.data.images import ImageCheck, ImageFolder
    from studio.core.data.tabular import LoadedTable
    from studio.core.prep.images import ImagePrep
    from studio.core.search.requests import TuneRequest
    from studio.core.store.runs import RunStore
    from studio.core.train.splits import SplitIndices
    from studio.core.train.training import TrainRequest, TrainResult


class Step(StrEnum):
    DATA = "data"
    PREPARE = "prepare"
    SPLIT = "split"
    MODEL = "model"
    TRAIN = "train"
    RESULTS = "results"
    EXPORT = "export"
    PREDICT = "predict"
    RUNS = "runs"

    @property
    def label(self) -> str:
        return self.value.capitalize()


WIZARD_STEPS = (Step.DATA, Step.PREPARE, Step.SPLIT, Step.MODEL, Step.TRAIN, Step.RESULTS, Step.EXPORT)


@dataclass(frozen=True)
class ModelConfig:
    key: str = DEFAULT_MODEL
    params: tuple[tuple[str, ParamValue], ...] = ()

    def params_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def with_param(self, name: str, value: ParamValue) -> ModelConfig:
        values = self.params_dict()
        values[name] = value
        return replace(self, params=tuple(sorted(values.items())))


@dataclass(frozen=True)
class TuningConfig:
    """Whether the settings are chosen by hand, searched for the chosen model, or the best model is searched for.

    ``ranges`` are the user's narrowed ranges for ``ranges_model`` (empty: the generated ones).
    """

    mode: TuneMode = TuneMode.MANUAL
    budget_s: float | None = 60.0  # None: only max_trials limits the search (the CLI's --trials)
    metric: str | None = None  # None: the task's default (see search.policy.default_metric)
    method: str = "bayes"
    ranges: tuple[Any, ...] = ()
    ranges_model: str = ""
    seed: int = 0
    max_trials: int | None = None  # None: as many as the budget allows

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", TuneMode(self.mode))  # "auto" read from settings becomes TuneMode.AUTO

    @property
    def searches(self) -> bool:
        return self.mode.searches


Listener = Callable[[str], None]
# Runs ``work`` (a run-history call, which may wait on a locked file) and hands its outcome to ``done``, on the
# caller's thread. The plain one runs it at once; the window's runs it on a background thread.
StoreWriter = Callable[[Callable[[], Any], Callable[[Any], None]], None]


def write_now(work: Callable[[], Any], done: Callable[[Any], None]) -> None:
    done(work())


class _RunTicket:
    """The run id of one result, filled in by the write that stores it: later writes about the same result
    (its export path, its explanations) run after it on the same writer and read the id here."""

    run_id: int | None = None


class Project:
    def __init__(self) -> None:
        self.dataset: Dataset | None = None
        # The person's choices for reading a text table (the Data page's reading options); the rest is detected.
        self.read_options = ReadOptions()
        self.profiles: tuple[ColumnProfile, ...] = ()
        self.target: str | None = None
        self.task: Task | None = None
        self.prep = PrepConfig()
        self.image_prep = _default_image_prep()
        self.split = SplitConfig()
        self.model = ModelConfig()
        self.tuning = TuningConfig()
        self.result: TrainResult | None = None
        self.exported_path: str | None = None
        # Where finished runs are recorded (None: not recorded), the current result's run id, and the last
        # problem with the store in words (shown by the window, never raised).
        self.run_store: RunStore | None = None
        self.run_id: int | None = None
        self.run_store_problem = ""
        self.store_writer: StoreWriter = write_now
        self._ticket = _RunTicket()
        self._damage_told = False
        self._target_summary: TargetSummary | None = None
        self._table_loads = 0
        self._listeners: list[Listener] = []
        self._batch_depth = 0
        self._pending: list[str] = []

    # -- events -------------------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self, what: str) -> None:
        if self._batch_depth:
            if what not in self._pending:
                self._pending.append(what)
            return
        for listener in list(self._listeners):
            listener(what)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Apply several changes, then notify once per thing changed (in the order first changed)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth:
                pending, self._pending = self._pending, []
                for what in pending:
                    self._changed(what)

    def report_store_problem(self, text: str) -> None:
        """A problem with the run history, in words: kept until shown, and announced as the "store_problem"
        event (the window shows it; nothing is raised)."""
        self.run_store_problem = text
        self._changed("store_problem")

    def note_runs_added(self, count: int) -> None:
        """Runs kept aside while the history could not take them are in it now: the "runs" event."""
        self._changed("runs")

    # -- the data -----------------------------------------------------------------------------------------------
    @property
    def table(self) -> LoadedTable | None:
        """The open table; None when nothing is open or the data is of another kind."""
        from studio.core.data.tabular import LoadedTable

        return self.dataset if isinstance(self.dataset, LoadedTable) else None

    @property
    def images(self) -> ImageFolder | None:
        """The open folder of pictures; None when nothing is open or the data is a table."""
        from studio.core.data.images import ImageFolder

        return self.dataset if isinstance(self.dataset, ImageFolder) else None

    @property
    def data_kind(self) -> DataKind:
        return self.dataset.kind if self.dataset is not None else DataKind.TABLE

    # -- changes ------------------------------------------------------------------------------------------------
    def set_table(self, table: LoadedTable | None) -> None:
        self.set_dataset(table)

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self._table_loads += 1
        self.profiles = ()
        self.target = None
        self.task = None
        self._target_summary = None
        self.prep = PrepConfig()
        self.image_prep = _default_image_prep()
        self.result = None
        self.exported_path = None
        self._changed("table")
        images = self.images
        if images is not None:
            from studio.core.data.images import CLASS_COLUMN

            # Pictures have one thing to predict: their class (the sub-folder, or the table's label column).
            with self.batch():
                self.target = CLASS_COLUMN
                self.task = Task.CLASSIFICATION
                self._refresh_target_summary()
                self._keep_model_fitting_task()
                self._changed("target")

    def set_read_options(self, options: ReadOptions) -> None:
        """How the next table is read; the Data page reads the open file again with them."""
        if options == self.read_options:
            return
        self.read_options = options
        self._changed("read_options")

    def set_image_check(self, check: ImageCheck) -> None:
        """What reading every picture found (sizes, unreadable files, copies): the dataset keeps it, and the
        files it leaves out leave the class counts."""
        images = self.images
        if images is None:
            return
        self.dataset = images.with_check(check)
        self._refresh_target_summary()
        self._changed("images_checked")
        self._changed("target")

    def set_image_prep(self, prep: ImagePrep) -> None:
        self.image_prep = prep
        self._changed("prep")

    def image_input_size(self, pretrained: bool | None = None) -> int:
        """The square size the pictures are read at for the chosen model."""
        from studio.core.data.images import typical_side
        from studio.core.models.registry import get_model

        images = self.images
        sizes = images.check.sizes if images is not None and images.check is not None else ()
        if pretrained is None:
            pretrained = bool(get_model(self.model.key).pretrained)
        return self.image_prep.input_size(typical_side(sizes), pretrained)

    def set_profiles(self, profiles: tuple[ColumnProfile, ...]) -> None:
        self.profiles = profiles
        self.prep = default_prep(profiles)
        self._changed("profiles")
        self._changed("prep")

    @property
    def table_loads(self) -> int:
        """Counts the tables opened: tells the current table from an earlier one without hashing its rows."""
        return self._table_loads

    def profile_of(self, name: str) -> ColumnProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def set_target(self, name: str | None) -> None:
        if name == self.target:
            return
        self.target = name
        self.task = None
        if name is not None and self.images is not None:
            self.task = Task.CLASSIFICATION
        elif name is not None and self.table is not None:
            profile = self.profile_of(name)
            if profile is not None:
                self.task = infer_task(self.table.frame[name], profile)
        self._refresh_target_summary()
        self._keep_model_fitting_task()
        self._changed("target")

    def set_task(self, task: Task) -> None:
        if task == self.task:
            return
        self.task = task
        self._refresh_target_summary()
        self._keep_model_fitting_task()
        self._changed("target")

    def _keep_model_fitting_task(self) -> None:
        """A model that cannot do the new task is replaced by the default, so the Model step never shows one."""
        from studio.core.models.registry import default_model_key, get_model

        spec = get_model(self.model.key)
        if self.task is not None and (self.task not in spec.tasks or not spec.takes(self.data_kind)):
            self.model = ModelConfig(default_model_key(self.task, self.data_kind))
            self._changed("model")

    def task_choices(self) -> tuple[Task, ...]:
        if self.images is not None:
            return (Task.CLASSIFICATION,)
        profile = self.profile_of(self.target) if self.target else None
        return allowed_tasks(profile) if profile else ()

    def set_prep(self, prep: PrepConfig) -> None:
        self.prep = prep
        self._changed("prep")

    def set_split(self, split: SplitConfig) -> None:
        self.split = split
        self._changed("split")

    def set_model(self, model: ModelConfig) -> None:
        self.model = model
        self._changed("model")

    def set_tuning(self, tuning: TuningConfig) -> None:
        self.tuning = tuning
        self._changed("tuning")

    def set_result(self, result: TrainResult | None) -> None:
        """Show a new result; it is stored in the run history by the writer, and ``run_id`` follows when stored
        (the "runs" event)."""
        self.result = result
        self.exported_path = None
        self.run_id = None
        ticket = self._ticket = _RunTicket()
        self._changed("result")
        if result is not None:
            self._record_run(result, ticket)

    def set_exported(self, path: str) -> None:
        self.exported_path = path
        ticket = self._ticket

        def note_path(store: RunStore) -> None:
            if ticket.run_id is not None:
                store.set_model_path(ticket.run_id, path)

        self.write_to_store(note_path, "The model file's place could not be noted in the run history")
        self._changed("export")

    def _record_run(self, result: TrainResult, ticket: _RunTicket) -> None:
        from studio.core.store.runs import run_from_result

        run = run_from_result(result)  # read here, on the caller's thread: the result is not shared further

        def add(store: RunStore) -> int:
            ticket.run_id = store.add(run)
            return ticket.run_id

        def stored(run_id: int) -> None:
            store = self.run_store
            if store is not None and store.damage_note and not self._damage_told:
                # Said once, with the first result, besides on the Runs page: a person may never open that page.
                self._damage_told = True
                self.report_store_problem(store.damage_note)
            if self._ticket is ticket:  # not replaced by a newer result meanwhile
                self.run_id = run_id
            self._changed("runs")

        self.write_to_store(add, "This run could not be saved to the run history", stored)

    def record_explanation(self, kind: str, value: dict[str, Any]) -> None:
        """Keep an explanation computed after training (importance, learning curve) with the current run."""
        ticket = self._ticket

        def add(store: RunStore) -> None:
            if ticket.run_id is not None:
                store.add_explanation(ticket.run_id, kind, value)

        self.write_to_store(add, "An explanation could not be saved to the run history")

    def write_to_store(self, call: Callable[[RunStore], Any], failure: str,
                       done: Callable[[Any], None] | None = None) -> None:
        """Run ``call`` on the run history through the writer. A write that fails (disk full, file locked past
        the wait) is reported as a problem event, "``failure``: why.", and never loses what is on screen."""
        store = self.run_store
        if store is None:
            return

        def work() -> tuple[Any, str]:
            import sqlite3

            from studio.core.common.errors import StudioError

            try:
                return call(store), ""
            except (sqlite3.Error, OSError, StudioError) as exc:
                return None, f"{failure}: {exc}."
            except Exception as exc:  # never lost without a word, whatever went wrong in the write
                return None, f"{failure}: {type(exc).__name__}: {exc}."

        def finished(outcome: tuple[Any, str]) -> None:
            value, problem = outcome
            if problem:
                self.report_store_problem(problem)
            elif done is not None:
                done(value)

        self.store_writer(work, finished)

    def _refresh_target_summary(self) -> None:
        frame = self.training_frame()
        if frame is None or self.target is None or self.task is None or self.target not in frame.columns:
            self._target_summary = None
        else:
            self._target_summary = summarize_target(frame[self.target], self.task)

    def training_frame(self) -> Any:
        """The rows training reads: the table, or the pictures (path and class) without the ones left out."""
        if self.images is not None:
            return self.images.usable_frame()
        return self.table.frame if self.table is not None else None

    @property
    def target_summary(self) -> TargetSummary | None:
        return self._target_summary

    # -- derived ------------------------------------------------------------------------------------------------
    def training_request(self, fixed_split: SplitIndices | None = None) -> TrainRequest:
        """What training the current choices asks for; the window and the CLI both build their runs here.
        ``fixed_split``: row positions given by the caller (the CLI's --train-rows) instead of the split."""
        from studio.core.train.training import TrainRequest

        frame = self.training_frame()
        assert self.dataset is not None and frame is not None and self.target is not None and self.task is not None
        images = self.images
        if images is not None:
            from studio.core.prep.images import ImageTraining

            groups = images.check.near_groups if images.check is not None else ()
            prep: Any = ImageTraining(self.image_prep, self.image_input_size(), images.root,
                                      _usable_groups(images, groups))
        else:
            prep = self.prep
        return TrainRequest(frame, self.target, self.task, prep, self.split, self.model.key,
                            self.model.params_dict(), fixed_split=fixed_split, source_path=self.dataset.path,
                            data_token=self._table_loads, read_options=_set_options(self.table))

    def search_request(self, fixed_split: SplitIndices | None = None) -> TuneRequest:
        """The search the tuning settings ask for (Model step: "tune" or "auto")."""
        from studio.core.search.policy import default_metric, metric_choices
        from studio.core.search.requests import TuneRequest

        base = self.training_request(fixed_split)
        config = self.tuning
        mode = TuneMode.AUTO if config.mode is TuneMode.AUTO else TuneMode.TUNE
        if mode is TuneMode.TUNE and get_model(base.model_key).choices:
            from studio.core.common.errors import StudioError

            raise StudioError(f"{get_model(base.model_key).label} has no settings to tune: pick a model first.")
        ranges = tuple(config.ranges) if config.ranges and config.ranges_model == self.model.key else None
        summary = self.target_summary
        metric = config.metric if config.metric in metric_choices(base.task) else None
        metric = metric or default_metric(base.task, summary.class_counts if summary else ())
        return TuneRequest(base, mode, budget_s=config.budget_s, metric=metric, method=SearchMethod(config.method),
                           max_trials=config.max_trials, ranges=ranges, seed=config.seed)

    def result_is_stale(self) -> bool:
        """True when the settings changed since the shown result was trained."""
        if self.result is None or self.dataset is None or self.target is None or self.task is None:
            return False
        return self.result.fingerprint != self.training_request().fingerprint()

    def problems(self, step: Step) -> list[str]:
        """Why ``step`` cannot be left with Next, in words; empty when it can."""
        return problems(self, step)


def _set_options(table: LoadedTable | None) -> ReadOptions | None:
    """What the person set about reading the table it was read with (None: all detected, or not a text table)."""
    return table.options if table is not None and not table.options.is_default else None


def _default_image_prep() -> ImagePrep:
    from studio.core.prep.images import ImagePrep

    return ImagePrep()


def _usable_groups(images: ImageFolder, groups: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    """Near-copy groups as positions in the usable frame (the rows left out are gone from it)."""
    if not groups or images.check is None:
        return groups
    left_out = sorted(images.check.left_out)
    shift = np.searchsorted(np.asarray(left_out, dtype=np.int64), np.arange(len(images.frame)), side="left") \
        if left_out else None

    def moved(row: int) -> int:
        return row - int(shift[row]) if shift is not None else row

    return tuple(tuple(moved(r) for r in group if r not in images.check.left_out) for group in groups)


def problems(project: Project, step: Step) -> list[str]:
    if step not in WIZARD_STEPS:  # the side pages hold no choices of their own
        return []
    order = list(WIZARD_STEPS)
    for earlier in order[: order.index(step)]:
        found = _own_problems(project, earlier)
        if found:
            return found
    return _own_problems(project, step)


def _own_problems(project: Project, step: Step) -> list[str]:
    if step is Step.DATA and project.images is not None:
        images = project.images
        if images.check is None:
            return ["Reading the pictures…"]
        return images.problems() or (target_problems(project.target_summary) if project.target_summary else [])
    if step is Step.PREPARE and project.images is not None:
        return project.image_prep.problems()
    if step is Step.DATA:
        if project.table is None:
            return ["Open a table to start (or try the sample dataset)."]
        if not project.profiles:
            return ["Looking at the columns…"]
        if project.target is None:
            return ["Pick the column you want to predict."]
        summary = project.target_summary
        return target_problems(summary) if summary else ["Pick the column you want to predict."]
    if step is Step.PREPARE:
        if not project.prep.features(project.target):
            return ["Every column is left out; put at least one back to learn from."]
        from studio.core.prep.files import prep_problems

        return prep_problems(project.prep, project.target)
    if step is Step.SPLIT:
        summary = project.target_summary
        if summary is None:
            return []
        classes = len(summary.class_counts) if summary.task is Task.CLASSIFICATION else 0
        return split_problems(summary.usable_rows, project.split, classes)
    if step is Step.MODEL:
        from studio.core.models.registry import get_model

        spec = get_model(project.model.key)
        missing = spec.missing_requirement()
        if missing:
            return [missing]
        if project.task not in spec.tasks:
            return [f"{spec.label} cannot do {project.task.value if project.task else 'this task'}; pick another."]
        if project.tuning.mode is not TuneMode.AUTO:
            problem = spec.problem_with(project.model.params_dict(), project.task)
            if problem:
                return [problem]
        if not spec.pickable and project.tuning.mode is TuneMode.TUNE:
            return [f"The {spec.label.lower()} has no settings to tune: the search chose its members. Pick one "
                    "model to tune its settings."]
        return []
    if step is Step.TRAIN:
        return [] if project.result is not None else ["Train a model to see its results."]
    return []
