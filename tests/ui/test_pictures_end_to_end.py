"""Pictures through the whole window, as a person goes: open a folder, see the classes and thumbnails, preview
the augmentation, train the small network, read the mistakes on Results, export the model, predict a folder of
new pictures on Predict and save the predictions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow
from studio.ui.panels.image_prep_panel import ImagePrepPanel

from .helpers import LOAD_MS, TRAIN_MS, answer_save_dialog, click, click_sidebar, go_next, wait_idle
from .test_image_data_panel import open_folder
from .test_image_results_predict import SHAPES, captions, picture_tree


def test_a_folder_of_pictures_from_opening_to_saved_predictions(qtbot: QtBot, window: MainWindow,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    # Data: the folder's classes, counted, and their thumbnails.
    folder = picture_tree(tmp_path / "shapes", per_class=14)
    page = open_folder(qtbot, window, monkeypatch, folder)
    counts = {page.counts.item(r, 0).text(): int(page.counts.item(r, 1).text()) for r in range(page.counts.rowCount())}
    assert counts == dict.fromkeys(SHAPES, 17)
    qtbot.waitUntil(lambda: any(page.grid.model.tile(r) is not None for r in range(page.grid.model.rowCount())),
                    timeout=LOAD_MS)
    assert window.nav.next_button.isEnabled(), window.nav.reason.text()

    # Prepare: the preview shows the picture as the network sees it, then augmented versions.
    go_next_to(qtbot, window, Step.PREPARE)
    prep = window.stack.currentWidget()
    assert isinstance(prep, ImagePrepPanel)
    qtbot.waitUntil(lambda: all(tile.image is not None for tile in prep.tiles), timeout=LOAD_MS)
    assert len(prep.tiles) > 1
    first = prep.tiles[0].image
    assert first is not None and first.width() == window.project.image_input_size()

    # Split, Model: the small network, trained briefly.
    go_next_to(qtbot, window, Step.SPLIT)
    go_next_to(qtbot, window, Step.MODEL)
    assert window.project.model.key == "image_cnn"  # the default without downloaded weights
    window.model_panel.form.editor("epochs").setValue(3)
    assert window.project.model.params_dict()["epochs"] == 3
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    assert "pictures" in panel.what_label.text()
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_MS * 2):
        click(qtbot, panel.start_button)
    wait_idle(qtbot, panel.runner)
    result = window.project.result
    assert result is not None and result.model_key == "image_cnn" and result.image_cases

    # Results: the sentence speaks of pictures; the mistakes gallery holds the wrong ones, surest first.
    go_next(qtbot, window, Step.RESULTS)
    view = window.results_panel.view
    assert "pictures it never saw" in view.summary.text()
    wrong = [case for case in result.image_cases if case.true != case.predicted]
    galleries = window.results_panel.galleries
    assert galleries is not None
    assert len(captions(galleries.mistakes.grid)) == len(wrong)
    if wrong:
        surest = max(wrong, key=lambda case: case.confidence)
        assert captions(galleries.mistakes.grid)[0].startswith(f"{surest.true} → {surest.predicted}")

    # Export: the model file, then Predict with it on new pictures, saved as CSV.
    go_next(qtbot, window, Step.EXPORT)
    model_path = tmp_path / "shapes.studio"
    with qtbot.waitSignal(window.export_panel.saved, timeout=LOAD_MS):
        window.export_panel.save_to(model_path)
    assert model_path.is_file()
    click(qtbot, window.export_panel.use_button)
    assert window.current_step is Step.PREDICT
    predict = window.predict_panel
    qtbot.waitUntil(lambda: predict.bundle is not None and predict.is_picture_model(), timeout=LOAD_MS)
    wait_idle(qtbot, predict.runner)  # the model arrives with the job's result; its buttons wake when it has ended
    new = picture_tree(tmp_path / "new", per_class=2, seed=7)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kwargs: str(new)))
    with qtbot.waitSignal(predict.predicted, timeout=LOAD_MS):
        click(qtbot, predict.folder_button)
    wait_idle(qtbot, predict.runner)
    assert predict.predictions is not None and len(predict.predictions) == 15
    assert len(captions(predict.grid)) == 15
    target = tmp_path / "predictions.csv"
    answer_save_dialog(monkeypatch, target)
    with qtbot.waitSignal(predict.predictions_saved, timeout=LOAD_MS):
        click(qtbot, predict.save_button)
    wait_idle(qtbot, predict.runner)
    saved = pd.read_csv(target)
    assert len(saved) == 15 and set(saved["best_guess"]) <= set(SHAPES)
    assert {f"probability_{shape}" for shape in SHAPES} <= set(saved.columns)

    # The run is in the history, in pictures' words.
    click_sidebar(qtbot, window, Step.RUNS)
    qtbot.waitUntil(lambda: window.runs_panel.row_count() == 1, timeout=LOAD_MS)


def go_next_to(qtbot: QtBot, window: MainWindow, step: Step) -> None:
    click(qtbot, window.nav.next_button)
    assert window.current_step is step, window.nav.reason.text()
