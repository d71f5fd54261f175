"""Model files saved before the core was organised by stage still open and predict the same.

Their pickles name modules that moved (``studio.core.prep_build``, ``studio.core.prep_values``,
``studio.core.models.torch_models``); the alias modules at those paths keep them reachable.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.core.data.tabular import load_table
from studio.core.serve.predict import PREDICTION_COLUMN, predict_frame
from studio.core.store.model_file import load_model

LEGACY = Path(__file__).parent / "data" / "legacy_models"
FILES = {
    "rf": "penguins_rows.csv",
    "gb": "penguins_rows.csv",
    "linreg": "penguins_rows.csv",
    "net": "penguins_rows.csv",
    "ens": "penguins_rows.csv",
    "customers_logreg": "customers_rows.csv",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_an_old_model_file_opens_and_predicts_as_it_did(name: str) -> None:
    if name == "net":
        pytest.importorskip("torch")
    bundle = load_model(LEGACY / f"{name}.studio.joblib", trust=True)
    rows = load_table(LEGACY / FILES[name]).frame
    expected = pd.read_csv(LEGACY / f"{name}.predictions.csv")

    predicted = predict_frame(bundle, rows)

    assert len(predicted) == len(expected) == 40
    if bundle.classes:
        assert list(predicted[PREDICTION_COLUMN].astype(str)) == list(expected["prediction"].astype(str))
        # Studio's own columns are named "probability of <class> (Studio)" now; the files saved then keep the old
        # names, and attrs["probability_columns"] maps today's names to their classes.
        named = {label: column for column, label in predicted.attrs["probability_columns"].items()}
        assert sorted(named) == sorted(str(label) for label in bundle.classes)
        for label in bundle.classes:
            np.testing.assert_allclose(predicted[named[str(label)]], expected[f"probability_{label}"], atol=1e-6)
    else:
        np.testing.assert_allclose(predicted[PREDICTION_COLUMN].astype(float), expected["prediction"], rtol=1e-6)


@pytest.mark.parametrize(("old", "new", "name"), [
    ("studio.core.prep_build", "studio.core.prep.build", "RawInputs"),
    ("studio.core.prep_values", "studio.core.prep.values", "frame_to_numbers"),
    ("studio.core.prep_values", "studio.core.prep.values", "frame_to_date_parts"),
    ("studio.core.models.torch_models", "studio.core.models.torch.estimators", "NetworkClassifier"),
    ("studio.core.prep", "studio.core.prep.values", "frame_to_numbers"),
])
def test_old_module_paths_lead_to_the_moved_pieces(old: str, new: str, name: str) -> None:
    if "torch" in new:
        pytest.importorskip("torch")
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


def test_an_old_path_does_not_invent_names() -> None:
    with pytest.raises(AttributeError):
        importlib.import_module("studio.core.prep_build").no_such_piece  # noqa: B018
