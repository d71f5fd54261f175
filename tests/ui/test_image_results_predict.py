"""Pictures on the Results and Predict pages, driven through the real widgets: the galleries of a picture run's
mistakes and least sure test pictures (captions, the viewer), and a saved picture model predicting a folder on the
Predict page (thumbnails with captions, the table, the confidence needed, an unreadable file, saving as CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from studio.core.common.progress import result_of
from studio.core.data.images import ImageCheck, check_images, list_image_folder
from studio.core.project import ModelConfig, Project, Step
from studio.core.serve.images import DEFAULT_CONFIDENCE, NOT_SURE
from studio.core.store.model_file import metadata_for, save_model
from studio.core.train.images import ImageCase, mistakes, most_uncertain
from studio.core.train.request import TrainResult
from studio.core.train.splits import SplitConfig
from studio.core.train.training import train
from studio.ui.main_window import MainWindow
from studio.ui.panels.predict_panel import PredictPanel
from studio.ui.widgets.image_galleries import UNCERTAIN_SHOWN, ImageGalleries
from studio.ui.widgets.image_grid import ImageGridWidget, ImageViewer

from .helpers import LOAD_MS, answer_open_dialog, answer_save_dialog, click, click_sidebar, wait_idle

WAIT_MS = 30_000
SHAPES = ("circle", "square", "triangle")


# -- a small picture run -----------------------------------------------------------------------------------------
def draw_shape(path: Path, shape: str, rng: np.random.Generator) -> None:
    """A shape of a random colour, place and size on a noisy background: the classes differ visibly, and no two
    pictures are near copies."""
    noise = rng.integers(0, 90, (48, 48, 3), dtype=np.uint8)
    image = Image.fromarray(noise, "RGB")
    draw = ImageDraw.Draw(image)
    x, y, side = int(rng.integers(2, 18)), int(rng.integers(2, 18)), int(rng.integers(18, 28))
    colour = tuple(int(v) for v in rng.integers(150, 256, 3))
    if shape == "circle":
        draw.ellipse((x, y, x + side, y + side), fill=colour)
    elif shape == "square":
        draw.rectangle((x, y, x + side, y + side), fill=colour)
    else:
        draw.polygon([(x, y + side), (x + side, y + side), (x + side // 2, y)], fill=colour)
    image.save(path)


def picture_tree(root: Path, per_class: int = 24, seed: int = 0) -> Path:
    """Three classes of drawn shapes; a few pictures in each folder show another shape (labelled wrongly), so a
    run always has mistakes to show."""
    rng = np.random.default_rng(seed)
    for number, shape in enumerate(SHAPES):
        folder = root / shape
        folder.mkdir(parents=True)
        for index in range(per_class):
            draw_shape(folder / f"{shape}_{index:03d}.png", shape, rng)
        for index in range(3):
            draw_shape(folder / f"odd_{index}.png", SHAPES[(number + 1) % len(SHAPES)], rng)
    return root


def train_pictures(project: Project, root: Path) -> TrainResult:
    """The fast pixel baseline trained on ``root``, with a test part large enough to hold several mistakes."""
    folder = list_image_folder(root)
    check = result_of(check_images(folder))
    assert isinstance(check, ImageCheck)
    project.set_dataset(folder)
    project.set_image_check(check)
    project.set_split(SplitConfig(validation=0.15, test=0.35))
    project.set_model(ModelConfig("image_pixels"))
    result = result_of(train(project.training_request()))
    assert isinstance(result, TrainResult) and result.image_cases
    return result


@pytest.fixture(scope="module")
def picture_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved picture model, trained by the core directly so the Predict tests need not train in the window."""
    root = picture_tree(tmp_path_factory.mktemp("training") / "shapes")
    result = train_pictures(Project(), root)
    path = tmp_path_factory.mktemp("models") / "shapes.studio"
    return save_model(path, result.pipeline, metadata_for(result))


def tile_centre(grid: ImageGridWidget, row: int) -> QPoint:
    return grid.view.visualRect(grid.model.index(row)).center()


def double_click(qtbot: QtBot, grid: ImageGridWidget, row: int) -> None:
    """A click, then the second press reported as a double-click, as the system delivers one."""
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=tile_centre(grid, row))
    qtbot.mouseDClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=tile_centre(grid, row))


def click_tab(qtbot: QtBot, tabs: Any, title: str) -> None:
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == title)
    assert tabs.isTabVisible(index), f"the {title!r} tab is hidden"
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def captions(grid: ImageGridWidget) -> list[str]:
    return [str(grid.model.data(grid.model.index(row))) for row in range(grid.model.rowCount())]


# -- Results ------------------------------------------------------------------------------------------------------
def test_a_picture_run_shows_its_mistakes_and_least_sure_pictures(qtbot: QtBot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    result = train_pictures(window.project, picture_tree(tmp_path / "shapes"))
    window.project.set_result(result)
    click_sidebar(qtbot, window, Step.RESULTS)
    panel = window.results_panel
    assert window.stack.currentWidget() is panel
    assert "pictures" in panel.subtitle.text()
    assert panel.galleries is not None
    tabs = panel.view.tabs

    wrong = mistakes(result.image_cases)
    assert wrong, "the planted pictures in the wrong folders make mistakes"
    click_tab(qtbot, tabs, ImageGalleries.MISTAKES_TITLE)
    grid = panel.galleries.mistakes.grid
    assert grid.isVisible()
    first = wrong[0]
    # The surest mistake comes first, captioned as the Results page writes shares.
    assert captions(grid)[0] == f"{first.true} → {first.predicted} · {first.confidence:.1%} sure"
    assert len(captions(grid)) == len(wrong)
    assert all(" → " in caption for caption in captions(grid))
    intro = panel.galleries.mistakes.intro.text()
    assert f"{len(wrong)} of {len(result.image_cases)} test pictures" in intro and "Next:" in intro

    with qtbot.waitSignal(grid.viewer_opened, timeout=WAIT_MS) as opened:
        double_click(qtbot, grid, 0)
    viewer = opened.args[0]
    assert isinstance(viewer, ImageViewer) and viewer.isVisible()
    assert viewer.caption.text() == captions(grid)[0]
    qtbot.waitUntil(viewer.has_picture, timeout=WAIT_MS)
    assert Path(first.path).name in viewer.where.text()
    viewer.close_button.click()

    click_tab(qtbot, tabs, ImageGalleries.UNCERTAIN_TITLE)
    unsure = most_uncertain(result.image_cases, UNCERTAIN_SHOWN)
    shown = captions(panel.galleries.uncertain.grid)
    assert len(shown) == len(unsure)
    case = unsure[0]
    said = f"{case.true} → {case.predicted}" if case.true != case.predicted else f"{case.true} ✓"
    assert shown[0] == f"{said} · {case.confidence:.1%} sure"
    # The percentages read like the scores table's.
    assert panel.metric_value("accuracy").endswith("%") and "." in panel.metric_value("accuracy")


def test_the_galleries_say_so_when_there_are_no_mistakes(qtbot: QtBot, tmp_path: Path) -> None:
    galleries = ImageGalleries()
    qtbot.addWidget(galleries.mistakes)
    qtbot.addWidget(galleries.uncertain)
    path = str(tmp_path / "a.png")
    galleries.set_cases((ImageCase(path, "cat", "cat", 0.97, 0.94), ImageCase(path, "dog", "dog", 0.55, 0.1)), 2)
    galleries.mistakes.show()
    assert galleries.mistakes.grid.model.rowCount() == 0
    assert "got every test picture right" in galleries.mistakes.grid.empty_label.text()
    assert galleries.mistakes.grid.empty_label.isVisible()
    assert captions(galleries.uncertain.grid) == ["dog ✓ · 55.0% sure", "cat ✓ · 97.0% sure"]
    galleries.shutdown()


def test_a_table_run_after_a_picture_run_hides_the_galleries(qtbot: QtBot, window: MainWindow,
                                                             tmp_path: Path) -> None:
    result = train_pictures(window.project, picture_tree(tmp_path / "shapes", per_class=12))
    window.project.set_result(result)
    click_sidebar(qtbot, window, Step.RESULTS)
    panel = window.results_panel
    tabs = panel.view.tabs
    assert panel.galleries is not None
    index = tabs.indexOf(panel.galleries.mistakes)
    assert tabs.isTabVisible(index)
    from dataclasses import replace

    window.project.set_result(replace(result, image_cases=()))
    assert not tabs.isTabVisible(index)
    assert not tabs.isTabVisible(tabs.indexOf(panel.galleries.uncertain))
    assert "rows" in panel.subtitle.text()


# -- Predict ------------------------------------------------------------------------------------------------------
def open_picture_model(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                       model: Path) -> PredictPanel:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    return panel


def new_pictures(folder: Path) -> Path:
    rng = np.random.default_rng(7)
    (folder / "more").mkdir(parents=True)
    for index, shape in enumerate(SHAPES * 3):
        draw_shape(folder / ("more" if index % 2 else "") / f"new_{index}_{shape}.png", shape, rng)
    (folder / "broken.png").write_bytes(b"")  # a zero-byte file: it gets a row that says so
    (folder / "notes.txt").write_text("not a picture", encoding="utf-8")
    return folder


def test_a_picture_model_predicts_a_folder_relabels_and_saves(qtbot: QtBot, window: MainWindow,
                                                              monkeypatch: pytest.MonkeyPatch, picture_model: Path,
                                                              tmp_path: Path) -> None:
    panel = open_picture_model(qtbot, window, monkeypatch, picture_model)
    assert panel.is_picture_model()
    assert panel.pictures_button.isVisible() and panel.folder_button.isVisible()
    assert not panel.data_button.isVisible() and not panel.retrain.isVisible()
    assert panel.confidence_spin.isVisible() and panel.confidence_spin.value() == round(DEFAULT_CONFIDENCE * 100)
    assert "Needs the columns" not in panel.model_label.text() and "pixels" in panel.model_label.text()
    assert "Drop pictures" in panel.grid.empty_label.text() and panel.grid.empty_label.isVisible()

    folder = new_pictures(tmp_path / "new")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kwargs: str(folder)))
    with qtbot.waitSignal(panel.predicted, timeout=WAIT_MS):
        click(qtbot, panel.folder_button)
    wait_idle(qtbot, panel.runner)

    predictions = panel.predictions
    assert predictions is not None and len(predictions) == 10  # nine pictures and the broken file
    assert panel.grid.model.rowCount() == 10 and panel.table_model.rowCount() == 10
    shown = captions(panel.grid)
    broken = list(predictions["picture"]).index("broken.png")
    assert shown[broken] == "can't be read"
    assert "empty" in predictions["note"].iloc[broken]
    assert panel.table_model.frame()["Note"].iloc[broken] == predictions["note"].iloc[broken]
    readable = [i for i in range(10) if i != broken]
    for row in readable:
        sure = predictions["confidence"].iloc[row]
        expected = (f"{predictions['prediction'].iloc[row]} · {sure:.1%} sure" if sure >= DEFAULT_CONFIDENCE
                    else f"{NOT_SURE} · {predictions['best_guess'].iloc[row]}? {sure:.1%}")
        assert shown[row] == expected
    assert "more/new_1_square.png" in set(predictions["picture"])
    assert "10 pictures" in panel.banner.text() and "1 could not be read" in panel.banner.text()
    assert "not a picture was left out" in panel.banner.text()  # notes.txt
    table = panel.table_model.frame()
    assert {"Picture", "Prediction", "Confidence", "circle (chance)", "Note"} <= set(table.columns)
    assert table["Confidence"].iloc[readable[0]].endswith("%")

    # 99% needed: the pictures are labelled again, not predicted again.
    starts: list[object] = []
    monkeypatch.setattr(panel.runner, "start", lambda factory: starts.append(factory) or False)
    panel.confidence_spin.setValue(99)
    qtbot.waitUntil(lambda: panel.predictions is not None and (panel.predictions["confidence"] < 0.99).sum()
                    == sum(caption.startswith(NOT_SURE) for caption in captions(panel.grid)), timeout=WAIT_MS)
    assert not starts
    relabelled = panel.predictions
    assert relabelled is not None
    unsure = relabelled["confidence"] < 0.99
    assert unsure.any()
    assert (relabelled.loc[unsure, "prediction"] == NOT_SURE).all()
    assert all(captions(panel.grid)[i].startswith(NOT_SURE) for i in np.flatnonzero(unsure.to_numpy()))
    assert relabelled["prediction"].iloc[broken] == ""
    monkeypatch.undo()  # the real runner saves

    target = tmp_path / "predictions.csv"
    answer_save_dialog(monkeypatch, target)
    with qtbot.waitSignal(panel.predictions_saved, timeout=LOAD_MS):
        click(qtbot, panel.save_button)
    wait_idle(qtbot, panel.runner)
    saved = pd.read_csv(target, keep_default_na=False)
    assert list(saved["picture"]) == list(relabelled["picture"])
    assert list(saved["prediction"]) == list(relabelled["prediction"])
    assert "empty" in saved["note"].iloc[broken]
    assert {"best_guess", "confidence", "probability_circle", "probability_square", "probability_triangle"} \
        <= set(saved.columns)


def entering(panel: PredictPanel, data: QMimeData) -> QDragEnterEvent:
    """Files dragged over the page: the event as the page answered it."""
    event = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    event.ignore()
    panel.dragEnterEvent(event)
    return event


def test_pictures_dropped_on_the_page_are_predicted_and_a_table_model_takes_no_drop(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, picture_model: Path,
        penguins_model: Path, tmp_path: Path) -> None:
    panel = open_picture_model(qtbot, window, monkeypatch, picture_model)
    folder = new_pictures(tmp_path / "dropped")
    files = sorted(folder.glob("*.png"))
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    assert entering(panel, data).isAccepted()
    # Qt gives a drop to the first widget that takes drops, from the one under the pointer up: the page, wherever
    # the pictures land.
    for landing in (panel.grid.view.viewport(), panel.grid.empty_label, panel.table.viewport(), panel.model_label):
        taker = landing
        while not taker.acceptDrops():
            taker = taker.parentWidget()
        assert taker is panel
    with qtbot.waitSignal(panel.predicted, timeout=WAIT_MS):
        panel.dropEvent(drop)
    wait_idle(qtbot, panel.runner)
    assert panel.predictions is not None and len(panel.predictions) == len(files)
    assert panel.grid.model.rowCount() == len(files)

    panel = open_picture_model(qtbot, window, monkeypatch, penguins_model)
    assert not panel.is_picture_model()
    assert panel.data_button.isVisible() and not panel.pictures_button.isVisible()
    assert not panel.grid.isVisible() and not panel.confidence_spin.isVisible()
    assert panel.retrain.isVisible()
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    assert not entering(panel, data).isAccepted()
    panel.dropEvent(drop)
    assert not drop.isAccepted() and not panel.runner.is_running()
