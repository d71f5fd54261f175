"""Which model families the automatic search tries, and which measure judges the trials.

The choices the window and the CLI offer (``metric_choices``, ``auto_families``), the default measure for a task and
its class balance, and how a measure is named and which way is better.
"""

from __future__ import annotations

from studio.core.data.kinds import DataKind
from studio.core.data.target import Task, summarize_target
from studio.core.evaluate.metrics import HIGHER_IS_BETTER, METRIC_LABELS
from studio.core.models.registry import models_for
from studio.core.models.spec import SearchPolicy
from studio.core.search.requests import TuneRequest
from studio.core.train.training import TrainRequest

# On tables up to this many rows the quick families (SearchPolicy.quick) are tried first.
SMALL_ROWS = 5_000
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
# Classes this uneven (largest over smallest) make plain accuracy misleading, so "best" means balanced accuracy.
IMBALANCE_RATIO = 3.0
# Searches shorter than this leave out families that need a large optional library in every worker (torch): on a
# busy 2-core machine its import alone took 14 s of a worker's 30, and a network rarely wins a short search.
HEAVY_FAMILY_MIN_BUDGET_S = 60.0


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


def auto_families(task: Task, rows: int, columns: int, include: tuple[str, ...] | None = None,
                  kind: DataKind = DataKind.TABLE, budget_s: float | None = None) -> tuple[str, ...]:
    """Model families the automatic search tries for this data, most promising first (each family's
    ``SearchPolicy`` says where it stands and on which tables it is left out). A table search of less than
    ``HEAVY_FAMILY_MIN_BUDGET_S`` leaves out families needing an optional library, unless ``include`` names them."""
    short = budget_s is not None and budget_s < HEAVY_FAMILY_MIN_BUDGET_S and kind is DataKind.TABLE
    # A quick choice among families ("Let Studio choose") is left out: the search tries those families itself.
    usable = [m for m in models_for(task, kind)
              if (include is None or m.key in include) and not m.missing_requirement() and not m.choices
              and not (short and m.requires and include is None)]

    def fits(policy: SearchPolicy) -> bool:
        return ((policy.max_rows is None or rows <= policy.max_rows)
                and (policy.max_columns is None or columns <= policy.max_columns))

    # Each family with a policy paired with it once, so the ordering below needs no check for a missing one.
    known = sorted(((m.key, policy) for m in usable if (policy := m.search) is not None and fits(policy)),
                   key=lambda pair: pair[1].rank)
    if rows <= SMALL_ROWS:
        # On small tables neighbours and kernel machines take a moment and are often the best; ensembles'
        # defaults can take a good share of a short budget, so the quick ones are tried first.
        known = [pair for pair in known if pair[1].quick] + [pair for pair in known if not pair[1].quick]
    # Families without a policy (a neural network, say) come after the proven ones, before the weakest: their
    # cost on a table is unknown, and the proven ones are quick and strong on small tables.
    others = [m.key for m in usable if m.search is None]
    position = next((i for i, (_key, policy) in enumerate(known) if policy.newcomers_before), len(known))
    keys = [key for key, _policy in known]
    return tuple(keys[:position] + others + keys[position:])


def _class_counts(base: TrainRequest) -> tuple[tuple[str, int], ...]:
    """The classes as the window counts them (``summarize_target``), so the CLI and the window choose the same
    default measure."""
    if base.task is not Task.CLASSIFICATION or base.target not in base.frame.columns:
        return ()
    return summarize_target(base.frame[base.target], base.task).class_counts
