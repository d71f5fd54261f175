"""The run history's view of a search: every trial as a run (``RunStore.add``)."""

from __future__ import annotations

from typing import Any

from studio.core.search.requests import TuneRequest, TuneResult


def trial_runs(result: TuneResult, request: TuneRequest) -> list[dict[str, Any]]:
    """Every trial as a run for the run history (``RunStore.add``): its settings and cross-validated score.

    Trials have no test score (the test rows are only used once, for the winner, which is recorded with its
    test scores like any trained model)."""
    import dataclasses
    import datetime as dt

    from studio.core.store.model_file import library_versions

    base = request.base
    prep, split = dataclasses.asdict(base.prep), dataclasses.asdict(base.split)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    versions = library_versions()
    runs = []
    for trial in result.trials:
        cross_validation = {"metric": result.metric, "mean": trial.score, "folds_done": trial.folds_done}
        runs.append({
            "created": created, "dataset_path": str(base.source_path or ""), "target": base.target,
            "task": base.task.value,
            "model_key": trial.model_key, "model_label": trial.model_label, "params": trial.params_dict(),
            "prep": prep, "split": split, "duration_s": trial.duration_s,
            "metrics": {"cross_validation": cross_validation} if trial.score is not None else {},
            "details": {"tuning": {"trial": trial.number, "outcome": trial.state.value, "note": trial.note,
                                   "mode": request.mode.value, "winner": trial.number == result.best.number}},
            "versions": versions,
        })
    return runs
