"""The Train page's side of a search: the job for the worker, the trials view fed as trials end, finishing early,
and the winner taken into the Project (its model and settings, and its result, which carries the search's trials
into the run history as one run)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

from studio.core.evaluate.metrics import format_metric
from studio.core.models.ensemble_spec import describe_members
from studio.core.models.registry import describe_params, get_model
from studio.core.project import ModelConfig, Project
from studio.core.search.history import SearchSummary, compared_with_default
from studio.core.search.modes import TuneMode
from studio.core.search.policy import metric_label
from studio.core.search.requests import TuneProgress, TuneRequest, TuneResult
from studio.core.search.scheduler import tune
from studio.core.train.training import TrainResult
from studio.ui.widgets.trials_view import TrialsView

JobFactory = Callable[[Callable[[], bool]], Generator[Any, None, Any]]


class SearchRun:
    def __init__(self, project: Project, view: TrialsView) -> None:
        self.project = project
        self.view = view
        self._finish = threading.Event()
        self.request: TuneRequest | None = None

    def job(self) -> JobFactory:
        """A fresh search for the worker; raises StudioError (shown in words) when the settings do not fit."""
        request = self.project.search_request()
        self.request = request
        self.view.reset(request.metric or "")
        finish = self._finish = threading.Event()
        return lambda stop: tune(request, stop, finish.is_set)

    def finish_early(self) -> None:
        """Stop searching and keep the best model so far (it is still trained on all training rows)."""
        self._finish.set()

    def finishing(self) -> bool:
        return self._finish.is_set()

    def on_progress(self, item: object) -> None:
        if isinstance(item, TuneProgress) and item.evaluation:
            self.view.set_evaluation(item.evaluation)
        if isinstance(item, TuneProgress) and item.trial is not None:
            self.view.add_trial(item.trial)

    def adopt(self, result: TuneResult) -> TrainResult:
        """What the search trained (the best trial, or an ensemble of the best trials) becomes the Project's model
        (so its result is not "stale"). Its result carries the search, every trial included, so the run history
        keeps the search as one run: the one the Project records for this result."""
        self.project.set_model(ModelConfig(result.final_key, tuple(sorted(result.final_params.items()))))
        self.view.show_final(winner_text(result))
        return result.train_result


def winner_text(result: TuneResult) -> str:
    """The search's outcome in words (rich text): the winning try, or the mix of the best tries, and how it
    compares with the plain default model."""
    best = result.best
    ending = "You stopped the search; " if result.finished_early else ""
    count = len(result.trials)
    summary = SearchSummary.of(result.train_result.search)
    against = compared_with_default(summary) if summary is not None else ""
    against = f" {against}" if against else ""
    final = get_model(result.final_key)
    label = metric_label(result.metric).lower()
    judged = summary.judged if summary is not None else "in cross-validation"
    if final.members is not None:
        members = final.members(result.final_params)
        together = f"scored better {judged} than the best single try"
        if result.ensemble_scores is not None:
            mixed, single = (format_metric(result.metric, value) for value in result.ensemble_scores)
            together = f"scored {mixed} {judged} ({label}), against {single} for the best single try"
        return (f"{ending}<b>The winner:</b> {describe_members(members)}, made from the best tries. Together they "
                f"{together} ({best.model_label}, try {best.number} of {count}); now trained on all training "
                f"rows.{against} <span style='color:#555'>Its members' settings: "
                f"{final.describe(result.final_params, limit=3)}.</span>")
    return (f"{ending}<b>The winner:</b> {best.model_label} (try {best.number} of {count}), {label} "
            f"{format_metric(result.metric, best.score)} {judged}, now trained on all training rows."
            f"{against} <span style='color:#555'>Its settings: "
            f"{describe_params(best.params, best.model_key, limit=5)}.</span>")


def warm_up_search(project: Project) -> None:
    """Start the search's worker processes while the person is still choosing, so a short search does not spend
    its budget on their imports (see ``trial_pool.warm_up``); with them, what the models to be tried need (torch
    for a network)."""
    from studio.core.models.registry import all_models
    from studio.core.search.pool import warm_up

    if not project.tuning.searches:
        return
    specs = all_models() if project.tuning.mode is TuneMode.AUTO else (get_model(project.model.key),)
    warm_up(modules=sorted({module for spec in specs if not spec.missing_requirement()
                            for module, _advice in spec.requires}))
