"""The Predict page and model files in the older (pickle) format: Studio asks before opening one, and a file the
person does not trust is never opened, so nothing it carries runs."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import LOAD_MS, answer_open_dialog, click, click_sidebar, wait_idle

LEGACY = Path(__file__).resolve().parents[1] / "core" / "data" / "legacy_models"


class WritesAFile:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path, str]]:
        return (Path.write_text, (self.marker, "ran"))


def answer_trust_question(monkeypatch: pytest.MonkeyPatch, answer: QMessageBox.StandardButton) -> list[str]:
    """Answer the "do you trust this file?" question as a person would; returns the questions asked."""
    asked: list[str] = []

    def question(_parent: object, title: str, text: str, *_args: object, **_kwargs: object
                 ) -> QMessageBox.StandardButton:
        asked.append(f"{title}\n{text}")
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def test_a_malicious_old_file_is_not_opened_when_not_trusted(qtbot: QtBot, window: MainWindow,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "from-an-email.studio.joblib"
    joblib.dump({"studio_model": 1, "metadata": {}, "pipeline": WritesAFile(marker)}, evil)
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    asked = answer_trust_question(monkeypatch, QMessageBox.StandardButton.No)
    answer_open_dialog(monkeypatch, evil)

    click(qtbot, panel.model_button)
    qtbot.waitUntil(lambda: bool(asked), timeout=LOAD_MS)
    wait_idle(qtbot, panel.runner)

    assert "can run programs" in asked[0] and evil.name in asked[0]
    assert not marker.exists(), "nothing in the file ran"
    assert panel.bundle is None
    assert "not opened" in panel.banner.text()
    assert panel.model_button.isEnabled() and not panel.data_button.isEnabled()


def test_a_trusted_old_file_opens_and_predicts(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                               sample_path: Path) -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    asked = answer_trust_question(monkeypatch, QMessageBox.StandardButton.Yes)
    answer_open_dialog(monkeypatch, LEGACY / "rf.studio.joblib")

    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)

    assert len(asked) == 1
    assert panel.bundle is not None and "Random forest predicting species" in panel.model_label.text()
    answer_open_dialog(monkeypatch, sample_path)
    with qtbot.waitSignal(panel.predicted, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    wait_idle(qtbot, panel.runner)
    assert panel.predictions is not None and len(panel.predictions) > 300


def test_a_file_in_the_safe_format_opens_without_a_question(qtbot: QtBot, window: MainWindow,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            penguins_model: Path) -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    asked = answer_trust_question(monkeypatch, QMessageBox.StandardButton.No)
    answer_open_dialog(monkeypatch, penguins_model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    assert asked == [] and panel.bundle is not None
