"""The run store: recording, reading back, concurrent writers, a writer killed mid-write, a damaged file."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from studio.core.common.errors import StudioError
from studio.core.data.target import Task
from studio.core.evaluate.metrics import format_metric
from studio.core.prep.config import PrepConfig
from studio.core.project import ModelConfig, Project
from studio.core.report.html import build_report, save_report
from studio.core.store.runs import (
    HistoryRefusedError,
    RunsKeptAsideError,
    RunStore,
    config_from_plain,
    default_runs_path,
    run_from_result,
)
from studio.core.train.splits import SplitConfig
from tests.core.helpers import make_request, run_training

ROOT = Path(__file__).resolve().parents[2]


def small_run(index: int = 0) -> dict:
    return {"created": "2026-01-01T00:00:00", "target": "y", "task": "regression", "model_key": "knn",
            "model_label": "k-nearest neighbours", "params": {"n_neighbors": index}, "prep": {"columns": []},
            "split": {"seed": 1}, "duration_s": 0.1, "metrics": {"test": {"mae": float(index)}},
            "history": [], "details": {}, "versions": {"studio": "x"}}


@pytest.fixture(scope="module")
def penguin_result(penguins_table):
    _, result = run_training(make_request(penguins_table.frame, "species", Task.CLASSIFICATION, "random_forest",
                                          split=SplitConfig(cv_folds=3), source_path="/data/penguins.csv"))
    return result


def test_a_result_is_recorded_and_read_back(tmp_path: Path, penguin_result) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    run_id = store.add(run_from_result(penguin_result))
    record = store.get(run_id)
    assert record.model_key == "random_forest" and record.target == "species"
    assert record.dataset_path == "/data/penguins.csv" and len(record.dataset_fingerprint) == 16
    assert record.metric("test", "accuracy") == pytest.approx(penguin_result.test.get("accuracy"))
    assert record.metrics["cross_validation"]["folds"] and record.metrics["train"]
    assert len(record.history) == len(penguin_result.history)
    assert record.versions["scikit-learn"] and record.device == "cpu"
    # Configs come back as the same frozen dataclasses, so the run can be trained again.
    split = config_from_plain(SplitConfig, record.split)
    assert split == SplitConfig(cv_folds=3)
    prep = config_from_plain(PrepConfig, record.prep)
    assert prep == next(p for p in penguin_result.fingerprint if isinstance(p, PrepConfig))
    store.set_model_path(run_id, "/models/m.joblib")
    store.add_explanation(run_id, "permutation_importance", {"columns": [{"column": "island", "mean": 0.1}]})
    again = store.get(run_id)
    assert again.model_path == "/models/m.joblib"
    assert again.explanations["permutation_importance"]["columns"][0]["column"] == "island"
    store.delete([run_id])
    with pytest.raises(StudioError, match="no run number"):
        store.get(run_id)


def test_project_records_each_result_and_the_exported_path(tmp_path: Path, penguin_result) -> None:
    project = Project()
    project.run_store = RunStore(tmp_path / "runs.sqlite3")
    seen: list[str] = []
    project.subscribe(seen.append)
    project.set_result(penguin_result)
    assert project.run_id is not None and "runs" in seen
    project.set_exported("/tmp/model.studio.joblib")
    assert project.run_store.get(project.run_id).model_path == "/tmp/model.studio.joblib"
    assert ModelConfig(penguin_result.model_key) is not None


def test_concurrent_writes_from_a_worker_thread(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(25):
                store.add(small_run(offset + i))
        except BaseException as exc:  # collected and asserted on the main thread
            errors.append(exc)

    worker = threading.Thread(target=writer, args=(1000,))
    worker.start()
    writer(0)
    worker.join()
    assert not errors
    assert store.count() == 50
    assert {r.params["n_neighbors"] for r in store.all()} == set(range(25)) | set(range(1000, 1025))
    light = store.summaries()
    assert len(light) == 50 and light[0].id == 50 and light[0].details == {} and light[0].metrics


def test_a_search_s_trials_are_stored_together_or_not_at_all(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    assert store.add_many([small_run(i) for i in range(3)]) == [1, 2, 3]
    broken = small_run(99)
    broken["params"] = {"n_neighbors": object()}  # cannot be written as JSON
    with pytest.raises(TypeError):
        store.add_many([small_run(4), broken])
    assert store.count() == 3


def test_non_finite_numbers_deep_in_a_run_are_stored_as_null(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    run = small_run(1)
    run["metrics"] = {"test": {"mae": math.nan, "r2": 0.5}, "cross_validation": {"folds": [0.1, math.inf]}}
    run["details"] = {"regression": {"curves": [{"x": (0.0, -math.inf), "area": math.nan}]}, 3: {"ok": 1.0}}
    run["history"] = [{"epoch": 1, "loss": math.nan}]
    record = store.get(store.add(run))
    assert record.metrics == {"test": {"mae": None, "r2": 0.5}, "cross_validation": {"folds": [0.1, None]}}
    assert record.details == {"regression": {"curves": [{"x": [0.0, None], "area": None}]}, "3": {"ok": 1.0}}
    assert record.history == [{"epoch": 1, "loss": None}]
    store.add_explanation(record.id, "learning_curve", {"scores": [[math.nan, 0.75]]})
    assert store.get(record.id).explanations == {"learning_curve": {"scores": [[None, 0.75]]}}
    assert run["metrics"]["test"]["mae"] is not None  # the caller's values are left as they were


def test_explanations_saved_from_two_threads_are_both_kept(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    run_id = store.add(small_run(1))
    kinds = [f"kind_{i}" for i in range(20)]
    workers = [threading.Thread(target=lambda k=kind: store.add_explanation(run_id, k, {"value": k}))
               for kind in kinds]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(store.get(run_id).explanations) == sorted(kinds)


def test_store_reopens_after_a_writer_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    RunStore(path).add(small_run(1))
    script = (
        "import sys, json\n"
        "from studio.core.store.runs import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "run = " + repr(small_run(7)) + "\n"
        "run['details'] = {'blob': 'x' * 200000}\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    store.add(run)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    reopened = RunStore(path)
    assert reopened.damage_note == ""
    runs = reopened.all()
    assert runs[-1].params == {"n_neighbors": 1}
    assert len(runs) >= 2  # the killed writer's committed runs are kept whole
    assert all(r.details in ({}, {"blob": "x" * 200000}) for r in runs)
    reopened.add(small_run(2))


def test_a_file_that_is_not_a_history_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(HistoryRefusedError, match="not a Studio run history"):
        RunStore(path)
    assert [p.name for p in tmp_path.iterdir()] == ["runs.sqlite3"], "nothing renamed aside or created"
    assert path.read_bytes() == b"this is not a database at all" * 100


def test_another_program_s_database_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (number INTEGER, amount REAL)")
        connection.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = path.read_bytes()
    with pytest.raises(HistoryRefusedError, match=r"another program.*invoices"):
        RunStore(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.db"]


def test_a_file_with_a_corrupted_page_is_kept_and_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = RunStore(path)
    for i in range(40):
        store.add({**small_run(i), "details": {"blob": "y" * 5000}})
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 * 3: 4096 * 3 + 2000] = b"\xff" * 2000
    path.write_bytes(bytes(data))
    reopened = RunStore(path)
    assert "damaged" in reopened.damage_note and reopened.read_only
    with pytest.raises(RunsKeptAsideError, match=r"kept in runs\.sqlite3\.pending\.jsonl"):
        reopened.add(small_run(99))  # not written into a damaged file, and not lost
    assert path.read_bytes() == bytes(data), "the damaged file is left exactly as it is"
    assert [p.name for p in tmp_path.glob("runs.damaged-*")] == []
    assert '"n_neighbors": 99' in reopened.pending_path.read_text(encoding="utf-8")


def test_default_location_follows_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    assert default_runs_path() == tmp_path / "data" / "runs.sqlite3"


def test_report_is_one_self_contained_html_file(tmp_path: Path, penguin_result) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    record = store.get(store.add(run_from_result(penguin_result)))
    path = save_report(record, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "Random forest predicting species" in text
    assert text.count("<svg") >= 3  # loss curve, confusion matrix, ROC / PR curves
    assert "Confusion matrix" in text and "Cross-validation" in text and "scikit-learn" in text
    assert "<h2>Diagnosis</h2>" in text and "Things to try" in text
    assert "Classes (training rows)</td><td>Adelie" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from outside
    assert "<script" not in text


def test_stored_scores_are_read_back_for_the_report(tmp_path: Path, penguin_result) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    run = run_from_result(penguin_result)
    run["metrics"]["test"]["roc_auc"] = math.nan  # stored as null
    run["metrics"]["cross_validation"]["spread"] = math.nan
    record = store.get(store.add(run))
    test = record.scores("test")
    assert test is not None and test.part == "test" and test.rows == penguin_result.split_sizes[2]
    assert test.get("accuracy") == pytest.approx(penguin_result.test.get("accuracy"))
    assert math.isnan(test.get("roc_auc"))
    assert test.baseline == penguin_result.test.baseline
    assert record.scores("validation") == penguin_result.validation
    text = build_report(record)
    accuracy = format_metric("accuracy", test.get("accuracy"))
    assert f"<td class='num'>{accuracy}</td>" in text
    assert " ± – (folds:" in text  # a spread that could not be computed is a dash, not "nan%"
    assert record.scores("train_only_part") is None


def test_regression_report_has_residual_plots(tmp_path: Path, penguins_table) -> None:
    frame: pd.DataFrame = penguins_table.frame
    _, result = run_training(make_request(frame, "body_mass_g", Task.REGRESSION, "linear_regression"))
    store = RunStore(tmp_path / "runs.sqlite3")
    text = build_report(store.get(store.add(run_from_result(result))))
    assert "Predicted against actual" in text and "typically off by about" in text


def test_a_history_that_cannot_be_opened_is_a_clear_error_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.sqlite3"  # e.g. the settings name a folder instead of a file
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StudioError, match="cannot open its run history"):
        RunStore(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["a-folder.sqlite3"]  # nothing renamed aside
    assert (folder / "keep.txt").read_text(encoding="utf-8") == "mine"
