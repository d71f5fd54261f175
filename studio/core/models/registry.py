"""ModelSpec: one entry per model family Studio offers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio.core.errors import StudioError
from studio.core.models.params import ParamSpec, ParamValue
from studio.core.target import Task

Builder = Callable[[Task, dict[str, ParamValue]], Any]


@dataclass(frozen=True)
class ModelSpec:
    key: str
    label: str
    description: str
    tasks: tuple[Task, ...]
    params: tuple[ParamSpec, ...]
    build: Builder
    # How the model trains: "boosting" and "forest" report a live curve, "epochs" (neural networks) a curve per
    # epoch and per few batches, "single" reports stages only.
    training_style: str = "single"
    # Optional libraries the model needs, as (module, what to tell a person): the network needs torch, which the
    # plain install leaves out. Checked without importing them.
    requires: tuple[tuple[str, str], ...] = ()
    # False for a model that is made, not picked: the ensemble the automatic search builds from its best trials.
    # It is left out of the Model step's list, the CLI's listing and the search's families; get_model finds it.
    pickable: bool = True
    # Settings the automatic search tries right after the defaults, where another start is known to pay: the
    # defaults suit large clean tables, and a second, more cautious start suits small noisy ones.
    search_starts: tuple[tuple[tuple[str, ParamValue], ...], ...] = ()

    def missing_requirement(self) -> str | None:
        """Why this model cannot be used on this computer, in words; None when it can."""
        import importlib.util

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


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    _REGISTRY[spec.key] = spec
    return spec


def all_models() -> tuple[ModelSpec, ...]:
    """Every model a person can pick (the ensemble, which only the automatic search makes, is left out)."""
    _load_builtin()
    return tuple(spec for spec in _REGISTRY.values() if spec.pickable)


def models_for(task: Task) -> tuple[ModelSpec, ...]:
    """The models a person (or the automatic search) can pick for ``task``."""
    return tuple(m for m in all_models() if task in m.tasks)


def get_model(key: str) -> ModelSpec:
    _load_builtin()
    try:
        return _REGISTRY[key]
    except KeyError:
        raise StudioError(f"There is no model called '{key}'. Models: {', '.join(_REGISTRY)}.") from None


def default_model_key(task: Task) -> str:
    return "random_forest"


def _load_builtin() -> None:
    if not _REGISTRY:
        from studio.core.models import sklearn_models  # noqa: F401 - registers on import
    if "neural_network" not in _REGISTRY:
        from studio.core.models import network_specs  # noqa: F401 - registers on import
    if "ensemble" not in _REGISTRY:
        from studio.core.models import ensemble_spec  # noqa: F401 - registers on import
