"""The window on a computer without PyTorch: the network is listed, and the Model step says what it needs."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import choose_target, go_next, go_to_model_page, open_sample


def test_choosing_the_network_without_pytorch_explains_and_holds_next(without_torch: None, qtbot: QtBot,
                                                                      window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("neural_network")
    qtbot.waitUntil(lambda: "PyTorch" in window.nav.reason.text(), timeout=5_000)
    assert "not installed" in window.nav.reason.text()
    assert not window.nav.next_button.isEnabled()

    window.model_panel.select_model("random_forest")
    qtbot.waitUntil(lambda: window.nav.next_button.isEnabled(), timeout=5_000)
    go_next(qtbot, window, Step.TRAIN)
