""""Let Studio choose": the default model for tables, a quick choice among a few strong families.

Not the full search: each candidate is fitted once at its defaults and scored on the validation rows (or a few
folds of the training rows when there are none), and the best is trained as if the person had picked it. Which
families: gradient boosting, a random forest and a linear model, because on tables one of them is nearly always
the best or close to it (they are the first three the automatic search ranks), and they fail in different ways:
boosting on small noisy tables, the forest on wide sparse ones, the linear model on interactions.
"""

from __future__ import annotations

from typing import Any

from studio.core.data.target import Task
from studio.core.models.pipeline_onnx import pipeline_onnx_job
from studio.core.models.spec import ModelSpec, register, registered

CHOICE_KEY = "studio_choice"
CANDIDATES = ((Task.CLASSIFICATION, ("gradient_boosting", "random_forest", "logistic_regression")),
              (Task.REGRESSION, ("gradient_boosting", "random_forest", "linear_regression")))


def _first_candidate(task: Task, params: dict[str, Any]) -> Any:
    # Training replaces this model by the family it chooses; anything that builds it directly (a learning curve
    # of an old run, say) gets the first candidate at its defaults.
    return registered(dict(CANDIDATES)[task][0]).make_estimator(task, {})


SPEC = register(ModelSpec(
    key=CHOICE_KEY,
    label="Let Studio choose",
    description="Studio tries gradient boosting, a random forest and a linear model on your rows, each with "
    "settings that suit most tables, and keeps the one that predicts the validation rows best. It takes "
    "seconds, not the minutes of a full search, and the result names the model it chose and why.",
    tasks=(Task.CLASSIFICATION, Task.REGRESSION),
    params=(),
    build=_first_candidate,
    onnx_export=pipeline_onnx_job,
    choices=CANDIDATES,
    short_name="the chosen model",
))
