"""The whole pipeline (preparation and model) as ONNX: every family answers like Studio from raw columns, what
cannot be written is refused in words, and a file that answers differently is never left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.models import pipeline_onnx
from studio.core.models.pipeline_onnx import (
    PROBABILITY_TOLERANCE,
    RELATIVE_TOLERANCE,
    export_pipeline_onnx,
    onnx_feeds,
)
from studio.core.models.registry import get_model
from studio.core.store.model_file import metadata_for

from .helpers import make_request, run_training

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
onnx = pytest.importorskip("onnx")

CLASSIFIERS = ["logistic_regression", "decision_tree", "random_forest", "gradient_boosting", "knn", "svm",
               "naive_bayes", "neural_network", "ensemble"]
REGRESSORS = ["linear_regression", "decision_tree", "random_forest", "gradient_boosting", "knn", "svm",
              "neural_network", "ensemble"]
CASES = [(key, Task.CLASSIFICATION, "species") for key in CLASSIFIERS] + \
    [(key, Task.REGRESSION, "body_mass_g") for key in REGRESSORS]
QUICK = {"neural_network": {"epochs": 15}}


def _train(frame: pd.DataFrame, target: str, task: Task, key: str) -> Any:
    if key == "neural_network":
        pytest.importorskip("torch")
    return run_training(make_request(frame, target, task, key, QUICK.get(key)))[1]


@pytest.mark.parametrize(("key", "task", "target"), CASES, ids=[f"{k}-{t.value}" for k, t, _ in CASES])
def test_every_family_exports_and_answers_like_studio_from_raw_columns(
        tmp_path: Path, penguins: pd.DataFrame, key: str, task: Task, target: str) -> None:
    result = _train(penguins, target, task, key)
    rows = result.rows.x_held
    path = tmp_path / "model.onnx"

    report = export_pipeline_onnx(result.pipeline, metadata_for(result), path, rows)

    assert path.is_file() and report.rows_checked == len(rows) and report.labels_differing == 0
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    used = [c for c, _kind, treatment in result.feature_columns if treatment != "exclude"]
    assert list(inputs) == used  # one input per raw column, in the table's order
    assert inputs["island"].type == "tensor(string)" and inputs["bill_length_mm"].type == "tensor(double)"
    answers = session.run(None, onnx_feeds(rows, {n: "string" if i.type == "tensor(string)" else "double"
                                                  for n, i in inputs.items()}))
    if task is Task.CLASSIFICATION:
        assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
        difference = np.abs(answers[1] - result.pipeline.predict_proba(rows)).max()
        assert difference < PROBABILITY_TOLERANCE
        assert list(answers[0]) == [str(v) for v in result.pipeline.predict(rows)]
    else:
        expected = result.pipeline.predict(rows)
        difference = (np.abs(answers[0] - expected) / np.abs(expected)).max()
        assert difference < RELATIVE_TOLERANCE
    assert report.largest_difference == pytest.approx(difference, abs=1e-9)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["check_rows"] == str(len(rows)) and props["check_labels_differing"] == "0"
    assert float(props["check_largest_difference"]) == pytest.approx(report.largest_difference)


def test_the_job_is_what_every_family_offers(tmp_path: Path, penguins: pd.DataFrame) -> None:
    result = _train(penguins, "species", Task.CLASSIFICATION, "random_forest")
    job = get_model("random_forest").onnx_export
    assert job is not None
    generator = job(result.pipeline, tmp_path / "f.onnx", lambda: False, check_rows=result.rows.x_held)
    with pytest.raises(StopIteration) as finished:
        while True:
            next(generator)
    assert finished.value.value == tmp_path / "f.onnx" and (tmp_path / "f.onnx").is_file()
    assert "largest difference" in pipeline_onnx.describe_check(tmp_path / "f.onnx")


def test_a_date_column_is_given_as_seconds_since_1970_and_its_parts_are_computed_inside(
        tmp_path: Path, penguins: pd.DataFrame) -> None:
    frame = penguins.assign(signup_date=pd.date_range("2020-01-01", periods=len(penguins), freq="D")
                            .strftime("%Y-%m-%d"))
    result = _train(frame, "species", Task.CLASSIFICATION, "logistic_regression")
    assert ("signup_date", "date", "date") in [tuple(c) for c in result.feature_columns]
    report = export_pipeline_onnx(result.pipeline, None, tmp_path / "d.onnx", result.rows.x_held)
    assert report.labels_differing == 0 and report.largest_difference <= 1e-4
    inputs = {i.name: i.type.tensor_type.elem_type for i in onnx.load(str(tmp_path / "d.onnx")).graph.input}
    assert inputs["signup_date"] == onnx.TensorProto.DOUBLE


def test_a_file_that_answers_differently_is_refused_by_the_check(tmp_path: Path, penguins: pd.DataFrame,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    result = _train(penguins, "body_mass_g", Task.REGRESSION, "linear_regression")
    real = pipeline_onnx._write_model

    def off_by_one_percent(graph: Any, *args: Any, **kwargs: Any) -> str:
        return graph.op("Mul", [real(graph, *args, **kwargs), graph.const(np.array([1.01]))])

    monkeypatch.setattr(pipeline_onnx, "_write_model", off_by_one_percent)
    with pytest.raises(StudioError, match=r"did not answer like Studio on \d+ rows \(largest difference 0\.01"):
        export_pipeline_onnx(result.pipeline, None, tmp_path / "bad.onnx", result.rows.x_held)
    assert not (tmp_path / "bad.onnx").exists()


def test_gaps_and_unknown_categories_follow_studio(tmp_path: Path, penguins: pd.DataFrame) -> None:
    result = _train(penguins, "species", Task.CLASSIFICATION, "logistic_regression")
    rows = result.rows.x_held.copy()
    rows.loc[rows.index[:5], "bill_length_mm"] = np.nan
    rows.loc[rows.index[5:10], "sex"] = np.nan
    rows.loc[rows.index[10:15], "island"] = "Atlantis"
    report = export_pipeline_onnx(result.pipeline, None, tmp_path / "g.onnx", rows)
    assert report.labels_differing == 0 and report.largest_difference < PROBABILITY_TOLERANCE


def test_studio_train_exports_the_default_model_to_onnx(tmp_path: Path, penguins_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import run_cli

    model, onnx_file = tmp_path / "m.studio", tmp_path / "m.onnx"
    code = run_cli(["train", str(penguins_path), "--target", "species", "--out", str(model), "--onnx",
                    str(onnx_file)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"to {onnx_file}" in captured.err
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    kinds = {i.name: "string" if i.type == "tensor(string)" else "double" for i in session.get_inputs()}
    label, probabilities = session.run(None, onnx_feeds(pd.read_csv(penguins_path).head(20), kinds))
    assert set(label) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
