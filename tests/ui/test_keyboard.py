"""The wizard by keyboard: Enter and Alt+→ go on, Alt+← goes back, Ctrl+Enter trains, Tab leaves the preview table,
and the buttons' tooltips name their keys."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import LOAD_MS, TRAIN_MS, choose_target, go_next, open_sample, type_into_spin, wait_idle

ENTER = Qt.Key.Key_Return
ALT = Qt.KeyboardModifier.AltModifier


def _activate(qtbot: QtBot, window: MainWindow) -> None:
    """Shortcuts work in the active window only."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=LOAD_MS)


def _focus(qtbot: QtBot, widget: QWidget) -> None:
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=LOAD_MS)


def test_the_wizard_by_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    _activate(qtbot, window)
    nav = window.nav
    assert "Enter" in nav.next_button.toolTip() and "Alt+→" in nav.next_button.toolTip()
    assert "Alt+←" in nav.back_button.toolTip()
    assert "Ctrl+O" in window.data_panel.open_button.toolTip()
    assert "Ctrl+Enter" in window.train_panel.start_button.toolTip()

    open_sample(qtbot, window)
    data = window.data_panel
    # Tab leaves the preview table instead of walking its cells.
    _focus(qtbot, data.preview)
    qtbot.keyClick(data.preview, Qt.Key.Key_Tab)
    assert not data.preview.hasFocus()
    assert window.focusWidget() is not data.preview

    # Enter with nothing to go on to keeps the page.
    _focus(qtbot, data.target_combo)
    qtbot.keyClick(data.target_combo, ENTER)
    assert window.current_step is Step.DATA
    choose_target(window, "species")
    qtbot.keyClick(data.target_combo, ENTER)  # a picked list entry: Enter goes on, as a dialog's default button
    assert window.current_step is Step.PREPARE

    qtbot.keyClick(window, Qt.Key.Key_Left, ALT)
    assert window.current_step is Step.DATA
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.current_step is Step.PREPARE
    go_next(qtbot, window, Step.SPLIT)

    # A number box keeps Enter to take the number typed.
    type_into_spin(qtbot, window.split_panel.seed_spin, 7)
    assert window.current_step is Step.SPLIT

    # Enter on a focused button presses that button, not Next: Back goes back.
    _focus(qtbot, nav.back_button)
    qtbot.keyClick(nav.back_button, ENTER)
    assert window.current_step is Step.PREPARE
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.current_step is Step.MODEL
    window.model_panel.select_model("logistic_regression")
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.current_step is Step.TRAIN

    # Ctrl+Enter trains; then the results button has focus, so Enter opens the results.
    panel = window.train_panel
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.current_step is Step.TRAIN  # nothing trained: Next is off for keys too
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_MS):
        qtbot.keyClick(window, ENTER, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, panel.runner)
    assert window.focusWidget() is panel.results_button
    qtbot.keyClick(panel.results_button, ENTER)
    assert window.current_step is Step.RESULTS

    # Not on the Train page, Ctrl+Enter trains nothing.
    qtbot.keyClick(window, ENTER, Qt.KeyboardModifier.ControlModifier)
    assert not panel.runner.is_running()
