"""The Data page's "Reading options" fold, driven as a person would: open a text table, change how it is read, and
the table is read again (in the loader) with the target kept and Next still working."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.data.read_options import ReadOptions
from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import LOAD_MS, choose_target, click, go_next, open_file, wait_data_idle


def write_amounts(path: Path) -> Path:
    """Quoted amounts with a decimal comma in a comma-separated file: detection reads "1,250" as 1250."""
    lines = ["amount,size,price"]
    for i in range(40):
        amount = f"{i // 4},{(i % 4) * 250:03d}"
        lines.append(f'"{amount}",{i % 3},{2 * (i // 4 + (i % 4) / 4):.2f}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def choose(combo, value: str | None) -> None:
    index = combo.findData(value)
    assert index >= 0
    combo.setCurrentIndex(index)


def test_changing_the_decimal_mark_reads_the_table_again(qtbot: QtBot, window: MainWindow,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    panel = window.data_panel
    open_file(qtbot, window, monkeypatch, write_amounts(tmp_path / "amounts.csv"))
    fold = panel.reading_options
    assert fold.isVisible() and not fold.box.isVisible()  # closed until opened
    # The reading chosen for "1,250" is said, and where to change it.
    assert panel.banner.level == "warning" and "reading options" in panel.banner.text()
    assert window.project.table is not None and window.project.table.frame["amount"].max() == 9750
    click(qtbot, fold.toggle)
    assert fold.box.isVisible()
    assert "comma-separated" in fold.detected_label.text()
    choose_target(window, "price")
    assert window.nav.next_button.isEnabled()
    loads = window.project.table_loads

    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        choose(fold.decimal_combo, ",")
    wait_data_idle(qtbot, window)

    table = window.project.table
    assert table is not None and window.project.table_loads == loads + 1  # read again, not patched
    assert table.frame["amount"].tolist()[:5] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert table.decimal == "," and table.options == ReadOptions(decimal=",")
    column = list(table.frame.columns).index("amount")
    assert panel.preview_model.data(panel.preview_model.index(1, column), Qt.ItemDataRole.DisplayRole) == "0.25"
    assert "decimal comma" in panel.status_label.text()
    assert window.project.target == "price"  # kept through the new reading
    assert window.project.training_request().read_options == ReadOptions(decimal=",")
    assert window.nav.next_button.isEnabled()
    go_next(qtbot, window, Step.PREPARE)


def test_a_contradictory_choice_is_said_not_read(qtbot: QtBot, window: MainWindow,
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    panel = window.data_panel
    open_file(qtbot, window, monkeypatch, write_amounts(tmp_path / "amounts.csv"))
    fold = panel.reading_options
    click(qtbot, fold.toggle)
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        choose(fold.delimiter_combo, ",")
    wait_data_idle(qtbot, window)
    loads = window.project.table_loads
    choose(fold.decimal_combo, ",")  # a comma cannot separate values and fractions at once
    assert "cannot be the same character" in fold.detected_label.text()
    assert not panel.loader.is_running() and window.project.table_loads == loads  # nothing read
    assert window.project.read_options == ReadOptions(delimiter=",")
    assert not panel.banner.isVisible() or panel.banner.level != "error"


def test_opening_another_file_detects_again(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    panel = window.data_panel
    open_file(qtbot, window, monkeypatch, write_amounts(tmp_path / "amounts.csv"))
    click(qtbot, panel.reading_options.toggle)
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        choose(panel.reading_options.decimal_combo, ",")
    wait_data_idle(qtbot, window)
    other = tmp_path / "other.csv"
    other.write_text("a;b\n1,5;x\n2,5;y\n", encoding="utf-8")
    open_file(qtbot, window, monkeypatch, other)
    assert window.project.read_options == ReadOptions()
    assert panel.reading_options.decimal_combo.currentData() is None
    assert window.project.table is not None and window.project.table.frame["a"].tolist() == [1.5, 2.5]


def test_a_big_file_shows_its_first_rows_first(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"{i};{i % 7},{i % 10}5;city {i % 40};{'yes' if i % 3 else 'no'}\n" for i in range(60_000))
    path.write_text("id;amount;city;flag\n" + rows, encoding="utf-8")
    assert path.stat().st_size > 1_000_000
    panel = window.data_panel
    order: list[tuple[str, int]] = []
    panel.head_shown.connect(lambda: order.append(("head", panel.preview_model.rowCount())))
    panel.table_shown.connect(lambda: order.append(("table", panel.preview_model.rowCount())))
    open_file(qtbot, window, monkeypatch, path)
    assert order == [("head", 1000), ("table", 60_000)]
    table = window.project.table
    assert table is not None and table.frame["amount"].tolist()[:3] == [0.05, 1.15, 2.25]
