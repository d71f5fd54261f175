"""Serving throughput: Studio's web service (``studio.core.serve.http``, what `studio serve` runs) against a plain
FastAPI script serving the same scikit-learn pipeline from a joblib file, both measured in the same run.

Requests per second and the 99th-percentile latency, for single rows and for batches of 1,000 rows, over HTTP on
127.0.0.1 with uvicorn in a thread (the same uvicorn settings for both), one keep-alive client, the request bodies
encoded beforehand. The goal compares with the baseline as the issue states it: labels only. Studio's answer holds
more (the labels, the class probabilities, the classes and the notes about the rows, after checking each value
against the model's columns), so a second baseline endpoint returns labels and probabilities too, computed the way a
careful script would and as Studio does: ``predict_proba`` once, the label of highest probability from it. Its ratio
says how Studio's serving compares when both do the same prediction work.

The three endpoints take turns request by request with the same request bodies, so a busier moment of a shared
machine falls on all of them alike rather than on whichever ran during it.

No ``from __future__ import annotations``: FastAPI reads the baseline endpoint's annotations at run time.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.tabular import load_table
from studio.core.data.target import Task
from studio.core.prep.config import default_prep
from studio.core.store.model_file import load_model, metadata_for, save_model
from studio.core.train.splits import SplitConfig
from studio.core.train.training import TrainRequest, train
from studio.resources import sample_dataset

from .bench import report

pytestmark = pytest.mark.perf

SINGLE_REQUESTS = 300
BATCHES = 60
BATCH_ROWS = 1_000
WARM_UP = 10


def drive(job: Any) -> Any:
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value


def baseline_app(pipeline: Any) -> Any:
    """What someone would write by hand: load the pipeline, predict the posted rows."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        return {"predictions": pipeline.predict(pd.DataFrame(body["rows"])).tolist()}

    @app.post("/predict_proba")
    def predict_proba(body: dict[str, Any]) -> dict[str, Any]:
        proba = pipeline.predict_proba(pd.DataFrame(body["rows"]))
        return {"predictions": pipeline.classes_[proba.argmax(axis=1)].tolist(),
                "probabilities": proba.round(6).tolist()}

    return app


class Served:
    """An app served by uvicorn on 127.0.0.1 in a thread, as the window serves it."""

    def __init__(self, app: Any) -> None:
        from studio.core.serve.http import bind_socket, make_server

        sock = bind_socket("127.0.0.1", 0)
        self.address = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = make_server(app)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# Logistic regression predicts in well under a millisecond, so the serving itself is what is timed; the random
# forest (Studio's default, 100 trees, n_jobs=-1) is what most people will serve.
@pytest.fixture(scope="module", params=["logistic_regression", "random_forest"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Studio's service and the baseline for the same pipeline (default settings, trained on the penguins sample),
    saved as a Studio model file and dumped with joblib."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    import joblib

    from studio.core.serve.http import create_app

    frame = load_table(sample_dataset()).frame
    result = drive(train(TrainRequest(frame, "species", Task.CLASSIFICATION, default_prep(profile_frame(frame)),
                                      SplitConfig(), request.param, {})))
    folder = tmp_path_factory.mktemp("serve-bench")
    bundle = load_model(save_model(folder / "species.studio", result.pipeline, metadata_for(result)))
    joblib.dump(result.pipeline, folder / "species.joblib")
    servers = {"studio": Served(create_app(bundle)),
               "baseline": Served(baseline_app(joblib.load(folder / "species.joblib")))}
    yield {"model": request.param, "rows": frame.drop(columns="species"), "servers": servers}
    for server in servers.values():
        server.stop()


def bodies(rows: pd.DataFrame, size: int, count: int, seed: int) -> list[bytes]:
    """``count`` request bodies of ``size`` rows drawn from the sample (gaps as null), encoded once."""
    rng = np.random.default_rng(seed)
    records = json.loads(rows.to_json(orient="records"))
    return [json.dumps({"rows": [records[i] for i in rng.integers(0, len(records), size)]}).encode()
            for _ in range(count)]


def timed(client: Any, urls: dict[str, str], payloads: list[bytes]) -> dict[str, tuple[float, float]]:
    """Per endpoint: requests per second and the 99th-percentile latency in milliseconds, one request after the
    other. The endpoints take turns request by request, each sending the same body, each going first in turn (the
    request after a switch may pay for it)."""
    for url in urls.values():
        for payload in payloads[:WARM_UP]:
            assert client.post(url, content=payload).status_code == 200
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    names = list(urls)
    for turn, payload in enumerate(payloads):
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            before = time.perf_counter()
            answer = client.post(urls[name], content=payload)
            latencies[name].append(time.perf_counter() - before)
            assert answer.status_code == 200, answer.text
    return {name: (len(times) / sum(times), float(np.percentile(times, 99)) * 1000)
            for name, times in latencies.items()}


def test_serving_throughput_against_a_plain_fastapi_script(served: dict[str, Any]) -> None:
    import httpx

    studio, baseline = served["servers"]["studio"], served["servers"]["baseline"]
    loads = {"single": bodies(served["rows"], 1, SINGLE_REQUESTS, seed=0),
             "batch": bodies(served["rows"], BATCH_ROWS, BATCHES, seed=1)}
    # TCP_NODELAY: httpx writes the headers and the body separately, and Nagle's algorithm would hold the body
    # back until the server's delayed acknowledgement (about 40 ms), whichever server answers.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    with httpx.Client(transport=transport, headers={"content-type": "application/json"}, timeout=60) as client:
        # All three answer the same predictions for the same rows, and Studio the same probabilities as the
        # baseline that returns them.
        answers = [client.post(url, content=loads["batch"][0]).json() for url in (
            f"{studio.address}/predict", f"{baseline.address}/predict", f"{baseline.address}/predict_proba")]
        assert answers[0]["predictions"] == answers[1]["predictions"] == answers[2]["predictions"]
        assert answers[0]["probabilities"] == answers[2]["probabilities"]
        for load, payloads in loads.items():
            figures = timed(client, {"plain": f"{baseline.address}/predict", "studio": f"{studio.address}/predict",
                                     "proba": f"{baseline.address}/predict_proba"}, payloads)
            (plain_rps, plain_p99), (studio_rps, studio_p99), (proba_rps, proba_p99) = (
                figures["plain"], figures["studio"], figures["proba"])
            rows = 1 if load == "single" else BATCH_ROWS
            report(f"serve_{served['model']}_{load}", "studio/baseline requests per second >= 0.9", rows=rows,
                   requests=len(payloads),
                   studio_rps=studio_rps, baseline_rps=plain_rps, ratio=studio_rps / plain_rps,
                   studio_p99_ms=studio_p99, baseline_p99_ms=plain_p99,
                   baseline_with_proba_rps=proba_rps, ratio_to_baseline_with_proba=studio_rps / proba_rps,
                   baseline_with_proba_p99_ms=proba_p99)
            assert studio_rps > 0 and plain_rps > 0
