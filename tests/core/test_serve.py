"""The model as a web service (studio.core.serve.http): it answers exactly like predict_frame, refuses rows it
cannot use with the row and column named, and `studio serve` says in one line when its port is taken."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.cli import EXIT_USER_ERROR, run_cli
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.serve.predict import predict_frame
from studio.core.store.model_file import ModelBundle, load_model, metadata_for, save_model
from studio.resources import sample_dataset

from .helpers import make_request, run_training

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_table(sample_dataset()).frame


def saved_bundle(folder: Path, frame: pd.DataFrame, target: str, task: Task, key: str) -> ModelBundle:
    """Trained, saved and opened again, as `studio serve` opens it."""
    _, result = run_training(make_request(frame, target, task, key))
    return load_model(save_model(folder / f"{target}.studio", result.pipeline, metadata_for(result)))


@pytest.fixture(scope="module")
def species(tmp_path_factory: pytest.TempPathFactory, penguins: pd.DataFrame) -> ModelBundle:
    return saved_bundle(tmp_path_factory.mktemp("serve"), penguins, "species", Task.CLASSIFICATION, "random_forest")


def client_for(bundle: ModelBundle) -> Any:
    from studio.core.serve.http import create_app

    with warnings.catch_warnings():  # Starlette 1.x suggests httpx2 for its test client; httpx works the same
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(bundle))


@pytest.fixture(scope="module")
def client(species: ModelBundle) -> Any:
    return client_for(species)


def as_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a program would send them: JSON objects, gaps as null."""
    return json.loads(frame.to_json(orient="records"))


def inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["species"])


def test_answers_exactly_like_predict_frame(client: Any, species: ModelBundle, penguins: pd.DataFrame) -> None:
    rows = inputs(penguins)  # every sample row, the ones with gaps included
    answer = client.post("/predict", json={"rows": as_rows(rows)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = predict_frame(species, rows)
    classes = [str(c) for c in species.pipeline.classes_]
    assert body["predictions"] == expected[expected.attrs["prediction_column"]].tolist()
    assert body["classes"] == classes == ["Adelie", "Chinstrap", "Gentoo"]
    probabilities = expected[list(expected.attrs["probability_columns"])].to_numpy()
    assert np.array_equal(np.array(body["probabilities"]), probabilities)
    assert body["notes"] == []


def test_schema_and_health(client: Any) -> None:
    schema = client.get("/schema").json()
    assert (schema["task"], schema["target"], schema["model"]) == ("classification", "species", "Random forest")
    assert schema["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    columns = {c["name"]: c for c in schema["columns"]}
    assert set(columns) == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex",
                            "year"}
    assert columns["island"] | {"required": True} == {"name": "island", "kind": "categorical",
                                                       "treatment": "categorical", "type": "text", "required": True}
    # A column with gaps in training may be left out; one without may not (predict.schema_problems' rule).
    assert columns["bill_length_mm"]["type"] == "number" and not columns["bill_length_mm"]["required"]
    assert columns["island"]["required"] and columns["year"]["required"]
    assert schema["max_rows"] == 10_000
    assert client.get("/health").json() == {"status": "ok", "model": "Random forest"}
    docs = client.get("/openapi.json").json()
    assert "/predict" in docs["paths"] and client.get("/docs").status_code == 200


def test_a_missing_column_is_named(client: Any, penguins: pd.DataFrame) -> None:
    rows = as_rows(inputs(penguins).head(2))
    del rows[1]["island"]
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 422
    assert "Row 2" in answer.json()["detail"] and "'island'" in answer.json()["detail"]
    assert [(e["row"], e["column"]) for e in answer.json()["errors"]] == [(2, "island")]
    # A column that had gaps in training may be absent from every row: the model fills it, and says so.
    answer = client.post("/predict", json={"rows": as_rows(inputs(penguins).drop(columns="sex").head(3))})
    assert answer.status_code == 200
    assert any("'sex'" in note for note in answer.json()["notes"])


def test_a_value_of_the_wrong_type_is_named(client: Any, penguins: pd.DataFrame) -> None:
    rows = as_rows(inputs(penguins).head(3))
    rows[2]["bill_length_mm"] = "abc"
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "Row 3" in detail and "'bill_length_mm'" in detail and "number" in detail and '"abc"' in detail


def test_an_unused_field_is_ignored_with_a_note(client: Any, penguins: pd.DataFrame) -> None:
    rows = [dict(row, colour="blue") for row in as_rows(inputs(penguins).head(2))]
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200
    assert len(answer.json()["predictions"]) == 2
    assert any("'colour'" in note for note in answer.json()["notes"])


def test_too_many_rows_are_refused_with_the_limit(client: Any, penguins: pd.DataFrame) -> None:
    from studio.core.serve.http import MAX_ROWS

    row = as_rows(inputs(penguins).head(1))[0]
    answer = client.post("/predict", json={"rows": [row] * (MAX_ROWS + 1)})
    assert answer.status_code == 413
    assert "10,000" in answer.json()["detail"]
    assert client.post("/predict", json={"rows": []}).status_code == 422


def test_a_regression_model_answers_numbers(tmp_path: Path, penguins: pd.DataFrame) -> None:
    frame = penguins.dropna(subset=["body_mass_g"])
    bundle = saved_bundle(tmp_path, frame, "body_mass_g", Task.REGRESSION, "linear_regression")
    rows = frame.drop(columns="body_mass_g").head(5)
    body = client_for(bundle).post("/predict", json={"rows": as_rows(rows)}).json()
    assert body["predictions"] == predict_frame(bundle, rows)["prediction (Studio)"].tolist()
    assert all(isinstance(value, float) for value in body["predictions"])
    assert "probabilities" not in body and "classes" not in body


def test_serve_says_in_one_line_that_the_port_is_taken(species: ModelBundle,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = run_cli(["serve", species.path, "--port", str(port)])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert err.count("\n") == 1 and err.startswith("error: ") and f"Port {port}" in err and "--port" in err


def test_the_socket_answers_without_waiting_for_acknowledgements() -> None:
    """asyncio turns Nagle's algorithm off only on a socket that says it is TCP; otherwise every answer waited for
    the client's delayed acknowledgement, about 40 ms a request."""
    from studio.core.serve.http import bind_socket

    with bind_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP


def test_the_rest_of_studio_loads_without_fastapi() -> None:
    code = ("import sys, studio.cli, studio.core.project, studio.core.serve.predict\n"
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("target", "task", "key"), [("species", Task.CLASSIFICATION, "random_forest"),
                                                     ("body_mass_g", Task.REGRESSION, "gradient_boosting")])
def test_a_table_predicted_in_pieces_gets_the_answers_it_gets_whole(
        tmp_path: Path, penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, target: str, task: Task,
        key: str) -> None:
    from studio.core.serve import predict

    bundle = saved_bundle(tmp_path, penguins, target, task, key)
    rows = penguins.dropna(subset=[target])
    whole = predict_frame(bundle, rows)
    monkeypatch.setattr(predict, "PREDICT_CHUNK_ROWS", 7)  # 344 rows in 50 pieces, the last one of 1
    pieces = predict_frame(bundle, rows)

    pd.testing.assert_frame_equal(pieces, whole)
    assert pieces.attrs == whole.attrs
