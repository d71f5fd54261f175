"""The Train page's side of a search: the job for the worker, the trials view fed as trials end, finishing early,
and the winner taken into the Project (its model and settings, its result, every trial in the run history)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Generator
from typing import Any

from studio.core.evaluation import format_metric
from studio.core.project import ModelConfig, Project
from studio.core.training import TrainResult
from studio.core.tuning import TuneProgress, TuneRequest, TuneResult, describe_params, metric_label, request_for, tune
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
        request = request_for(self.project)
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
        if isinstance(item, TuneProgress) and item.trial is not None:
            self.view.add_trial(item.trial)

    def adopt(self, result: TuneResult) -> TrainResult:
        """The winner becomes the Project's model (so its result is not "stale") and every trial a run."""
        best = result.best
        self.project.set_model(ModelConfig(best.model_key, tuple(sorted(best.params_dict().items()))))
        self._record_trials(result)
        ending = "You stopped the search; " if result.finished_early else ""
        self.view.show_final(
            f"{ending}<b>The winner:</b> {best.model_label} (trial {best.number} of {len(result.trials)}), "
            f"{metric_label(result.metric).lower()} {format_metric(result.metric, best.score)} in "
            f"cross-validation, now trained on all training rows. "
            f"<span style='color:#555'>Its settings: {describe_params(best.params, best.model_key, limit=5)}.</span>")
        return result.train_result

    def _record_trials(self, result: TuneResult) -> None:
        store = self.project.run_store
        if store is None or self.request is None:
            return
        from studio.core.tuning import trial_runs

        try:
            store.add_many(trial_runs(result, self.request))
        except (sqlite3.Error, OSError) as exc:
            # Shown on the Results page, like a run that could not be saved.
            self.project.run_store_problem = f"The trials could not be saved to the run history: {exc}."
