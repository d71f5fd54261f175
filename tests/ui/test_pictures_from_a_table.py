"""A table that lists picture files (a path and a class per row), opened on the Data page and learnt from as
pictures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pytestqt.qtbot import QtBot

from studio.ui.main_window import MainWindow
from studio.ui.panels.image_data_panel import ImageDataPanel

from .helpers import LOAD_MS, choose_target, click, open_file
from .test_image_results_predict import SHAPES, picture_tree


def test_a_table_of_picture_files_is_opened_as_pictures(qtbot: QtBot, window: MainWindow,
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tree = picture_tree(tmp_path / "pictures", per_class=5)
    files = sorted(tree.glob("*/*.png"))
    listing = pd.DataFrame({"file": [str(f.relative_to(tmp_path)) for f in files],
                            "shape": [f.parent.name for f in files],
                            "taken_by": ["Ann" if i % 2 else "Bo" for i in range(len(files))]})
    table = tmp_path / "labels.csv"
    listing.to_csv(table, index=False)

    open_file(qtbot, window, monkeypatch, table)
    panel = window.data_panel
    assert panel.pictures_box.isVisible() and "'file'" in panel.pictures_note.text()
    assert not panel.pictures_button.isEnabled()  # the class column comes first
    choose_target(window, "shape")
    assert panel.pictures_button.isEnabled() and "'shape'" in panel.pictures_note.text()

    click(qtbot, panel.pictures_button)
    qtbot.waitUntil(lambda: isinstance(window.stack.currentWidget(), ImageDataPanel), timeout=LOAD_MS)
    page = window.stack.currentWidget()
    assert isinstance(page, ImageDataPanel)
    qtbot.waitUntil(lambda: window.project.images is not None and window.project.images.check is not None,
                    timeout=LOAD_MS)
    assert window.project.images.class_counts == dict.fromkeys(SHAPES, 8)
    assert window.project.target == "class"
    qtbot.waitUntil(lambda: window.nav.next_button.isEnabled(), timeout=LOAD_MS)


def test_a_table_without_picture_files_offers_nothing(qtbot: QtBot, window: MainWindow,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = tmp_path / "plain.csv"
    pd.DataFrame({"x": range(30), "y": ["a", "b", "c"] * 10}).to_csv(table, index=False)
    open_file(qtbot, window, monkeypatch, table)
    assert not window.data_panel.pictures_box.isVisible()
    assert not window.data_panel.learn_from_pictures()
