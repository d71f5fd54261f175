"""Search spaces for tuning, generated from a model's ParamSpecs.

A ParamSpec's range says what is *allowed* (e.g. 1 to 5,000 trees); a search over all of it would waste the budget
on settings that are slow or rarely help. So each searchable setting gets a narrower range *inside* the allowed one:
a known good range where the spec gives one (``ParamSpec.search_range``), and for any other setting a range
around its default. The user can narrow it further; a range never leaves the spec's bounds, so every sampled value
passes ``ParamSpec.check``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.models.params import ParamKind, ParamSpec, ParamValue
from studio.core.models.registry import get_model
from studio.core.models.spec import ModelSpec

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

# Optuna parameter name of the "no limit" switch that goes with a setting allowing None (e.g. max_depth).
UNLIMITED_SUFFIX = ":unlimited"
GRID_POINTS = 3

# Settings that mostly buy quality with time (more rounds, epochs, trees): searched only up to twice the default.
_COST_NAMES = ("n_estimators", "max_iter", "epochs", "max_epochs", "n_iter", "rounds")
# Typical values tried for settings that are lists of whole numbers (a network's layer sizes).
_LIST_CANDIDATES = ("64", "128, 64", "256, 128", "64, 64, 64")


@dataclass(frozen=True)
class ParamRange:
    """Where one setting is searched: numbers between ``low`` and ``high`` or one of ``choices``."""

    name: str
    kind: ParamKind
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[ParamValue, ...] = ()
    # Whether "no limit" (None) is one of the options, for settings like the maximum depth.
    allow_none: bool = False

    @property
    def is_numeric(self) -> bool:
        return self.kind in (ParamKind.INT, ParamKind.FLOAT)

    def distributions(self) -> dict[str, BaseDistribution]:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        found: dict[str, BaseDistribution] = {}
        if self.kind is ParamKind.INT:
            assert self.low is not None and self.high is not None
            found[self.name] = IntDistribution(int(self.low), int(self.high), log=self.log)
        elif self.kind is ParamKind.FLOAT:
            assert self.low is not None and self.high is not None
            found[self.name] = FloatDistribution(float(self.low), float(self.high), log=self.log)
        else:
            found[self.name] = CategoricalDistribution(self.choices)
        if self.allow_none and self.is_numeric:
            found[self.name + UNLIMITED_SUFFIX] = CategoricalDistribution((False, True))
        return found

    def value_from(self, sampled: dict[str, Any]) -> ParamValue:
        if self.allow_none and self.is_numeric and sampled.get(self.name + UNLIMITED_SUFFIX):
            return None
        value = sampled[self.name]
        if self.kind is ParamKind.INT and value is not None:
            return int(value)
        if self.kind is ParamKind.FLOAT and value is not None:
            return float(value)
        return value

    def encode(self, value: ParamValue) -> dict[str, Any]:
        """The sampled values that stand for ``value`` (clipped into the range), to start a search from it."""
        if not self.is_numeric:
            chosen = value if value in self.choices else self.choices[0]
            return {self.name: chosen}
        assert self.low is not None and self.high is not None
        encoded: dict[str, Any] = {}
        number = self.high if value is None else min(max(float(value), self.low), self.high)
        encoded[self.name] = round(number) if self.kind is ParamKind.INT else float(number)
        if self.allow_none:
            encoded[self.name + UNLIMITED_SUFFIX] = value is None
        return encoded

    def grid_points(self, count: int = GRID_POINTS) -> tuple[ParamValue, ...]:
        if not self.is_numeric:
            return self.choices
        assert self.low is not None and self.high is not None
        if self.log and self.low > 0:
            points = np.geomspace(self.low, self.high, count)
        else:
            points = np.linspace(self.low, self.high, count)
        values: list[ParamValue] = []
        for point in points:
            value: ParamValue = int(np.rint(point)) if self.kind is ParamKind.INT else float(f"{point:.4g}")
            if value not in values:
                values.append(value)
        return (*values, None) if self.allow_none else tuple(values)

    def describe(self) -> str:
        """In words, for the trials table and the CLI: "0.01 to 0.3", "sqrt, third or all"."""
        if not self.is_numeric:
            shown = [str(c).lower() if isinstance(c, bool) else str(c) for c in self.choices]
            separator = "; " if any("," in text for text in shown) else ", "  # choices like layer sizes "64, 32"
            return shown[0] if len(shown) == 1 else separator.join(shown[:-1]) + " or " + shown[-1]
        text = f"{_fmt(self.low)} to {_fmt(self.high)}"
        return text + (" or no limit" if self.allow_none else "")

    def narrowed(self, spec: ParamSpec, low: float | None = None, high: float | None = None,
                 choices: tuple[ParamValue, ...] | None = None, allow_none: bool | None = None) -> ParamRange:
        """A smaller range chosen by the user, checked against the spec; bad input gets a message in words."""
        if not self.is_numeric:
            offered = (*self.choices, *_options(spec))
            kept = tuple(c for c in (choices if choices is not None else self.choices) if c in offered)
            if not kept:
                raise StudioError(f"{spec.label}: keep at least one option to search.")
            return replace(self, choices=kept)
        new_low = self.low if low is None else float(spec.check(low))  # type: ignore[arg-type]
        new_high = self.high if high is None else float(spec.check(high))  # type: ignore[arg-type]
        assert new_low is not None and new_high is not None
        if new_low > new_high:
            raise StudioError(f"{spec.label}: the lowest value ({_fmt(new_low)}) is above the highest "
                              f"({_fmt(new_high)}).")
        log = self.log and new_low > 0
        none_ok = self.allow_none if allow_none is None else (allow_none and spec.none_label is not None)
        return replace(self, low=new_low, high=new_high, log=log, allow_none=none_ok)


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings of one model for one task, and the values the others keep."""

    model_key: str
    task: Task
    ranges: tuple[ParamRange, ...]
    fixed: tuple[tuple[str, ParamValue], ...] = ()

    def distributions(self) -> dict[str, BaseDistribution]:
        found: dict[str, BaseDistribution] = {}
        for param_range in self.ranges:
            found.update(param_range.distributions())
        return found

    def params_from(self, sampled: dict[str, Any]) -> dict[str, ParamValue]:
        params = dict(self.fixed)
        params.update({r.name: r.value_from(sampled) for r in self.ranges})
        return params

    def encode(self, params: dict[str, ParamValue]) -> dict[str, Any]:
        encoded: dict[str, Any] = {}
        for param_range in self.ranges:
            if param_range.name in params:
                encoded.update(param_range.encode(params[param_range.name]))
        return encoded

    def grid(self, count: int = GRID_POINTS) -> dict[str, tuple[ParamValue, ...]]:
        """Grid values per setting (None among them stands for "no limit")."""
        return {r.name: r.grid_points(count) for r in self.ranges}

    def get(self, name: str) -> ParamRange | None:
        return next((r for r in self.ranges if r.name == name), None)

    def with_ranges(self, ranges: tuple[ParamRange, ...],
                    values: dict[str, ParamValue] | None = None) -> SearchSpace:
        """The user's ranges replace the generated ones; settings left out keep ``values`` (or the defaults)."""
        by_name = {r.name: r for r in ranges}
        kept = tuple(by_name[r.name] for r in self.ranges if r.name in by_name)
        dropped = {r.name for r in self.ranges} - set(by_name)
        current = _spec(self.model_key).resolve(self.task, values)
        fixed = dict(self.fixed)
        fixed.update({name: current[name] for name in dropped})
        return replace(self, ranges=kept, fixed=tuple(sorted(fixed.items())))


def default_range(model: ModelSpec, param: ParamSpec, task: Task) -> ParamRange | None:
    """The range searched for ``param`` by default, inside its allowed range; None keeps it fixed."""
    if not param.tunable:
        return None
    if param.kind is ParamKind.BOOL:
        return ParamRange(param.name, param.kind, choices=(False, True))
    if param.kind is ParamKind.CHOICE:
        return ParamRange(param.name, param.kind, choices=_options(param))
    if param.kind not in (ParamKind.INT, ParamKind.FLOAT):
        # Other kinds (e.g. a list of layer sizes) are searched over a few typical values the spec accepts.
        options = _options(param, task)
        return ParamRange(param.name, param.kind, choices=options) if len(options) > 1 else None
    low, high, log = param.search_range or _range_around_default(param, task)
    low = max(low, param.low) if param.low is not None else low
    high = min(high, param.high) if param.high is not None else high
    if param.kind is ParamKind.INT:
        low, high = math.ceil(low), math.floor(high)
    if not low < high:
        return None
    return ParamRange(param.name, param.kind, float(low), float(high), log and low > 0,
                      allow_none=param.none_label is not None)


def _range_around_default(param: ParamSpec, task: Task) -> tuple[float, float, bool]:
    default = param.default_for(task.value)
    if isinstance(default, bool) or not isinstance(default, int | float):
        default = None
    if param.name in _COST_NAMES and default:
        return max(1.0, default / 4), default * 2, True
    if param.log and default and default > 0:
        return default / 10, default * 10, True
    low = param.low if param.low is not None else (default or 0) - 10
    high = param.high if param.high is not None else (default or 0) + 10
    return low, high, False


def build_space(model: ModelSpec, task: Task, values: dict[str, ParamValue] | None = None) -> SearchSpace:
    """The default search space of ``model`` for ``task``; settings not searched keep ``values`` or defaults."""
    if task not in model.tasks:
        raise StudioError(f"{model.label} cannot do {task.value}.")
    resolved = model.resolve(task, values)
    ranges, fixed = [], []
    for param in model.params_for(task):
        param_range = default_range(model, param, task)
        if param_range is None:
            fixed.append((param.name, resolved[param.name]))
        else:
            ranges.append(param_range)
    return SearchSpace(model.key, task, tuple(ranges), tuple(fixed))


def _options(param: ParamSpec, task: Task | None = None) -> tuple[ParamValue, ...]:
    if param.kind is ParamKind.BOOL:
        return (False, True)
    if param.kind is ParamKind.CHOICE:
        return tuple(value for value, _label in param.choices)
    default = param.default_for(task.value) if task is not None else param.default
    options: list[ParamValue] = []
    for candidate in (default, *_LIST_CANDIDATES):
        try:
            value = param.check(candidate)
        except StudioError:
            continue
        if value not in options:
            options.append(value)
    return tuple(options)


def _spec(key: str) -> ModelSpec:
    return get_model(key)


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:,g}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
