"""A model file made by another Studio version says so on the Predict page: which version, and what it means."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow
from tests.bad_input_corpus import rewrite_manifest

from .helpers import LOAD_MS, answer_open_dialog, click, click_sidebar, wait_idle


def test_the_predict_page_says_which_studio_made_the_model(qtbot: QtBot, window: MainWindow,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            penguins_model: Path) -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    for made_by, words in (("99.2", "newer version"), ("0.0.1", "older version")):
        model = tmp_path / f"made-by-{made_by}.studio.joblib"
        shutil.copyfile(penguins_model, model)
        rewrite_manifest(model, lambda manifest, v=made_by: manifest["metadata"]["versions"].update(studio=v))
        answer_open_dialog(monkeypatch, model)
        with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
            click(qtbot, panel.model_button)
        wait_idle(qtbot, panel.runner)
        assert panel.banner.isVisible() and panel.banner.level == "warning"
        assert f"Studio {made_by}" in panel.banner.text() and words in panel.banner.text()
        assert panel.data_button.isEnabled()  # it still predicts
