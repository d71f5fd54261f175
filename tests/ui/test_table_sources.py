"""The Data page's other ways to a table, driven as a person would: a workbook's sheet picked from the list,
cells pasted from the clipboard (Ctrl+V or the menu), and a web address typed in (a local web server), with its
progress bar, cancel, the choice for a large file and a sentence when it fails."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from pytestqt.qtbot import QtBot

from studio.core.common.places import default_data_dir
from studio.ui.main_window import MainWindow
from studio.ui.panels import data_panel as data_panel_module
from tests.core.web_server import Answer, local_server
from tests.ui.helpers import LOAD_MS, click, open_file, wait_data_idle

PEOPLE_CSV = b"name,age,city\nAnn,31,Oslo\nBob,42,Rome\nCleo,27,Lima\nDan,35,Kyiv\n"


def preview_cell(window: MainWindow, row: int, column: int) -> str:
    model = window.data_panel.preview_model
    return str(model.data(model.index(row, column)))


def preview_headers(window: MainWindow) -> list[str]:
    model = window.data_panel.preview_model
    return [str(model.headerData(i, Qt.Orientation.Horizontal)) for i in range(model.columnCount())]


# -- sheets -----------------------------------------------------------------------------------------------------
def test_a_workbook_sheet_is_picked_from_the_list(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "shop.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"month": ["Jan", "Feb"], "sales": [10, 12]}).to_excel(writer, sheet_name="Summary", index=False)
        pd.DataFrame({"item": ["tea", "cake", "coffee"], "price": [2.5, 3.25, 1.75]}).to_excel(
            writer, sheet_name="Prices", index=False)
        pd.DataFrame({"nothing": []}).to_excel(writer, sheet_name="Empty", index=False)
    panel = window.data_panel
    open_file(qtbot, window, monkeypatch, path)

    assert panel.sheet_picker.isVisible()
    assert [panel.sheet_picker.combo.itemText(i) for i in range(panel.sheet_picker.combo.count())] == [
        "Summary", "Prices", "Empty"]
    assert preview_headers(window) == ["month", "sales"] and "sheet 'Summary'" in panel.status_label.text()

    panel.sheet_picker.combo.setFocus()
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        qtbot.keyClick(panel.sheet_picker.combo, Qt.Key.Key_Down)  # the next sheet, as the arrow key picks it
    wait_data_idle(qtbot, window)

    assert preview_headers(window) == ["item", "price"] and preview_cell(window, 2, 0) == "coffee"
    assert "sheet 'Prices'" in panel.status_label.text()
    table = window.project.table
    assert table is not None and table.sheet == "Prices"
    assert table.options.sheet == "Prices"  # kept with the reading options, so the run reads this sheet again
    assert panel.target_combo.findText("price") >= 0

    open_file(qtbot, window, monkeypatch, path)  # the same workbook again: the sheet picked before
    assert preview_headers(window) == ["item", "price"] and panel.sheet_picker.combo.currentText() == "Prices"

    with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
        qtbot.keyClick(panel.sheet_picker.combo, Qt.Key.Key_Down)  # "Empty": a header without rows
    assert "The sheet 'Empty' of shop.xlsx has a header but no data rows" in panel.banner.text()
    # The table read before stays, and the picker and the options say so.
    assert panel.sheet_picker.combo.currentText() == "Prices" and window.project.read_options.sheet == "Prices"
    assert preview_headers(window) == ["item", "price"]


def test_a_workbook_with_one_sheet_shows_no_picker(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "one.ods"
    pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).to_excel(path, index=False, engine="odf")
    open_file(qtbot, window, monkeypatch, path)
    assert not window.data_panel.sheet_picker.isVisible()
    assert preview_headers(window) == ["a", "b"] and preview_cell(window, 2, 1) == "z"


# -- paste ------------------------------------------------------------------------------------------------------
def test_cells_pasted_with_ctrl_v_become_a_saved_table(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.data_panel
    QGuiApplication.clipboard().setText("name\tage\tcity\r\nAnn\t31\tOslo\r\nBob\t\tRome\r\nCleo\t27\tLima\r\n")
    panel.preview.setFocus()
    with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
        qtbot.keyClick(panel.preview, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_data_idle(qtbot, window)

    table = window.project.table
    assert table is not None and table.name.startswith("Pasted table ")
    assert Path(table.path).parent == default_data_dir() / "pasted tables"
    saved = pd.read_csv(table.path)  # the file a run names, for predictions and retraining
    assert saved["name"].tolist() == ["Ann", "Bob", "Cleo"] and saved["age"].isna().tolist() == [False, True, False]
    assert preview_headers(window) == ["name", "age", "city"] and preview_cell(window, 2, 2) == "Lima"
    assert "Pasted table" in panel.status_label.text()


def test_pasting_something_that_is_not_a_table_is_said(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.data_panel
    QGuiApplication.clipboard().setText("just a sentence someone copied")
    with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
        panel.sources_button.paste_action.trigger()  # the menu's "Paste a table from the clipboard"
    assert panel.banner.level == "error" and "single line" in panel.banner.text()
    assert window.project.table is None


# -- web address ------------------------------------------------------------------------------------------------
def type_address(qtbot: QtBot, window: MainWindow, url: str) -> None:
    panel = window.data_panel
    panel.sources_button.url_action.trigger()  # the menu's "Open a web address (URL)…"
    assert panel.url_bar.isVisible() and panel.url_bar.address.hasFocus()
    panel.url_bar.address.clear()
    qtbot.keyClicks(panel.url_bar.address, url)


def test_a_table_at_a_web_address_opens(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.data_panel
    with local_server() as server:
        url = server.serve("/files/people.csv", Answer(PEOPLE_CSV, content_type="text/csv"))
        type_address(qtbot, window, url)
        with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
            click(qtbot, panel.url_bar.open_button)
        wait_data_idle(qtbot, window)

    assert preview_headers(window) == ["name", "age", "city"] and preview_cell(window, 3, 0) == "Dan"
    table = window.project.table
    assert table is not None and table.path == url  # the run records the address
    assert panel.status_label.text().startswith("people.csv: 4 rows")
    assert panel.settings.recent_files[0] == url


def test_a_link_dropped_from_a_browser_opens(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.data_panel
    with local_server() as server:
        url = server.serve("/people.csv", Answer(PEOPLE_CSV))
        mime = QMimeData()
        mime.setUrls([QUrl(url)])
        drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                          Qt.KeyboardModifier.NoModifier)
        with qtbot.waitSignal(panel.profiled, timeout=LOAD_MS):
            panel.dropEvent(drop)
        wait_data_idle(qtbot, window)
    assert preview_cell(window, 0, 2) == "Oslo" and window.project.table is not None
    assert window.project.table.path == url


def test_a_large_file_asks_first_then_downloads_with_progress_and_can_be_cancelled(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data_panel_module, "DOWNLOAD_LIMIT_BYTES", 100_000)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(tmp_path.iterdir())
    panel = window.data_panel
    body = b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 7) for i in range(100_000))  # about 770 KB
    with local_server() as server:
        url = server.serve("/big.csv", Answer(body, chunk_pause_s=0.05))
        type_address(qtbot, window, url)
        with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
            qtbot.keyClick(panel.url_bar.address, Qt.Key.Key_Return)
        assert panel.url_bar.anyway_button.isVisible()
        assert "big.csv is 770 KB, more than the 97.7 KB Studio downloads without asking" in panel.url_bar.note.text()
        assert window.project.table is None

        click(qtbot, panel.url_bar.anyway_button)
        qtbot.waitUntil(lambda: panel.busy.maximum() == 100 and panel.busy.value() > 0, timeout=LOAD_MS)
        assert "Downloading big.csv" in panel.status_label.text()
        with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
            click(qtbot, panel.cancel_button)
    assert "cancelled" in panel.banner.text() and window.project.table is None
    qtbot.waitUntil(lambda: set(tmp_path.iterdir()) == before, timeout=LOAD_MS)  # the partial copy is gone


def test_a_missing_file_and_a_mistyped_address_are_said(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.data_panel
    with local_server() as server:
        type_address(qtbot, window, server.url + "/nothing-here.csv")
        with qtbot.waitSignal(panel.loader.finished, timeout=LOAD_MS):
            click(qtbot, panel.url_bar.open_button)
    assert panel.banner.level == "error" and "the server answered 404, not found" in panel.banner.text()

    type_address(qtbot, window, "example.com/table.csv")
    click(qtbot, panel.url_bar.open_button)
    assert "starts with http:// or https://" in panel.url_bar.note.text()
    assert not panel.loader.is_running()
