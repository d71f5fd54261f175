"""The thumbnail grid: thumbnails made off the GUI thread for the tiles in view, a clear tile for files that cannot
be read, the viewer on double-click or Enter, and 20,000 rows that still scroll and fill in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics, QImage
from pytestqt.qtbot import QtBot

from studio.ui.widgets.image_grid import (
    ImageGridWidget,
    ImageViewer,
    ThumbnailRow,
    _Requests,
    _ThumbnailCache,
    caption_lines,
)

WAIT_MS = 20_000


# -- pictures made for the tests ---------------------------------------------------------------------------------
def draw_picture(path: Path, shape: str = "circle", colour: tuple[int, int, int] = (200, 40, 40),
                 size: tuple[int, int] = (160, 120), seed: int = 0) -> Path:
    """A small picture of a shape on a shaded background, saved in the format its suffix names. The shading and
    the shape's place and size follow the seed, so two pictures are not near copies by accident."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x / size[0] + np.sin(angle) * y / size[1]
    base = rng.integers(150, 220, 3)
    background = np.clip(base[None, None, :] + 50 * ramp[:, :, None], 0, 255).astype(np.uint8)
    image = Image.fromarray(background, "RGB")
    draw = ImageDraw.Draw(image)
    left, top = int(rng.integers(0, size[0] // 2)), int(rng.integers(0, size[1] // 2))
    side = int(rng.integers(min(size) // 4, min(size) // 2))
    box = (left, top, left + side, top + side)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    else:
        draw.rectangle(box, fill=colour)
    image.save(path)
    return path


def truncated_jpeg(path: Path) -> Path:
    draw_picture(path.with_suffix(".full.jpg"), size=(400, 300))
    data = path.with_suffix(".full.jpg").read_bytes()
    path.with_suffix(".full.jpg").unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def cmyk_jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("CMYK", (120, 90), (0, 200, 200, 0)).save(path)
    return path


def tiff_16bit(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ramp = np.tile(np.linspace(0, 4095, 128, dtype=np.uint16), (96, 1))  # a 12-bit scan: dark if read naively
    Image.fromarray(ramp).save(path)
    return path


def animated_gif(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [Image.new("RGB", (80, 60), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


# -- fixtures ----------------------------------------------------------------------------------------------------
@pytest.fixture
def grid(qtbot: QtBot) -> Iterator[ImageGridWidget]:
    widget = ImageGridWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()
    assert not any(runner.is_running() for runner in widget.model._runners), "a thumbnail thread outlived shutdown"


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    return [draw_picture(tmp_path / f"p{i}.{suffix}", "circle" if i % 2 else "square",
                         (40 * i % 255, 120, 200), seed=i)
            for i, suffix in enumerate(["png", "jpg", "bmp", "webp", "png", "jpg"])]


def rows_of(paths: list[Path]) -> list[ThumbnailRow]:
    return [ThumbnailRow(str(p), p.name, f"tooltip of {p.name}") for p in paths]


def wait_for_visible_thumbnails(qtbot: QtBot, grid: ImageGridWidget) -> None:
    qtbot.waitUntil(lambda: len(grid.visible_rows()) > 0
                    and all(grid.model.tile(r) is not None for r in grid.visible_rows()), timeout=WAIT_MS)


def assert_visible_rows_are_in_view(grid: ImageGridWidget) -> None:
    """``visible_rows`` (which decides what is kept asked for) agrees with where the view put the tiles."""
    viewport = grid.view.viewport().rect()
    shown = grid.visible_rows()
    assert grid.view.visualRect(grid.model.index(shown.start)).intersects(viewport)
    assert grid.view.visualRect(grid.model.index(shown.stop - 1)).top() <= viewport.bottom()
    for outside in (shown.start - 1, shown.stop):
        if 0 <= outside < grid.model.rowCount():
            assert not grid.view.visualRect(grid.model.index(outside)).intersects(viewport), outside


def tile_centre(grid: ImageGridWidget, row: int) -> QPoint:
    return grid.view.visualRect(grid.model.index(row)).center()


def double_click(qtbot: QtBot, grid: ImageGridWidget, row: int) -> None:
    """A double-click as the system delivers it: a click, then the second press reported as a double-click
    (QTest's double-click alone lacks the first press, and item views ignore it)."""
    qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=tile_centre(grid, row))
    qtbot.mouseDClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=tile_centre(grid, row))


# -- the grid ----------------------------------------------------------------------------------------------------
def test_thumbnails_arrive_for_the_tiles_in_view(qtbot: QtBot, grid: ImageGridWidget, pictures: list[Path]) -> None:
    grid.set_rows(rows_of(pictures))
    assert grid.model.rowCount() == len(pictures)
    assert grid.model.data(grid.model.index(2)) == pictures[2].name
    assert grid.model.data(grid.model.index(2), Qt.ItemDataRole.ToolTipRole) == f"tooltip of {pictures[2].name}"
    assert grid.view.isVisibleTo(grid) and not grid.empty_label.isVisibleTo(grid)

    with qtbot.waitSignal(grid.model.thumbnails_arrived, timeout=WAIT_MS):
        pass
    wait_for_visible_thumbnails(qtbot, grid)
    for row in range(len(pictures)):
        tile = grid.model.tile(row)
        assert isinstance(tile, QImage) and not tile.isNull()
        assert max(tile.width(), tile.height()) <= grid.model.size


def test_files_that_cannot_be_read_get_a_clear_tile_and_say_why(qtbot: QtBot, grid: ImageGridWidget,
                                                                 tmp_path: Path) -> None:
    broken = [truncated_jpeg(tmp_path / "cut.jpg"), tmp_path / "empty.png", tmp_path / "words.png",
              tmp_path / "gone.jpg"]
    broken[1].write_bytes(b"")
    broken[2].write_text("not a picture at all")
    good = draw_picture(tmp_path / "fine.png")
    grid.set_rows(rows_of([good, *broken]))

    wait_for_visible_thumbnails(qtbot, grid)
    assert isinstance(grid.model.tile(0), QImage)
    for row in range(1, 5):
        assert isinstance(grid.model.tile(row), str), f"row {row} should be a can't-read tile"
    tooltip = grid.model.data(grid.model.index(4), Qt.ItemDataRole.ToolTipRole)
    assert "no longer there" in tooltip
    assert "cut short" in grid.model.data(grid.model.index(1), Qt.ItemDataRole.ToolTipRole)
    grid.grab()  # the red tiles paint without error


def test_unusual_formats_become_thumbnails(qtbot: QtBot, grid: ImageGridWidget, tmp_path: Path) -> None:
    odd = [cmyk_jpeg(tmp_path / "cmyk.jpg"), tiff_16bit(tmp_path / "scan.tif"), animated_gif(tmp_path / "anim.gif")]
    grid.set_rows(rows_of(odd))
    wait_for_visible_thumbnails(qtbot, grid)
    cmyk, scan, gif = (grid.model.tile(row) for row in range(3))
    assert isinstance(cmyk, QImage) and isinstance(scan, QImage) and isinstance(gif, QImage)
    # The 12-bit ramp is stretched to the full range (not almost black); the animation shows its first frame.
    assert scan.pixelColor(scan.width() - 1, 0).red() > 200
    assert gif.pixelColor(gif.width() // 2, gif.height() // 2).red() > 200


def test_new_words_for_the_same_pictures_keep_the_place(qtbot: QtBot, grid: ImageGridWidget,
                                                         pictures: list[Path]) -> None:
    many = [pictures[i % len(pictures)] for i in range(300)]
    grid.set_rows(rows_of(many))
    qtbot.waitUntil(lambda: grid.view.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    grid.view.verticalScrollBar().setValue(grid.view.verticalScrollBar().maximum() // 2)
    position = grid.view.verticalScrollBar().value()

    grid.set_rows([ThumbnailRow(str(p), f"cat → dog, {i % 100} % sure") for i, p in enumerate(many)])
    assert grid.view.verticalScrollBar().value() == position
    assert grid.model.data(grid.model.index(7)) == "cat → dog, 7 % sure"

    grid.set_rows(rows_of(pictures[:2]))
    assert grid.model.rowCount() == 2
    grid.set_rows([])
    assert grid.empty_label.isVisibleTo(grid)


def test_twenty_thousand_rows_fill_in_where_you_look(qtbot: QtBot, grid: ImageGridWidget,
                                                      pictures: list[Path]) -> None:
    rows = [ThumbnailRow(str(pictures[i % len(pictures)]), f"picture {i:,}") for i in range(20_000)]
    grid.set_rows(rows)
    assert grid.model.rowCount() == 20_000
    wait_for_visible_thumbnails(qtbot, grid)
    top = grid.visible_rows()
    assert top.start == 0
    assert_visible_rows_are_in_view(grid)

    bar = grid.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and grid.view.visualRect(grid.model.index(19_999)).isValid(),
                    timeout=WAIT_MS)
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: 19_999 in grid.visible_rows(), timeout=WAIT_MS)
    wait_for_visible_thumbnails(qtbot, grid)
    assert_visible_rows_are_in_view(grid)
    shown = grid.view.indexAt(tile_centre(grid, 19_999))
    assert shown.row() == 19_999
    assert grid.model.data(shown) == "picture 19,999"

    bar.setValue(bar.maximum() // 2)
    qtbot.waitUntil(lambda: grid.visible_rows().start > 5_000, timeout=WAIT_MS)
    wait_for_visible_thumbnails(qtbot, grid)
    assert_visible_rows_are_in_view(grid)

    # Wider: the tiles share the extra width, and what is in view is still known exactly.
    grid.resize(1000, 500)
    qtbot.waitUntil(lambda: grid.view.gridSize().width() > grid._cell.width() or
                    grid.view.viewport().width() % grid._cell.width() < 2, timeout=WAIT_MS)
    qtbot.wait(50)
    assert_visible_rows_are_in_view(grid)
    top_row = grid.visible_rows().start
    per_line = grid._per_line()
    last_in_line = grid.view.visualRect(grid.model.index(top_row + per_line - 1))
    next_line = grid.view.visualRect(grid.model.index(top_row + per_line))
    assert next_line.top() > last_in_line.top(), "the line holds as many tiles as counted"
    assert grid.view.viewport().width() - last_in_line.right() < grid._cell.width() // 2, "no strip left empty"


def test_requests_for_tiles_scrolled_past_are_dropped(qtbot: QtBot, grid: ImageGridWidget, tmp_path: Path) -> None:
    # Distinct files, so every tile needs a thumbnail of its own.
    source = draw_picture(tmp_path / "one.png")
    paths = []
    for i in range(400):
        copy = tmp_path / "many" / f"{i}.png"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(source.read_bytes())
        paths.append(copy)
    grid.model.shutdown()  # no threads: requests stay queued, so what is kept can be seen
    grid.model._closed = False
    grid.model._runners = []
    grid.set_rows(rows_of(paths))
    grid.grab()
    asked = grid.model.pending()
    assert 0 < asked < 100, "only the tiles in view are asked for"
    bar = grid.view.verticalScrollBar()
    bar.setValue(bar.maximum())
    grid.grab()
    with qtbot.waitSignal(grid._prune_timer.timeout, timeout=WAIT_MS):
        pass
    assert grid.model.pending() <= len(grid.visible_rows()) + 2 * 10, "the top rows' requests went"


def test_double_click_and_enter_open_the_viewer(qtbot: QtBot, grid: ImageGridWidget, pictures: list[Path]) -> None:
    grid.set_rows([ThumbnailRow(str(p), f"circle → square, {90 + i} % sure", "why") for i, p in enumerate(pictures)])
    wait_for_visible_thumbnails(qtbot, grid)

    with qtbot.waitSignal(grid.viewer_opened, timeout=WAIT_MS) as opened:
        double_click(qtbot, grid, 1)
    viewer: ImageViewer = opened.args[0]
    assert viewer.isVisible()
    assert viewer.caption.text() == "circle → square, 91 % sure"
    qtbot.waitUntil(viewer.has_picture, timeout=WAIT_MS)
    assert str(pictures[1].name) in viewer.where.text()

    with qtbot.waitSignal(viewer.shown_picture, timeout=WAIT_MS):
        viewer.next_button.click()
    assert viewer.row == 2 and viewer.caption.text() == "circle → square, 92 % sure"
    viewer.close_button.click()
    assert not viewer.isVisible()

    grid.view.setFocus()
    grid.view.setCurrentIndex(grid.model.index(3))
    with qtbot.waitSignal(grid.viewer_opened, timeout=WAIT_MS) as opened:
        qtbot.keyClick(grid.view, Qt.Key.Key_Return)
    assert opened.args[0].row == 3


def test_the_viewer_fits_a_small_screen_and_says_when_a_file_cannot_be_read(qtbot: QtBot, tmp_path: Path) -> None:
    large = draw_picture(tmp_path / "large.jpg", size=(3000, 2000))
    cut = truncated_jpeg(tmp_path / "cut.jpg")
    viewer = ImageViewer([ThumbnailRow(str(large), "large"), ThumbnailRow(str(cut), "cut")], 0)
    qtbot.addWidget(viewer)
    viewer.resize(1024, 600)
    viewer.show()
    qtbot.waitUntil(viewer.has_picture, timeout=WAIT_MS)
    shown = viewer.picture.pixmap()
    assert shown.width() <= viewer.picture.width() and shown.height() <= viewer.picture.height()
    assert viewer.close_button.isVisible() and viewer.close_button.geometry().bottom() <= viewer.height()

    with qtbot.waitSignal(viewer.shown_picture, timeout=WAIT_MS):
        viewer.next_button.click()
    assert not viewer.has_picture()
    assert "cut short" in viewer.picture.text()
    viewer.shutdown()


# -- the parts ---------------------------------------------------------------------------------------------------
def test_requests_are_served_newest_first_and_bounded() -> None:
    requests = _Requests(limit=3)
    for name in "abcd":
        dropped = requests.ask((name, 1), name)
    assert dropped == [("a", 1)]
    requests.ask(("b", 1), "b")  # asked again: newest now
    assert requests.take(0) == (("b", 1), "b")
    assert requests.retain({("c", 1)}) == [("d", 1)]
    assert requests.take(0) == (("c", 1), "c")
    assert requests.take(0) is None


def test_the_cache_forgets_the_least_recently_used(qapp: object) -> None:
    image = QImage(10, 10, QImage.Format.Format_RGB888)
    cache = _ThumbnailCache(limit_bytes=3 * image.sizeInBytes())
    for name in "abc":
        cache.put((name, 10), image)
    assert cache.get(("a", 10)) is not None  # used: now the most recent
    cache.put(("d", 10), image)
    assert cache.get(("b", 10)) is None
    assert cache.get(("a", 10)) is not None and len(cache) == 3


def test_captions_wrap_to_two_lines_at_most(qapp: object) -> None:
    from PySide6.QtWidgets import QApplication

    metrics = QFontMetrics(QApplication.font())
    assert caption_lines(metrics, "cat", 100) == ["cat"]
    lines = caption_lines(metrics, "tabby cat → tiger, 93 % sure, seen in the garden at night", 100)
    assert len(lines) == 2 and lines[1].endswith("…")
    (single,) = caption_lines(metrics, "a_very_long_file_name_without_any_spaces_at_all.jpeg", 100)
    assert "…" in single and single.endswith("jpeg")
