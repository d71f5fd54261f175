"""The window fits a 1024 × 600 screen on every page: a page larger than that scrolls inside the window, which
itself never asks for more."""

from __future__ import annotations

from PySide6.QtCore import QSize
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow, opening_size
from tests.ui.helpers import choose_target, click_sidebar, go_next, open_sample, train

SMALL = QSize(1024, 600)


def fits(size: QSize) -> bool:
    return size.width() <= SMALL.width() and size.height() <= SMALL.height()


def test_every_page_fits_a_1024_by_600_screen(qtbot: QtBot, window: MainWindow) -> None:
    assert opening_size().width() <= 1180 and opening_size().height() <= 780
    window.resize(SMALL)
    open_sample(qtbot, window)
    choose_target(window, "species")
    for step in (Step.PREPARE, Step.SPLIT, Step.MODEL, Step.TRAIN):
        go_next(qtbot, window, step)
        assert fits(window.minimumSizeHint()), (step, window.minimumSizeHint())
    train(qtbot, window)
    for step in (Step.RESULTS, Step.EXPORT, Step.PREDICT, Step.RUNS, Step.DATA):
        click_sidebar(qtbot, window, step)
        assert window.current_step is step
        qtbot.wait(50)
        assert fits(window.minimumSizeHint()), (step, window.minimumSizeHint())
        assert window.size() == SMALL
        # Whatever the page holds is reachable: the page is as wide as the window's page area or scrolls.
        holder = window.stack.currentWidget().parentWidget().parentWidget()
        assert holder.width() <= SMALL.width()
