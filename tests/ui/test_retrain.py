"""The Predict page's "Train again with new rows…": the open model trained again in the background, the old and the
new model compared in the banner, the new run recorded with a link to the old model, and the new model saved."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from studio.core.data.tabular import load_table
from studio.core.project import Step
from studio.core.store.model_file import load_model
from studio.ui.main_window import MainWindow
from studio.ui.panels.data_panel import FILE_FILTER
from studio.ui.panels.predict_panel import PredictPanel

from .helpers import (
    LOAD_MS,
    TRAIN_MS,
    answer_open_dialog,
    answer_save_dialog,
    click,
    click_sidebar,
    wait_history_written,
    wait_idle,
    write_csv,
)

SENTENCE = re.compile(r"On (\d+) new test rows the new model's accuracy is \d+\.\d% against \d+\.\d% for the old one\.")


def open_model(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path) -> PredictPanel:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    assert not panel.retrain.retrain_button.isEnabled(), "no model open yet"
    answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    return panel


def answer_open_dialogs(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> list[tuple]:
    """Answer the "Open" dialogs in turn with ``paths``."""
    calls: list[tuple] = []

    def choose(*args: object, **kwargs: object) -> tuple[str, str]:
        calls.append(args)
        return str(paths[len(calls) - 1]), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(choose))
    return calls


def test_train_again_with_new_rows_compares_records_and_saves(qtbot: QtBot, window: MainWindow,
                                                              monkeypatch: pytest.MonkeyPatch, penguins_model: Path,
                                                              sample_path: Path, tmp_path: Path) -> None:
    panel = open_model(qtbot, window, monkeypatch, penguins_model)
    control = panel.retrain
    assert control.retrain_button.text() == "Train again with new rows…"
    assert not control.save_button.isVisible()
    new_rows = write_csv(tmp_path / "new-birds.csv", load_table(sample_path).frame.iloc[1::2])
    asked = answer_open_dialog(monkeypatch, new_rows)

    with qtbot.waitSignal(control.retrained, timeout=TRAIN_MS):
        click(qtbot, control.retrain_button)
        assert control.runner.is_running(), "the work runs in the background"
    wait_idle(qtbot, control.runner)

    assert len(asked) == 1 and asked[0][3] == FILE_FILTER
    assert panel.banner.level == "success"
    match = SENTENCE.search(panel.banner.text())
    assert match, panel.banner.text()
    assert control.outcome is not None and int(match.group(1)) == control.outcome.new_scores.rows
    wait_history_written(qtbot, window)
    store = window.project.run_store
    assert store is not None
    record = store.all()[0]
    assert record.details["retrained_from"]["path"] == str(penguins_model.resolve())
    assert record.details["retrained_from"]["created"] == load_model(penguins_model).metadata["created"]
    assert record.dataset_path == str(new_rows)

    saved = answer_save_dialog(monkeypatch, tmp_path / "species-retrained")
    with qtbot.waitSignal(control.model_saved, timeout=LOAD_MS):
        click(qtbot, control.save_button)
    wait_idle(qtbot, control.runner)

    out = tmp_path / "species-retrained.studio"
    assert len(saved) == 1 and out.is_file()
    assert "Saved the new model" in panel.banner.text()
    bundle = load_model(out)
    assert bundle.metadata["model"] == "logistic_regression" and bundle.target == "species"
    wait_history_written(qtbot, window)
    assert store.get(record.id).model_path == str(out)


def test_train_again_with_the_old_rows_too(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                           penguins_model: Path, sample_path: Path, tmp_path: Path) -> None:
    panel = open_model(qtbot, window, monkeypatch, penguins_model)
    control = panel.retrain
    frame = load_table(sample_path).frame
    new_rows = write_csv(tmp_path / "new.csv", frame.iloc[1::2])
    old_rows = write_csv(tmp_path / "old.csv", frame.iloc[::2])
    asked = answer_open_dialogs(monkeypatch, new_rows, old_rows)
    control.old_rows_check.setChecked(True)

    with qtbot.waitSignal(control.retrained, timeout=TRAIN_MS):
        click(qtbot, control.retrain_button)
    wait_idle(qtbot, control.runner)

    assert len(asked) == 2 and "trained on" in str(asked[1][1])
    assert control.outcome is not None and sum(control.outcome.result.split_sizes) == len(frame)
    assert SENTENCE.search(panel.banner.text()), panel.banner.text()


def test_new_rows_without_the_target_are_refused_in_the_banner(qtbot: QtBot, window: MainWindow,
                                                               monkeypatch: pytest.MonkeyPatch, penguins_model: Path,
                                                               sample_path: Path, tmp_path: Path) -> None:
    panel = open_model(qtbot, window, monkeypatch, penguins_model)
    control = panel.retrain
    rows = write_csv(tmp_path / "no-species.csv", load_table(sample_path).frame.drop(columns="species"))
    answer_open_dialog(monkeypatch, rows)

    with qtbot.waitSignal(control.runner.finished, timeout=LOAD_MS):
        click(qtbot, control.retrain_button)

    assert panel.banner.level == "error"
    assert "no 'species' column" in panel.banner.text()
    assert not control.save_button.isVisible() and control.retrain_button.isEnabled()
