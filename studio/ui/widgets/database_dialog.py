"""The "Open a database" dialog: a SQLite file or a server's address, its tables with their row counts, a query,
a preview of the first rows, and Load (or Predict, on the Predict page).

Connecting, listing, previewing and remembering a password all run as core jobs on a worker, with Cancel. The
dialog only chooses; the page that opened it reads the rows (``chosen`` carries what to read).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.data.database import (
    MAX_ROWS,
    DatabaseCatalog,
    DatabaseLogin,
    DatabasePreview,
    DatabaseSource,
    login_for,
    preview_job,
)
from studio.core.data.passwords import can_remember, connect_job
from studio.ui.widgets.common import MessageBanner, section_label
from studio.ui.widgets.table_model import DataFrameTableModel
from studio.workers.runner import JobRunner

DATABASE_FILTER = "SQLite databases (*.sqlite *.sqlite3 *.db *.db3);;All files (*)"
LOCATION_HINT = "shop.sqlite, or an address such as postgresql://user@host:5432/database"
NO_STORE = ("This computer has no password store, so Studio does not keep the password: it asks each time you "
            "connect.")


@dataclass(frozen=True)
class DatabaseChoice:
    """What the person chose to read: where (with the password, held in memory only), what, and how many rows
    (None: all of them)."""

    login: DatabaseLogin
    source: DatabaseSource
    first_rows: int | None = None


class DatabaseDialog(QDialog):
    chosen = Signal(object)  # a DatabaseChoice, when Load (or Predict) is clicked

    def __init__(self, parent: QWidget | None = None, location: str = "", action: str = "Load",
                 max_rows: int = MAX_ROWS) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a database")
        self.max_rows = max_rows
        self.catalog: DatabaseCatalog | None = None
        self.preview: DatabasePreview | None = None
        self._job = ""
        self._table_sql = ""  # the query text filled in for the picked table: unchanged, the table is read
        self._connected_to = ""  # the address the tables listed come from
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        self.runner.finished.connect(self._update_buttons)

        self.location_edit = QLineEdit(location)
        self.location_edit.setPlaceholderText(LOCATION_HINT)
        self.location_edit.textChanged.connect(self._on_location_edit_changed)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("user name")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("password")
        self.remember_box = QCheckBox("Remember the password" if can_remember() else
                                      "Remember the password (no password store here: asked each time)")
        self.remember_box.setEnabled(can_remember())
        self.remember_box.setToolTip("Kept in this computer's password store, never in Studio's files."
                                     if can_remember() else NO_STORE)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("primary")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_to_database)
        where = QHBoxLayout()
        where.addWidget(QLabel("Database:"))
        where.addWidget(self.location_edit, 1)
        where.addWidget(self.browse_button)
        self.login_row = QWidget()
        login = QHBoxLayout(self.login_row)
        login.setContentsMargins(0, 0, 0, 0)
        login.addWidget(QLabel("User:"))
        login.addWidget(self.user_edit)
        login.addWidget(QLabel("Password:"))
        login.addWidget(self.password_edit)
        login.addWidget(self.remember_box)
        login.addStretch(1)
        login.addWidget(self.connect_button)

        self.table_list = QListWidget()
        self.table_list.currentItemChanged.connect(self._on_table_list_changed)
        self.query_edit = QPlainTextEdit()
        self.query_edit.setPlaceholderText("SELECT * FROM customers WHERE country = 'FR'")
        self.query_edit.setMaximumHeight(90)
        self.query_edit.textChanged.connect(self._update_buttons)
        self.preview_button = QPushButton("Preview")
        self.preview_button.clicked.connect(self.show_preview)
        self.preview_model = DataFrameTableModel(parent=self)
        self.preview_view = QTableView()
        self.preview_view.setModel(self.preview_model)
        self.preview_view.setAlternatingRowColors(True)
        self.rows_label = QLabel("Pick a table, or write a query and preview it.")
        self.rows_label.setWordWrap(True)
        tables_box = QWidget()
        tables = QVBoxLayout(tables_box)
        tables.setContentsMargins(0, 0, 0, 0)
        tables.addWidget(section_label("Tables"))
        tables.addWidget(self.table_list)
        query_box = QWidget()
        query = QVBoxLayout(query_box)
        query.setContentsMargins(0, 0, 0, 0)
        query_bar = QHBoxLayout()
        query_bar.addWidget(section_label("Query (optional)"))
        query_bar.addStretch(1)
        query_bar.addWidget(self.preview_button)
        query.addLayout(query_bar)
        query.addWidget(self.query_edit)
        query.addWidget(self.rows_label)
        query.addWidget(self.preview_view, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(tables_box)
        splitter.addWidget(query_box)
        splitter.setSizes([220, 640])

        self.banner = MessageBanner()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.first_rows_button = QPushButton()
        self.first_rows_button.clicked.connect(self._on_first_rows_clicked)
        self.first_rows_button.hide()
        self.load_button = QPushButton(action)
        self.load_button.setObjectName("primary")
        self.load_button.clicked.connect(self.load)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.cancel_button)
        bottom.addStretch(1)
        bottom.addWidget(self.first_rows_button)
        bottom.addWidget(self.load_button)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(where)
        layout.addWidget(self.login_row)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self.resize(900, 560)
        self._on_location_edit_changed(location)

    # -- connecting ---------------------------------------------------------------------------------------------
    def is_server(self) -> bool:
        return "://" in self.location_edit.text() and not self.location_edit.text().strip().startswith("sqlite")

    def login(self) -> DatabaseLogin:
        """The login the fields describe. A password typed into the address is moved to the password field, so
        it is never shown or written down with the address."""
        from sqlalchemy.engine import make_url

        text = self.location_edit.text().strip()
        login = login_for(text, self.password_edit.text() or None)
        if self.is_server():
            url = make_url(login.url)
            if url.username is None and self.user_edit.text().strip():
                url = url.set(username=self.user_edit.text().strip())
            login = replace(login, url=url.render_as_string(hide_password=False))
            if login.url != text:
                self.location_edit.setText(login.url)
            if login.password and not self.password_edit.text():
                self.password_edit.setText(login.password)
        return login

    def connect_to_database(self) -> bool:
        try:
            login = self.login()
        except StudioError as exc:
            self.banner.show_message(str(exc), "error")
            return False
        remember = self.remember_box.isChecked()
        self._connected_to = self.location_edit.text().strip()
        return self._start("connect", lambda stop: connect_job(login, remember, stop))

    def _on_location_edit_changed(self, text: str) -> None:
        if self.catalog is not None and text.strip() != self._connected_to:
            self._show_catalog(None)  # another database: its tables are not known yet
        server = self.is_server()
        for widget in (self.user_edit, self.password_edit, self.remember_box):
            widget.setEnabled(server and (widget is not self.remember_box or can_remember()))
        if server:
            from sqlalchemy.engine import make_url

            try:
                user = make_url(text.strip()).username
            except Exception:
                user = None
            if user:
                self.user_edit.setText(user)
        self._update_buttons()

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a SQLite database", "", DATABASE_FILTER)
        if path:
            self.location_edit.setText(path)
            self.connect_to_database()

    # -- choosing -----------------------------------------------------------------------------------------------
    def source(self) -> DatabaseSource | None:
        """The table picked, or the query written (a picked table's query changed by hand is a query)."""
        if self.catalog is None:
            return None
        text = self.query_edit.toPlainText().strip()
        item = self.table_list.currentItem()
        if item is not None and text == self._table_sql:
            return DatabaseSource(self.catalog.login.url, table=item.data(Qt.ItemDataRole.UserRole))
        return DatabaseSource(self.catalog.login.url, query=text) if text else None

    def _on_table_list_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        quoted = '"' + name.replace('"', '""') + '"'
        self._table_sql = f"SELECT * FROM {quoted}"
        self.query_edit.setPlainText(self._table_sql)
        self.show_preview()

    def show_preview(self) -> bool:
        source = self.source()
        if source is None or self.catalog is None:
            return False
        login = self.catalog.login
        return self._start("preview", lambda stop: preview_job(login, source, should_stop=stop))

    def load(self) -> bool:
        """Hand the choice to the page; a result too large to read whole offers its first rows instead."""
        source = self.source()
        if source is None or self.catalog is None:
            return False
        preview = self.preview
        if preview is not None and preview.source == source and preview.rows is not None \
                and preview.rows > self.max_rows:
            self.banner.show_message(
                f"This returns {preview.rows:,} rows, more than Studio reads at once ({self.max_rows:,}). Read "
                f"the first {self.max_rows:,} rows, or narrow the query (a WHERE condition, or LIMIT).", "warning")
            self.first_rows_button.setText(f"Read the first {self.max_rows:,} rows")
            self.first_rows_button.show()
            return False
        return self._choose(DatabaseChoice(self.catalog.login, source))

    def _on_first_rows_clicked(self) -> None:
        source = self.source()
        if source is not None and self.catalog is not None:
            self._choose(DatabaseChoice(self.catalog.login, source, self.max_rows))

    def _choose(self, choice: DatabaseChoice) -> bool:
        self.chosen.emit(choice)
        self.accept()
        return True

    # -- jobs ---------------------------------------------------------------------------------------------------
    def _start(self, job: str, factory) -> bool:
        if self.runner.is_running():
            return False
        self._job = job
        self.banner.clear()
        self.first_rows_button.hide()
        started = self.runner.start(factory)
        self._update_buttons()
        return started

    def _on_runner_progressed(self, item: object) -> None:
        if isinstance(item, Progress):
            self.rows_label.setText(f"{item.message}…")

    def _on_runner_succeeded(self, value: object) -> None:
        if isinstance(value, DatabaseCatalog):
            self._show_catalog(value)
        elif isinstance(value, DatabasePreview):
            self.preview = value
            self.preview_model.set_frame(value.frame)
            self.preview_view.resizeColumnsToContents()
            count = "an unknown number of rows" if value.rows is None else f"{value.rows:,} rows"
            shown = min(len(value.frame), value.rows if value.rows is not None else len(value.frame))
            self.rows_label.setText(f"{count} in all, {value.frame.shape[1]} columns; the first {shown:,} are shown.")
            if value.notes:
                self.banner.show_message(" ".join(value.notes), "warning")

    def _show_catalog(self, catalog: DatabaseCatalog | None) -> None:
        if catalog is None and self._table_sql and self.query_edit.toPlainText().strip() == self._table_sql:
            self.query_edit.clear()  # the other database's table; a query typed by hand stays
        self.banner.clear()
        self.catalog = catalog
        self.preview = None
        self._table_sql = ""
        self.preview_model.set_frame(pd.DataFrame())
        self.table_list.blockSignals(True)
        self.table_list.clear()
        if catalog is None:
            self.table_list.blockSignals(False)
            self.rows_label.setText("Connect to see the tables.")
            self._update_buttons()
            return
        for info in catalog.tables:
            item = QListWidgetItem(info.label())
            item.setData(Qt.ItemDataRole.UserRole, info.name)
            self.table_list.addItem(item)
        self.table_list.blockSignals(False)
        place = catalog.login.place()
        if catalog.tables:
            self.rows_label.setText(f"Connected to {place}: pick a table, or write a query and preview it.")
        else:
            self.rows_label.setText(f"Connected to {place}, which has no tables: write a query and preview it.")

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)
        self.rows_label.setText("")
        if self._job == "connect" and "password" in message:
            self.password_edit.setFocus()
            self.password_edit.selectAll()

    def _on_runner_cancelled(self) -> None:
        self.rows_label.setText("Stopped.")

    def _update_buttons(self) -> None:
        busy = self.runner.is_running()
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.connect_button.setEnabled(not busy and bool(self.location_edit.text().strip()))
        ready = not busy and self.catalog is not None and bool(self.query_edit.toPlainText().strip())
        self.preview_button.setEnabled(ready)
        self.load_button.setEnabled(ready)
        self.table_list.setEnabled(not busy)

    def done(self, result: int) -> None:
        self.runner.stop()
        super().done(result)

    def shutdown(self) -> None:
        self.runner.stop()


def default_location(path_or_url: str) -> str:
    """What the dialog's address field starts with for a database opened before: its file, or its URL."""
    if path_or_url.startswith("sqlite:///"):
        return str(Path(path_or_url.removeprefix("sqlite:///")))
    return path_or_url


def database_data_path(source: DatabaseSource) -> str:
    """Where predictions of a database's rows are offered to be saved: beside a SQLite file, named after the table
    (or "query"); a server's, in the current folder."""
    name = source.table or "query"
    if source.url.startswith("sqlite:///"):
        return str(Path(source.url.removeprefix("sqlite:///")).with_name(name))
    return name
