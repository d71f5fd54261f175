"""Help ▸ About Studio says where this computer keeps the settings, the runs and the log file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from studio.core.common.logs import start_logging
from studio.ui.main_window import MainWindow
from studio.ui.widgets.about_dialog import AboutDialog


def test_about_names_the_settings_runs_and_log(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    help_menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Help")
    [about] = help_menu.actions()
    assert about.text() == "About Studio…"
    about.trigger()  # as a click on the menu item
    dialog = window.findChild(AboutDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    shown = {key: label.text() for key, label in dialog.path_labels.items()}
    assert shown["settings"] == str(tmp_path / "settings" / "settings.json")
    assert window.project.run_store is not None and shown["runs"] == str(window.project.run_store.path)
    assert shown["log"].endswith("studio.log")
    assert Path(shown["log"]).parent.name == "logs"  # STUDIO_DATA_DIR/logs in the tests
    assert "Studio " in dialog.windowTitle() + "".join(label.text() for label in dialog.findChildren(type(
        dialog.path_labels["log"])))
    dialog.close()


def test_the_log_file_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("studio.core.common.logs.MAX_LOG_BYTES", 2_000)
    logger = logging.getLogger("studio")
    before = list(logger.handlers)
    try:
        path = start_logging()
        assert start_logging() == path and len(logger.handlers) == len(before) + 1  # no second handler
        for number in range(100):
            logger.info("line %d of a long session", number)
        assert path == tmp_path / "logs" / "studio.log"
        assert path.stat().st_size <= 2_000
        assert (tmp_path / "logs" / "studio.log.1").is_file()
        assert "line 99 of a long session" in path.read_text(encoding="utf-8")
    finally:
        for handler in logger.handlers[len(before):]:
            handler.close()
            logger.removeHandler(handler)
