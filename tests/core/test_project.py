"""The Project: change events, what blocks each wizard step, and when a result is out of date."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.tabular import LoadedTable
from studio.core.data.target import Task
from studio.core.prep.config import Treatment
from studio.core.project import WIZARD_STEPS, ModelConfig, Project, Step, problems
from studio.core.train.splits import SplitConfig

from .helpers import run_training


class Recorder:
    def __init__(self, project: Project) -> None:
        self.events: list[str] = []
        project.subscribe(self.on_change)

    def on_change(self, what: str) -> None:
        self.events.append(what)

    def take(self) -> list[str]:
        events, self.events = self.events, []
        return events


def loaded(table: LoadedTable, target: str | None = None) -> Project:
    project = Project()
    project.set_table(table)
    project.set_profiles(profile_frame(table.frame))
    if target:
        project.set_target(target)
    return project


def test_events_name_what_changed(penguins_table: LoadedTable) -> None:
    project = Project()
    recorder = Recorder(project)

    project.set_table(penguins_table)
    assert recorder.take() == ["table"]
    project.set_profiles(profile_frame(penguins_table.frame))
    assert recorder.take() == ["profiles", "prep"]
    assert project.prep.get("species").treatment is Treatment.CATEGORICAL

    project.set_target("body_mass_g")
    assert recorder.take() == ["target"]
    assert project.task is Task.REGRESSION
    project.set_target("body_mass_g")
    assert recorder.take() == [], "setting the same target again is not a change"

    project.set_model(ModelConfig("linear_regression"))
    assert recorder.take() == ["model"]
    # Linear regression cannot classify, so switching the task also resets the model.
    project.set_task(Task.CLASSIFICATION)
    assert recorder.take() == ["model", "target"]
    assert project.model == ModelConfig()

    project.set_prep(project.prep.with_treatment("year", Treatment.EXCLUDE))
    project.set_split(SplitConfig(seed=1))
    project.set_result(None)
    project.set_exported("/tmp/model.joblib")
    assert recorder.take() == ["prep", "split", "result", "export"]


def test_unsubscribe(penguins_table: LoadedTable) -> None:
    project = Project()
    recorder = Recorder(project)
    project.unsubscribe(recorder.on_change)
    project.unsubscribe(recorder.on_change)  # twice is harmless
    project.set_table(penguins_table)
    assert recorder.take() == []


def test_new_table_clears_earlier_choices(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    project.set_table(penguins_table)
    assert project.target is None and project.task is None and project.profiles == ()
    assert project.target_summary is None


def test_happy_path_has_no_problems_until_training(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    for step in (Step.DATA, Step.PREPARE, Step.SPLIT, Step.MODEL):
        assert project.problems(step) == [], step
    assert project.problems(Step.TRAIN) == ["Train a model to see its results."]
    assert project.problems(Step.RESULTS) == ["Train a model to see its results."]
    assert project.problems(Step.PREDICT) == []
    assert project.task_choices() == (Task.CLASSIFICATION,)


def test_without_a_table_every_step_says_open_one() -> None:
    project = Project()
    for step in WIZARD_STEPS:
        assert problems(project, step) == ["Open a table to start (or try the sample dataset)."]


def test_missing_target_blocks_data_and_every_later_step(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table)
    for step in WIZARD_STEPS:
        assert problems(project, step) == ["Pick the column you want to predict."], step


def test_unusable_target_is_explained(penguins_table: LoadedTable) -> None:
    frame = penguins_table.frame.assign(empty=np.nan, one_class="x")
    table = LoadedTable(frame, penguins_table.path, penguins_table.encoding, penguins_table.delimiter)
    project = loaded(table, "empty")
    assert "Every value of 'empty' is missing" in project.problems(Step.DATA)[0]
    project.set_target("one_class")
    assert "single class" in project.problems(Step.MODEL)[0]


def test_prepare_split_and_model_problems(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "body_mass_g")
    prep = project.prep
    for column in prep.features("body_mass_g"):
        prep = prep.with_treatment(column.name, Treatment.EXCLUDE)
    project.set_prep(prep)
    assert project.problems(Step.PREPARE) == ["Every column is left out; put at least one back to learn from."]

    project = loaded(penguins_table, "body_mass_g")
    project.set_split(SplitConfig(validation=0.5, test=0.4))
    assert project.problems(Step.SPLIT) == ["Keep at least 30% of the rows for training."]
    assert project.problems(Step.MODEL) == project.problems(Step.SPLIT)

    project = loaded(penguins_table, "species")
    project.set_model(ModelConfig("linear_regression"))
    assert project.problems(Step.MODEL) == ["Linear regression cannot do classification; pick another."]


def test_too_few_rows_is_a_split_problem(penguins_table: LoadedTable) -> None:
    small = LoadedTable(penguins_table.frame.head(12), "small.csv", "utf-8", ",")
    project = loaded(small, "bill_length_mm")
    assert "only 11 usable rows" in project.problems(Step.SPLIT)[0]  # row 3 has no bill length


@pytest.fixture
def trained_project(penguins_table: LoadedTable) -> Project:
    project = loaded(penguins_table, "species")
    project.set_model(ModelConfig("random_forest").with_param("n_estimators", 10))
    _, result = run_training(project.training_request())
    project.set_result(result)
    return project


def test_result_is_fresh_after_training(trained_project: Project) -> None:
    assert not trained_project.result_is_stale()
    assert trained_project.problems(Step.TRAIN) == []
    assert trained_project.problems(Step.RESULTS) == []


def test_result_is_stale_after_changing_the_model(trained_project: Project) -> None:
    trained_project.set_model(trained_project.model.with_param("n_estimators", 11))
    assert trained_project.result_is_stale()
    trained_project.set_model(trained_project.model.with_param("n_estimators", 10))
    assert not trained_project.result_is_stale(), "going back to the trained settings is fresh again"
    trained_project.set_model(ModelConfig("knn"))
    assert trained_project.result_is_stale()


def test_result_is_stale_after_changing_split_or_prep(trained_project: Project) -> None:
    trained_project.set_split(SplitConfig(seed=7))
    assert trained_project.result_is_stale()
    trained_project.set_split(SplitConfig())
    assert not trained_project.result_is_stale()
    trained_project.set_prep(trained_project.prep.with_treatment("year", Treatment.EXCLUDE))
    assert trained_project.result_is_stale()


def test_model_config_is_replaced_not_mutated() -> None:
    config = ModelConfig("random_forest")
    changed = config.with_param("n_estimators", 5).with_param("max_depth", 3)
    assert config.params == ()
    assert changed.params_dict() == {"n_estimators": 5, "max_depth": 3}
    assert changed.params == tuple(sorted(changed.params))
    with pytest.raises(AttributeError):
        config.key = "knn"  # type: ignore[misc]


def test_training_request_reflects_the_project(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    project.set_split(SplitConfig(seed=3))
    request = project.training_request()
    assert request.target == "species" and request.task is Task.CLASSIFICATION
    assert request.split.seed == 3
    assert request.source_path == penguins_table.path
    assert isinstance(request.frame, pd.DataFrame)


def test_a_new_target_replaces_a_model_that_cannot_do_its_task(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    project.set_model(ModelConfig("naive_bayes"))
    project.set_target("body_mass_g")
    assert project.task is Task.REGRESSION
    assert project.model.key == "studio_choice"  # the default, which does both tasks
    assert not project.problems(Step.MODEL)


def test_a_batch_notifies_once_per_change_after_all_are_applied(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    seen: list[tuple[str, str, int]] = []
    project.subscribe(lambda what: seen.append((what, project.model.key, project.split.seed)))

    with project.batch():
        project.set_model(ModelConfig("knn"))
        project.set_split(SplitConfig(seed=7))
        project.set_model(ModelConfig("svm"))
        assert seen == [], "nothing is announced while the batch is applied"

    # Each change is announced once, and every listener already sees the whole batch applied.
    assert seen == [("model", "svm", 7), ("split", "svm", 7)]


def test_nested_batches_announce_when_the_outer_one_ends(penguins_table: LoadedTable) -> None:
    project = loaded(penguins_table, "species")
    recorder = Recorder(project)
    with project.batch():
        with project.batch():
            project.set_split(SplitConfig(seed=3))
        assert recorder.take() == []
    assert recorder.take() == ["split"]


def test_the_project_holds_a_dataset_with_a_kind(penguins_table: LoadedTable) -> None:
    from studio.core.data.kinds import DataKind

    project = Project()
    assert project.dataset is None and project.table is None
    assert project.data_kind is DataKind.TABLE  # what Studio offers before anything is open
    project.set_dataset(penguins_table)
    assert project.dataset is penguins_table and project.table is penguins_table
    assert project.data_kind is DataKind.TABLE


def test_storing_a_run_goes_through_the_writer(trained_project: Project, tmp_path: Path) -> None:
    from studio.core.store.runs import RunStore

    queued: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []
    trained_project.run_store = RunStore(tmp_path / "runs.sqlite3")
    trained_project.store_writer = lambda work, done: queued.append((work, done))
    recorder = Recorder(trained_project)
    result = trained_project.result
    assert result is not None

    trained_project.set_result(result)
    trained_project.set_exported("/somewhere/model.studio.joblib")
    trained_project.record_explanation("learning_curve", {"points": [1, 2]})

    # Nothing touched the history yet: the writes wait for the writer, in order.
    assert trained_project.run_store.count() == 0 and trained_project.run_id is None
    assert recorder.take() == ["result", "export"]
    for work, done in queued:
        done(work())
    assert recorder.take() == ["runs"]
    run_id = trained_project.run_id
    assert run_id is not None
    stored = trained_project.run_store.get(run_id)
    assert stored.model_path == "/somewhere/model.studio.joblib"
    assert stored.explanations["learning_curve"] == {"points": [1, 2]}


def test_a_failed_store_write_is_a_problem_event_not_an_error(trained_project: Project) -> None:
    class LockedStore:
        damage_note = ""

        def add(self, run: object) -> int:
            raise sqlite3.OperationalError("database is locked")

    trained_project.run_store = LockedStore()  # type: ignore[assignment]
    recorder = Recorder(trained_project)
    result = trained_project.result
    assert result is not None

    trained_project.set_result(result)

    assert recorder.take() == ["result", "store_problem"]
    assert trained_project.result is result and trained_project.run_id is None
    assert trained_project.run_store_problem == ("This run could not be saved to the run history: database is "
                                                 "locked.")


def test_an_unexpected_failure_in_a_store_write_is_said_too(trained_project: Project) -> None:
    class BrokenStore:
        damage_note = ""

        def add(self, run: object) -> int:
            raise TypeError("Object of type Timestamp is not JSON serializable")

    trained_project.run_store = BrokenStore()  # type: ignore[assignment]
    recorder = Recorder(trained_project)
    result = trained_project.result
    assert result is not None
    trained_project.set_result(result)
    assert recorder.take() == ["result", "store_problem"]
    assert "TypeError: Object of type Timestamp" in trained_project.run_store_problem
