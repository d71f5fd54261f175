"""The Data step for pictures, driven through the window: a folder opens from the table page (button, drop,
recent entry), its page shows the counts, thumbnails and what reading every picture found, and a folder that
cannot be trained on blocks Next with a sentence."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.resources import sample_dataset
from studio.ui.main_window import MainWindow
from studio.ui.panels.image_data_panel import NEXT_STEP, ImageDataPanel
from studio.ui.widgets.image_grid import ImageViewer
from tests.ui.helpers import LOAD_MS, answer_open_dialog, click, wait_data_idle
from tests.ui.test_image_grid import (
    animated_gif,
    cmyk_jpeg,
    double_click,
    draw_picture,
    tiff_16bit,
    truncated_jpeg,
    wait_for_visible_thumbnails,
)

CIRCLES = 12  # drawn circles, besides the odd files below
SQUARES = 11


def picture_folder(root: Path) -> Path:
    """Two classes of drawn shapes, with the files a real folder holds: damaged, empty, not a picture, CMYK,
    16-bit, animated, an exact copy and a near copy filed under the other class."""
    for i in range(CIRCLES):
        draw_picture(root / "circles" / f"circle_{i:02d}.{'png' if i % 2 else 'jpg'}", "circle", seed=i)
    for i in range(SQUARES):
        draw_picture(root / "squares" / f"square_{i:02d}.png", "square", (40, 90, 200), seed=100 + i)
    truncated_jpeg(root / "circles" / "cut_short.jpg")
    (root / "circles" / "empty.png").write_bytes(b"")
    (root / "circles" / "notes.txt").write_text("taken in the garden")
    cmyk_jpeg(root / "circles" / "printed.jpg")
    tiff_16bit(root / "circles" / "scan.tif")
    animated_gif(root / "circles" / "moving.gif")
    (root / "circles" / "circle_00 copy.jpg").write_bytes((root / "circles" / "circle_00.jpg").read_bytes())
    # The same drawing saved again, lightly compressed, under the other class: a near copy.
    Image.open(root / "circles" / "circle_01.png").convert("RGB").save(root / "squares" / "odd_one.jpg",
                                                                       quality=70)
    return root


def answer_folder_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[tuple]:
    calls: list[tuple] = []

    def choose(*args: object, **kwargs: object) -> str:
        calls.append(args)
        return str(path)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    return calls


def image_page(qtbot: QtBot, window: MainWindow) -> ImageDataPanel:
    """The pictures' Data page, once it is on screen and has read every picture."""
    qtbot.waitUntil(lambda: isinstance(window.stack.currentWidget(), ImageDataPanel), timeout=LOAD_MS)
    page = window.stack.currentWidget()
    assert isinstance(page, ImageDataPanel)
    qtbot.waitUntil(lambda: window.project.images is not None and window.project.images.check is not None
                    and not page.checker.is_running(), timeout=LOAD_MS)
    return page


def open_folder(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, folder: Path) -> ImageDataPanel:
    """Open ``folder`` with the table page's "Open a folder of pictures…" button."""
    calls = answer_folder_dialog(monkeypatch, folder)
    click(qtbot, window.data_panel.folder_button)
    assert calls, "the folder dialog was shown"
    return image_page(qtbot, window)


def back_to_the_sample(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                       page: ImageDataPanel) -> None:
    """The picture page's "Open a table…" with the sample: the table page comes back, the columns profiled."""
    answer_open_dialog(monkeypatch, sample_dataset())
    click(qtbot, page.open_table_button)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.data_panel, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: bool(window.project.profiles) and not page.loader.is_running(), timeout=LOAD_MS)


def test_a_folder_shows_its_classes_thumbnails_and_findings(qtbot: QtBot, window: MainWindow,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = picture_folder(tmp_path / "shapes")
    page = open_folder(qtbot, window, monkeypatch, folder)

    assert window.current_step is Step.DATA and window.page(Step.DATA) is page
    assert "shapes" in page.folder_label.text() and "pictures in 2 classes" in page.folder_label.text()
    # Listed: the circles, 5 odd picture files and the copy (the text file is not a picture); the squares and the
    # near copy. Left out once read: the cut-short and empty files and the exact copy.
    counts = {page.counts.item(r, 0).text(): page.counts.item(r, 1).text() for r in range(page.counts.rowCount())}
    assert counts == {"circles": str(CIRCLES + 3), "squares": str(SQUARES + 1)}
    assert [page.class_combo.itemText(i) for i in range(page.class_combo.count())] == [
        "All classes", "circles", "squares"]

    warnings = page.warnings_label.text()
    assert "1 file is not a picture" in warnings
    assert "2 files could not be read" in warnings and "cut short" in warnings and "empty" in warnings
    assert "an exact copy" in warnings or "exact copies" in warnings
    assert "near copies" in warnings
    assert "pixels" in page.sizes_label.text()
    assert not page.problems_banner.isVisible()
    assert page.next_label.text() == NEXT_STEP
    assert not page.progress_box.isVisible()
    assert window.nav.next_button.isEnabled(), window.nav.reason.text()

    # The grid shows the first class; thumbnails arrive; the damaged files get a can't-read tile and a note.
    grid = page.grid
    assert page.class_combo.currentData() == "circles"
    assert grid.model.rowCount() == CIRCLES + 6, "every file listed, the ones left out marked"
    wait_for_visible_thumbnails(qtbot, grid)
    captions = [grid.model.row_at(r).caption for r in range(grid.model.rowCount())]
    cut = captions.index("Left out: cut_short.jpg")
    qtbot.waitUntil(lambda: grid.model.tile(cut) is not None, timeout=LOAD_MS)
    assert isinstance(grid.model.tile(cut), str)
    assert "cut short" in grid.model.data(grid.model.index(cut), Qt.ItemDataRole.ToolTipRole)
    moving = captions.index("moving.gif")
    qtbot.waitUntil(lambda: grid.model.tile(moving) is not None, timeout=LOAD_MS)
    assert isinstance(grid.model.tile(moving), QImage)

    page.class_combo.setCurrentIndex(2)
    assert grid.model.rowCount() == SQUARES + 1
    assert {grid.model.row_at(r).caption for r in range(SQUARES + 1)} >= {"odd_one.jpg", "square_00.png"}
    page.class_combo.setCurrentIndex(0)
    assert grid.model.rowCount() == CIRCLES + 6 + SQUARES + 1 and grid.model.row_at(0).caption.startswith("circles: ")

    # Double-clicking a picture shows it large, with its caption.
    page.class_combo.setCurrentIndex(1)
    wait_for_visible_thumbnails(qtbot, grid)
    with qtbot.waitSignal(grid.viewer_opened, timeout=LOAD_MS) as opened:
        double_click(qtbot, grid, 0)
    viewer: ImageViewer = opened.args[0]
    assert viewer.isVisible() and viewer.caption.text() == grid.model.row_at(0).caption
    qtbot.waitUntil(viewer.has_picture, timeout=LOAD_MS)
    viewer.close_button.click()


def only_other_files(root: Path) -> None:
    for name in ("readme.txt", "cats/list.csv", "dogs/notes.doc"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("not a picture")


@pytest.mark.parametrize(("make", "sentence", "warning"), [
    (lambda root: root.mkdir(), "holds no pictures", ""),
    (lambda root: [draw_picture(root / "cats" / f"{i}.png", seed=i) for i in range(4)], "Only one class", ""),
    (only_other_files, "holds no pictures", "3 files are not pictures"),
], ids=["empty folder", "one class", "only other files"])
def test_a_folder_that_cannot_be_trained_on_blocks_next_with_a_sentence(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        make: Callable[[Path], object], sentence: str, warning: str) -> None:
    root = tmp_path / "pictures"
    make(root)
    page = open_folder(qtbot, window, monkeypatch, root)

    assert page.problems_banner.isVisible() and sentence in page.problems_banner.text()
    assert not window.nav.next_button.isEnabled()
    assert sentence in window.nav.reason.text()
    assert not window.go_next()
    assert window.current_step is Step.DATA
    assert warning in page.warnings_label.text()


def test_a_folder_that_cannot_be_read_is_said_in_words(qtbot: QtBot, window: MainWindow,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    draw_picture(locked / "cats" / "a.png")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    answer_folder_dialog(monkeypatch, locked)
    panel = window.data_panel
    with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
        click(qtbot, panel.folder_button)
    assert panel.banner.level == "error"
    assert "cannot be read" in panel.banner.text() and "Permission denied" in panel.banner.text()
    assert window.stack.currentWidget() is panel
    assert panel.open_button.isEnabled() and panel.folder_button.isEnabled()


def test_open_a_table_from_the_picture_page_goes_back_to_the_table_pages(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    page = open_folder(qtbot, window, monkeypatch, picture_folder(tmp_path / "shapes"))

    back_to_the_sample(qtbot, window, monkeypatch, page)
    assert window.project.table is not None and window.project.images is None
    assert window.data_panel.target_combo.isEnabled()
    assert not page.checker.is_running() and not page.loader.is_running()


def test_another_folder_a_recent_folder_and_a_dropped_folder(qtbot: QtBot, window: MainWindow,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    first = picture_folder(tmp_path / "shapes")
    page = open_folder(qtbot, window, monkeypatch, first)

    second = tmp_path / "fruit"
    for i in range(3):
        draw_picture(second / "apples" / f"{i}.png", seed=i)
        draw_picture(second / "pears" / f"{i}.png", "square", seed=10 + i)
    answer_folder_dialog(monkeypatch, second)
    click(qtbot, page.open_folder_button)
    qtbot.waitUntil(lambda: window.project.images is not None and window.project.images.check is not None
                    and window.project.images.root == str(second.resolve()), timeout=LOAD_MS)
    qtbot.waitUntil(lambda: "fruit" in page.folder_label.text(), timeout=LOAD_MS)
    assert page.counts.rowCount() == 2 and page.grid.model.rowCount() == 3

    # Both folders are recent entries on the table page; back to a table, then a recent folder reopens.
    recent = window.data_panel.recent_menu.actions()
    assert [a.text() for a in recent] == ["fruit (folder of pictures)", "shapes (folder of pictures)"]
    back_to_the_sample(qtbot, window, monkeypatch, page)
    recent = window.data_panel.recent_menu.actions()
    recent[1].trigger()
    page = image_page(qtbot, window)
    assert window.project.images is not None and window.project.images.root == str(first.resolve())
    wait_data_idle(qtbot, window)

    # A folder dropped on the table page opens too.
    back_to_the_sample(qtbot, window, monkeypatch, page)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.data_panel.dropEvent(drop)
    image_page(qtbot, window)
    assert window.project.images is not None and window.project.images.root == str(second.resolve())
