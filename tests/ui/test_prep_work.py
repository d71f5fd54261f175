"""The Prepare page does only the work an edit calls for: the preview is refitted when what it shows changed, the
remembered choices are written once a burst of edits rests, and the warning and formula lists keep the rows that
did not change."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from studio.core.prep.config import Scaling, load_prep
from studio.core.prep.files import memory_path
from studio.core.project import Step
from studio.resources import resources_dir
from studio.ui.main_window import MainWindow
from studio.ui.panels.prep_panel import PREVIEW_DELAY_MS, TABS, PrepPanel
from studio.ui.widgets import prep_settings_bar
from studio.ui.widgets.prep_settings_bar import REMEMBER_DELAY_MS

from .helpers import LOAD_MS, choose_target, click, click_sidebar, go_next, open_file, open_sample
from .test_prep_panel import changed_preview, enter_prepare, select_column

MESSY = resources_dir() / "samples" / "messy_customers.csv"


def count_preview_starts(monkeypatch: pytest.MonkeyPatch, panel: PrepPanel) -> list[object]:
    """The preview jobs started from now on, each with the settings it was started for."""
    starts: list[object] = []
    start = panel.preview_runner.start

    def counted(factory: object) -> bool:
        starts.append(panel.project.prep)
        return start(factory)

    monkeypatch.setattr(panel.preview_runner, "start", counted)
    return starts


def click_tab(qtbot: QtBot, panel: PrepPanel, index: int) -> None:
    bar = panel.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert panel.tabs.currentIndex() == index


def test_preview_is_refitted_only_when_the_table_target_or_settings_change(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    panel = enter_prepare(qtbot, window)
    starts = count_preview_starts(monkeypatch, panel)
    shown = panel.preview
    headline = panel.preview_view.headline.text()
    assert "learns from 10 columns, made from 7 of yours" in headline

    # Looking around: every tab, the next page and back, the Data page and back.
    for index in (*range(1, len(TABS)), 0):
        click_tab(qtbot, panel, index)
    go_next(qtbot, window, Step.SPLIT)
    click(qtbot, window.nav.back_button)
    assert window.current_step is Step.PREPARE
    click_sidebar(qtbot, window, Step.DATA)
    click_sidebar(qtbot, window, Step.PREPARE)
    assert window.current_step is Step.PREPARE
    click_tab(qtbot, panel, TABS.index("Preview"))
    qtbot.wait(PREVIEW_DELAY_MS * 3)  # long past the delay after which a refit would have started
    assert starts == []
    assert panel.preview is shown and panel.preview_is_current()
    assert panel.preview_view.headline.text() == headline
    assert panel.preview_view.before_model.rowCount() == 8

    # A settings edit refits, once, and the new preview is shown.
    changed_preview(qtbot, panel, lambda: panel.combo_for("year").setCurrentText("Leave out"))
    assert len(starts) == 1
    assert "year" not in dict(panel.preview.sources)
    assert "learns from 9 columns, made from 6 of yours" in panel.preview_view.headline.text()

    # Another target: the old preview is not left on screen, and the new one predicts the new target.
    click_sidebar(qtbot, window, Step.DATA)
    choose_target(window, "island")
    assert panel.preview is None and panel.preview_view.after_model.columnCount() == 0
    click_sidebar(qtbot, window, Step.PREPARE)
    qtbot.waitUntil(lambda: panel.preview_is_current() and not panel.preview_runner.is_running(), timeout=LOAD_MS)
    assert len(starts) == 2
    sources = dict(panel.preview.sources)
    assert "species" in sources and "island" not in sources

    # Another table: the preview follows it.
    click_sidebar(qtbot, window, Step.DATA)
    open_file(qtbot, window, monkeypatch, MESSY)
    choose_target(window, "churned")
    enter_prepare(qtbot, window)
    assert len(starts) == 3
    assert "monthly_spend" in dict(panel.preview.sources)
    before = panel.preview_view.before_model
    assert "monthly_spend" in [before.headerData(c, Qt.Orientation.Horizontal) for c in range(before.columnCount())]


def test_quick_edits_are_remembered_with_one_write_and_none_is_lost(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    panel = enter_prepare(qtbot, window)
    writes: list[object] = []
    remember = prep_settings_bar.remember_prep

    def counted(folder: Path, columns: object, prep: object) -> Path:
        writes.append(prep)
        return remember(folder, columns, prep)

    monkeypatch.setattr(prep_settings_bar, "remember_prep", counted)
    assert panel.settings_dir is not None
    path = memory_path(panel.settings_dir, [p.name for p in window.project.profiles])

    # Holding the arrow key on a number: five changes, one write once they rest.
    select_column(qtbot, panel, "island")
    spin = panel.form.max_categories_spin
    first = spin.value()
    for _ in range(5):
        qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert window.project.prep.get("island").max_categories == first + 5
    qtbot.waitUntil(lambda: len(writes) == 1, timeout=LOAD_MS)
    qtbot.wait(REMEMBER_DELAY_MS * 2)
    assert len(writes) == 1
    assert load_prep(path) == window.project.prep

    # Leaving the page writes at once.
    panel.combo_for("year").setCurrentText("Use as category")
    click_sidebar(qtbot, window, Step.DATA)
    assert len(writes) == 2
    assert load_prep(path) == window.project.prep

    # Closing the window right after an edit loses nothing.
    click_sidebar(qtbot, window, Step.PREPARE)
    panel.combo_for("year").setCurrentText("Leave out")
    window.close()
    assert len(writes) == 3
    assert not load_prep(path).get("year").used


def test_warning_and_formula_rows_are_kept_when_they_did_not_change(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    open_file(qtbot, window, monkeypatch, MESSY)
    choose_target(window, "churned")
    panel = enter_prepare(qtbot, window)
    rows = panel.findings.shown_rows()
    # Six warnings: monthly_spend (" 1,067.00 ") is read as numbers now that thousands separators are recognised,
    # so "numbers written as text" is not among them.
    assert len(rows) == 6

    # A scaling choice changes no warning: the very same rows stay.
    select_column(qtbot, panel, "age")
    scaling = panel.form.scaling_combo
    changed_preview(qtbot, panel, lambda: scaling.setCurrentIndex(scaling.findData(Scaling.MINMAX.value)))
    assert panel.findings.shown_rows() == rows
    assert all(panel.findings.shown_rows()[key] is row for key, row in rows.items())

    # A fix changes one warning: only its row is made anew, showing it handled; the others are kept.
    click_tab(qtbot, panel, TABS.index("Warnings"))
    changed_preview(qtbot, panel, lambda: click(qtbot, panel.findings.fix_buttons[("duplicates", "")]))
    after = panel.findings.shown_rows()
    assert len(after) == 6
    new = [key for key in after if key not in rows]
    assert [(finding.code, handled) for finding, handled in new] == [
        ("duplicates", "Studio handles this: duplicated rows are removed from training; nothing to do.")]
    assert "✓ handled" in [label.text() for label in after[new[0]].findChildren(QLabel)]
    assert all(after[key] is row for key, row in rows.items() if key in after)
    assert ("duplicates", "") not in panel.findings.fix_buttons

    # New columns: adding one keeps the rows of the others, and an edit elsewhere keeps them all.
    click_tab(qtbot, panel, TABS.index("New columns"))
    editor = panel.formulas

    def add(name: str, formula: str) -> None:
        qtbot.keyClicks(editor.name_edit, name)
        qtbot.keyClicks(editor.formula_edit, formula)
        changed_preview(qtbot, panel, lambda: click(qtbot, editor.add_button))

    add("spend_x2", "monthly_spend * 2")
    first_row = editor.row_widgets()[0]
    add("visits_x2", "visits_per_month * 2")
    widgets = editor.row_widgets()
    assert [row[0].text() for row in widgets] == ["<b>spend_x2</b>", "<b>visits_x2</b>"]
    assert all(a is b for a, b in zip(widgets[0], first_row, strict=True))
    changed_preview(qtbot, panel, lambda: click(qtbot, panel.duplicates_check))
    assert all(a is b for old, new in zip(widgets, editor.row_widgets(), strict=True)
               for a, b in zip(old, new, strict=True))

    # Removing one: the other's row is kept and moves up.
    changed_preview(qtbot, panel, lambda: click(qtbot, widgets[0][2]))
    left = editor.row_widgets()
    assert len(left) == 1 and all(a is b for a, b in zip(left[0], widgets[1], strict=True))
    assert left[0][1].text() == "= visits_per_month * 2"
    assert window.project.prep.get("spend_x2") is None
