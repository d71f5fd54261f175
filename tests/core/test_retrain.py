"""Training a saved model again on new rows: same preparation, split and settings; the old and the new model scored
side by side on the same new test rows; bad new rows refused in words."""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import Cancelled, DataError
from studio.core.common.progress import Progress
from studio.core.data.target import Task
from studio.core.prep.config import PrepConfig
from studio.core.serve.retrain import RetrainResult, retrain_job
from studio.core.store.model_file import ModelBundle, load_model, metadata_for, save_model
from studio.core.store.runs import RunStore, config_from_plain
from studio.core.train.splits import SplitConfig, split_sizes
from studio.core.train.training import TrainResult

from .helpers import make_request, run_training

SENTENCE = re.compile(r"On (\d+) new test rows the new model's accuracy is \d+\.\d% against \d+\.\d% for the old "
                      r"one\.")


@pytest.fixture(scope="module")
def halves(penguins_table: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample as the rows a model was first trained on ("old") and rows that came later ("new")."""
    frame = penguins_table.frame
    old = frame.sample(frac=0.5, random_state=3)
    return old.reset_index(drop=True), frame.drop(old.index).reset_index(drop=True)


@pytest.fixture(scope="module")
def trained(halves: tuple[pd.DataFrame, pd.DataFrame]) -> TrainResult:
    split = SplitConfig(seed=11)
    return run_training(make_request(halves[0], "species", Task.CLASSIFICATION, "random_forest", split=split))[1]


@pytest.fixture(scope="module")
def bundle(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> ModelBundle:
    path = tmp_path_factory.mktemp("retrain") / "species.studio"
    return load_model(save_model(path, trained.pipeline, metadata_for(trained)))


def drive(job: Generator[Progress, None, RetrainResult]) -> tuple[list[Progress], RetrainResult]:
    items: list[Progress] = []
    while True:
        try:
            items.append(next(job))
        except StopIteration as finished:
            return items, finished.value


def test_the_model_file_keeps_its_preparation_and_split(bundle: ModelBundle, trained: TrainResult) -> None:
    assert config_from_plain(PrepConfig, bundle.metadata["prep"]) == trained.prep
    assert config_from_plain(SplitConfig, bundle.metadata["split"]) == SplitConfig(seed=11)


def test_retraining_on_new_rows_scores_both_models_on_the_same_new_test_rows(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    new = halves[1]
    items, retrained = drive(retrain_job(bundle, new, source_path="new.csv"))

    # The model's own split settings, seed included, on the new rows.
    assert retrained.result.split_sizes == split_sizes(len(new), SplitConfig(seed=11))
    assert retrained.result.split == SplitConfig(seed=11)
    assert retrained.result.model_key == "random_forest" and retrained.result.params["n_estimators"] == 20
    assert retrained.result.prep == config_from_plain(PrepConfig, bundle.metadata["prep"])
    test_rows = retrained.result.split_sizes[2]
    assert retrained.old_scores.rows == retrained.new_scores.rows == test_rows
    # Without old rows the new model's own test rows are the compared ones.
    assert retrained.new_scores.as_dict() == pytest.approx(retrained.result.test.as_dict())
    match = SENTENCE.fullmatch(retrained.sentence)
    assert match and int(match.group(1)) == test_rows, retrained.sentence
    assert retrained.old_scores.get("accuracy") > 0.8 and retrained.new_scores.get("accuracy") > 0.8
    assert retrained.notes == ()
    assert retrained.retrained_from == {"path": str(Path(bundle.path).resolve()),
                                        "created": bundle.metadata["created"]}
    plain = retrained.scores_plain()
    assert set(plain) == {"old", "new"} and plain["old"]["accuracy"] == retrained.old_scores.get("accuracy")
    fractions = [i.fraction for i in items if i.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(i.stage == "Comparing" for i in items)


def test_old_rows_join_training_and_the_comparison_stays_on_the_new_test_rows(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    old, new = halves
    _, alone = drive(retrain_job(bundle, new))
    _, both = drive(retrain_job(bundle, new, old))

    config = SplitConfig(seed=11)
    assert both.result.split_sizes == tuple(a + b for a, b in zip(split_sizes(len(new), config),
                                                                  split_sizes(len(old), config), strict=True))
    # The same new test rows for both runs: the old model's scores are identical.
    assert both.old_scores == alone.old_scores
    assert both.new_scores.rows == alone.new_scores.rows
    assert SENTENCE.fullmatch(both.sentence), both.sentence


def test_a_class_the_old_model_never_saw_is_noted_and_counts_as_wrong_for_it(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    new = halves[1].copy()
    new.loc[new["species"] == "Chinstrap", "species"] = "Macaroni"
    _, retrained = drive(retrain_job(bundle, new))

    assert "Macaroni" in retrained.result.classes
    note = next(n for n in retrained.notes if "never saw" in n)
    assert "'Macaroni'" in note and "counts those rows as wrong" in note
    # The old model cannot say "Macaroni", so it is wrong on every such test row.
    assert retrained.old_scores.get("accuracy") < retrained.new_scores.get("accuracy")


def test_a_column_that_held_numbers_and_now_holds_words_is_refused_in_words(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    new = halves[1].copy()
    new["bill_length_mm"] = np.where(new["bill_length_mm"] > 44, "long", "short")
    with pytest.raises(DataError) as caught:
        drive(retrain_job(bundle, new))
    message = str(caught.value)
    assert "'bill_length_mm' held numbers" in message and "the new rows hold words" in message
    assert re.search(r"such as '(long|short)'", message), message


def test_a_column_that_held_words_and_now_holds_numbers_is_refused_in_words(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    new = halves[1].copy()
    new["island"] = new["island"].map({"Biscoe": 1, "Dream": 2, "Torgersen": 3})
    with pytest.raises(DataError, match=r"'island' held words .* only numbers"):
        drive(retrain_job(bundle, new))


def test_new_rows_without_the_target_column_are_refused(bundle: ModelBundle,
                                                        halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(DataError, match=r"The new rows have no 'species' column, the column the model predicts"):
        drive(retrain_job(bundle, halves[1].drop(columns="species")))
    with pytest.raises(DataError, match=r"The old rows have no 'species' column"):
        drive(retrain_job(bundle, halves[1], halves[0].drop(columns="species")))


def test_too_few_new_rows_to_split_are_refused(bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(DataError, match=r"The new rows are too few to split .* only 9 usable rows"):
        drive(retrain_job(bundle, halves[1].head(9)))


def test_a_model_file_without_its_preparation_gets_the_defaults_and_says_so(
        bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    older = {k: v for k, v in bundle.metadata.items() if k not in ("prep", "split")}
    _, retrained = drive(retrain_job(replace(bundle, metadata=older), halves[1]))

    assert any("default preparation" in n for n in retrained.notes)
    assert any("default split" in n for n in retrained.notes)
    assert retrained.result.split == SplitConfig()
    used = {c.name for c in retrained.result.prep.features("species")}
    assert used == {c["name"] for c in bundle.input_columns if c["treatment"] != "exclude"}


def test_regression_compares_the_typical_error(penguins: pd.DataFrame, tmp_path: Path) -> None:
    old, new = penguins.iloc[::2].reset_index(drop=True), penguins.iloc[1::2].reset_index(drop=True)
    _, result = run_training(make_request(old, "body_mass_g", Task.REGRESSION, "linear_regression"))
    bundle = load_model(save_model(tmp_path / "mass.studio", result.pipeline, metadata_for(result)))
    _, retrained = drive(retrain_job(bundle, new))

    assert re.fullmatch(r"On \d+ new test rows the new model's mean absolute error is [\d,.]+ against [\d,.]+ for "
                        r"the old one \(lower is better\)\.", retrained.sentence), retrained.sentence
    assert retrained.old_scores.rows == retrained.new_scores.rows > 0


def test_the_new_run_links_to_the_old_model(bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame],
                                            tmp_path: Path) -> None:
    _, retrained = drive(retrain_job(bundle, halves[1]))
    store = RunStore(tmp_path / "runs.sqlite3")
    record = store.get(store.add(retrained.run("/models/new.studio")))

    assert record.details["retrained_from"] == retrained.retrained_from
    assert record.details["retrain_comparison"]["old"] == retrained.scores_plain()["old"]
    assert record.model_path == "/models/new.studio" and record.split["seed"] == 11


def test_stopping_cancels(bundle: ModelBundle, halves: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(Cancelled):
        drive(retrain_job(bundle, halves[1], should_stop=lambda: True))
