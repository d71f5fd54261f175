"""The Export page says how large the saved model file is, and asks before saving a large one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.core.store.model_file import load_model
from studio.ui.main_window import MainWindow
from studio.ui.panels import export_panel
from studio.ui.panels.export_panel import megabytes

from .helpers import (
    LOAD_MS,
    answer_save_dialog,
    choose_target,
    click,
    go_next,
    go_to_model_page,
    open_sample,
    train,
    wait_idle,
)

Answer = QMessageBox.StandardButton


def _answer_questions(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> list[str]:
    """Answer every question dialog with ``answer``; returns the questions' texts."""
    asked: list[str] = []

    def reply(parent: QWidget, title: str, text: str, *args: object) -> Answer:
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(reply))
    return asked


def test_the_saved_size_is_shown_and_a_large_file_is_saved_only_when_agreed(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("random_forest")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel

    # A model under the limit is saved without a question, and the page says how large the file is.
    asked = _answer_questions(monkeypatch, Answer.No)
    small = tmp_path / "forest.studio"
    answer_save_dialog(monkeypatch, small)
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        click(qtbot, export.save_button)
    wait_idle(qtbot, export.runner)
    assert not asked
    size = megabytes(small.stat().st_size)
    assert re.fullmatch(r"\d+\.\d MB", size), size  # a forest of 200 trees: a fraction of a megabyte or more
    assert export.banner.level == "success" and f"({size})" in export.banner.text()
    assert f"{small} ({size})" in export.contents.text()

    # Over the limit: the question says what it costs; no, and nothing is written.
    monkeypatch.setattr(export_panel, "LARGE_MODEL_BYTES", 1000)
    large = tmp_path / "large.studio"
    answer_save_dialog(monkeypatch, large)
    click(qtbot, export.save_button)
    qtbot.waitUntil(lambda: bool(asked), timeout=LOAD_MS)
    wait_idle(qtbot, export.runner)
    assert len(asked) == 1
    question = asked[0]
    estimate = re.match(r"This model file will be about (\d+\.\d) MB: slow to save, open and send\. Save anyway\?",
                        question)
    assert estimate, question
    assert abs(float(estimate.group(1)) - float(size.split()[0])) <= 0.1  # the manifest is not measured: a few KB
    assert "fewer or smaller trees" in question
    assert not large.exists()
    assert export.banner.level == "info" and export.banner.text().startswith("Not saved")
    assert export.save_button.isEnabled()

    # Yes: it is saved, from what was measured.
    asked = _answer_questions(monkeypatch, Answer.Yes)
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS) as saved:
        click(qtbot, export.save_button)
    wait_idle(qtbot, export.runner)
    assert len(asked) == 1
    assert saved.args == [str(large)]
    assert load_model(large).target == "species"
    assert f"({megabytes(large.stat().st_size)})" in export.banner.text()
    assert export.save_button.isEnabled()
