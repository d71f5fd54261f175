"""The model families Studio offers: the built-in ones, looked up by key or chosen by task and kind of data."""

from __future__ import annotations

from studio.core.data.kinds import DataKind
from studio.core.data.target import Task

# The built-in families register themselves on import.
from studio.core.models import (  # noqa: F401
    choice_spec,
    ensemble_spec,
    image_specs,
    network_specs,
    sklearn_models,
)
from studio.core.models.params import ParamValue
from studio.core.models.spec import Member, ModelSpec, registered, registered_specs

DEFAULT_MODEL = choice_spec.CHOICE_KEY


def all_models() -> tuple[ModelSpec, ...]:
    """Every model a person can pick (the ensemble, which only the automatic search makes, is left out)."""
    return tuple(spec for spec in registered_specs() if spec.pickable)


def models_for(task: Task, kind: DataKind = DataKind.TABLE) -> tuple[ModelSpec, ...]:
    """The models a person (or the automatic search) can pick for ``task`` on data of ``kind``."""
    return tuple(m for m in all_models() if task in m.tasks and m.takes(kind))


def get_model(key: str) -> ModelSpec:
    return registered(key)


def default_model_key(task: Task, kind: DataKind = DataKind.TABLE) -> str:
    if kind is DataKind.IMAGES:
        # Transfer learning when its weights are on this computer (it needs few pictures); otherwise the small
        # network, which needs no download.
        from studio.core.models.torch.weights import have_weights

        return image_specs.TRANSFER.key if have_weights("mobilenet_v3_small") else image_specs.CNN.key
    return DEFAULT_MODEL


def describe_params(params: tuple[tuple[str, ParamValue], ...] | dict[str, ParamValue], model_key: str,
                    limit: int | None = None) -> str:
    """Settings in the model form's words: "Number of trees: 120, Maximum depth: no limit"."""
    return get_model(model_key).describe(params, limit)


def ensemble_of(members: list[Member]) -> tuple[ModelSpec, tuple[tuple[str, ParamValue], ...]]:
    """The model that averages ``members``, and its settings, as the automatic search makes it."""
    return ensemble_spec.SPEC, (("members", ensemble_spec.members_json(members)),)
