"""The Train page ends with the result in a plain sentence and a button to the Results page; a cancelled or failed
training ends without one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress, StopCheck
from studio.core.common.words import percent
from studio.core.evaluate.metrics import format_metric
from studio.core.project import Step
from studio.core.train.training import train as real_train
from studio.ui.main_window import MainWindow
from studio.ui.panels import train_panel
from studio.ui.panels.train_panel import headline_words

from .helpers import LOAD_MS, choose_target, click, go_next, go_to_model_page, open_sample, train, wait_idle


def shown(label: QLabel) -> str:
    """A label's text as read on screen, without its markup."""
    document = QTextDocument()
    document.setHtml(label.text())
    return document.toPlainText()


def _to_train_page(qtbot: QtBot, window: MainWindow, target: str, model: str | None = None) -> None:
    open_sample(qtbot, window)
    choose_target(window, target)
    go_to_model_page(qtbot, window)
    if model is not None:
        window.model_panel.select_model(model)
    go_next(qtbot, window, Step.TRAIN)


def test_training_ends_with_the_headline_and_a_button_to_the_results(qtbot: QtBot, window: MainWindow) -> None:
    _to_train_page(qtbot, window, "species")  # the default model
    panel = window.train_panel
    assert not panel.headline_box.isVisible()  # nothing trained yet

    train(qtbot, window)
    result = window.project.result
    assert result is not None
    accuracy, guess = result.test.get("accuracy"), result.test.baseline_of("accuracy")
    assert accuracy is not None and guess is not None
    assert panel.headline_box.isVisible()
    assert shown(panel.headline) == (f"Right {percent(accuracy, 0)} of the time on rows it never saw "
                                     f"(guessing the most common value: {percent(guess, 0)})")
    notes = [note for note in (getattr(result, "choice_note", ""), getattr(result, "decision_note", "")) if note]
    assert panel.headline_note.text() == " ".join(notes)
    assert panel.headline_note.isVisible() == bool(notes)
    assert panel.stage_label.text().startswith("Finished in")

    button = panel.results_button
    assert button.text() == "See the results →" and button.objectName() == "primary"
    click(qtbot, button)
    assert window.current_step is Step.RESULTS
    assert window.stack.currentWidget() is window.results_panel


def test_a_regression_headline_says_how_far_off_with_the_notes_under_it(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    def noted_train(request: Any, should_stop: StopCheck) -> Generator[Progress, None, Any]:
        result = yield from real_train(request, should_stop)
        return dataclasses.replace(result, decision_note="A note about how the model decides.")

    monkeypatch.setattr(train_panel, "train", noted_train)
    _to_train_page(qtbot, window, "body_mass_g", "linear_regression")
    panel = window.train_panel
    train(qtbot, window)
    result = window.project.result
    assert result is not None
    mae, guess = result.test.get("mae"), result.test.baseline_of("mae")
    assert shown(panel.headline) == (f"Typically off by {format_metric('mae', mae)} in body_mass_g on rows it never "
                                     f"saw (guessing the average: off by {format_metric('mae', guess)})")
    assert panel.headline_note.isVisible()
    assert panel.headline_note.text() == "A note about how the model decides."


def test_a_cancelled_or_failed_training_ends_without_a_headline(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    _to_train_page(qtbot, window, "species", "logistic_regression")
    panel = window.train_panel
    train(qtbot, window)
    assert panel.headline_box.isVisible()

    def endless(request: Any, should_stop: StopCheck) -> Generator[Progress, None, Any]:
        while True:
            yield Progress("Training", None, "still going")
            time.sleep(0.01)

    monkeypatch.setattr(train_panel, "train", endless)
    click(qtbot, panel.start_button)
    assert not panel.headline_box.isVisible()  # the old result's headline goes as a new training starts
    with qtbot.waitSignal(panel.training_stopped, timeout=LOAD_MS) as stopped:
        click(qtbot, panel.cancel_button)
    wait_idle(qtbot, panel.runner)
    assert stopped.args == ["cancelled"]
    assert not panel.headline_box.isVisible() and panel.headline.text() == ""

    def broken(request: Any, should_stop: StopCheck) -> Generator[Progress, None, Any]:
        yield Progress("Training", None, "")
        raise StudioError("The model could not learn from these rows.")

    monkeypatch.setattr(train_panel, "train", broken)
    with qtbot.waitSignal(panel.training_stopped, timeout=LOAD_MS) as stopped:
        click(qtbot, panel.start_button)
    wait_idle(qtbot, panel.runner)
    assert stopped.args == ["failed"]
    assert panel.banner.level == "error"
    assert not panel.headline_box.isVisible()


def test_a_picture_model_speaks_of_pictures_and_every_note_is_shown(qtbot: QtBot, window: MainWindow) -> None:
    _to_train_page(qtbot, window, "species", "logistic_regression")
    train(qtbot, window)
    result = window.project.result
    assert result is not None
    # Only whether the result holds test pictures decides the word; any other result attribute may carry a note.
    pictures = SimpleNamespace(task=result.task, target=result.target, test=result.test, image_cases=(object(),),
                               choice_note="Studio chose a forest.", decision_note="")
    text, guessing, note = headline_words(pictures)
    assert text.endswith("of the time on pictures it never saw") and guessing.startswith("(guessing")
    assert note == "Studio chose a forest."
    unscored = dataclasses.replace(result.test, metrics=())
    no_score = SimpleNamespace(task=result.task, target=result.target, test=unscored)
    assert headline_words(no_score)[:2] == ("", "")
