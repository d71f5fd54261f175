"""Issue 16's corpus through the window: each probe's input (tests/bad_input_corpus.py, ``Probe.window``) given to the
real MainWindow the way a person gives it (a table opened on the Data page, a model on the Predict page, a table to
predict on, a preparation file loaded on the Prepare page, a formula typed there, a file chosen for the run history on
the Runs page), and the outcome named with the issue's words.

What is judged, besides the page's own sentence: nothing reached the last-resort handler (a traceback), no wait ran
past its limit (a hang), the input files are byte for byte as they were (data lost), and nothing was left beside them
or in the temporary folder under this process's id (temp left behind).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget
from pytestqt.exceptions import TimeoutError as WaitTimeout
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.last_resort import LastResortHandler
from studio.ui.main_window import MainWindow
from studio.workers.runner import JobRunner
from tests.bad_input_corpus import (
    CLEAR,
    DATA,
    DATA_LOST,
    FORMULA,
    HANG,
    HISTORY,
    JARGON,
    MODEL_FILE,
    OK,
    PREDICT,
    PREP,
    SILENT_WRONG,
    TEMP_LEFT,
    TRACEBACK,
    UNCLEAR,
    Finding,
    Probe,
    WindowInput,
)

from .helpers import answer_open_dialog, answer_save_dialog, click

# Per wait: a probe's reading, opening or predicting (generous, for a busy machine; a passing wait returns at once).
PROBE_MS = 30_000


class HangError(Exception):
    """A wait in the window ran past PROBE_MS."""


class Caught:
    """The last-resort handler's catches during the probes (each one is a traceback the person would have met)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.sentences: list[str] = []
        self.handler = LastResortHandler(self._show)

    def _show(self, sentence: str, details: str) -> None:
        self.sentences.append(details)
        self.window.show_unexpected(sentence, details)

    @contextmanager
    def installed(self) -> Iterator[Caught]:
        """Installed as the app installs it (the module runs without pytest-qt's own capture)."""
        self.handler.install()
        try:
            yield self
        finally:
            self.handler.uninstall()


def jargon_in(text: str) -> list[str]:
    return [word for word in JARGON if word in text]


def shown_texts(widget: QWidget) -> list[str]:
    """Every label the person can see in ``widget``: where a library's words would show."""
    return [label.text() for label in widget.findChildren(QLabel) if label.isVisible() and label.text()]


def _wait(qtbot: QtBot, condition: Callable[[], object]) -> None:
    try:
        qtbot.waitUntil(lambda: bool(condition()), timeout=PROBE_MS)
    except WaitTimeout as exc:
        raise HangError(str(exc)) from exc


def _run_job(qtbot: QtBot, runner: JobRunner, start: Callable[[], None]) -> None:
    """Start a page's job by ``start`` (a click) and wait until it has finished."""
    finished: list[bool] = []
    runner.finished.connect(lambda: finished.append(True))
    start()
    _wait(qtbot, lambda: (finished or not runner.is_running()) and not runner.is_running())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "gone"


def _temp_of_this_process() -> set[str]:
    """Names in the temporary folder that carry this process's id (how Studio names its temporary files)."""
    pid = str(os.getpid())
    return {p.name for p in Path(tempfile.gettempdir()).iterdir() if pid in p.name}


def _quiet_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A message box would wait for a person: each says its text into the list and is answered No (or OK)."""
    said: list[str] = []

    def answer(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        said.append(" ".join(str(a) for a in args[1:3]))
        return QMessageBox.StandardButton.No

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(answer))
    return said


# -- giving the input, by kind ---------------------------------------------------------------------------------------
def open_table(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path,
               target: str) -> tuple[bool, str]:
    """Open ``path`` on the Data page and choose ``target``: (taken, the sentence shown). A table too wide to look at
    whole offers a choice first; the person takes its first columns (the sentence is the offer's)."""
    window.go_to(Step.DATA)
    panel = window.data_panel
    profiled: list[bool] = []
    panel.profiled.connect(lambda: profiled.append(True))
    answer_open_dialog(monkeypatch, path)
    click(qtbot, panel.open_button)

    def settled() -> bool:
        idle = not panel.loader.is_running() and not panel.profiler.is_running()
        return idle and (bool(profiled) or panel.banner.level == "error" or panel.wide_choice.isVisible())

    _wait(qtbot, settled)
    offer = ""
    if panel.wide_choice.isVisible():
        offer = panel.wide_choice.message.text()
        combo = panel.wide_choice.target_combo
        if combo.isVisible() and combo.findText(target) >= 0:  # picked first, so that it is among those kept
            combo.setCurrentIndex(combo.findText(target))
        click(qtbot, panel.wide_choice.first_button)
        _wait(qtbot, lambda: profiled and not panel.loader.is_running() and not panel.profiler.is_running())
    if window.project.table is None or panel.banner.level == "error":
        return False, panel.banner.text()
    combo = panel.target_combo
    index = combo.findText(target)
    if index < 0:
        return False, f"the column {target!r} is not offered as the column to predict"
    combo.setCurrentIndex(index)
    if not window.nav.next_button.isEnabled():
        return False, window.nav.reason.text()
    return True, " ".join(t for t in (offer, panel.banner.text()) if t)


def enter_prepare(qtbot: QtBot, window: MainWindow) -> None:
    """From a usable Data page to the Prepare page's workbench, once its insights and preview are in."""
    panel = window.prep_panel
    click(qtbot, window.nav.next_button)
    assert window.current_step is Step.PREPARE
    _wait(qtbot, lambda: panel.preview_is_current() and not panel.preview_runner.is_running())
    if not panel.workbench.isVisible():
        click(qtbot, panel.customise_button)


def give_data(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
              given: WindowInput) -> tuple[bool, str]:
    return open_table(qtbot, window, monkeypatch, given.files[0], given.target)


def give_model(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
               given: WindowInput) -> tuple[bool, str]:
    window.go_to(Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, given.files[0])
    _run_job(qtbot, panel.runner, lambda: click(qtbot, panel.model_button))
    taken = panel.bundle is not None and Path(panel.bundle.path) == given.files[0]
    if not taken:
        return False, panel.banner.text()
    return True, " ".join(t for t in (panel.model_label.text(), panel.banner.text()) if t)


def give_prediction(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                    given: WindowInput) -> tuple[bool, str]:
    """Open the model, predict the table, and save the predictions to ``predictions.csv`` beside it (read back by
    the probe's check)."""
    opened, said = give_model(qtbot, window, monkeypatch, given)
    if not opened:
        return False, "the model was not opened: " + said
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, given.files[1])
    _run_job(qtbot, panel.runner, lambda: click(qtbot, panel.data_button))
    if panel.predictions is None or panel.banner.level == "error":
        return False, panel.banner.text()
    said = panel.banner.text()
    out = given.files[1].parent / "predictions.csv"
    answer_save_dialog(monkeypatch, out)
    _run_job(qtbot, panel.runner, lambda: click(qtbot, panel.save_button))
    if not out.exists():
        return False, "the predictions were not saved: " + panel.banner.text()
    if given.check is not None:
        problem = given.check(pd.read_csv(out, dtype=str, keep_default_na=False))
        if problem:
            raise _SilentlyWrongError(problem)
    return True, said


class _SilentlyWrongError(Exception):
    """The window took the input but what it wrote is wrong (the probe's check says how)."""


def give_prep(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
              given: WindowInput) -> tuple[bool, str]:
    opened, said = open_table(qtbot, window, monkeypatch, given.files[0], given.target)
    if not opened:
        return False, "the table was not opened: " + said
    enter_prepare(qtbot, window)
    panel = window.prep_panel
    before = window.project.prep
    answer_open_dialog(monkeypatch, given.files[1])
    click(qtbot, panel.settings_bar.load_button)
    taken = panel.banner.level != "error" and window.project.prep != before
    return taken, panel.banner.text()


def give_formula(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                 given: WindowInput) -> tuple[bool, str]:
    opened, said = open_table(qtbot, window, monkeypatch, given.files[0], given.target)
    if not opened:
        return False, "the table was not opened: " + said
    enter_prepare(qtbot, window)
    panel = window.prep_panel
    panel.tabs.setCurrentWidget(panel.formulas)
    editor = panel.formulas
    for field, text in ((editor.name_edit, "new column"), (editor.formula_edit, given.formula)):
        field.clear()
        qtbot.keyClicks(field, text)
    if not editor.add_button.isEnabled():
        return False, editor.message.text()
    click(qtbot, editor.add_button)
    added = window.project.prep.get("new column")
    if added is None or added.formula != given.formula:
        return False, "the formula was not added: " + editor.message.text()
    return True, editor.message.text()


def give_history(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                 given: WindowInput) -> tuple[bool, str]:
    window.go_to(Step.RUNS)
    panel = window.runs_panel
    _wait(qtbot, lambda: not panel.is_reading())  # the list read on entering the page has said its piece
    before = window.project.run_store
    answer_save_dialog(monkeypatch, given.files[0])
    click(qtbot, panel.location.change_button)
    _wait(qtbot, lambda: not panel.is_reading())  # the file chosen is opened (or refused) on a worker
    taken = window.project.run_store is not before
    return taken, panel.banner.text()


GIVE = {DATA: give_data, MODEL_FILE: give_model, PREDICT: give_prediction, PREP: give_prep, FORMULA: give_formula,
        HISTORY: give_history}


# -- the outcome -------------------------------------------------------------------------------------------------
def judge(given: WindowInput, taken: bool, said: str, everything_shown: list[str]) -> Finding:
    """The outcome of a probe the window answered, from what it did and said."""
    if given.refuse:
        if taken:
            return Finding(SILENT_WRONG, "taken without a word: " + said[:200])
        if not said.strip() or jargon_in(said) or not all(w in said for w in given.words):
            return Finding(UNCLEAR, said[:300] or "nothing was said")
        return Finding(CLEAR, said)
    if not taken:
        return Finding(UNCLEAR if jargon_in(said) else SILENT_WRONG, "refused: " + said[:300])
    if not all(w in said for w in given.words):
        return Finding(SILENT_WRONG, "taken without saying " + repr(given.words) + ": " + said[:200])
    noisy = [t for t in everything_shown if jargon_in(t)]
    if noisy:
        return Finding(UNCLEAR, noisy[0][:300])
    return Finding(OK)


def run_in_window(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, caught: Caught, probe: Probe,
                  folder: Path) -> Finding:
    """Give ``probe``'s input to ``window`` and name the outcome."""
    assert probe.window is not None
    folder.mkdir(parents=True, exist_ok=True)
    made = probe.window(folder)
    if isinstance(made, Finding):  # the input could not even be made (a model to predict on did not train)
        return made
    given = made
    digests = {path: _digest(path) for path in given.files}
    expected = {p.name for p in folder.iterdir()}
    temp_before = _temp_of_this_process()
    _quiet_dialogs(monkeypatch)
    caught.sentences.clear()
    window.go_to(Step.DATA)  # clears the window's own problem line, as moving to a page does
    try:
        taken, said = GIVE[given.kind](qtbot, window, monkeypatch, given)
        found = judge(given, taken, said, shown_texts(window))
    except HangError as exc:
        found = Finding(HANG, str(exc)[:200])
    except _SilentlyWrongError as exc:
        found = Finding(SILENT_WRONG, str(exc))
    if caught.sentences or window.problem_banner.isVisible():
        return Finding(TRACEBACK, "; ".join(caught.sentences) or window.problem_banner.text())
    changed = [path.name for path, digest in digests.items() if _digest(path) != digest]
    if changed:
        return Finding(DATA_LOST, f"changed: {changed}")
    stray = sorted(p.name for p in folder.iterdir() if p.name not in expected and p.name != "predictions.csv")
    stray += sorted(_temp_of_this_process() - temp_before)
    if stray:
        return Finding(TEMP_LEFT, f"left behind: {stray}")
    return found
