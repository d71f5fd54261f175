"""Studio opened with a model file (`studio penguins.studio`, or a double-click in the file manager): the Predict
page with that model; and the window carries Studio's icon."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from studio.app import FileOpenHandler, open_model_file
from studio.core.project import Step
from studio.ui.app_icon import app_icon
from studio.ui.main_window import MainWindow


def test_a_model_file_given_at_start_opens_on_the_predict_page(qtbot: QtBot, window: MainWindow,
                                                               penguins_model: Path) -> None:
    panel = window.predict_panel
    with qtbot.waitSignal(panel.model_opened, timeout=30_000):
        open_model_file(window, str(penguins_model))
    assert window.current_step is Step.PREDICT
    assert window.stack.currentWidget() is panel
    assert panel.bundle is not None and Path(panel.bundle.path) == penguins_model
    assert penguins_model.name in panel.model_label.text()
    qtbot.waitUntil(panel.data_button.isEnabled, timeout=5_000)  # ready for a table of new rows


def test_a_broken_model_file_given_at_start_says_so_on_the_predict_page(qtbot: QtBot, window: MainWindow,
                                                                        tmp_path: Path) -> None:
    broken = tmp_path / "broken.studio"
    broken.write_bytes(b"not a model")
    panel = window.predict_panel
    with qtbot.waitSignal(panel.runner.finished, timeout=30_000):
        open_model_file(window, str(broken))
    assert window.current_step is Step.PREDICT
    assert panel.bundle is None
    assert panel.banner.isVisible() and panel.banner.label.text()


def test_the_icon_has_every_size() -> None:
    icon = app_icon()
    assert not icon.isNull()
    assert {size.width() for size in icon.availableSizes()} >= {16, 32, 48, 256}


def test_a_model_file_opened_from_the_finder_opens_on_the_predict_page(qtbot: QtBot, window: MainWindow,
                                                                      penguins_model: Path) -> None:
    """macOS sends a double-clicked file to the running app as a FileOpen event."""
    app = QApplication.instance()
    handler = FileOpenHandler(app, window)  # type: ignore[arg-type]
    app.installEventFilter(handler)
    try:
        with qtbot.waitSignal(window.predict_panel.model_opened, timeout=30_000):
            QApplication.sendEvent(app, QFileOpenEvent(str(penguins_model)))
    finally:
        app.removeEventFilter(handler)
    assert window.current_step is Step.PREDICT
    assert window.predict_panel.bundle is not None
