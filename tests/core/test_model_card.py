"""The model card written beside a saved model: what it says, in Markdown and HTML, for new and old models."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from studio.core.data.target import Task
from studio.core.evaluate.metrics import format_metric
from studio.core.models.registry import get_model
from studio.core.report.card import card_html, card_markdown, card_paths, save_with_card_job, write_card
from studio.core.store.model_file import metadata_for
from studio.core.train.training import TrainResult

from .helpers import make_request, run_training


@pytest.fixture(scope="module")
def classifier(penguins_table: Any, penguins_path: Path) -> TrainResult:
    request = make_request(penguins_table.frame.copy(), "species", Task.CLASSIFICATION, "random_forest",
                           source_path=str(penguins_path))
    return run_training(request)[1]


@pytest.fixture(scope="module")
def regressor(penguins_table: Any, penguins_path: Path) -> TrainResult:
    request = make_request(penguins_table.frame.copy(), "body_mass_g", Task.REGRESSION, "linear_regression",
                           source_path=str(penguins_path))
    return run_training(request)[1]


def test_the_classifier_card_says_what_a_person_needs(classifier: TrainResult) -> None:
    metadata = metadata_for(classifier)
    text = card_markdown(metadata, model_name="species.studio", details=classifier.details)
    assert "`species`" in text
    assert "one of Adelie, Chinstrap, Gentoo" in text
    for column in metadata["input_columns"]:
        assert f"`{column['name']}`" in text
    assert get_model("random_forest").label in text
    assert get_model("random_forest").describe(classifier.params) in text  # the settings in words
    accuracy = format_metric("accuracy", classifier.test.get("accuracy"))
    baseline = format_metric("accuracy", classifier.test.baseline_of("accuracy"))
    assert f"accuracy {accuracy} (always guessing the most common class: {baseline})" in text
    assert "penguins.csv" in text
    train_rows, validation_rows, test_rows = classifier.split_sizes
    assert f"{train_rows:,} rows for training" in text and f"{test_rows:,} rows for testing" in text
    assert f"{validation_rows:,} rows for validation" in text
    assert classifier.details is not None and f"`{classifier.details.data_fingerprint}`" in text
    assert f"scikit-learn {metadata['versions']['scikit-learn']}" in text
    assert "It can also be exported to ONNX, preparation included" in text
    assert "studio predict species.studio rows.csv --out predictions.csv" in text
    assert 'load_model("species.studio").pipeline.predict' not in text  # spelled out over three lines instead
    assert 'model = load_model("species.studio")' in text and "model.pipeline.predict(frame)" in text
    assert "not recorded" not in text  # a fresh model's metadata has everything the card reads


def test_the_regressor_card_compares_with_guessing_the_average(regressor: TrainResult) -> None:
    text = card_markdown(metadata_for(regressor), model_name="mass.studio")
    assert "`body_mass_g`, a number" in text
    mae = format_metric("mae", regressor.test.get("mae"))
    assert f"mean absolute error {mae}, lower is better (always guessing the average: " in text
    assert "R² " in text
    assert "`species` (holds categories): used as a category." in text  # the target of the other test is an input
    assert "classes" not in text.lower().split("## known limits")[1]  # no imbalance talk for numbers
    assert "Data fingerprint" not in text  # the metadata lacks it and no details were given: left out


def test_excluded_columns_are_named_as_left_out(classifier: TrainResult) -> None:
    metadata = metadata_for(classifier)
    metadata["input_columns"].append({"name": "row_id", "kind": "id", "treatment": "exclude"})
    text = card_markdown(metadata)
    assert "`row_id` (holds an identifier): left out" in text


def test_few_test_rows_and_imbalance_are_named_as_limits(classifier: TrainResult) -> None:
    metadata = metadata_for(classifier)
    metadata["split_sizes"] = [30, 0, 12]
    metadata["classes"] = ["no", "yes"]
    metadata["metrics"]["test_baseline"]["accuracy"] = 0.9  # always guessing the common class is right 90% of rows
    text = card_markdown(metadata)
    assert "Only 12 rows were kept for testing" in text
    assert "The classes are imbalanced: the most common class alone is 90% of the test rows" in text
    assert "validation" not in text.split("## Training data")[1].split("##")[0]  # no validation rows: not listed


def test_the_html_card_escapes_column_names_and_is_self_contained(classifier: TrainResult) -> None:
    metadata = metadata_for(classifier)
    metadata["input_columns"].append({"name": "<b>&", "kind": "numeric", "treatment": "numeric"})
    metadata["target"] = "<script>alert(1)</script>"
    page = card_html(metadata, model_name="a&b.studio", details=classifier.details)
    assert "<b>&" not in page and "&lt;b&gt;&amp;" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "a&amp;b.studio" in page
    assert "src=" not in page and "href=" not in page  # nothing outside the file
    # Every text the Markdown card says is in the HTML card too.
    visible = html.unescape(re.sub(r"<[^>]+>", "", page.split("</style>")[1]))
    assert "Random forest" in visible and "always guessing the most common class" in visible
    markdown = card_markdown(metadata, model_name="a&b.studio", details=classifier.details)
    assert "`<b>&`" in markdown  # a code span shows it as typed


def test_an_old_or_empty_metadata_still_renders_and_says_what_is_unknown() -> None:
    for metadata in ({}, {"task": "classification", "target": "churn", "input_columns": []},
                     {"task": "nonsense", "target": 3, "input_columns": "not a list", "metrics": None,
                      "split_sizes": [1, 2], "model": "a_model_studio_no_longer_has", "params": {"x": 1}}):
        text = card_markdown(metadata)
        page = card_html(metadata)
        assert "not recorded" in text and "<h1>" in page
        assert "studio predict MODEL.studio rows.csv" in text
    text = card_markdown({"task": "classification", "target": "churn", "input_columns": []})
    assert "the classes are not recorded" in text
    assert "The test scores are not recorded" in text
    assert "scikit-learn version it was made with is not recorded" in text


def test_card_paths_sit_beside_the_model() -> None:
    assert card_paths("out/churn.studio") == (Path("out/churn.card.md"), Path("out/churn.card.html"))
    assert card_paths("old.studio.joblib") == (Path("old.card.md"), Path("old.card.html"))
    assert card_paths("model") == (Path("model.card.md"), Path("model.card.html"))


def test_write_card_and_the_save_job_write_both_files(classifier: TrainResult, tmp_path: Path) -> None:
    metadata = metadata_for(classifier)
    markdown_path, html_path = write_card(tmp_path / "churn.studio", metadata)
    assert (markdown_path.name, html_path.name) == ("churn.card.md", "churn.card.html")
    assert "`species`" in markdown_path.read_text(encoding="utf-8")
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    job = save_with_card_job(tmp_path / "saved.studio", classifier.pipeline, metadata, classifier.details)
    steps = []
    while True:
        try:
            steps.append(next(job))
        except StopIteration as finished:
            saved = finished.value
            break
    assert saved == tmp_path / "saved.studio" and saved.is_file()
    assert all(path.is_file() for path in card_paths(saved))
    assert any("card" in step.message for step in steps)


def test_studio_train_writes_the_card_beside_the_model(tmp_path: Path, penguins_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import run_cli

    out = tmp_path / "m.studio"
    code = run_cli(["train", str(penguins_path), "--target", "species", "--model", "logistic_regression",
                    "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    markdown_path, html_path = tmp_path / "m.card.md", tmp_path / "m.card.html"
    assert markdown_path.is_file() and html_path.is_file()
    assert str(markdown_path) in captured.err
    text = markdown_path.read_text(encoding="utf-8")
    assert "Logistic regression" in text and "Data fingerprint" in text  # the CLI passes the training details
    assert "studio predict m.studio rows.csv --out predictions.csv" in text

