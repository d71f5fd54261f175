"""The model file: a zip of a manifest and the pipeline in skops' format, opened without running anything it holds.

Files of every model family, with every kind of preparation, need nothing outside the allow-list and predict the
same after a round trip. Pickle-era files open only with the person's trust; files changed, cut short, from a newer
Studio, or holding types Studio never writes are refused in words.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import ModelFileError
from studio.core.data.kinds import DataKind
from studio.core.data.profile import profile_frame
from studio.core.data.target import Task
from studio.core.models.registry import all_models, get_model
from studio.core.prep.config import Binning, Encoding, Missing, Outliers, PrepConfig, Scaling, Treatment, default_prep
from studio.core.serve.predict import predict_frame
from studio.core.store.model_file import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    PIPELINE_NAME,
    UntrustedModelFileError,
    load_model,
    metadata_for,
    save_model,
)
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, TrainResult
from studio.resources import sample_dataset

from .helpers import FAST_PARAMS, run_training

CUSTOMERS = sample_dataset().parent / "messy_customers.csv"


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    from studio.core.data.tabular import load_table

    return load_table(CUSTOMERS).frame


def rich_prep(frame: pd.DataFrame) -> PrepConfig:
    """Every kind of preparation Studio writes: robust scaling, bins, gap flags, clipped outliers, target and
    ordinal encoding, date parts, free text and a formula."""
    prep = default_prep(profile_frame(frame))
    first_category = True
    for column in prep.columns:
        if column.treatment is Treatment.NUMERIC:
            prep = prep.with_column(column.name, scaling=Scaling.ROBUST, binning=Binning.QUANTILE,
                                    missing=Missing.MEDIAN, missing_indicator=True, outliers=Outliers.IQR_CLIP)
        elif column.treatment is Treatment.CATEGORICAL:
            encoding = Encoding.TARGET if first_category else Encoding.ORDINAL
            prep = prep.with_column(column.name, encoding=encoding, missing_indicator=not first_category)
            first_category = False
        elif column.treatment is Treatment.DATE:
            prep = prep.with_column(column.name, date_parts=("year", "month", "weekday", "days"))
    return prep.with_treatment("feedback", Treatment.TEXT).with_derived("spend_per_year", "monthly_spend / (age + 1)")


def trained(frame: pd.DataFrame, target: str, task: Task, key: str, prep: PrepConfig) -> TrainResult:
    request = TrainRequest(frame, target, task, prep, SplitConfig(), key, dict(FAST_PARAMS.get(key, {})))
    return run_training(request)[1]


def assert_same_predictions(result: TrainResult, reopened: object, rows: pd.DataFrame) -> None:
    np.testing.assert_array_equal(result.pipeline.predict(rows), reopened.predict(rows))  # type: ignore[attr-defined]
    if hasattr(result.pipeline, "predict_proba"):
        np.testing.assert_array_equal(result.pipeline.predict_proba(rows),
                                      reopened.predict_proba(rows))  # type: ignore[attr-defined]


# The table families (picture models read files; their round trip is in tests/core/test_image_training.py).
CASES = [(task, spec.key) for task in (Task.CLASSIFICATION, Task.REGRESSION) for spec in all_models()
         if task in spec.tasks and spec.takes(DataKind.TABLE)]


@pytest.mark.parametrize(("task", "key"), CASES, ids=[f"{t.value}-{k}" for t, k in CASES])
def test_every_family_round_trips_safely_with_every_kind_of_preparation(
        task: Task, key: str, customers: pd.DataFrame, tmp_path: Path) -> None:
    if key == "neural_network":
        pytest.importorskip("torch")
    target = "churned" if task is Task.CLASSIFICATION else "visits_per_month"
    result = trained(customers, target, task, key, rich_prep(customers))
    path = save_model(tmp_path / "model.studio", result.pipeline, metadata_for(result))

    bundle = load_model(path)  # no trust asked: nothing in the file needs it

    # "Let Studio choose" saves the family it chose, as if it had been picked.
    chosen = get_model(key).candidates(task) or (key,)
    assert bundle.metadata["model"] in chosen and bundle.task is task
    assert_same_predictions(result, bundle.pipeline, customers.head(40))


def test_an_ensemble_round_trips_safely(customers: pd.DataFrame, tmp_path: Path) -> None:
    from studio.core.models.ensemble_spec import members_json

    members = members_json([("logistic_regression", {}, 2), ("knn", {}, 1), ("svm", {}, 1),
                            ("gradient_boosting", {"max_iter": 5}, 1)])
    request = TrainRequest(customers, "churned", Task.CLASSIFICATION, default_prep(profile_frame(customers)),
                           SplitConfig(), "ensemble", {"members": members})
    result = run_training(request)[1]
    bundle = load_model(save_model(tmp_path / "ensemble.studio", result.pipeline, metadata_for(result)))
    assert_same_predictions(result, bundle.pipeline, customers.head(40))


@pytest.fixture(scope="module")
def saved(customers: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = trained(customers, "churned", Task.CLASSIFICATION, "logistic_regression",
                     default_prep(profile_frame(customers)))
    return save_model(tmp_path_factory.mktemp("model") / "churn.studio", result.pipeline, metadata_for(result))


def test_the_file_is_one_zip_of_a_manifest_and_the_pipeline(saved: Path) -> None:
    with zipfile.ZipFile(saved) as archive:
        assert set(archive.namelist()) == {MANIFEST_NAME, PIPELINE_NAME}
        manifest = json.loads(archive.read(MANIFEST_NAME))
        stored = archive.read(PIPELINE_NAME)
    assert manifest["studio_model"] == FORMAT_VERSION
    assert manifest["pipeline"] == {"file": PIPELINE_NAME, "format": "skops",
                                    "sha256": hashlib.sha256(stored).hexdigest()}
    assert manifest["metadata"]["target"] == "churned"
    assert {"plan", "monthly_spend"} <= {c["name"] for c in manifest["metadata"]["input_columns"]}
    assert not list(saved.parent.glob("*tmp")), "the temporary file is gone"


def rewritten(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    """A copy of the model file with some of its parts replaced."""
    with zipfile.ZipFile(source) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts.update(change)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return target


def test_a_changed_pipeline_is_called_damaged(saved: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(saved) as archive:
        stored = bytearray(archive.read(PIPELINE_NAME))
    stored[len(stored) // 2] ^= 0xFF
    changed = rewritten(saved, tmp_path / "changed.studio", {PIPELINE_NAME: bytes(stored)})
    with pytest.raises(ModelFileError, match=r"changed\.studio is damaged: its content does not match its checksum"):
        load_model(changed)


def test_a_truncated_file_is_called_damaged(saved: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.studio"
    cut.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"cut\.studio (is damaged|is not a Studio model file)"):
        load_model(cut)


def test_a_file_from_a_newer_studio_says_so(saved: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    manifest["studio_model"] = FORMAT_VERSION + 1
    newer = rewritten(saved, tmp_path / "newer.studio", {MANIFEST_NAME: json.dumps(manifest).encode()})
    with pytest.raises(ModelFileError, match="made by a newer Studio; update Studio to open it"):
        load_model(newer)


class Stranger:
    """A type Studio never writes."""

    def __init__(self) -> None:
        self.value = 1


def test_a_skops_file_with_a_type_studio_never_writes_is_refused(saved: Path, tmp_path: Path) -> None:
    import skops.io as sio

    stored = sio.dumps({"model": Stranger()})
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    manifest["pipeline"]["sha256"] = hashlib.sha256(stored).hexdigest()  # a careful forger fixes the checksum
    forged = rewritten(saved, tmp_path / "forged.studio",
                       {PIPELINE_NAME: stored, MANIFEST_NAME: json.dumps(manifest).encode()})
    with pytest.raises(ModelFileError, match=r"holds things Studio never writes \(.*Stranger\).*not opened"):
        load_model(forged)


class WritesAFile:
    """Unpickling this runs code: it writes the marker file named in it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (self.marker, "ran"))


def test_a_malicious_pickle_is_not_opened_without_trust(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "shared.studio.joblib"
    joblib.dump({"studio_model": 1, "metadata": {}, "pipeline": WritesAFile(marker)}, evil)

    with pytest.raises(UntrustedModelFileError, match="older model format, which can run programs"):
        load_model(evil)
    assert not marker.exists(), "nothing in the file ran"


def test_a_plain_pickle_is_held_back_too(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"studio_model": 1}))
    with pytest.raises(UntrustedModelFileError):
        load_model(path)


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "is not a Studio model file"),
    (b"species,island\nAdelie,Dream\n", "is not a Studio model file"),
])
def test_other_files_are_not_models(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "thing.studio"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=expected):
        load_model(path)


def test_a_zip_of_something_else_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "photos.studio"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("cat.txt", "meow")
    with pytest.raises(ModelFileError, match="not a Studio model file"):
        load_model(path)


def test_predictions_from_a_reopened_file_match_the_app(saved: Path, customers: pd.DataFrame) -> None:
    bundle = load_model(saved)
    predicted = predict_frame(bundle, customers.head(20))
    assert len(predicted) == 20


# -- files changed by hand ------------------------------------------------------------------------------------------
def with_inner_arrays_changed(source: Path, target: Path, change: Callable[[np.ndarray], np.ndarray | None]) -> Path:
    """A copy of the model file with the arrays inside its pipeline changed and every checksum made right again,
    as a careful forger would."""
    import io

    with zipfile.ZipFile(source) as archive:
        stored = archive.read(PIPELINE_NAME)
        manifest = json.loads(archive.read(MANIFEST_NAME))
    with zipfile.ZipFile(io.BytesIO(stored)) as inner:
        parts = {name: inner.read(name) for name in inner.namelist()}
    for name, data in parts.items():
        if name.endswith(".npy"):
            changed = change(np.load(io.BytesIO(data), allow_pickle=False))
            if changed is not None:
                buffer = io.BytesIO()
                np.save(buffer, changed)
                parts[name] = buffer.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as inner_out:
        for name, data in parts.items():
            inner_out.writestr(name, data)
    stored = buffer.getvalue()
    manifest["pipeline"]["sha256"] = hashlib.sha256(stored).hexdigest()
    return rewritten(source, target, {PIPELINE_NAME: stored, MANIFEST_NAME: json.dumps(manifest).encode()})


def test_a_tree_pointing_outside_its_nodes_is_refused_before_it_predicts(customers: pd.DataFrame,
                                                                         tmp_path: Path) -> None:
    result = trained(customers, "churned", Task.CLASSIFICATION, "decision_tree", default_prep(profile_frame(customers)))
    path = save_model(tmp_path / "tree.studio", result.pipeline, metadata_for(result))

    def far_children(array: np.ndarray) -> np.ndarray | None:
        if not array.dtype.names or "left_child" not in array.dtype.names:
            return None
        changed = array.copy()
        changed["left_child"][0] = changed["right_child"][0] = 10**9
        return changed

    forged = with_inner_arrays_changed(path, tmp_path / "forged-tree.studio", far_children)
    with pytest.raises(ModelFileError, match="changed by hand: a decision tree points outside its own nodes"):
        load_model(forged)


def test_a_neighbour_search_pointing_outside_its_rows_is_refused(customers: pd.DataFrame, tmp_path: Path) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    result = trained(customers, "churned", Task.CLASSIFICATION, "knn", default_prep(profile_frame(customers)))
    result.pipeline.steps[-1] = ("model", KNeighborsClassifier(algorithm="kd_tree"))
    result.pipeline.fit(customers.drop(columns=["churned"]), customers["churned"].astype(str))
    path = save_model(tmp_path / "knn.studio", result.pipeline, metadata_for(result))
    rows = len(customers)

    def far_rows(array: np.ndarray) -> np.ndarray | None:
        if array.dtype.kind != "i" or array.ndim != 1 or len(array) != rows or array.max() != rows - 1:
            return None
        changed = array.copy()
        changed[0] = 10**9
        return changed

    forged = with_inner_arrays_changed(path, tmp_path / "forged-knn.studio", far_rows)
    with pytest.raises(ModelFileError, match="a neighbour search points outside its rows"):
        load_model(forged)


def test_a_pipeline_that_would_unpack_to_a_huge_size_is_refused(saved: Path, tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr("schema.json", b" " * (300 * 2**20))  # 300 MB of spaces pack into about 300 KB
    stored = buffer.getvalue()
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    manifest["pipeline"]["sha256"] = hashlib.sha256(stored).hexdigest()
    bomb = rewritten(saved, tmp_path / "bomb.studio",
                     {PIPELINE_NAME: stored, MANIFEST_NAME: json.dumps(manifest).encode()})
    with pytest.raises(ModelFileError, match="would unpack to far more than any model"):
        load_model(bomb)


@pytest.mark.parametrize("change", [
    {"task": "bogus"}, {"input_columns": "species"}, {"input_columns": ["island"]}, {"versions": "1.0"},
    {"metrics": [1, 2]}, {"metrics": {"test": [1]}}, {"classes": "Adelie"}, {"target": 3},
])
def test_a_description_not_in_studios_form_is_called_damaged(saved: Path, tmp_path: Path, change: dict) -> None:
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    manifest["metadata"].update(change)
    odd = rewritten(saved, tmp_path / "odd.studio", {MANIFEST_NAME: json.dumps(manifest).encode()})
    with pytest.raises(ModelFileError, match="damaged: its description is not in the form Studio writes"):
        load_model(odd)


@pytest.mark.parametrize("manifest", [b"[" * 100_000, b'{"studio_model": ' + b"9" * 5000 + b"}",
                                      b'{"studio_model": true}'])
def test_odd_manifests_are_sentences_not_tracebacks(saved: Path, tmp_path: Path, manifest: bytes) -> None:
    odd = rewritten(saved, tmp_path / "odd.studio", {MANIFEST_NAME: manifest})
    with pytest.raises(ModelFileError):
        load_model(odd)
