"""Studio installed without its neural-network part: the network is offered but explained, never a traceback."""

from __future__ import annotations

import pandas as pd
import pytest

from studio.core.common.errors import StudioError
from studio.core.data.profile import profile_frame
from studio.core.data.tabular import LoadedTable
from studio.core.data.target import Task
from studio.core.models.registry import get_model
from studio.core.project import ModelConfig, Project, Step
from studio.core.search.policy import auto_families

from .helpers import make_request, run_training


def test_the_network_says_pytorch_is_missing(without_torch: None, penguins: pd.DataFrame) -> None:
    spec = get_model("neural_network")
    assert "PyTorch, which is not installed" in (spec.missing_requirement() or "")
    with pytest.raises(StudioError, match="PyTorch, which is not installed"):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, "neural_network"))
    # Every other model still trains.
    assert get_model("random_forest").missing_requirement() is None


def test_the_model_step_explains_it_and_the_automatic_search_leaves_it_out(without_torch: None,
                                                                           penguins_table: LoadedTable) -> None:
    assert "neural_network" not in auto_families(Task.CLASSIFICATION, 300, 8)
    project = Project()
    project.set_table(penguins_table)
    project.set_profiles(profile_frame(penguins_table.frame))
    project.set_target("species")
    assert project.problems(Step.MODEL) == []
    project.set_model(ModelConfig("neural_network"))
    assert project.problems(Step.MODEL) == [get_model("neural_network").missing_requirement()]


def test_with_torch_installed_nothing_is_missing() -> None:
    pytest.importorskip("torch")
    assert get_model("neural_network").missing_requirement() is None
    assert "neural_network" in auto_families(Task.CLASSIFICATION, 300, 8)
