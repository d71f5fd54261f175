"""How a search speaks: scores, each trial's line and the message when no trial finished."""

from __future__ import annotations

from studio.core.search.requests import Trial, TrialState, TuneRequest


def format_score(metric: str, value: float | None) -> str:
    from studio.core.evaluate.metrics import format_metric

    return format_metric(metric, value)


def trial_message(trial: Trial, metric: str) -> str:
    what = f"Trial {trial.number}: {trial.model_label}"
    if trial.state is TrialState.DONE:
        return f"{what} scored {format_score(metric, trial.score)}"
    return f"{what} {trial.state.value} ({trial.note})" if trial.note else f"{what} {trial.state.value}"


def nothing_finished_message(trials: list[Trial], request: TuneRequest) -> str:
    if trials and all(t.state is TrialState.FAILED for t in trials):
        return f"Every trial failed on this data; the first said: {trials[0].note}"
    if request.budget_s is not None:
        return (f"No trial finished within {request.budget_s:g} seconds. Give the search more time, or use "
                "fewer rows.")
    return "No trial finished."
