"""The Database source in the window, end to end: connect (a SQLite file, a real PostgreSQL server), pick a table or
write a query, preview it, load it, train, and predict new rows from a query on the Predict page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.data.database import DatabaseTable
from studio.core.project import Step
from studio.core.store.model_file import load_model
from studio.ui.main_window import MainWindow
from studio.ui.widgets.database_dialog import DatabaseDialog
from tests.core.test_database import make_shop
from tests.postgres import PostgresServer
from tests.ui.helpers import (
    LOAD_MS,
    answer_save_dialog,
    choose_target,
    click,
    click_sidebar,
    go_next,
    go_to_model_page,
    train,
    wait_data_idle,
    wait_idle,
)


def choose_open_a_database(window: MainWindow) -> None:
    """"More sources" > "Open a database…", as a person picks it from the menu."""
    data = window.data_panel
    assert data.sources_button.isVisible() and data.sources_button.isEnabled()
    assert data.database_action in data.sources_button.menu().actions()
    data.database_action.trigger()


def connect(qtbot: QtBot, dialog: DatabaseDialog, location: str, password: str = "") -> None:
    dialog.location_edit.setText(location)
    if password:
        dialog.password_edit.setText(password)
    click(qtbot, dialog.connect_button)
    wait_idle(qtbot, dialog.runner)


def pick_table(qtbot: QtBot, dialog: DatabaseDialog, name: str) -> None:
    """Click the table in the list; its first rows are previewed."""
    items = dialog.table_list.findItems(name, Qt.MatchFlag.MatchStartsWith)
    assert items, f"{name} is not listed"
    rect = dialog.table_list.visualItemRect(items[0])
    qtbot.mouseClick(dialog.table_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    wait_idle(qtbot, dialog.runner)


def write_query(qtbot: QtBot, dialog: DatabaseDialog, query: str) -> None:
    dialog.query_edit.clear()
    qtbot.keyClicks(dialog.query_edit, query)
    click(qtbot, dialog.preview_button)
    wait_idle(qtbot, dialog.runner)


def load(qtbot: QtBot, window: MainWindow, button_of=lambda dialog: dialog.load_button) -> None:
    dialog = window.data_panel.database_dialog
    assert dialog is not None
    with qtbot.waitSignal(window.data_panel.profiled, timeout=LOAD_MS):
        click(qtbot, button_of(dialog))
    wait_data_idle(qtbot, window)
    assert not dialog.isVisible()


def train_logistic_regression(qtbot: QtBot, window: MainWindow) -> None:
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    assert window.project.result is not None


def export(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, path: Path) -> Path:
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    answer_save_dialog(monkeypatch, path)
    with qtbot.waitSignal(window.export_panel.saved, timeout=LOAD_MS) as saved:
        click(qtbot, window.export_panel.save_button)
    wait_idle(qtbot, window.export_panel.runner)
    return Path(saved.args[0])


def predict_from_query(qtbot: QtBot, window: MainWindow, model: Path, query: str, password: str = "") -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    predict = window.predict_panel
    predict.open_model(model)
    wait_idle(qtbot, predict.runner)
    assert predict.bundle is not None, predict.banner.text()
    click(qtbot, predict.database_button)
    dialog = predict.database_dialog
    assert dialog is not None and dialog.load_button.text() == "Predict"
    # The address of the training rows' database is filled in; the password is asked again (nothing stored it).
    assert dialog.location_edit.text() and not dialog.password_edit.text()
    if password:
        dialog.password_edit.setText(password)
    click(qtbot, dialog.connect_button)
    wait_idle(qtbot, dialog.runner)
    write_query(qtbot, dialog, query)
    with qtbot.waitSignal(predict.predicted, timeout=LOAD_MS):
        click(qtbot, dialog.load_button)
    wait_idle(qtbot, predict.runner)


def test_sqlite_connect_pick_preview_load_train_and_predict_from_a_query(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop.sqlite", rows=300)
    data = window.data_panel
    choose_open_a_database(window)
    dialog = data.database_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.password_edit.isEnabled()  # a SQLite file has no password
    connect(qtbot, dialog, str(shop))
    labels = [dialog.table_list.item(i).text() for i in range(dialog.table_list.count())]
    assert labels == ["customers (300 rows)", "empty (0 rows)", "orders (100 rows)"]

    pick_table(qtbot, dialog, "empty")
    assert dialog.banner.level == "error" and dialog.banner.text() == "The table 'empty' has no rows."
    pick_table(qtbot, dialog, "customers")
    assert dialog.rows_label.text() == "300 rows in all, 6 columns; the first 100 are shown."
    assert dialog.preview_model.rowCount() == 100
    assert "'photo' holds binary data" in dialog.banner.text()

    # More rows than Studio reads at once: Load offers the first ones instead.
    dialog.max_rows = 200
    click(qtbot, dialog.load_button)
    assert dialog.isVisible() and "300 rows, more than Studio reads at once (200)" in dialog.banner.text()
    load(qtbot, window, lambda d: d.first_rows_button)
    table = window.project.table
    assert isinstance(table, DatabaseTable) and len(table.frame) == 200
    assert "shop.sqlite" in data.status_label.text() and "100 more rows not read" in data.status_label.text()
    assert "'photo' holds binary data" in data.banner.text()
    kinds = {p.name: p.kind.value for p in window.project.profiles}
    assert kinds["spend"] == "numeric" and kinds["joined"] == "date"  # text in SQLite, read as a CSV would be

    choose_target(window, "churned")
    train_logistic_regression(qtbot, window)
    store, run_id = window.project.run_store, window.project.run_id
    assert store is not None and run_id is not None
    assert store.get(run_id).dataset_path == f"sqlite:///{shop}#table=customers"  # the source, to read it again
    model = export(qtbot, window, monkeypatch, tmp_path / "churn.studio")
    predict_from_query(qtbot, window, model, "SELECT city, spend, visits, joined FROM customers WHERE id > 290")
    predict = window.predict_panel
    assert predict.table_model.rowCount() == 10
    assert "Predicted 10 rows of query" in predict.banner.text()
    out = tmp_path / "new.csv"
    answer_save_dialog(monkeypatch, out)
    with qtbot.waitSignal(predict.predictions_saved, timeout=LOAD_MS):
        click(qtbot, predict.save_button)
    saved = pd.read_csv(out, encoding="utf-8-sig")
    assert len(saved) == 10 and set(saved.iloc[:, 0]) <= {"yes", "no"}


def test_a_sqlite_file_dropped_or_opened_as_a_file_opens_the_database_dialog(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop.db", rows=30)
    data = window.data_panel
    assert data.open_path(shop)
    dialog = data.database_dialog
    assert dialog is not None and dialog.isVisible() and dialog.location_edit.text() == str(shop)
    wait_idle(qtbot, dialog.runner)
    assert dialog.table_list.count() == 3  # connected at once: the tables are listed
    pick_table(qtbot, dialog, "orders")
    load(qtbot, window)
    assert window.project.table is not None and len(window.project.table.frame) == 100
    assert data.settings.recent_files == []  # a database is not a file to reopen from the list


def test_postgres_password_query_preview_load_train_and_predict(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        postgres_server: PostgresServer) -> None:
    data = window.data_panel
    choose_open_a_database(window)
    dialog = data.database_dialog
    assert dialog is not None
    # A password typed into the address is moved to the password field, out of the address.
    dialog.location_edit.setText(postgres_server.url(with_password=True).replace(postgres_server.password, "wrong"))
    click(qtbot, dialog.connect_button)
    wait_idle(qtbot, dialog.runner)
    assert dialog.location_edit.text() == postgres_server.url()
    assert dialog.user_edit.text() == "studio" and dialog.password_edit.text() == "wrong"
    assert dialog.banner.level == "error"
    assert "refused the user name or password: check the password for studio" in dialog.banner.text()
    assert not dialog.remember_box.isEnabled()  # no password store on this machine: asked each time

    dialog.password_edit.setText(postgres_server.password)
    click(qtbot, dialog.connect_button)
    wait_idle(qtbot, dialog.runner)
    assert dialog.table_list.count() == 3 and dialog.table_list.item(2).text() == "wine (178 rows)"
    write_query(qtbot, dialog, "SELECT * FROM wine WHERE alcohol < 14.2 ORDER BY alcohol")
    assert dialog.rows_label.text().startswith("16") and "first 100 are shown" in dialog.rows_label.text()
    load(qtbot, window)
    table = window.project.table
    assert isinstance(table, DatabaseTable) and table.source.query.startswith("SELECT * FROM wine")
    assert postgres_server.password not in table.path

    choose_target(window, "cultivar")
    train_logistic_regression(qtbot, window)
    model = export(qtbot, window, monkeypatch, tmp_path / "wine.studio")
    assert postgres_server.password not in str(load_model(model).metadata)
    predict_from_query(qtbot, window, model, "SELECT * FROM wine WHERE alcohol >= 14.2",
                       password=postgres_server.password)
    predict = window.predict_panel
    assert predict.table_model.rowCount() >= 1
    assert predict.table_model.index(0, 0).data().startswith("cultivar_")
