"""The window's last-resort handler: an exception escaping a slot becomes a sentence above the page and a traceback
in the log file, and the window stays usable."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from studio.core.common.logs import log_file_path
from studio.core.project import Step
from studio.ui.last_resort import LastResortHandler
from studio.ui.main_window import MainWindow
from tests.ui.helpers import click, click_sidebar, open_sample


@pytest.fixture
def handler(window: MainWindow) -> Iterator[LastResortHandler]:
    installed = LastResortHandler(window.show_unexpected)
    installed.install()  # as studio.app.main does; inside the test, where pytest-qt's own hook is off
    yield installed
    installed.uninstall()


@pytest.mark.qt_no_exception_capture
def test_a_slot_that_raises_is_said_in_the_window_which_stays_usable(qtbot: QtBot, window: MainWindow,
                                                                      handler: LastResortHandler,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_dialog(*args: object, **kwargs: object) -> tuple[str, str]:
        raise RuntimeError("a fault of Studio's own, deep in a slot")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(broken_dialog))
    click_sidebar(qtbot, window, Step.PREDICT)
    click(qtbot, window.predict_panel.model_button)  # its slot raises

    banner = window.problem_banner
    qtbot.waitUntil(banner.isVisible, timeout=5_000)
    assert "did not expect" in banner.text() and str(log_file_path()) in banner.text()
    assert "Traceback" not in banner.text() and "RuntimeError" not in banner.text()
    logged = log_file_path().read_text(encoding="utf-8")
    assert "Traceback" in logged and "a fault of Studio's own, deep in a slot" in logged

    # Still usable: another page opens, and the sample table loads on it.
    click_sidebar(qtbot, window, Step.DATA)
    assert window.current_step is Step.DATA and not banner.isVisible()
    open_sample(qtbot, window)
    assert window.project.table is not None


@pytest.mark.qt_no_exception_capture
def test_a_background_thread_that_raises_is_said_too(qtbot: QtBot, window: MainWindow,
                                                     handler: LastResortHandler) -> None:
    def fail() -> None:
        raise ValueError("a helper thread's fault")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    qtbot.waitUntil(window.problem_banner.isVisible, timeout=5_000)
    assert "a helper thread's fault" in log_file_path().read_text(encoding="utf-8")
