"""Issue 16's corpus through the window: every probe a person can give the window ends with a sentence (or is taken,
as it should be), never a traceback, a hang, a changed input file or a file left behind, and the window still opens
a good table afterwards.

One window serves every probe (as one person would meet them one after another), with the last-resort handler
installed as the app installs it; what the probes have in common is reset by going back to the Data page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from studio.app import create_window
from studio.core.project import Step
from studio.ui.main_window import MainWindow
from studio.ui.panels.data_panel import DataPanel
from studio.workers import runner
from tests.bad_input_corpus import DATA, GOOD, OK, PROBES, TRACEBACK, Finding, Probe, WindowInput, small_table, write
from tests.ui import bad_input_window
from tests.ui.bad_input_window import Caught, open_table, run_in_window

# The handler under test is the app's own last-resort handler, so pytest-qt's capture of slot exceptions stays off.
pytestmark = pytest.mark.qt_no_exception_capture

WINDOW_PROBES = [p for p in PROBES if p.window is not None]


@pytest.fixture(scope="module")
def shared(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MainWindow, Caught]]:
    window = create_window(tmp_path_factory.mktemp("settings"))
    # Choices remembered per table would carry one probe's formula into the next probe's table of the same columns.
    window.prep_panel.settings_dir = None
    window.show()
    caught = Caught(window)
    with caught.installed():
        yield window, caught
    window.shutdown()
    running = [type(p).__name__ for p in window.panels.values()
               for r in vars(p).values() if isinstance(r, runner.JobRunner) and r.is_running()]
    window.close()
    window.deleteLater()
    assert not running, f"still running after shutdown: {running}"


@pytest.mark.parametrize("probe", [pytest.param(p, id=p.name) for p in WINDOW_PROBES])
def test_bad_input_in_the_window_gets_a_sentence(qtbot: QtBot, shared: tuple[MainWindow, Caught],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 probe: Probe) -> None:
    window, caught = shared
    found = run_in_window(qtbot, window, monkeypatch, caught, probe, tmp_path / "probe")
    assert found.outcome in GOOD, f"{probe.name}: {found.outcome}: {found.detail}"
    # Still usable: the Data page opens a good table, and Next is offered.
    good = write(tmp_path, "good.csv", small_table(seed=3))
    taken, said = open_table(qtbot, window, monkeypatch, good, "label")
    assert taken, said
    assert not window.problem_banner.isVisible()


def test_the_window_pass_counts_what_the_last_resort_handler_caught(
        qtbot: QtBot, shared: tuple[MainWindow, Caught], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The judge itself: a slot that raises is a traceback, even though the window carries on."""
    window, caught = shared

    def broken(self: object, path: object) -> bool:
        raise RuntimeError("a fault of Studio's own, deep in a slot")

    monkeypatch.setattr(bad_input_window, "PROBE_MS", 1_000)
    monkeypatch.setattr(DataPanel, "open_path", broken)
    probe = Probe("a broken slot", "the judge", lambda folder: Finding(OK),
                  lambda folder: WindowInput(DATA, (write(folder, "data.csv", small_table()),), False))
    found = run_in_window(qtbot, window, monkeypatch, caught, probe, tmp_path / "probe")
    assert found.outcome == TRACEBACK and "RuntimeError" in found.detail
    monkeypatch.undo()
    window.go_to(Step.DATA)  # the next probe starts from a clean page, as every probe does
