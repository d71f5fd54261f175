"""What a training run is asked (TrainRequest) and what it gives back (TrainResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from studio.core.common.progress import CurvePoint
from studio.core.data.read_options import ReadOptions
from studio.core.data.target import Task
from studio.core.evaluate.metrics import Scores
from studio.core.evaluate.result_details import EvaluationRows, ResultDetails
from studio.core.models.params import ParamValue
from studio.core.models.registry import get_model
from studio.core.prep.config import PrepConfig
from studio.core.train.splits import SplitConfig, SplitIndices

if TYPE_CHECKING:
    from studio.core.prep.images import ImageTraining
    from studio.core.train.images import ImageCase


@dataclass(frozen=True)
class HeldOutProbabilities:
    """Probabilities (one column per class of ``classes``) for rows held out of fitting, their true classes, and
    where they come from in words."""

    probabilities: Any
    truth: Any
    classes: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class TrainRequest:
    """Everything a training run needs. ``frame`` is treated as read-only."""

    frame: pd.DataFrame
    target: str
    task: Task
    prep: PrepConfig | ImageTraining  # a table's preparation, or how pictures are read
    split: SplitConfig
    model_key: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    # Row positions fixed by the caller (e.g. the CLI's --train-rows); overrides ``split``.
    fixed_split: SplitIndices | None = None
    source_path: str = ""
    # Identifies the loaded table (a new load gets a new token), so results of another table count as stale.
    data_token: int = 0
    # How the person said the table's text is read (delimiter, decimal mark, encoding...): kept with the run and
    # the model file, so new rows are read the same way. None: everything was detected.
    read_options: ReadOptions | None = None
    # Class probabilities this very model and settings gave rows it did not learn from (a search's folds or
    # holdout): a rare class's decision threshold is chosen on them rather than by fitting the model again on
    # folds of the training rows, which took a 30 s search three seconds past its budget.
    held_out: HeldOutProbabilities | None = field(default=None, compare=False, repr=False)

    def fingerprint(self) -> tuple:
        """What the result depends on, to tell the user when the settings changed since training."""
        return (self.target, self.task, self.prep, self.split, self.model_key,
                tuple(sorted(self.params.items())), self.data_token)


@dataclass(frozen=True)
class TrainResult:
    pipeline: Any
    task: Task
    target: str
    model_key: str
    params: dict[str, ParamValue]
    feature_columns: tuple[tuple[str, str, str], ...]  # (name, kind, treatment)
    classes: tuple[str, ...]
    validation: Scores | None
    test: Scores
    history: tuple[CurvePoint, ...]
    split_sizes: tuple[int, int, int]
    dropped_rows: int
    duration_s: float
    fingerprint: tuple
    source_path: str = ""
    read_options: ReadOptions | None = None
    split_note: str = ""
    # Curves, matrices, cross-validation and importances (plain data, kept with the run), and the raw rows the
    # explanations are computed on (memory only).
    details: ResultDetails | None = None
    rows: EvaluationRows | None = None
    # Pictures: every test picture with its true and predicted class and how sure the model was (memory only).
    image_cases: tuple[ImageCase, ...] = ()
    # What was done about a rare class (weights, the decision threshold), in words; "" when no class is rare.
    decision_note: str = ""
    # "Let Studio choose": what was tried and why the model was chosen, in words; "" for a model picked by hand.
    choice_note: str = ""
    # When a search chose this model: the search as plain data, kept with the run (its cross-validated score under
    # "cv_score", with "metric", and every trial; written and read by studio.core.search.history). None otherwise.
    search: dict[str, Any] | None = None

    @property
    def model_label(self) -> str:
        return get_model(self.model_key).label

    # The request's preparation and split travel in the fingerprint already; read there, not kept twice.
    @property
    def prep(self) -> PrepConfig | None:
        return next((p for p in self.fingerprint if isinstance(p, PrepConfig)), None)

    @property
    def split(self) -> SplitConfig | None:
        return next((p for p in self.fingerprint if isinstance(p, SplitConfig)), None)

    def settings(self) -> dict[str, Any]:
        """The preparation and split as plain data (the run history's form), so a model file can be trained again
        on new rows with the same settings (serve.retrain)."""
        from studio.core.evaluate.details import to_plain

        return {"prep": to_plain(self.prep) if self.prep is not None else None,
                "split": to_plain(self.split) if self.split is not None else None}
