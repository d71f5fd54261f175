"""The Prepare page for pictures, driven through its real widgets: every choice reaches the Project as a new
ImagePrep, and the preview (made off the GUI thread) shows the picture exactly as the network is given it, then
seven training variations."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractButton, QComboBox
from pytestqt.qtbot import QtBot

from studio.core.data.images import ImageFolder, check_images, list_image_folder, read_pixels
from studio.core.data.kinds import DataKind
from studio.core.models.registry import all_models
from studio.core.prep.images import FIT_WORDS, PRETRAINED_MIN_SIZE, ImagePrep
from studio.core.project import ModelConfig, Project, Step
from studio.ui.main_window import MainWindow
from studio.ui.panels import image_prep_panel
from studio.ui.panels.image_prep_panel import NO_AUGMENTATION_NOTE, NO_TORCH_NOTE, TILE_COUNT, ImagePrepPanel

WAIT_MS = 30_000  # the first preview imports torch on the worker, which takes seconds on a busy machine


# -- pictures on disk -------------------------------------------------------------------------------------------------
def _draw(path: Path, size: tuple[int, int], colour: tuple[int, int, int], shape: str) -> None:
    image = Image.new("RGB", size, (240, 236, 228))
    draw = ImageDraw.Draw(image)
    width, height = size
    box = (width // 5, height // 5, width - width // 5, height - height // 5)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    else:
        draw.rectangle(box, fill=colour)
    draw.rectangle((0, 0, 6, height - 1), fill=(20, 20, 20))  # a dark left edge, to see what crop cuts
    image.save(path)


@pytest.fixture
def picture_folder(tmp_path: Path) -> Path:
    """Two classes of drawn pictures, a third of them wider than high and a third higher than wide."""
    root = tmp_path / "shapes"
    sizes = [(96, 64), (64, 96), (80, 80)]
    for shape, colours in (("circle", [(200, 40, 40), (220, 120, 30)]), ("square", [(40, 60, 200), (30, 150, 90)])):
        folder = root / f"{shape}s"
        folder.mkdir(parents=True)
        for index in range(12):
            _draw(folder / f"{shape}_{index:02d}.png", sizes[index % 3], colours[index % 2], shape)
    return root


def _checked(folder: ImageFolder) -> ImageFolder:
    job = check_images(folder)
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return folder.with_check(finished.value)


@pytest.fixture
def project(picture_folder: Path) -> Project:
    project = Project()
    folder = list_image_folder(picture_folder)
    project.set_dataset(folder)
    project.set_image_check(_checked(folder).check)  # type: ignore[arg-type]
    return project


@pytest.fixture
def panel(qtbot: QtBot, project: Project) -> Iterator[ImagePrepPanel]:
    page = ImagePrepPanel(project)
    qtbot.addWidget(page)
    page.resize(818, 533)  # what the page gets in a 1024 × 600 window
    page.show()
    page.entered()
    yield page
    page.shutdown()
    assert not page.runner.is_running(), "the preview worker is joined on shutdown"


# -- driving the widgets ---------------------------------------------------------------------------------------------
def tick(qtbot: QtBot, box: QAbstractButton) -> None:
    """Click a checkbox or radio button on its indicator, as a person does (its centre may be empty space)."""
    assert box.isVisible() and box.isEnabled(), box.text()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def choose(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{data!r} is not offered"
    combo.setCurrentIndex(index)


def wait_for_preview(qtbot: QtBot, panel: ImagePrepPanel) -> None:
    qtbot.waitUntil(panel.preview_is_current, timeout=WAIT_MS)


def shown_pixels(image: QImage | None) -> np.ndarray:
    """A tile's image back as uint8 (H, W, C), to compare with what the core reads."""
    assert image is not None, "the tile shows nothing"
    channels = 1 if image.format() == QImage.Format.Format_Grayscale8 else 3
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * channels].reshape(image.height(), image.width(), channels).copy()


def visible_tiles(panel: ImagePrepPanel) -> list[image_prep_panel.PictureTile]:
    return [tile for tile in panel.tiles if tile.isVisible()]


def current_path(panel: ImagePrepPanel) -> str:
    return str(panel.sample_combo.currentData())


# -- the tests --------------------------------------------------------------------------------------------------------
def test_the_preview_shows_the_network_view_then_seven_variations(qtbot: QtBot, panel: ImagePrepPanel,
                                                                  project: Project) -> None:
    wait_for_preview(qtbot, panel)
    size = project.image_input_size()
    assert size == 64, "automatic: the pictures' median shorter side"
    assert panel.size_combo.currentText() == "Automatic (follows your pictures: 64 × 64)"

    tiles = visible_tiles(panel)
    assert len(tiles) == TILE_COUNT == 8
    for tile in tiles:
        assert tile.image is not None
        assert (tile.image.width(), tile.image.height()) == (size, size), "the network's own pixels, not a thumbnail"
        assert tile.width() >= 56, "large enough to see at 1024 × 600"
    expected = read_pixels(current_path(panel), size, False, "pad")
    np.testing.assert_array_equal(tiles[0].pixels, expected)
    np.testing.assert_array_equal(shown_pixels(tiles[0].image), expected, "drawn exactly as read")
    assert tiles[0].caption == "As the network sees it (64 × 64)"
    assert all(tile.pixels is not None and not np.array_equal(tile.pixels, expected) for tile in tiles[1:]), \
        "each variation changes it"
    assert "The network will see" in panel.summary.text() and "64 × 64 pixels in colour" in panel.summary.text()
    assert "mirrored" in panel.summary.text()
    assert "Split" in panel.next_label.text()


def test_a_chosen_size_and_grayscale_reach_the_project_and_the_tiles(qtbot: QtBot, panel: ImagePrepPanel,
                                                                     project: Project) -> None:
    wait_for_preview(qtbot, panel)
    events: list[str] = []
    project.subscribe(events.append)
    before = project.image_prep

    choose(panel.size_combo, 32)
    assert project.image_prep.size == 32
    assert project.image_prep is not before and before.size is None, "a new frozen ImagePrep each time"
    tick(qtbot, panel.gray_button)
    assert project.image_prep.grayscale
    assert events.count("prep") == 2

    wait_for_preview(qtbot, panel)
    tiles = visible_tiles(panel)
    assert len(tiles) == 8
    for tile in tiles:
        assert tile.image is not None and tile.pixels is not None
        assert tile.image.format() == QImage.Format.Format_Grayscale8
        assert tile.pixels.shape == (32, 32, 1)
    np.testing.assert_array_equal(tiles[0].pixels, read_pixels(current_path(panel), 32, True, "pad"))
    np.testing.assert_array_equal(shown_pixels(tiles[0].image), tiles[0].pixels)
    assert "32 × 32 pixels in grayscale" in panel.summary.text()

    tick(qtbot, panel.colour_button)
    wait_for_preview(qtbot, panel)
    assert not project.image_prep.grayscale
    assert shown_pixels(visible_tiles(panel)[0].image).shape == (32, 32, 3)


def test_pad_is_the_default_and_the_page_says_which_way_pictures_are_made_square(qtbot: QtBot,
                                                                                 panel: ImagePrepPanel,
                                                                                 project: Project) -> None:
    assert project.image_prep.fit == "pad"
    assert panel.fit_combo.currentData() == "pad"
    assert "16 of 24 pictures are not square" in panel.fit_note.text()
    assert FIT_WORDS["pad"] in panel.fit_note.text() and FIT_WORDS["pad"] in panel.summary.text()

    choose(panel.fit_combo, "stretch")
    assert project.image_prep.fit == "stretch"
    assert FIT_WORDS["stretch"] in panel.fit_note.text() and FIT_WORDS["stretch"] in panel.summary.text()
    assert FIT_WORDS["pad"] not in panel.summary.text()
    wait_for_preview(qtbot, panel)
    np.testing.assert_array_equal(panel.tiles[0].pixels, read_pixels(current_path(panel), 64, False, "stretch"))

    choose(panel.fit_combo, "crop")
    assert "edges are lost" in panel.fit_note.text(), "cropping is said, never silent"
    wait_for_preview(qtbot, panel)
    np.testing.assert_array_equal(panel.tiles[0].pixels, read_pixels(current_path(panel), 64, False, "crop"))


def test_a_wide_picture_is_padded_not_cropped(qtbot: QtBot, panel: ImagePrepPanel, picture_folder: Path) -> None:
    wide = str(picture_folder / "circles" / "circle_00.png")  # 96 × 64
    panel.sample_combo.addItem("circles: circle_00.png", wide)
    panel.sample_combo.setCurrentIndex(panel.sample_combo.count() - 1)
    wait_for_preview(qtbot, panel)
    pixels = panel.tiles[0].pixels
    assert pixels is not None
    assert pixels[:8].max() == 0 and pixels[-8:].max() == 0, "black bands above and below"
    assert pixels[32, :3].max() < 40, "the dark left edge is kept"

    choose(panel.fit_combo, "stretch")
    wait_for_preview(qtbot, panel)
    stretched = panel.tiles[0].pixels
    assert stretched is not None and stretched[:8].max() > 200, "no bands: the picture fills the square"


def test_augmentation_checkboxes_and_their_strengths(qtbot: QtBot, panel: ImagePrepPanel, project: Project) -> None:
    wait_for_preview(qtbot, panel)
    for box in (panel.flip_check, panel.rotate_check, panel.zoom_check, panel.color_check):
        assert box.isChecked()
        tick(qtbot, box)
    prep = project.image_prep
    assert (prep.flip, prep.rotate, prep.zoom, prep.color, prep.blur, prep.noise) == (False, 0, 0.0, 0.0, False, 0.0)
    assert project.image_prep.augmentation_words() in panel.summary.text()
    wait_for_preview(qtbot, panel)
    assert len(visible_tiles(panel)) == 1, "no augmentation: only the picture itself"
    assert panel.preview_note.text() == NO_AUGMENTATION_NOTE
    assert not panel.reshuffle_button.isEnabled()

    tick(qtbot, panel.rotate_check)
    assert project.image_prep.rotate == 10, "switched on at the usual strength"
    assert not panel.advanced.isVisible(), "strengths are folded away at first"
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    assert panel.advanced.isVisible()
    panel.rotate_spin.setValue(30)
    assert project.image_prep.rotate == 30
    assert "30°" in panel.rotate_check.text(), "the checkbox says the strength even with the fold closed"
    assert not panel.noise_spin.isEnabled(), "a strength is set only for a change that is on"
    tick(qtbot, panel.noise_check)
    assert project.image_prep.noise == pytest.approx(0.25)
    panel.noise_spin.setValue(60)
    assert project.image_prep.noise == pytest.approx(0.6)
    tick(qtbot, panel.blur_check)
    assert project.image_prep.blur
    assert "speckled" in panel.summary.text() and "softened" in panel.summary.text()

    tick(qtbot, panel.rotate_check)
    assert project.image_prep.rotate == 0
    tick(qtbot, panel.rotate_check)
    assert project.image_prep.rotate == 30, "switched back on at the strength chosen before"

    wait_for_preview(qtbot, panel)
    assert len(visible_tiles(panel)) == 8

    qtbot.mouseClick(panel.usual_button, Qt.MouseButton.LeftButton)
    assert project.image_prep == ImagePrep()
    assert panel.rotate_spin.value() == 10 and panel.flip_check.isChecked() and not panel.noise_check.isChecked()


def test_another_picture_and_new_variations(qtbot: QtBot, panel: ImagePrepPanel, project: Project) -> None:
    wait_for_preview(qtbot, panel)
    listed = [panel.sample_combo.itemData(i) for i in range(panel.sample_combo.count())]
    assert len(listed) == 8
    classes = {Path(path).parent.name for path in listed}
    assert classes == {"circles", "squares"}, "samples come from every class"
    first_variation = panel.tiles[1].pixels

    qtbot.mouseClick(panel.reshuffle_button, Qt.MouseButton.LeftButton)
    wait_for_preview(qtbot, panel)
    assert first_variation is not None and panel.tiles[1].pixels is not None
    assert not np.array_equal(panel.tiles[1].pixels, first_variation), "other random variations"

    qtbot.mouseClick(panel.another_button, Qt.MouseButton.LeftButton)
    assert panel.sample_combo.count() == 9
    path = current_path(panel)
    assert path not in listed
    wait_for_preview(qtbot, panel)
    np.testing.assert_array_equal(panel.tiles[0].pixels, read_pixels(path, 64, False, "pad"))


def test_a_preview_made_from_old_choices_is_never_shown(qtbot: QtBot, panel: ImagePrepPanel, project: Project,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    wait_for_preview(qtbot, panel)
    real_job = image_prep_panel.preview_job
    made: list[bool] = []
    started = threading.Event()

    def slow_job(key: image_prep_panel.PreviewKey) -> Generator[None, None, image_prep_panel.PreviewTiles]:
        started.set()
        time.sleep(0.4)  # long enough for the person to change something while it runs
        made.append(key[2].grayscale)
        return (yield from real_job(key))

    monkeypatch.setattr(image_prep_panel, "preview_job", slow_job)
    shown: list[bool] = []
    panel.preview_ready.connect(lambda: shown.append(project.image_prep.grayscale))
    choose(panel.size_combo, 48 if panel.size_combo.findData(48) >= 0 else 96)
    qtbot.waitUntil(started.is_set, timeout=5_000)
    tick(qtbot, panel.gray_button)  # while the colour preview is being made
    for _ in range(3):  # quick changes inside the delay make no job of their own
        choose(panel.fit_combo, "stretch")
        choose(panel.fit_combo, "pad")
    wait_for_preview(qtbot, panel)
    assert made == [False, True], "one job for the old choices, one for the newest; none for those in between"
    assert shown == [True], "the colour preview finished after the change and was dropped"
    assert panel.tiles[0].image.format() == QImage.Format.Format_Grayscale8  # type: ignore[union-attr]


def test_without_torch_the_plain_picture_shows_with_a_sentence(without_torch: None, qtbot: QtBot,
                                                               panel: ImagePrepPanel) -> None:
    wait_for_preview(qtbot, panel)
    assert len(visible_tiles(panel)) == 1
    assert panel.preview_note.text() == NO_TORCH_NOTE
    np.testing.assert_array_equal(panel.tiles[0].pixels, read_pixels(current_path(panel), 64, False, "pad"))


def test_a_picture_that_cannot_be_read_is_said_in_words(qtbot: QtBot, panel: ImagePrepPanel,
                                                        tmp_path: Path) -> None:
    wait_for_preview(qtbot, panel)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    panel.sample_combo.addItem("broken", str(broken))
    panel.sample_combo.setCurrentIndex(panel.sample_combo.count() - 1)
    qtbot.waitUntil(lambda: "cannot be shown" in panel.preview_note.text(), timeout=WAIT_MS)
    assert "not an image Studio can read" in panel.preview_note.text()
    assert all(tile.image is None for tile in panel.tiles)


def test_the_window_shows_this_page_for_pictures(qtbot: QtBot, window: MainWindow, picture_folder: Path) -> None:
    folder = list_image_folder(picture_folder)
    window.project.set_dataset(folder)
    window.project.set_image_check(_checked(folder).check)  # type: ignore[arg-type]
    assert window.go_to(Step.PREPARE)
    page = window.page(Step.PREPARE)
    assert isinstance(page, ImagePrepPanel) and window.stack.currentWidget() is page
    qtbot.waitUntil(page.preview_is_current, timeout=WAIT_MS)
    assert window.nav.next_button.isEnabled(), "nothing on this page blocks the next step"


def test_a_pretrained_network_reads_small_sizes_at_what_it_needs(qtbot: QtBot, panel: ImagePrepPanel,
                                                                project: Project) -> None:
    pretrained = [spec for spec in all_models() if spec.pretrained and spec.takes(DataKind.IMAGES)]
    if not pretrained:
        pytest.skip("no pretrained picture network is registered")
    choose(panel.size_combo, 32)
    project.set_model(ModelConfig(pretrained[0].key))
    assert project.image_input_size() == PRETRAINED_MIN_SIZE
    assert f"needs at least {PRETRAINED_MIN_SIZE} × {PRETRAINED_MIN_SIZE}" in panel.size_note.text()
    assert f"{PRETRAINED_MIN_SIZE} × {PRETRAINED_MIN_SIZE} pixels" in panel.summary.text()
    wait_for_preview(qtbot, panel)
    image = panel.tiles[0].image
    assert image is not None and image.width() == PRETRAINED_MIN_SIZE
