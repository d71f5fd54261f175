"""The Export page writes the model card beside the saved model and shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.core.evaluate.metrics import format_metric
from studio.core.project import Step
from studio.core.report.card import card_paths
from studio.ui.main_window import MainWindow
from studio.ui.widgets.model_card_view import MIN_BROWSER_HEIGHT

from .helpers import LOAD_MS, answer_save_dialog, choose_target, click, go_next, go_to_model_page, open_sample, train


def test_saving_writes_the_card_and_the_page_shows_it(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel
    assert not export.card_view.isVisible()  # nothing saved yet

    model_path = tmp_path / "penguins.studio"
    answer_save_dialog(monkeypatch, model_path)
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        click(qtbot, export.save_button)
    qtbot.waitUntil(lambda: not export.runner.is_running(), timeout=LOAD_MS)

    markdown_path, html_path = card_paths(model_path)
    assert (markdown_path.name, html_path.name) == ("penguins.card.md", "penguins.card.html")
    assert markdown_path.is_file() and html_path.is_file()  # both written by the time `saved` comes
    view = export.card_view
    assert view.isVisible() and view.paths == (markdown_path, html_path)
    assert markdown_path.name in view.files.text() and html_path.name in view.files.text()
    shown = view.text()
    result = window.project.result
    assert result is not None
    assert "species" in shown and "one of Adelie, Chinstrap, Gentoo" in shown
    accuracy = format_metric("accuracy", result.test.get("accuracy"))
    baseline = format_metric("accuracy", result.test.baseline_of("accuracy"))
    assert f"accuracy {accuracy} (always guessing the most common class: {baseline})" in shown
    assert "Data fingerprint" in shown  # the page passes the training details to the card
    assert "species" in markdown_path.read_text(encoding="utf-8")

    # Small screens: the card scrolls inside its own view, so the page itself needs little room. (The window as a
    # whole cannot get below the largest page's minimum, the Results page's here; the Export page must fit in what
    # a 1024x600 window leaves it.)
    for width, height in ((1280, 800), (1024, 600)):
        window.resize(width, height)
        qtbot.waitUntil(lambda: export.width() > 0 and view.browser.height() >= MIN_BROWSER_HEIGHT, timeout=LOAD_MS)
        around_width, around_height = window.width() - export.width(), window.height() - export.height()
        needed = export.minimumSizeHint()
        assert needed.width() <= 1024 - around_width and needed.height() <= 600 - around_height
        assert export.save_button.isVisible() and view.geometry().bottom() <= export.height()

    # A new result (or none) is not the saved model: its card goes away.
    window.project.set_result(None)
    assert not view.isVisible() and view.text() == ""


def test_a_card_that_cannot_be_written_is_a_warning_and_the_saved_model_stays(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.core.report import card

    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(card, "write_card", disk_full)
    model_path = tmp_path / "penguins.studio"
    with qtbot.waitSignal(export.runner.finished, timeout=LOAD_MS):
        export.save_to(model_path)
    assert model_path.is_file()
    assert export.banner.level == "warning"
    text = export.banner.text()
    assert text.startswith("The model file penguins.studio was written, but its card could not be written")
    assert "could not be saved" not in text and "No space left on device" in text
