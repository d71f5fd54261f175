"""A table of very many columns says what looking at all of them would cost before any time is spent, and offers
narrower tables; the one chosen is looked at with progress moving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytestqt.qtbot import QtBot

from studio.core.data import width
from studio.ui.main_window import MainWindow
from studio.ui.widgets import wide_table_choice

from .helpers import LOAD_MS, answer_open_dialog, choose_target, click

LIMIT = 40  # the window's limit, lowered so the test table stays small


@pytest.fixture
def wide_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(width, "WIDE_COLUMNS", LIMIT)
    monkeypatch.setattr(wide_table_choice, "WIDE_COLUMNS", LIMIT)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(30, 120)).round(2), columns=[f"c{i}" for i in range(120)])
    frame.insert(0, "label", np.where(frame["c0"] > 0, "yes", "no"))
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("button", "kept"), [("first_button", LIMIT), ("sample_button", LIMIT),
                                              ("all_button", 121)])
def test_a_wide_table_offers_a_choice_before_looking_at_its_columns(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, wide_csv: Path, button: str,
        kept: int) -> None:
    panel = window.data_panel
    answer_open_dialog(monkeypatch, wide_csv)
    click(qtbot, panel.open_button)
    qtbot.waitUntil(lambda: panel.wide_choice.isVisible(), timeout=LOAD_MS)
    text = panel.wide_choice.message.text()
    assert "121 columns" in text and "about" in text
    assert window.project.table is None and not panel.profiler.is_running()  # nothing spent before the choice
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        click(qtbot, getattr(panel.wide_choice, button))
    assert not panel.wide_choice.isVisible()
    frame = window.project.table.frame
    assert frame.shape[1] in (kept, kept + 1)
    if button == "first_button":
        assert list(frame.columns[:3]) == ["label", "c0", "c1"]
        choose_target(window, "label")
        assert window.nav.next_button.isEnabled()
