"""The Prepare page for a newcomer: a summary in words first, "Looks good, continue" to move on, and the workbench
folded away until "Customise…" (then open for that dataset); warnings that need nothing say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.resources import resources_dir
from studio.ui.main_window import MainWindow
from studio.ui.panels.prep_panel import TABS
from studio.ui.widgets.prep_columns import DESCRIPTION_COLUMN

from .helpers import LOAD_MS, choose_target, click, click_sidebar, open_file, open_sample
from .test_prep_panel import enter_prepare

MESSY = resources_dir() / "samples" / "messy_customers.csv"


def passengers_csv(folder: Path) -> Path:
    """A passenger list with an identifier, names, gaps, and one stray '*' far below the first 200 rows."""
    rng = np.random.default_rng(5)
    rows = 500
    embarked = rng.choice(["S", "C", "Q"], rows, p=[0.7, 0.2, 0.1]).astype(object)
    embarked[420] = "*"
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, rows + 1),
        "Name": [f"Passenger {i}, {rng.integers(10**6)}" for i in range(rows)],
        "Sex": rng.choice(["male", "female"], rows),
        "Age": np.where(rng.random(rows) < 0.2, np.nan, rng.normal(30, 12, rows).round()),
        "Fare": rng.gamma(2, 15, rows).round(2),
        "Embarked": embarked,
        "Survived": rng.choice(["yes", "no"], rows),
    })
    path = folder / "passengers.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_summary_comes_first_and_continue_moves_on(qtbot: QtBot, window: MainWindow,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, passengers_csv(tmp_path))
    choose_target(window, "Survived")
    panel = enter_prepare(qtbot, window, customise=False)
    # Folded: the summary and the two ways on, no tabs.
    assert not panel.workbench.isVisible() and panel.customise_button.isVisible()
    text = panel.summary.text()
    assert "4 columns are used:</b> 2 numbers (gaps filled with the middle value, put on a common scale)" in text
    assert "PassengerId (a different number on every row) and Name (text that differs on every row)" in text
    assert "The model learns to predict <b>Survived</b>" in text
    assert f"Studio makes {panel.preview.feature_count} columns the model learns from" in text
    # The stray '*' is a warning Studio handles; nothing here asks to fix anything.
    assert "Embarked" in panel.card.handled.text() and "nothing to do" in panel.card.handled.text()
    assert not panel.card.warnings.isVisible()
    assert "fix" not in panel.next_hint.text().lower()
    assert "If this looks right, continue" in panel.next_hint.text()

    with qtbot.waitSignal(panel.continue_requested, timeout=LOAD_MS):
        click(qtbot, panel.continue_button)
    assert window.current_step is Step.SPLIT


def test_customise_opens_the_workbench_which_stays_open_for_that_dataset(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, passengers_csv(tmp_path))
    choose_target(window, "Survived")
    panel = enter_prepare(qtbot, window, customise=False)
    click(qtbot, panel.customise_button)
    assert panel.workbench.isVisible() and not panel.customise_button.isVisible()
    # The summary shrinks to its counts while the tabs are open; the way on stays.
    assert panel.summary.text().startswith("<b>4 columns are used, 2 left out</b>")
    assert panel.continue_button.isVisible()
    # The stray value, in the Warnings tab, says what Studio does about it.
    panel.tabs.setCurrentIndex(TABS.index("Warnings"))
    rows = {finding.code: handled for finding, handled in panel.findings.shown_rows()}
    assert rows["stray_value"] == "Studio handles this: it stays a value of its own, too rare to sway the model; " \
                                  "nothing to do."
    texts = [label.text() for label in panel.findings.findChildren(QLabel)]
    assert any("'*' in 1 row" in text for text in texts)

    # Away and back: still open. Another table: folded; the first one again: open again.
    click_sidebar(qtbot, window, Step.DATA)
    click_sidebar(qtbot, window, Step.PREPARE)
    assert panel.workbench.isVisible()
    click_sidebar(qtbot, window, Step.DATA)
    open_sample(qtbot, window)
    choose_target(window, "species")
    enter_prepare(qtbot, window, customise=False)
    assert not panel.workbench.isVisible() and panel.customise_button.isVisible()
    assert "7 columns are used:" in panel.summary.text()
    click_sidebar(qtbot, window, Step.DATA)
    open_file(qtbot, window, monkeypatch, tmp_path / "passengers.csv")
    choose_target(window, "Survived")
    enter_prepare(qtbot, window, customise=False)
    assert panel.workbench.isVisible()


def test_open_warnings_are_named_and_the_header_says_what_to_do(qtbot: QtBot, window: MainWindow,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    window.resize(QSize(1024, 600))
    open_file(qtbot, window, monkeypatch, MESSY)
    choose_target(window, "churned")
    panel = enter_prepare(qtbot, window, customise=False)
    assert "Look at the 4 warnings below, then continue" in panel.next_hint.text()
    warnings = panel.card.warnings.text()
    # The likeliest mistake first.
    assert warnings.startswith("⚠ 4 warnings suggest a change: possible leak of the answer (cancellation_reason)")
    assert "customer_id" in panel.card.handled.text()
    click(qtbot, panel.card.warnings_button)
    assert panel.workbench.isVisible() and panel.tabs.currentIndex() == TABS.index("Warnings")

    # At 1024 × 600 the columns table's last column is on screen, its header whole; long names give way.
    panel.tabs.setCurrentIndex(TABS.index("Columns"))
    qtbot.wait(50)
    table = panel.table
    header = table.horizontalHeader()
    right = header.sectionViewportPosition(DESCRIPTION_COLUMN) + header.sectionSize(DESCRIPTION_COLUMN)
    assert right <= table.viewport().width()
    assert header.sectionSize(DESCRIPTION_COLUMN) >= header.sectionSizeHint(DESCRIPTION_COLUMN)
    long_name = table.names().index("cancellation_reason")
    assert table.item(long_name, 0).toolTip() == "cancellation_reason"
    description = table.item(long_name, DESCRIPTION_COLUMN)
    assert description.toolTip() == description.text()


def test_a_remembered_choice_opens_the_workbench_by_itself(qtbot: QtBot, window: MainWindow) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    panel = enter_prepare(qtbot, window, customise=False)
    assert not panel.workbench.isVisible()
    panel.project.set_prep(panel.project.prep.with_column("island", max_categories=2))  # e.g. a loaded file
    assert panel.workbench.isVisible()
    assert not panel.customise_button.isVisible()
    qtbot.waitUntil(lambda: panel.preview_is_current() and not panel.preview_runner.is_running(), timeout=LOAD_MS)
