"""The table fingerprint kept with each run: computed once per table, never reused for a different one."""

from __future__ import annotations

import gc
from typing import Any

import pandas as pd
import pytest

from studio.core.data.target import Task
from studio.core.evaluate import result_details
from studio.core.evaluate.result_details import data_fingerprint
from tests.core.helpers import make_request, run_training


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the frames pandas is asked to hash, in order."""
    calls: list[int] = []
    real_hash = pd.util.hash_pandas_object

    def counting_hash(obj: Any, *args: Any, **kwargs: Any) -> pd.Series:
        calls.append(id(obj))
        return real_hash(obj, *args, **kwargs)

    monkeypatch.setattr(pd.util, "hash_pandas_object", counting_hash)
    return calls


def test_the_same_frame_is_hashed_once(penguins: pd.DataFrame, hashed: list[int]) -> None:
    first = data_fingerprint(penguins)
    assert data_fingerprint(penguins) == first
    assert data_fingerprint(penguins) == first
    assert hashed == [id(penguins)]


def test_an_equal_copy_gets_the_same_fingerprint_and_a_changed_one_another(penguins: pd.DataFrame,
                                                                           hashed: list[int]) -> None:
    original = data_fingerprint(penguins)
    copy = penguins.copy()
    assert data_fingerprint(copy) == original
    changed = penguins.copy()
    changed.iloc[0, changed.columns.get_loc("bill_length_mm")] = 999.0
    assert data_fingerprint(changed) != original
    renamed = penguins.rename(columns={"species": "kind"})
    assert data_fingerprint(renamed) != original
    assert len(hashed) == 4  # each distinct frame once


def test_a_frame_reshaped_in_place_is_hashed_again(penguins: pd.DataFrame, hashed: list[int]) -> None:
    before = data_fingerprint(penguins)
    penguins["extra"] = 1.0
    with_column = data_fingerprint(penguins)
    assert with_column != before
    penguins.loc[len(penguins) + 1] = penguins.iloc[0]
    assert data_fingerprint(penguins) not in (before, with_column)
    assert len(hashed) == 3


def test_the_fingerprint_is_forgotten_with_its_frame(penguins: pd.DataFrame) -> None:
    frame = penguins.copy()
    key = id(frame)
    data_fingerprint(frame)
    assert key in result_details._fingerprints
    del frame
    gc.collect()
    assert key not in result_details._fingerprints


def test_runs_of_the_same_table_hash_it_once(penguins: pd.DataFrame, hashed: list[int]) -> None:
    fingerprints = []
    for model in ("logistic_regression", "random_forest"):
        _, result = run_training(make_request(penguins, "species", Task.CLASSIFICATION, model))
        assert result.details is not None
        fingerprints.append(result.details.data_fingerprint)
    assert fingerprints[0] == fingerprints[1] == data_fingerprint(penguins.copy())
    assert hashed.count(id(penguins)) == 1
