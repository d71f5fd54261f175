"""Cheap first: each family's search starts at low-cost settings and lets cost grow only where it pays.

This is FLAML's cost-frugal idea on top of Optuna. A family's ``ModelSpec.cost_params`` name the settings that
decide what a fit costs (trees, rounds, leaves, epochs) with a cheap value each. The automatic search
- tries the family first at its cheap start (the defaults with those settings cheap);
- samples the cost settings only up to a ceiling, which starts at twice the cheap value;
- doubles a ceiling when a trial whose setting reached the upper half of it improves the family's best score,
  so cost grows only while bigger models keep scoring better;
- keeps the strong defaults as a known start, tried once every family has had its cheap try (where they are
  foreseen to fit half the time left), not before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from studio.core.models.params import ParamKind, ParamValue
from studio.core.models.spec import ModelSpec
from studio.core.search.spaces import ParamRange, SearchSpace

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

GROWTH_FACTOR = 2.0


def frugal_space(spec: ModelSpec, space: SearchSpace) -> SearchSpace:
    """``space`` with each searched cost setting's range reaching down to its cheap value."""
    cheap = dict(spec.cost_params)
    ranges = []
    for param_range in space.ranges:
        value = cheap.get(param_range.name)
        if isinstance(value, int | float) and param_range.is_numeric and param_range.low is not None:
            param_range = replace(param_range, low=min(param_range.low, float(value)))
        ranges.append(param_range)
    return replace(space, ranges=tuple(ranges))


@dataclass
class CostCeilings:
    """The highest value each cost setting may be sampled at for now (mutable, one per family in a search)."""

    ranges: dict[str, ParamRange]
    ceilings: dict[str, float] = field(default_factory=dict)
    grown: int = 0  # how many times a ceiling was raised, for the trials table's note

    @classmethod
    def of(cls, spec: ModelSpec, space: SearchSpace) -> CostCeilings:
        ranges, ceilings = {}, {}
        for name, value in spec.cost_params:
            param_range = space.get(name)
            if param_range is None or not param_range.is_numeric or not isinstance(value, int | float):
                continue  # not searched here (the person fixed it, or the task does not use it)
            assert param_range.high is not None
            ranges[name] = param_range
            ceilings[name] = min(param_range.high, max(float(value) * GROWTH_FACTOR, _next_up(param_range, value)))
        return cls(ranges, ceilings)

    def distributions(self, space: SearchSpace, known: dict[str, ParamValue] | None = None
                      ) -> dict[str, BaseDistribution]:
        """The space's distributions with the cost settings capped at their ceilings (raised to hold ``known``,
        the settings of a known start about to be tried)."""
        from optuna.distributions import FloatDistribution, IntDistribution

        found = space.distributions()
        for name, param_range in self.ranges.items():
            assert param_range.low is not None
            ceiling = self.ceilings[name]
            value = (known or {}).get(name)
            if isinstance(value, int | float):
                ceiling = max(ceiling, float(value))
            distribution: Any
            if param_range.kind is ParamKind.INT:
                distribution = IntDistribution(int(param_range.low), max(int(param_range.low), int(ceiling)),
                                               log=param_range.log)
            else:
                distribution = FloatDistribution(param_range.low, max(param_range.low, ceiling), log=param_range.log)
            found[name] = distribution
        return found

    def improved(self, params: dict[str, ParamValue]) -> None:
        """A trial with ``params`` beat the family's best: the settings it pushed towards their ceiling (or past
        it, a known start) may grow further."""
        for name, param_range in self.ranges.items():
            value = params.get(name)
            if not isinstance(value, int | float):
                continue
            ceiling = self.ceilings[name]
            if float(value) >= ceiling / GROWTH_FACTOR:
                assert param_range.high is not None
                raised = min(param_range.high, max(ceiling, float(value)) * GROWTH_FACTOR)
                if raised > ceiling:
                    self.ceilings[name] = raised
                    self.grown += 1

    def describe(self) -> str:
        return ", ".join(f"{name} up to {_whole(value)}" for name, value in self.ceilings.items())


def _next_up(param_range: ParamRange, value: float) -> float:
    """A ceiling at least one step above the cheap value, so the first sampled trials can differ from it."""
    return float(value) + (1.0 if param_range.kind is ParamKind.INT else 0.0)


def _whole(value: float) -> str:
    return f"{value:g}" if not math.isfinite(value) or value != int(value) else f"{int(value)}"
