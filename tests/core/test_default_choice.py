""""Let Studio choose", the default for tables: a quick choice among a few families, scored on held-out rows,
trained like a picked model and said in words; the random forest's size-aware leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from studio.core.data.kinds import DataKind
from studio.core.data.target import Task
from studio.core.models.choice_spec import CANDIDATES, CHOICE_KEY
from studio.core.models.registry import default_model_key, get_model
from studio.core.models.sklearn_models import FOREST_LEAVES, forest_leaf_share
from studio.core.search.policy import auto_families
from studio.core.train.splits import explicit_split

from .helpers import make_request, run_training


def test_tables_default_to_the_choice_and_pictures_do_not() -> None:
    assert default_model_key(Task.CLASSIFICATION) == CHOICE_KEY
    assert default_model_key(Task.REGRESSION) == CHOICE_KEY
    assert default_model_key(Task.CLASSIFICATION, DataKind.IMAGES) != CHOICE_KEY
    assert CHOICE_KEY not in auto_families(Task.CLASSIFICATION, 1_000, 10)  # the search tries the families


def test_the_choice_trains_the_best_candidate_and_says_why(penguins: pd.DataFrame) -> None:
    items, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, CHOICE_KEY))
    candidates = dict(CANDIDATES)[Task.CLASSIFICATION]
    assert result.model_key in candidates
    assert type(result.pipeline[-1]).__name__ != "FixedThresholdClassifier"  # three classes: no threshold
    note = result.choice_note
    assert "validation rows" in note and f"chose {get_model(result.model_key).label.lower()}" in note
    for key in candidates:
        assert get_model(key).label.lower() in note
    assert any(item.stage == "Choosing a model" for item in items)
    assert any(item.stage == "Chose a model" and item.message == note for item in items)
    assert result.test.get("accuracy") > 0.9


def test_without_validation_rows_small_tables_are_chosen_on_folds() -> None:
    frame = load_diabetes(as_frame=True).frame
    rows = len(frame)
    split = explicit_split(list(range(0, rows - 100)), list(range(rows - 100, rows)), rows)
    _, result = run_training(make_request(frame, "target", Task.REGRESSION, CHOICE_KEY, fixed_split=split))
    assert result.model_key in dict(CANDIDATES)[Task.REGRESSION]
    assert "3 folds of the training rows" in result.choice_note
    assert "RMSE" in result.choice_note or "error" in result.choice_note.lower()


def test_settings_belong_to_a_model_so_the_choice_has_none(penguins: pd.DataFrame) -> None:
    from studio.core.common.errors import StudioError

    with pytest.raises(StudioError, match="no setting called 'n_estimators'"):
        run_training(make_request(penguins, "species", Task.CLASSIFICATION, CHOICE_KEY, {"n_estimators": 5}))


def test_the_forest_leaves_grow_with_the_table_so_its_file_stays_small() -> None:
    forest = get_model("random_forest").make_estimator(Task.REGRESSION, {})
    share = forest.min_samples_leaf
    assert share == pytest.approx(forest_leaf_share(100))
    # Small tables keep one row per leaf (today's default); 38,000 rows get a few.
    assert int(np.ceil(share * 5_000)) == 1 and int(np.ceil(share * 38_000)) == 4
    # However many trees, the leaves in all stay near the budget.
    rows = 200_000
    for trees in (50, 100, 400):
        leaf = np.ceil(forest_leaf_share(trees) * rows)
        assert trees * rows * 0.632 / leaf <= FOREST_LEAVES * 1.01
    # A number typed by the person wins.
    assert get_model("random_forest").make_estimator(Task.REGRESSION, {"min_samples_leaf": 3}).min_samples_leaf == 3
