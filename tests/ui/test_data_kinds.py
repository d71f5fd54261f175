"""A kind of data brings its own pages: the window shows them while the Project's data is of that kind, and the
table pages otherwise. (Only tables exist so far; a stand-in kind proves the mechanism.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest
from PySide6.QtWidgets import QLabel, QVBoxLayout
from pytestqt.qtbot import QtBot

from studio.core.data.kinds import DataKind
from studio.core.project import Project, Step
from studio.ui.main_window import MainWindow
from studio.ui.panels import kinds
from studio.ui.panels.base import Panel
from tests.ui.helpers import open_sample


@dataclass
class PictureFolder:
    kind: ClassVar[DataKind] = DataKind.IMAGES
    path: str = "/photos"

    @property
    def name(self) -> str:
        return "photos"

    def describe_format(self) -> str:
        return "3 pictures"


class PicturesPrepPanel(Panel):
    step = Step.PREPARE

    def __init__(self, project: Project) -> None:
        super().__init__(project)
        self.shown = 0
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Image size and augmentation"))

    def entered(self) -> None:
        self.shown += 1


@pytest.fixture
def picture_pages() -> Iterator[None]:
    saved = {kind: dict(pages) for kind, pages in kinds._PAGES.items()}
    kinds.register_pages(DataKind.IMAGES, {Step.PREPARE: PicturesPrepPanel})
    yield
    kinds._PAGES.clear()
    kinds._PAGES.update(saved)


def test_a_kind_page_replaces_the_table_page_for_its_data(qtbot: QtBot, window: MainWindow,
                                                          picture_pages: None) -> None:
    open_sample(qtbot, window)
    assert window.page(Step.PREPARE) is window.prep_panel  # a table: the table page

    window.project.set_dataset(PictureFolder())

    page = window.page(Step.PREPARE)
    assert isinstance(page, PicturesPrepPanel)
    assert window.page(Step.PREPARE) is page, "made once, then reused"
    assert window.page(Step.SPLIT) is window.split_panel, "steps the kind does not replace keep the table page"
    assert window.stack.indexOf(page) >= 0, "the kind's page lives in the window's page stack"
    assert window.page(Step.PREPARE) is not window.prep_panel

    open_sample(qtbot, window)  # a table again: back to the table page, the kind's page kept for later
    assert window.page(Step.PREPARE) is window.prep_panel
