"""Hyperparameters as data: the form, the CLI and tuning are all generated from these specs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from studio.core.common.errors import StudioError

ParamValue = int | float | str | bool | None


class ParamKind(StrEnum):
    INT = "int"
    FLOAT = "float"
    CHOICE = "choice"
    BOOL = "bool"
    # Whole numbers separated by commas, e.g. the layer sizes "64, 32"; ``low``/``high`` bound each number.
    INT_LIST = "int_list"
    # Free text whose meaning the model itself checks, e.g. the ensemble's members written as JSON.
    TEXT = "text"


@dataclass(frozen=True)
class ParamSpec:
    name: str
    label: str
    help: str
    kind: ParamKind
    default: ParamValue
    low: float | None = None
    high: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, plain-language label)
    log: bool = False
    # ``None`` allowed and shown as this word ("No limit"); used for e.g. max_depth.
    none_label: str | None = None
    # Per-task defaults override ``default`` ("classification" / "regression").
    task_defaults: tuple[tuple[str, ParamValue], ...] = field(default=())
    # The task this setting applies to ("classification" / "regression"); None means both.
    only_for: str | None = None
    # The heading the form shows this setting under ("Architecture", "Optimizer"...); "" for none.
    group: str = ""
    # A slow lookup (e.g. which graphics card exists) whose answer the form shows under the setting once known;
    # it runs in the background.
    live_note: Callable[[], str] | None = None
    # False for settings a search must leave alone: where to train (a graphics card may be missing), the seed, or
    # a limit that changes the time taken far more than the quality (a solver's step limit).
    tunable: bool = True
    # Where a search looks, (low, high, log), inside the allowed range: a range known to pay off. None: a range
    # around the default.
    search_range: tuple[float, float, bool] | None = None
    # A text setting that names a file: the form offers a "Choose…" button with this filter ("Weights (*.pth)").
    file_filter: str = ""
    # A setting a newcomer can leave alone, named in specialists' words (ReLU, Adam, batch size): the form folds it
    # under "Advanced", and its help says in plain words what the default does.
    advanced: bool = False

    def applies_to(self, task: str) -> bool:
        return self.only_for is None or self.only_for == task

    def default_for(self, task: str) -> ParamValue:
        return dict(self.task_defaults).get(task, self.default)

    def parse(self, text: str) -> ParamValue:
        """Convert text (from the CLI) to a checked value."""
        raw = text.strip()
        if self.none_label is not None and raw.lower() in ("none", self.none_label.lower(), ""):
            return None
        try:
            if self.kind is ParamKind.INT:
                value: ParamValue = int(float(raw))
            elif self.kind is ParamKind.FLOAT:
                value = float(raw)
            elif self.kind in (ParamKind.INT_LIST, ParamKind.TEXT):
                value = raw
            elif self.kind is ParamKind.BOOL:
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                value = raw.lower() in ("true", "1", "yes")
            else:
                value = raw
        except (ValueError, OverflowError) as exc:  # OverflowError: int(float("inf"))
            raise StudioError(f"'{text}' is not a valid value for {self.name} ({self.kind.value}).") from exc
        return self.check(value)

    def check(self, value: Any) -> ParamValue:
        if value is None:
            if self.none_label is None:
                raise StudioError(f"{self.label} needs a value.")
            return None
        if self.kind is ParamKind.CHOICE:
            allowed = [c[0] for c in self.choices]
            if value not in allowed:
                raise StudioError(f"{self.name} must be one of {', '.join(allowed)}; got {value!r}.")
            return value
        if self.kind is ParamKind.BOOL:
            return bool(value)
        if self.kind is ParamKind.INT_LIST:
            return self._check_int_list(value)
        if self.kind is ParamKind.TEXT:
            if not isinstance(value, str):
                raise StudioError(f"{self.label} must be text; got {value!r}.")
            return value
        try:
            number = int(value) if self.kind is ParamKind.INT else float(value)
        except (TypeError, ValueError, OverflowError):  # "abc", None-like junk, int(inf)
            number = math.nan
        # NaN compares False with both bounds, so it would slip through the range check below.
        if math.isnan(number):
            raise StudioError(f"{self.label} must be a number; got {value!r}.")
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise StudioError(f"{self.label} must lie between {_fmt(self.low)} and {_fmt(self.high)}; "
                              f"got {_fmt(number)}.")
        return number

    def _check_int_list(self, value: Any) -> str:
        """Normalised text ("64, 32"), so equal settings compare equal however they were typed."""
        parts = [part.strip() for part in str(value).replace(";", ",").split(",")]
        if not any(parts):
            raise StudioError(f"{self.label} needs at least one number, e.g. 64, 32.")
        numbers = []
        for part in parts:
            if not part.isdigit():
                raise StudioError(f"{self.label} must be whole numbers separated by commas, e.g. 64, 32; "
                                  f"'{part or 'an empty entry'}' is not one.")
            number = int(part)
            if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
                raise StudioError(f"Each number in {self.label} must lie between {_fmt(self.low)} and "
                                  f"{_fmt(self.high)}; got {number}.")
            numbers.append(number)
        return ", ".join(str(n) for n in numbers)

    def describe_value(self, value: ParamValue) -> str:
        """A value as the form says it: "no limit", "square root of the column count", "yes", "0.05"."""
        if value is None:
            return (self.none_label or "none").lower()
        if self.choices:
            return dict(self.choices).get(str(value), str(value)).lower()
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    def describe_range(self) -> str:
        if self.kind is ParamKind.INT_LIST:
            return f"whole numbers {_fmt(self.low)}..{_fmt(self.high)} separated by commas"
        if self.kind is ParamKind.CHOICE:
            return " | ".join(c[0] for c in self.choices)
        if self.kind is ParamKind.TEXT:
            return "text"
        if self.kind is ParamKind.BOOL:
            return "true | false"
        text = f"{_fmt(self.low)}..{_fmt(self.high)}"
        return text + (" or none" if self.none_label else "")


def int_param(values: Mapping[str, ParamValue], name: str) -> int:
    """A resolved setting as a whole number, for a model's builder."""
    value = values[name]
    if value is None:
        # resolve() lets None through only for settings with a none_label; builders pass those on as they are.
        raise StudioError(f"The setting {name} needs a whole number; it has none.")
    return int(value)


def float_param(values: Mapping[str, ParamValue], name: str) -> float:
    """A resolved setting as a number, for a model's builder."""
    value = values[name]
    if value is None:
        raise StudioError(f"The setting {name} needs a number; it has none.")
    return float(value)


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))  # "2147483647", not "2.14748e+09"
    return f"{value:g}"
