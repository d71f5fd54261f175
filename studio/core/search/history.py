"""The run history's view of a search: one search is one run, the final model's, carrying every trial.

``search_record`` makes the plain (JSON) record the scheduler puts on the winner's ``TrainResult.search``, which
``run_from_result`` stores with the run; ``SearchSummary.of`` reads it back, from a result or from a stored run.
``compared_with_default`` says in words how the winner compares with the plain default model.

Histories written before a search was one run hold a run per trial (their details hold ``"tuning"``); those still
open as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.core.search.modes import TuneMode
from studio.core.search.policy import higher_is_better
from studio.core.search.requests import Trial, TrialState, TuneRequest, TuneResult

RECORD_VERSION = 1


def search_record(result: TuneResult, request: TuneRequest) -> dict[str, Any]:
    """The search as plain values for the winner's run: what was asked, the cross-validated score of what was
    trained, the default model it is measured against and every trial."""
    default = _default_trial(result, request)
    return {
        "version": RECORD_VERSION, "mode": request.mode.value, "method": request.method.value,
        "metric": result.metric, "budget_s": request.budget_s, "duration_s": float(result.duration_s),
        "finished_early": result.finished_early, "cv_score": _number(result.cv_score),
        "best_trial": result.best.number, "final_model": result.final_key,
        "ensemble_scores": [_number(v) for v in result.ensemble_scores] if result.ensemble_scores else None,
        "default": None if default is None else {
            "trial": default.number, "model_key": default.model_key, "model_label": default.model_label,
            "score": _number(default.score), "state": default.state.value,
            # Tuning one model starts from the person's own settings, not the model's defaults.
            "yours": request.mode is TuneMode.TUNE and bool(request.base.params)},
        "tries": len(result.trials), "stopped_early": sum(t.stopped_early for t in result.trials),
        "evaluation": result.evaluation,
        "trials": [trial_plain(trial) for trial in result.trials],
    }


def _default_trial(result: TuneResult, request: TuneRequest) -> Trial | None:
    """The plain default model's trial: the default family at its default settings (automatic search), or the
    tuned model at the settings it started from; None when the search did not try it (a grid search, or
    families chosen without it). When the default is a quick choice among families ("Let Studio choose"), it is
    the best finished of their trials at defaults: the one that choice would have kept."""
    if request.mode is TuneMode.TUNE:
        keys: tuple[str, ...] = (request.base.model_key,)
    else:
        from studio.core.data.kinds import DataKind
        from studio.core.models.registry import default_model_key, get_model
        from studio.core.prep.images import ImageTraining

        kind = DataKind.IMAGES if isinstance(request.base.prep, ImageTraining) else DataKind.TABLE
        key = default_model_key(request.base.task, kind)
        keys = get_model(key).candidates(request.base.task) or (key,)
    candidates = [t for t in result.trials if t.at_defaults and t.model_key in keys]
    finished = [t for t in candidates if t.state is TrialState.DONE and t.score is not None]
    if finished:
        sign = 1.0 if higher_is_better(result.metric) else -1.0
        return max(finished, key=lambda t: (sign * float(t.score or 0.0), -t.number))
    return min(candidates, key=lambda t: t.number) if candidates else None


def trial_plain(trial: Trial) -> dict[str, Any]:
    return {"number": trial.number, "model_key": trial.model_key, "model_label": trial.model_label,
            "params": trial.params_dict(), "score": _number(trial.score), "state": trial.state.value,
            "note": trial.note, "folds_done": trial.folds_done, "seconds": float(trial.duration_s),
            "finished_at_s": float(trial.finished_at_s), "best_score": _number(trial.best_score),
            "is_best": trial.is_best, "at_defaults": trial.at_defaults, "rows_rung": trial.rows_rung}


def trial_from_plain(raw: Mapping[str, Any]) -> Trial:
    params = raw.get("params") or {}
    return Trial(int(raw.get("number", 0)), str(raw.get("model_key", "")),
                 tuple(sorted(params.items())) if isinstance(params, dict) else (),
                 _number(raw.get("score")), _state(raw.get("state")), float(raw.get("seconds") or 0.0),
                 float(raw.get("finished_at_s") or 0.0), _number(raw.get("best_score")),
                 int(raw.get("folds_done") or 0), str(raw.get("note") or ""), bool(raw.get("is_best")),
                 at_defaults=bool(raw.get("at_defaults")), rows_rung=_whole(raw.get("rows_rung")))


def _number(value: Any) -> float | None:
    """A score as JSON keeps it: None for no score and for NaN (which JSON cannot hold)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any) -> int:
    """A count as stored, 0 when missing or unreadable (histories from before it was stored)."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _state(value: Any) -> TrialState:
    try:
        return TrialState(value)
    except ValueError:
        return TrialState.FAILED


@dataclass(frozen=True)
class DefaultTrial:
    number: int
    model_label: str
    score: float | None
    state: TrialState
    yours: bool


@dataclass(frozen=True)
class SearchSummary:
    """A search read back from its run (or its result): ``trials`` is empty where only a summary was read
    (``RunStore.summaries`` leaves them out)."""

    mode: TuneMode
    metric: str
    cv_score: float | None
    tries: int
    stopped_early: int
    best_number: int | None
    final_model: str
    ensemble_scores: tuple[float, float] | None
    default: DefaultTrial | None
    finished_early: bool
    duration_s: float  # the whole search's, its final fit included
    trials: tuple[Trial, ...]
    # How the tries were judged: "5-fold cross-validation on the training rows", "a holdout of 440 training rows"
    # ("" in records older than the holdout: those were cross-validated).
    evaluation: str = ""

    @staticmethod
    def of(record: Mapping[str, Any] | None) -> SearchSummary | None:
        """The summary of a search's plain record; None for a run that was not a search."""
        if not record or "metric" not in record:
            return None
        try:
            mode = TuneMode(record.get("mode", TuneMode.AUTO.value))
        except ValueError:
            mode = TuneMode.AUTO
        raw_default = record.get("default")
        default = None
        if isinstance(raw_default, Mapping):
            default = DefaultTrial(int(raw_default.get("trial", 0)), str(raw_default.get("model_label", "")),
                                   _number(raw_default.get("score")), _state(raw_default.get("state")),
                                   bool(raw_default.get("yours")))
        scores = record.get("ensemble_scores")
        ensemble = None
        if isinstance(scores, list) and len(scores) == 2 and all(_number(v) is not None for v in scores):
            ensemble = (float(scores[0]), float(scores[1]))
        trials = tuple(trial_from_plain(t) for t in record.get("trials") or () if isinstance(t, Mapping))
        best = record.get("best_trial")
        return SearchSummary(mode, str(record["metric"]), _number(record.get("cv_score")),
                             int(record.get("tries", len(trials))),
                             int(record.get("stopped_early", sum(t.stopped_early for t in trials))),
                             int(best) if isinstance(best, int) else None, str(record.get("final_model", "")),
                             ensemble, default, bool(record.get("finished_early")),
                             _number(record.get("duration_s")) or 0.0, trials, str(record.get("evaluation") or ""))

    @property
    def judged(self) -> str:
        """Where the scores come from, to end a sentence: "in cross-validation", "on a holdout of 440 training
        rows"."""
        return f"on {self.evaluation}" if self.evaluation.startswith("a holdout") else "in cross-validation"

    @property
    def what(self) -> str:
        """The kind of search, in words."""
        return "search for the best model" if self.mode is TuneMode.AUTO else "search for the best settings"


def compared_with_default(summary: SearchSummary) -> str:
    """How what the search trained compares with the plain default model, in words ("" when the search did not
    try the default): "Better than the default model (Random forest, 95.0%) by 2.1 points."."""
    from studio.core.evaluate.metrics import format_metric

    default = summary.default
    if default is None:
        return ""
    if summary.mode is TuneMode.AUTO:
        name = f"the default model ({default.model_label})"
    else:  # tuning one model: its own starting point
        name = "the settings you started from" if default.yours else "the default settings"
    if default.state is not TrialState.DONE or default.score is None or summary.cv_score is None:
        why = {TrialState.FAILED: "did not work on this data",
               TrialState.PRUNED: "was stopped early"}.get(default.state, "did not finish in time")
        return f"{_capital(name)} {why}, so there is no score to compare the winner with."
    if summary.best_number == default.number and summary.ensemble_scores is None:
        return f"{_capital(name)} won: no other try scored better."
    metric = summary.metric
    its = f"{name[:-1]}, {format_metric(metric, default.score)})" if name.endswith(")") else \
        f"{name} ({format_metric(metric, default.score)})"
    if format_metric(metric, summary.cv_score) == format_metric(metric, default.score):
        return f"{_capital(its)} scored as well {summary.judged}."
    gap = abs(summary.cv_score - default.score)
    if higher_is_better(metric):
        return f"Better than {its} by {100 * gap:.1f} points {summary.judged}."
    return f"Its error is {format_metric(metric, gap)} lower than that of {its} {summary.judged}."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def results_words(summary: SearchSummary) -> str:
    """What the Results page says about a search's winner: its cross-validated score, why its validation column is
    empty, and how it compares with the default ("" without a score)."""
    from studio.core.evaluate.metrics import METRIC_LABELS, format_metric

    if summary.cv_score is None:
        return ""
    label = METRIC_LABELS.get(summary.metric, summary.metric)
    score = format_metric(summary.metric, summary.cv_score)
    judged_by = summary.evaluation or "cross-validation on the training rows"
    text = (f"Chosen by a search of {summary.tries} {'try' if summary.tries == 1 else 'tries'} ({label} "
            f"{summary.judged}: {score}). The validation column is empty because the search judged every try by "
            f"{judged_by} and then trained the winner on all of them.")
    comparison = compared_with_default(summary)
    return f"{text} {comparison}" if comparison else text
