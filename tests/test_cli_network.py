"""`studio train --model neural_network`, with the ONNX export, and `studio predict` with the network's file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studio.cli import run_cli
from studio.core.models.pipeline_onnx import onnx_feeds
from studio.core.store.model_file import load_model
from studio.resources import sample_dataset

pytest.importorskip("torch")
PENGUINS = sample_dataset()


def test_train_a_network_export_onnx_and_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime")
    model, onnx_file, predictions = tmp_path / "net.studio.joblib", tmp_path / "net.onnx", tmp_path / "p.csv"
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "neural_network", "--param",
                    "epochs=20", "hidden_layers=32,16", "--out", str(model), "--onnx", str(onnx_file)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Epoch 20 of 20: train loss" in captured.err and "Finished training:" in captured.err
    assert f"Exported the network to {onnx_file}" in captured.err
    metrics = json.loads(captured.out.strip().splitlines()[-1])  # stdout still ends with the metrics
    assert metrics["accuracy"] > 0.8
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    kinds = json.loads(session.get_modelmeta().custom_metadata_map["inputs"])
    assert [i.name for i in session.get_inputs()] == list(kinds)  # one input per raw column

    assert run_cli(["predict", str(model), str(PENGUINS), "--out", str(predictions)]) == 0
    predicted = pd.read_csv(predictions)
    assert set(predicted.iloc[:, 0]) <= {"Adelie", "Chinstrap", "Gentoo"}
    probabilities = predicted.filter(like="probability of")
    assert probabilities.shape[1] == 3 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_onnx_of_a_distance_weighted_knn_agrees_with_studio(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """k-nearest neighbours with distance weights (Studio's default) once exported probabilities off by 0.4."""
    ort = pytest.importorskip("onnxruntime")
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "knn", "--out",
                    str(tmp_path / "k.studio"), "--onnx", str(tmp_path / "k.onnx")])
    assert code == 0, capsys.readouterr().err
    session = ort.InferenceSession(str(tmp_path / "k.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert float(meta["check_largest_difference"]) < 1e-4 and meta["check_labels_differing"] == "0"
    frame = pd.read_csv(PENGUINS)
    labels, probabilities = session.run(None, onnx_feeds(frame, json.loads(meta["inputs"])))
    bundle = load_model(tmp_path / "k.studio")
    np.testing.assert_allclose(probabilities, bundle.pipeline.predict_proba(frame), atol=1e-4)
    assert list(np.ravel(labels)) == list(bundle.pipeline.predict(frame))


def test_bad_layer_sizes_are_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", str(PENGUINS), "--target", "species", "--model", "neural_network", "--param",
                    "hidden_layers=64,big", "--out", str(tmp_path / "n.joblib")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'big' is not one" in err
