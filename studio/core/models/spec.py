"""ModelSpec: one model family described as data, with the capabilities callers ask instead of comparing keys.

Forms, the CLI's options, search spaces, the training loop's growth and the export choices are all read from a
spec. Families register themselves here when their module is imported; ``registry`` imports the built-in ones.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.data.kinds import DataKind
from studio.core.data.target import Task
from studio.core.models.params import ParamSpec, ParamValue

Builder = Callable[[Task, dict[str, ParamValue]], Any]
# (model key, its settings, its whole-number weight): one member of a model that combines others.
Member = tuple[str, dict[str, ParamValue], int]
# (pipeline, path, should_stop, check_rows=rows to check the file against the pipeline) -> a job.
ExportJob = Callable[..., Generator[Progress, None, Path]]


# The setting of a family with ``category_codes``: "auto" (codes where the category columns would make many one-hot
# features), "codes" or "one_hot".
CATEGORY_SPLITS = "categories"


class Growth(StrEnum):
    """How a model grows while it trains, which decides the live curve and how a search can stop it early."""

    NONE = "none"  # fitted in one go: the Train page shows stages only
    TREES = "trees"  # a forest adds trees (its size setting counts them)
    ROUNDS = "rounds"  # boosting adds rounds, each correcting the last
    EPOCHS = "epochs"  # a network passes over the rows again and again, with its own loop

    @property
    def has_curve(self) -> bool:
        return self is not Growth.NONE


@dataclass(frozen=True)
class SearchPolicy:
    """Where a family stands in the automatic search: the order it is tried in, and tables it is left out of."""

    rank: int  # lower is tried first
    # Tried before the rest on small tables: quick to fit there and often the best.
    quick: bool = False
    # Left out above these sizes, where it is slow and rarely wins.
    max_rows: int | None = None
    max_columns: int | None = None
    # Families without a policy (their cost on a table is unknown) are tried just before this one.
    newcomers_before: bool = False


@dataclass(frozen=True)
class ModelSpec:
    key: str
    label: str
    description: str
    tasks: tuple[Task, ...]
    params: tuple[ParamSpec, ...]
    build: Builder
    # The kinds of data the family learns from.
    input_kinds: tuple[DataKind, ...] = (DataKind.TABLE,)
    growth: Growth = Growth.NONE
    # The setting that counts trees or rounds, grown step by step with warm start (TREES and ROUNDS).
    growth_param: str = ""
    # Whether the fitted model ranks the columns itself (trees' impurity, linear weights); the shuffling test
    # works for every model either way.
    importances: bool = True
    # Why the family has no importances of its own, in words, when that needs saying.
    no_importances_note: str = ""
    # Optional libraries the model needs, as (module, what to tell a person): the network needs torch, which the
    # plain install leaves out. Checked without importing them.
    requires: tuple[tuple[str, str], ...] = ()
    # False for a model that is made, not picked: the ensemble the automatic search builds from its best trials.
    # It is left out of the Model step's list, the CLI's listing and the search's families; get_model finds it.
    pickable: bool = True
    # The automatic search's policy for this family; None: tried after the proven families.
    search: SearchPolicy | None = None
    # Settings the automatic search tries right after the defaults, where another start is known to pay: the
    # defaults suit large clean tables, and a second, more cautious start suits small noisy ones.
    search_starts: tuple[tuple[tuple[str, ParamValue], ...], ...] = ()
    # The settings that decide what a fit costs (trees, rounds, leaves, epochs), each with a cheap value to start
    # from. The automatic search tries the family there first and lets these settings grow only while bigger
    # values pay (FLAML's cost-frugal search): a handful of small trees tells in a fraction of a second whether a
    # family suits the table, where its full-size defaults can take a good share of a short budget.
    cost_params: tuple[tuple[str, ParamValue], ...] = ()
    # The estimator's setting that names which features are category codes, for a family that splits on
    # categories itself (histogram boosting's "categorical_features"). Its ``CATEGORY_SPLITS`` setting says when
    # category columns reach it as codes rather than one-hot columns ("" : always one-hot).
    category_codes: str = ""
    # Whether one fit spreads over every core by itself (a forest's trees are grown side by side). A search's
    # workers fit on one core each; the winner's final fit gets every free core, so it takes that much less.
    parallel_fit: bool = False
    # Writes the trained pipeline (preparation included) as ONNX for other programs: (pipeline, path, should_stop,
    # check_rows) -> a job.
    onnx_export: ExportJob | None = None
    # How the model is called in sentences about it ("the network"), for export buttons and notes.
    short_name: str = "the model"
    # What to try first when the model memorises the training rows, or is too simple for them.
    overfit_tip: str = ""
    underfit_tip: str = ""
    # For a model that combines others: its members read from its settings (raises StudioError when unreadable).
    members: Callable[[dict[str, ParamValue]], list[Member]] | None = None
    # Why these settings cannot be trained here, beyond each setting's own check ("" when they can).
    settings_problem: Callable[[dict[str, ParamValue], Task | None], str] | None = None
    # Starts from weights learned elsewhere (downloaded once); its pictures are read at least at the size those
    # weights need.
    pretrained: bool = False
    # The settings in words, when the generic "Label: value" list does not say them well.
    describe_settings: Callable[[dict[str, ParamValue], int | None], str] | None = None
    # For a model that is a quick choice among others ("Let Studio choose"): per task, the families it tries at
    # their defaults before keeping the best. Training trains the chosen one; the search leaves this one out.
    choices: tuple[tuple[Task, tuple[str, ...]], ...] = ()

    def cheap_start(self, task: Task) -> dict[str, ParamValue]:
        """The defaults with every cost setting at its cheap value (the defaults themselves without any)."""
        cheap = self.defaults(task)
        cheap.update({name: value for name, value in self.cost_params if name in cheap})
        return cheap

    def candidates(self, task: Task) -> tuple[str, ...]:
        return dict(self.choices).get(task, ())

    @property
    def export_formats(self) -> tuple[str, ...]:
        return ("studio",) + (("onnx",) if self.onnx_export is not None else ())

    @property
    def combines_models(self) -> bool:
        return self.members is not None

    def takes(self, kind: DataKind) -> bool:
        return kind in self.input_kinds

    def missing_requirement(self) -> str | None:
        """Why this model cannot be used on this computer, in words; None when it can."""
        for module, advice in self.requires:
            if importlib.util.find_spec(module) is None:
                return advice
        return None

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise StudioError(f"{self.label} has no setting called '{name}'. "
                          f"Its settings are: {', '.join(p.name for p in self.params)}.")

    def params_for(self, task: Task) -> tuple[ParamSpec, ...]:
        return tuple(p for p in self.params if p.applies_to(task.value))

    def defaults(self, task: Task) -> dict[str, ParamValue]:
        return {p.name: p.default_for(task.value) for p in self.params_for(task)}

    def resolve(self, task: Task, values: dict[str, ParamValue] | None) -> dict[str, ParamValue]:
        """Defaults overlaid with ``values``, each checked against its spec."""
        resolved = self.defaults(task)
        for name, value in (values or {}).items():
            spec = self.param(name)
            if spec.applies_to(task.value):
                resolved[name] = spec.check(value)
        return resolved

    def make_estimator(self, task: Task, values: dict[str, ParamValue] | None = None) -> Any:
        if task not in self.tasks:
            raise StudioError(f"{self.label} cannot be used for {task.value}.")
        missing = self.missing_requirement()
        if missing:
            raise StudioError(missing)
        return self.build(task, self.resolve(task, values))

    def problem_with(self, values: dict[str, ParamValue], task: Task | None) -> str:
        return self.settings_problem(values, task) if self.settings_problem is not None else ""

    def describe(self, values: Sequence[tuple[str, ParamValue]] | dict[str, ParamValue],
                 limit: int | None = None) -> str:
        """Settings in the model form's words: "Number of trees: 120, Maximum depth: no limit"."""
        values = dict(values)
        if self.describe_settings is not None:
            return self.describe_settings(values, limit)
        shown = []
        for param in self.params:  # in the form's order, the most important settings first
            if param.name in values:
                shown.append(f"{param.label}: {param.describe_value(values[param.name])}")
        if limit is not None and len(shown) > limit:
            return ", ".join(shown[:limit]) + f" and {len(shown) - limit} more"
        return ", ".join(shown)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    _REGISTRY[spec.key] = spec
    return spec


def registered(key: str) -> ModelSpec:
    """A family registered so far, without loading the built-in ones (``registry.get_model`` does that)."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise StudioError(f"There is no model called '{key}'. Models: {', '.join(_REGISTRY)}.") from None


def registered_specs() -> tuple[ModelSpec, ...]:
    return tuple(_REGISTRY.values())
