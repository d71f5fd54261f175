"""What a search is asked and what it reports: the request, each step's progress, the trials and the result.

Plain frozen dataclasses, shared by the scheduler that fills them, the window and the CLI that show them, and the run
history that records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from studio.core.common.errors import StudioError
from studio.core.common.progress import CurvePoint
from studio.core.models.params import ParamValue
from studio.core.models.registry import get_model
from studio.core.search.modes import SearchMethod, TuneMode
from studio.core.search.spaces import ParamRange
from studio.core.train.training import TrainRequest, TrainResult


class TrialState(StrEnum):
    DONE = "done"
    PRUNED = "pruned"  # stopped after a few folds: clearly worse than earlier trials
    FAILED = "failed"  # the settings did not work on this data
    STOPPED = "stopped"  # ran out of time or the user asked to finish


@dataclass(frozen=True)
class Trial:
    number: int
    model_key: str
    params: tuple[tuple[str, ParamValue], ...]
    score: float | None  # mean cross-validation score of the finished folds
    state: TrialState
    duration_s: float
    finished_at_s: float  # since the start of the search
    best_score: float | None  # best score of all trials so far, this one included
    folds_done: int = 0
    note: str = ""
    is_best: bool = False  # the best so far when it ended (ties keep the earlier trial)
    fit_s: float = 0.0  # the longest single fold's fit, to foresee the final fit's time
    predict_s: float = 0.0  # the longest single fold's prediction of its held-out rows, to foresee the scoring
    # The family's first trial, at its default settings (or, tuning one model, at the person's own): what the
    # search is measured against.
    at_defaults: bool = False
    # Multi-fidelity on rows: the most rows of its first fold it was scored on before all of them (0: it was
    # not; a table too short for row rungs). A pruned trial with this set stopped there.
    rows_rung: int = 0

    @property
    def model_label(self) -> str:
        try:
            return get_model(self.model_key).label
        except StudioError:
            return self.model_key  # a trial kept in the run history, of a model this Studio no longer has

    @property
    def stopped_early(self) -> bool:
        """Cut short for scoring worse than earlier trials, or out of time: its score is of the folds it
        finished only."""
        return self.state in (TrialState.PRUNED, TrialState.STOPPED)

    def params_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)


@dataclass(frozen=True, slots=True)
class TuneProgress:
    """One step of the search; ``trial`` is set when a trial has ended, ``curve`` during the final fit."""

    stage: str
    fraction: float | None = None
    message: str = ""
    trial: Trial | None = None
    elapsed_s: float = 0.0
    budget_s: float | None = None
    curve: CurvePoint | None = None
    # How trials are judged, once decided: "5-fold cross-validation on the training rows", "a holdout of 440
    # training rows".
    evaluation: str = ""


@dataclass(frozen=True)
class TuneRequest:
    base: TrainRequest  # the data, target, task, preparation and split; ``model_key`` is the model tuned in TUNE
    mode: TuneMode = TuneMode.AUTO
    budget_s: float | None = 60.0  # wall time for everything, the final fit included; None: only max_trials
    metric: str | None = None  # None: the default for the task and target (see policy.default_metric)
    method: SearchMethod = SearchMethod.BAYES
    max_trials: int | None = None
    # The user's ranges for TUNE mode (settings left out keep their value); None: the generated ones.
    ranges: tuple[ParamRange, ...] | None = None
    seed: int = 0
    folds: int | None = None  # None: by the table's size (5 or 3 folds, or a holdout); 1: a holdout
    workers: int | None = None  # worker processes, each fitting one fold at a time; None: one per core
    families: tuple[str, ...] | None = None  # AUTO: only these model families; None: every suitable one


@dataclass(frozen=True)
class TuneResult:
    trials: tuple[Trial, ...]
    best: Trial
    metric: str
    train_result: TrainResult  # the winner trained on all training rows, scored once on the test rows
    finished_early: bool  # the user asked to stop and keep the best so far
    duration_s: float
    families: tuple[str, ...] = ()
    # What was trained at the end: the best trial's model and settings, or an ensemble of the best trials when
    # their average scored better in cross-validation.
    model_key: str = ""
    params: tuple[tuple[str, ParamValue], ...] = ()
    # When an ensemble won: its cross-validated score and the best single trial's (each the mean of the folds'
    # scores, like every trial's).
    ensemble_scores: tuple[float, float] | None = None
    # How the trials were judged, in words: "5-fold cross-validation" or "a holdout of 1,234 rows".
    evaluation: str = ""

    @property
    def cv_score(self) -> float | None:
        """The cross-validated score of what was trained at the end: the ensemble's, or the best trial's."""
        return self.ensemble_scores[0] if self.ensemble_scores is not None else self.best.score

    @property
    def final_params(self) -> dict[str, ParamValue]:
        return dict(self.params) if self.model_key else self.best.params_dict()

    @property
    def final_key(self) -> str:
        return self.model_key or self.best.model_key
