"""Why the model predicts what it does: permutation importance per original column, the model's own importances
(summed back from one-hot pieces to the columns they came from), and partial dependence for one column.

The pipeline takes the raw columns the user loaded, so shuffling a raw column moves all of its one-hot pieces
together: importances are in terms of the table the person knows.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from studio.core.common.errors import Cancelled
from studio.core.common.progress import Progress, StopCheck, never_stop
from studio.core.models.imbalance import inner_model

PARTIAL_DEPENDENCE_ROWS = 500
GRID_POINTS = 20
MAX_CATEGORIES = 15


@dataclass(frozen=True)
class Importance:
    """One column's importance: the mean drop of the score when it is shuffled, and its spread over repeats."""

    column: str
    mean: float
    spread: float


@dataclass(frozen=True)
class PermutationImportance:
    metric: str
    part: str
    base_score: float
    columns: tuple[Importance, ...]  # most important first


@dataclass(frozen=True)
class PartialDependence:
    column: str
    categorical: bool
    grid: tuple[str | float, ...]
    # One line per output: the average prediction, or per class the average probability.
    lines: tuple[tuple[str, tuple[float, ...]], ...]


def permutation_importance(pipeline: Any, x: pd.DataFrame, y: np.ndarray, metric: str, part: str = "validation",
                           repeats: int = 5, seed: int = 0,
                           should_stop: StopCheck = never_stop) -> Generator[Progress, None, PermutationImportance]:
    """The same shuffles as ``sklearn.inspection.permutation_importance`` (so results match it), one column per
    step so progress is reported and a cancel is honoured between columns."""
    from sklearn.metrics import get_scorer

    scorer = get_scorer(metric)
    base = float(scorer(pipeline, x, y))
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    found = []
    for number, column in enumerate(x.columns):
        if should_stop():
            raise Cancelled()
        yield Progress("Permutation importance", number / len(x.columns), f"Shuffling '{column}'")
        rng = np.random.RandomState(column_seed)
        order = np.arange(len(x))
        shuffled = x.copy()
        drops = []
        for _ in range(repeats):
            rng.shuffle(order)
            # Shuffles compound on the already shuffled column, exactly as scikit-learn does.
            shuffled[column] = shuffled[column].iloc[order].to_numpy()
            drops.append(base - float(scorer(pipeline, shuffled, y)))
        found.append(Importance(str(column), float(np.mean(drops)), float(np.std(drops))))
    yield Progress("Permutation importance", 1.0, "Done")
    ranked = tuple(sorted(found, key=lambda item: -item.mean))
    return PermutationImportance(metric, part, base, ranked)


def model_importances(pipeline: Any, columns: tuple[str, ...] = ()) -> tuple[tuple[str, float], ...]:
    """The model's own importances per original column (share of the total), or () when it has none."""
    model = inner_model(pipeline.named_steps["model"])
    raw = getattr(model, "feature_importances_", None)
    if raw is None and hasattr(model, "coef_"):
        # Inputs are standardised, so coefficient sizes are comparable; several classes: summed over classes.
        raw = np.abs(np.atleast_2d(model.coef_)).sum(axis=0)
    if raw is None:
        return ()
    pieces = np.asarray(raw, dtype=float)
    owners = piece_owners(pipeline.named_steps["prep"], columns)
    if len(owners) != len(pieces):
        return ()
    totals: dict[str, float] = {}
    for owner, value in zip(owners, pieces, strict=True):
        totals[owner] = totals.get(owner, 0.0) + value
    whole = sum(totals.values()) or 1.0
    return tuple(sorted(((k, float(v / whole)) for k, v in totals.items()), key=lambda kv: -kv[1]))


def piece_owners(prep: Any, columns: tuple[str, ...] = ()) -> list[str]:
    """For each feature the preparation outputs, the original (or derived) column it came from.

    One-hot pieces are named "<column>_<category>"; the longest column name that prefixes a piece owns it.
    """
    candidates = list(columns)
    inputs = getattr(prep, "named_steps", {}).get("inputs")
    if inputs is not None:
        candidates += [str(c) for c in inputs.get_feature_names_out()]
    candidates += [str(c) for c in getattr(prep, "feature_names_in_", ())]
    ordered = sorted(set(candidates), key=len, reverse=True)
    owners = []
    for name in (str(n) for n in prep.get_feature_names_out()):
        owners.append(next((c for c in ordered if name == c or name.startswith((c + "_", c + " "))), name))
    return owners


def partial_dependence(pipeline: Any, x: pd.DataFrame, column: str, task_is_classification: bool,
                       categorical: bool, seed: int = 0,
                       should_stop: StopCheck = never_stop) -> Generator[Progress, None, PartialDependence]:
    """The model's average answer when every row gets the same value of ``column``, for a range of values."""
    rows = x if len(x) <= PARTIAL_DEPENDENCE_ROWS else x.sample(PARTIAL_DEPENDENCE_ROWS, random_state=seed)
    grid = value_grid(x[column], categorical)
    outputs: list[np.ndarray] = []
    for number, value in enumerate(grid):
        if should_stop():
            raise Cancelled()
        yield Progress("Partial dependence", number / len(grid), f"'{column}' = {value}")
        changed = rows.copy()
        changed[column] = value
        if task_is_classification:
            outputs.append(pipeline.predict_proba(changed).mean(axis=0))
        else:
            outputs.append(np.atleast_1d(np.asarray(pipeline.predict(changed), dtype=float).mean()))
    yield Progress("Partial dependence", 1.0, "Done")
    table = np.vstack(outputs)
    names = [str(c) for c in pipeline.classes_] if task_is_classification else ["Prediction"]
    if task_is_classification and len(names) == 2:
        names, table = names[1:], table[:, 1:]  # two classes: the positive class says it all
    lines = tuple((name, tuple(float(v) for v in table[:, i])) for i, name in enumerate(names))
    return PartialDependence(column, categorical, tuple(grid), lines)


def value_grid(values: pd.Series, categorical: bool) -> list[str | float]:
    """Evenly spaced percentiles (5th to 95th) for numbers; the most common categories for categories."""
    if categorical:
        return [str(v) for v in values.dropna().astype(str).value_counts().index[:MAX_CATEGORIES]]
    from studio.core.data.profile import to_number

    numbers = to_number(values).dropna().to_numpy(dtype=float)
    if numbers.size == 0:
        return []
    unique = np.unique(numbers)
    if unique.size <= GRID_POINTS:
        return [float(v) for v in unique]
    return [float(v) for v in np.unique(np.percentile(numbers, np.linspace(5, 95, GRID_POINTS)))]
