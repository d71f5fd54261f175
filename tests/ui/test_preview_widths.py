"""The preview's columns fit their contents once a big file is in, whether or not its first rows read the same in the
early preview (its first rows) and in the whole table."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QHeaderView
from pytestqt.qtbot import QtBot

from studio.ui.main_window import MainWindow

from .helpers import open_file


def widths(window: MainWindow) -> list[int]:
    header = window.data_panel.preview.horizontalHeader()
    return [header.sectionSize(section) for section in range(header.count())]


def fitted_again(window: MainWindow) -> list[int]:
    window.data_panel.preview.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
    return widths(window)


def open_big(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path,
             rows: str) -> tuple[list[int], list[int]]:
    """Widths when the first rows show and when the whole table shows."""
    path.write_text(rows, encoding="utf-8")
    assert path.stat().st_size > 1_000_000  # big enough to show its first rows first
    panel = window.data_panel
    seen: dict[str, list[int]] = {}
    panel.head_shown.connect(lambda: seen.setdefault("head", widths(window)))
    panel.table_shown.connect(lambda: seen.setdefault("table", widths(window)))
    open_file(qtbot, window, monkeypatch, path)
    return seen["head"], seen["table"]


def test_the_whole_table_keeps_the_widths_of_its_first_rows_when_they_read_the_same(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = "id,amount,city,flag\n" + "".join(
        f"{i},{i % 7}.{i % 10}5,{'Saint-Rémy-de-Provence' if i % 5 == 0 else f'city {i % 40}'},"
        f"{'yes' if i % 3 else 'no'}\n" for i in range(60_000))
    at_head, at_table = open_big(qtbot, window, monkeypatch, tmp_path / "same.csv", rows)
    assert at_table == at_head
    assert fitted_again(window) == at_table  # what sizing the whole table's columns gives
    assert window.data_panel.preview_model.index(0, 2).data() == "Saint-Rémy-de-Provence"


def test_the_whole_table_is_sized_again_when_its_first_rows_read_otherwise(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The first thousand rows hold whole numbers ("1000004"); a decimal further down makes the whole column
    # decimals, written shorter or longer ("1.00000e+06" style): the column must fit what the whole table shows.
    rows = "id,count,city\n" + "".join(f"{i},{1_000_000 + i},city {i % 40}\n" for i in range(60_000))
    rows += "60000,2.5,city 1\n"
    at_head, at_table = open_big(qtbot, window, monkeypatch, tmp_path / "widened.csv", rows)
    model = window.data_panel.preview_model
    assert model.index(4, 1).data() == "1e+06"  # 1,000,004 as a decimal with six significant digits
    assert at_table[1] != at_head[1]
    assert fitted_again(window) == at_table


def test_widths_set_by_hand_are_sized_again_for_another_table(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = "id,name\n" + "".join(f"{i},{'a rather long name ' * 2 if i == 0 else 'somebody'}\n" for i in range(100_000))
    path = tmp_path / "names.csv"
    open_big(qtbot, window, monkeypatch, path, rows)
    fitted = widths(window)
    window.data_panel.preview.horizontalHeader().resizeSection(1, 40)  # the person narrows a column
    open_file(qtbot, window, monkeypatch, path)  # the same file again: its cells are the same
    assert widths(window) == fitted
