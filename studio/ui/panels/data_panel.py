"""Data step: open a table, preview it, see what each column holds, pick what to predict. A folder of pictures
opened here (button, drop or recent entry) hands over to the pictures' own Data page."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.places import default_data_dir
from studio.core.common.progress import Progress, StopCheck, run_interruptibly
from studio.core.common.words import percent, plural
from studio.core.data.database import DatabaseTable, FirstRows, is_database_location, read_job
from studio.core.data.download import DOWNLOAD_LIMIT_BYTES, TooLarge, is_url, url_name
from studio.core.data.formats import OTHER_FORMAT_PATTERNS
from studio.core.data.images import ImageFolder, display_name, find_paths_column, images_from_table, is_image_folder
from studio.core.data.profile import profile_job
from studio.core.data.read_options import ReadOptions
from studio.core.data.sources import pasted_table_job, url_table_job
from studio.core.data.tabular import LoadedTable, TableHead, read_table
from studio.core.data.target import TargetSummary, Task
from studio.core.data.width import WidthChoice, is_wide, narrowed
from studio.core.project import Project, Step
from studio.core.store.settings import Settings
from studio.resources import sample_dataset
from studio.ui.panels.base import Panel
from studio.ui.panels.image_data_panel import open_folder_job
from studio.ui.widgets.common import MessageBanner, dropped_local_paths, key_text, page_header, section_label
from studio.ui.widgets.database_dialog import DatabaseChoice, DatabaseDialog, default_location
from studio.ui.widgets.reading_options import ReadingOptionsFold
from studio.ui.widgets.table_model import DataFrameTableModel, ProfileTableModel
from studio.ui.widgets.table_sources import OtherSourcesButton, SheetPicker, UrlBar, dropped_web_address
from studio.ui.widgets.wide_table_choice import WideTableChoice
from studio.workers.runner import JobRunner

FILE_FILTER = f"Tables (*.csv *.tsv *.txt *.parquet *.pq {OTHER_FORMAT_PATTERNS});;All files (*)"
# Rows the preview reads to size its columns to their contents. Qt's default of 1000 asks the Python model for
# ~20,000 cells per 20 columns, which took 1.5-2 s on a 1,000,000-row table (tests/perf/test_csv_load.py);
# 100 rows still held the window up for 60-80 ms twice per load (when the table arrives, and again when its kinds
# are known). 30 rows are three screens of the preview: widths fit what a person scrolls through first.
PREVIEW_SIZING_ROWS = 30
NO_TARGET = "— choose a column —"
NOTHING_OPEN = ("Drop a table (CSV, Excel, Parquet, JSON…) or a folder of pictures here, open one, or paste cells "
                "copied from a spreadsheet.")


FITTED_COLUMNS = 100  # the preview fits at most this many columns to their contents


class DataPanel(Panel):
    step = Step.DATA
    table_shown = Signal()  # the preview shows a newly loaded table
    profiled = Signal()  # column kinds are known; the target can be picked
    head_shown = Signal()  # the first rows of a big text table (or database result) show while the rest is read

    def __init__(self, project: Project, settings: Settings, save_settings: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.settings = settings
        self._save_settings = save_settings
        self.setAcceptDrops(True)
        self.loader = JobRunner(self)
        self.loader.succeeded.connect(self._on_loader_succeeded)
        self.loader.progressed.connect(self._on_loader_progressed)
        self.loader.failed.connect(self._on_job_failed)
        self.loader.cancelled.connect(self._on_job_cancelled)
        self.loader.finished.connect(self._on_job_finished)
        self.profiler = JobRunner(self)
        self.profiler.progressed.connect(self._on_profiler_progressed)
        self.profiler.succeeded.connect(self._on_profiler_succeeded)
        self.profiler.failed.connect(self._on_job_failed)
        self.profiler.cancelled.connect(self._on_job_cancelled)
        self.profiler.finished.connect(self._on_job_finished)

        self.open_button = QPushButton("Open a file…")
        self.open_button.setObjectName("primary")
        self.open_button.setToolTip(f"Open a table ({key_text(QKeySequence.StandardKey.Open)})")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.folder_button = QPushButton("Open a folder of pictures…")
        self.folder_button.setToolTip("A folder with one sub-folder of pictures per class (cats/, dogs/, …).")
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.database_dialog: DatabaseDialog | None = None
        self.sample_button = QPushButton("Open the sample dataset")
        self.sample_button.clicked.connect(self.open_sample)
        # Pasted cells and web addresses (table_sources.py); a workbook's sheets.
        self.sources_button = OtherSourcesButton(self)
        self.sources_button.paste_action.triggered.connect(self._on_paste_action_triggered)
        self.sources_button.url_action.triggered.connect(self._on_url_action_triggered)
        # In the sources' menu rather than a button of its own: the toolbar must fit a 1024-pixel-wide window.
        self.database_action = self.sources_button.menu().addAction("Open a database (SQLite, PostgreSQL, MySQL…)…")
        self.database_action.setToolTip("A table or a query from a SQLite file, or from a PostgreSQL, MySQL or SQL "
                                        "Server database.")
        self.database_action.triggered.connect(self._on_database_action_triggered)
        self.paste_shortcut = QShortcut(QKeySequence.StandardKey.Paste, self, self.paste_table)
        self.paste_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.url_bar = UrlBar()
        self.url_bar.open_requested.connect(self.open_url)
        self.sheet_picker = SheetPicker()
        self.sheet_picker.sheet_chosen.connect(self._on_sheet_chosen)
        # A text table's reading options: a change reads the file again (in the loader), keeping the target.
        self.reading_options = ReadingOptionsFold()
        self.reading_options.hide()
        self.reading_options.options_changed.connect(self._on_reading_options_changed)
        self._reread_pending = False
        self._target_to_keep: str | None = None
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent files")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        self.busy = QProgressBar()
        self.busy.setMaximumWidth(180)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.status_label = QLabel(NOTHING_OPEN)
        self.status_label.setStyleSheet("color: #555;")
        self.status_label.setWordWrap(True)
        self.banner = MessageBanner()

        toolbar = QHBoxLayout()
        for widget in (self.open_button, self.sources_button, self.folder_button,
                       self.sample_button, self.recent_button):
            toolbar.addWidget(widget)
        toolbar.addStretch(1)
        toolbar.addWidget(self.busy)
        toolbar.addWidget(self.cancel_button)

        self.preview_model = DataFrameTableModel(parent=self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setAlternatingRowColors(True)
        self.preview.setTabKeyNavigation(False)  # Tab leaves the table (the arrows move in it), or it traps focus
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.horizontalHeader().setResizeContentsPrecision(PREVIEW_SIZING_ROWS)
        # The cells and widths of the last sizing of the preview's columns (see _fit_preview_columns).
        self._fitted: tuple[tuple[tuple[str, ...], ...], tuple[int, ...]] | None = None
        self.profile_model = ProfileTableModel(self)
        self.profile_view = QTableView()
        self.profile_view.setModel(self.profile_model)
        self.profile_view.verticalHeader().hide()
        self.profile_view.setTabKeyNavigation(False)
        self.profile_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.profile_view.horizontalHeader().setStretchLastSection(True)
        self.profile_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.profile_view.doubleClicked.connect(self._on_profile_double_clicked)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(_titled("Preview", self.preview))
        splitter.addWidget(_titled("Columns", self.profile_view))
        splitter.setSizes([320, 220])

        self.target_combo = QComboBox()
        self.target_combo.setMinimumWidth(220)
        self.target_combo.setEnabled(False)
        self.target_combo.currentTextChanged.connect(self._on_target_combo_changed)
        self.task_combo = QComboBox()
        self.task_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.task_combo.setEnabled(False)
        self.task_combo.currentIndexChanged.connect(self._on_task_combo_changed)
        self.target_summary = QLabel()
        self.target_summary.setWordWrap(True)
        self.target_summary.setTextFormat(Qt.TextFormat.PlainText)  # it names the classes as written
        target_row = QHBoxLayout()
        target_row.addWidget(QLabel("What do you want to predict?"))
        target_row.addWidget(self.target_combo)
        target_row.addSpacing(12)
        target_row.addWidget(QLabel("Kind of task:"))
        target_row.addWidget(self.task_combo)
        target_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Data", "Open the table you want to learn from and pick the column to "
                                     "predict. Every other column can help the model. Or open a folder of "
                                     "pictures, one sub-folder per class."))
        layout.addLayout(toolbar)
        layout.addWidget(self.status_label)  # a line of its own: beside four buttons it wrapped into a column
        layout.addWidget(self.url_bar)
        layout.addWidget(self.sheet_picker)
        layout.addWidget(self.reading_options)
        layout.addWidget(self.banner)
        # A table of very many columns waits here for a choice before its columns are looked at.
        self.wide_choice = WideTableChoice()
        self.wide_choice.chosen.connect(self._on_wide_choice_chosen)
        self._wide_table: LoadedTable | None = None
        layout.addWidget(self.wide_choice)
        layout.addWidget(splitter, 1)
        layout.addWidget(section_label("Target"))
        layout.addLayout(target_row)
        layout.addWidget(self.target_summary)
        # A table that lists picture files (a path and a class per row) can be learnt from as pictures.
        self.paths_column: str | None = None
        self.pictures_note = QLabel()
        self.pictures_note.setWordWrap(True)
        self.pictures_button = QPushButton("Learn from the pictures")
        self.pictures_button.clicked.connect(self.learn_from_pictures)
        pictures_row = QHBoxLayout()
        pictures_row.addWidget(self.pictures_note, 1)
        pictures_row.addWidget(self.pictures_button)
        self.pictures_box = QWidget()
        self.pictures_box.setLayout(pictures_row)
        self.pictures_box.hide()
        layout.addWidget(self.pictures_box)
        self._refresh_recent()

    # -- opening ------------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Start loading ``path`` (a table, or a folder of pictures) in the background; False when a load is
        already running."""
        if is_url(path):
            return self.open_url(str(path))
        if self.loader.is_running() or self.profiler.is_running():
            return False
        if Path(path).is_file() and is_database_location(path):  # a SQLite file: a table is picked in the dialog
            return self.open_database_dialog(str(path)).connect_to_database()
        self.banner.clear()
        self._set_busy(True, f"Reading {display_name(Path(path).name)}…")
        if is_image_folder(path):
            return self.loader.start(lambda stop: open_folder_job(path, stop))
        table = self.project.table
        if table is None or Path(table.path) != Path(path):
            self.project.set_read_options(ReadOptions())  # another file: everything is detected again
        options = self.project.read_options
        return self.loader.start(lambda stop: read_table(path, stop, None, options))

    def reread(self) -> bool:
        """Read the open text table again with the project's reading options; the target stays picked. Asked
        while a load runs, it follows that load."""
        table = self.project.table
        if table is None or table.delimiter is None:
            return False
        if self.loader.is_running() or self.profiler.is_running():
            self._reread_pending = True
            return False
        self._reread_pending = False
        self._target_to_keep = self.project.target
        self.banner.clear()
        self._set_busy(True, f"Reading {display_name(table.name)} again…")
        path, options = table.path, self.project.read_options
        return self.loader.start(lambda stop: read_table(path, stop, None, options))

    def _on_reading_options_changed(self, options: ReadOptions) -> None:
        self.project.set_read_options(options)
        self.reread()

    def open_url(self, url: str, allow_large: bool = False) -> bool:
        """Download and read the table at a web address in the background; a file over the size limit comes back
        as a choice in the address bar (``allow_large`` downloads it anyway)."""
        if self.loader.is_running() or self.profiler.is_running():
            return False
        self.banner.clear()
        self._set_busy(True, f"Downloading {url_name(url)}…")
        limit = None if allow_large else DOWNLOAD_LIMIT_BYTES
        table = self.project.table
        if table is None or table.path != url:
            self.project.set_read_options(ReadOptions())  # another table: everything is detected again
        options = self.project.read_options
        return self.loader.start(lambda stop: url_table_job(url, stop, limit, options))

    def paste_table(self, text: str | None = None) -> bool:
        """Read cells copied from a spreadsheet (the clipboard's text unless given) in the background; they are
        saved as a CSV file in Studio's folder so the run names a file that predictions can read again."""
        if self.loader.is_running() or self.profiler.is_running():
            return False
        text = QGuiApplication.clipboard().text() if text is None else text
        self.banner.clear()
        self._set_busy(True, "Reading the pasted table…")
        self.project.set_read_options(ReadOptions())
        folder = default_data_dir() / "pasted tables"
        return self.loader.start(lambda stop: pasted_table_job(text, folder, stop))

    def _on_paste_action_triggered(self) -> None:
        self.paste_table()

    def _on_url_action_triggered(self) -> None:
        self.url_bar.start()

    def _on_sheet_chosen(self, sheet: str) -> None:
        table = self.project.table
        if table is None or sheet == table.sheet or self.loader.is_running() or self.profiler.is_running():
            return
        self.banner.clear()
        self._set_busy(True, f"Reading the sheet '{sheet}' of {display_name(table.name)}…")
        # Kept with the reading options: opening this workbook again, the run and its model read this sheet.
        options = replace(self.project.read_options, sheet=sheet)
        self.project.set_read_options(options)
        path = table.path
        self.loader.start(lambda stop: read_table(path, stop, sheet, options))

    def _show_sheet_read(self) -> None:
        """After a load, failed ones too: the picker and the reading options name the sheet the table holds."""
        table = self.project.table
        if table is None or not table.sheets:
            return
        self.sheet_picker.show_sheets(table.sheets, table.sheet)
        if self.project.read_options.sheet != table.options.sheet:
            self.project.set_read_options(replace(self.project.read_options, sheet=table.options.sheet))

    def open_database_dialog(self, location: str = "") -> DatabaseDialog:
        """The dialog that picks a database table or query; Load reads it here, in the background."""
        table = self.project.table
        if not location and isinstance(table, DatabaseTable):
            location = default_location(table.source.url)
        self.database_dialog = DatabaseDialog(self, location)
        self.database_dialog.chosen.connect(self.open_database)
        self.database_dialog.open()
        return self.database_dialog

    def _on_database_action_triggered(self) -> None:
        self.open_database_dialog()

    def open_database(self, choice: DatabaseChoice) -> bool:
        """Read a database table or query in the background: its first rows show while the rest is read."""
        if self.loader.is_running() or self.profiler.is_running():
            return False
        self.banner.clear()
        self._set_busy(True, f"Reading {choice.source.describe()}…")
        return self.loader.start(lambda stop: read_job(choice.login, choice.source, stop, choice.first_rows))

    def open_sample(self) -> bool:
        return self.open_path(sample_dataset())

    def learn_from_pictures(self) -> bool:
        """The open table's picture files, with the chosen target as their class, opened as pictures."""
        table, column, label = self.project.table, self.paths_column, self.project.target
        if table is None or column is None or label is None or label == column or self.loader.is_running():
            return False
        frame, path = table.frame, table.path
        self.banner.clear()
        self._set_busy(True, f"Finding the pictures listed in '{column}'…")
        return self.loader.start(lambda stop: pictures_job(frame, path, label, column, stop))

    def _show_pictures_offer(self) -> None:
        table = self.project.table
        self.paths_column = find_paths_column(table.frame) if table is not None and self.project.profiles else None
        self.pictures_box.setVisible(self.paths_column is not None)
        if self.paths_column is None:
            return
        target = self.project.target
        ready = target is not None and target != self.paths_column
        self.pictures_button.setEnabled(ready)
        self.pictures_note.setText(
            f"This table lists picture files in the column '{self.paths_column}'. "
            + (f"To learn what the pictures show, with '{target}' as each picture's class:" if ready else
               "To learn from the pictures themselves, pick the column that holds each picture's class above."))

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a table", self.settings.last_folder, FILE_FILTER)
        if path:
            self.open_path(path)

    def _on_folder_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of pictures", self.settings.last_folder)
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_local_paths(event) or dropped_web_address(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_local_paths(event) or [dropped_web_address(event)]  # a link dragged from a browser
        if files[0]:
            event.acceptProposedAction()
            self.open_path(files[0])

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            name = display_name(Path(path).name)
            action = self.recent_menu.addAction(f"{name} (folder of pictures)" if is_image_folder(path) else name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
        self.recent_button.setEnabled(bool(self.settings.recent_files))

    # -- background results -------------------------------------------------------------------------------------
    def _on_loader_succeeded(self, table: LoadedTable | ImageFolder | TooLarge) -> None:
        if isinstance(table, TooLarge):
            self.url_bar.offer_large(table)
            return
        if isinstance(table, ImageFolder):
            self.project.set_dataset(table)  # the window shows the pictures' own Data page next
            return
        self.wide_choice.hide()
        if is_wide(table.frame.shape[1]):
            self._wide_table = table
            self.wide_choice.offer(len(table.frame), table.frame.shape[1], [str(c) for c in table.frame.columns])
            return
        self._show_table(table)

    def _fit_preview_columns(self) -> None:
        """Columns as wide as their contents; a table of very many keeps the default widths, since measuring each
        column's cells takes the window's thread about 2 ms a column.

        The whole table arriving after its first rows usually starts with the same cells: when the rows measured
        (the first ones, the preview scrolled to the top) read as they did at the last sizing and the widths are
        still those it set, sizing again would give the same widths for 30-40 ms of the window's thread."""
        if self.preview_model.columnCount() > FITTED_COLUMNS:
            return
        header = self.preview.horizontalHeader()
        at_top = self.preview.verticalScrollBar().value() == 0
        cells = self.preview_model.top_texts(PREVIEW_SIZING_ROWS) if at_top else None
        if cells is not None and self._fitted == (cells, _section_sizes(header)):
            return
        header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        self._fitted = (cells, _section_sizes(header)) if cells is not None else None

    def _on_wide_choice_chosen(self, choice: WidthChoice) -> None:
        table, self._wide_table = self._wide_table, None
        self.wide_choice.hide()
        if table is None:
            return
        target = self.wide_choice.target()
        self._target_to_keep = target  # chosen as the column to predict once the kept columns are looked at
        self._show_table(replace(table, frame=narrowed(table.frame, target, choice)))
        self._set_busy(True, f"Looking at {choice.words()}…")

    def _show_table(self, table: LoadedTable) -> None:
        self.project.set_table(table)
        if table.notes:  # columns left out, a guess between two readings of the numbers
            self.banner.show_message(" ".join(table.notes), "warning")
        self.table_shown.emit()
        frame = table.frame
        self.profiler.start(lambda stop: profile_job(frame, stop))

    def _on_loader_progressed(self, item: object) -> None:
        if isinstance(item, FirstRows | TableHead) and item.frame is not None:  # shown while the rest is read
            self.preview_model.set_frame(item.frame)
            self._fit_preview_columns()
            if isinstance(item, TableHead):
                self.status_label.setText(item.message + "…")
            self.head_shown.emit()
        elif isinstance(item, Progress) and item.fraction is not None:
            self._on_profiler_progressed(item)

    def _on_profiler_progressed(self, item: Progress) -> None:
        if item.fraction is not None:
            self.busy.setRange(0, 100)
            self.busy.setValue(int(item.fraction * 100))
        self.status_label.setText(f"{item.stage}… {item.message}")

    def _on_profiler_succeeded(self, profiles: tuple) -> None:
        self.project.set_profiles(profiles)
        kept, self._target_to_keep = self._target_to_keep, None
        if kept is not None and self.project.profile_of(kept) is not None:
            self.project.set_target(kept)  # read again with other options: the same column is predicted
        self.profiled.emit()

    def _on_job_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    def _on_cancel_clicked(self) -> None:
        self.loader.cancel()
        self.profiler.cancel()

    def _on_job_cancelled(self) -> None:
        # A table whose columns were never profiled cannot go further; drop it rather than leave it half-open.
        if self.project.table is not None and not self.project.profiles:
            self.project.set_table(None)
        self.banner.show_message("Opening the file was cancelled.", "info")

    def _on_job_finished(self) -> None:
        if not self.loader.is_running() and not self.profiler.is_running():
            waiting = self._wide_table is not None
            self._set_busy(False, "Choose which columns to keep, below." if waiting else self._describe_table())
            self._show_sheet_read()
            if self._reread_pending:
                self.reread()

    def _set_busy(self, busy: bool, text: str) -> None:
        self.busy.setRange(0, 0)
        self.busy.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.url_bar.set_busy(busy)
        self.sheet_picker.setEnabled(not busy)
        for button in (self.open_button, self.sources_button, self.folder_button,
                       self.sample_button, self.recent_button):
            button.setEnabled(not busy and (button is not self.recent_button or bool(self.settings.recent_files)))
        self.status_label.setText(text)

    def _describe_table(self) -> str:
        dataset = self.project.dataset
        if dataset is None:
            return NOTHING_OPEN
        return f"{display_name(dataset.name)}: {dataset.describe_format()}"

    def _remember(self) -> None:
        """Whatever data was opened, from this page or another, goes to the recent files (the sample does not)."""
        dataset = self.project.dataset
        if dataset is None or isinstance(dataset, DatabaseTable) \
                or Path(dataset.path).resolve() == sample_dataset().resolve():
            return
        self.settings.add_recent(dataset.path)
        self._save_settings()
        self._refresh_recent()

    # -- project ------------------------------------------------------------------------------------------------
    def _on_project_changed(self, what: str) -> None:
        if what == "table":
            self._remember()
            table = self.project.table
            self.sheet_picker.show_sheets(table.sheets if table is not None else (), table.sheet if table else None)
            self.reading_options.show_table(table)
            self.reading_options.show_options(self.project.read_options)
            self.preview_model.set_frame(table.frame if table is not None else pd.DataFrame())
            if table is not None:
                self._fit_preview_columns()
            self.profile_model.set_profiles(())
            self._fill_target_choices()
        elif what == "profiles":
            self.profile_model.set_profiles(self.project.profiles)
            notes = {p.name: f"{p.kind.label}. {p.note}".strip() for p in self.project.profiles}
            table = self.project.table
            if table is not None and self.preview_model.frame() is table.frame:
                # The table shown already: only its headers' tooltips change, and sizing its columns again would
                # hold the window up for nothing (and forget widths the person set).
                self.preview_model.set_header_notes(notes)
            elif table is not None:
                self.preview_model.set_frame(table.frame, notes)
                self._fit_preview_columns()
            self._fill_target_choices()
        elif what == "target":
            self._show_target()
        if what in ("table", "profiles", "target"):
            self._show_pictures_offer()

    def _fill_target_choices(self) -> None:
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItem(NO_TARGET)
        for profile in self.project.profiles:
            self.target_combo.addItem(profile.name)
        self.target_combo.setEnabled(bool(self.project.profiles))
        if self.project.target:
            self.target_combo.setCurrentText(self.project.target)
        self.target_combo.blockSignals(False)
        self._show_target()

    def _on_target_combo_changed(self, text: str) -> None:
        self.project.set_target(None if text in ("", NO_TARGET) else text)

    def _on_task_combo_changed(self, index: int) -> None:
        task = self.task_combo.itemData(index)
        if task is not None:
            self.project.set_task(Task(task))

    def _on_profile_double_clicked(self, index) -> None:
        name = self.project.profiles[index.row()].name
        self.target_combo.setCurrentText(name)

    def _show_target(self) -> None:
        self.task_combo.blockSignals(True)
        self.task_combo.clear()
        for task in self.project.task_choices():
            self.task_combo.addItem(task.label, task.value)
        if self.project.task is not None:
            self.task_combo.setCurrentIndex(self.task_combo.findData(self.project.task.value))
        self.task_combo.setEnabled(self.task_combo.count() > 1)
        self.task_combo.blockSignals(False)
        self.target_summary.setText(describe_target(self.project))

    def shutdown(self) -> None:
        if self.database_dialog is not None:
            self.database_dialog.shutdown()
        self.loader.stop()
        self.profiler.stop()


def describe_target(project: Project) -> str:
    summary = project.target_summary
    if summary is None:
        return ""
    usable, missing = summary.usable_rows, summary.missing_rows
    parts = [f"{plural(usable, 'row')} can be used."]
    if missing:
        parts.append(f"{plural(missing, 'row')} {'has' if missing == 1 else 'have'} no value for {summary.name} "
                     "and will be left out.")
    if summary.class_counts:
        parts.append(f"{plural(len(summary.class_counts), 'class')}: {class_lines(summary)}.")
    return " ".join(parts)


def class_lines(summary: TargetSummary, limit: int = 8) -> str:
    """Each class with its rows and share, "0: 863 rows (66%), 1: 446 rows (34%)", the most common first."""
    shown = ", ".join(f"{name}: {plural(count, 'row')} ({percent(count / summary.usable_rows, 0)})"
                      for name, count in summary.class_counts[:limit])
    rest = len(summary.class_counts) - limit
    return shown + (f" and {plural(rest, 'more class', 'more classes')}" if rest > 0 else "")


def _section_sizes(header: QHeaderView) -> tuple[int, ...]:
    return tuple(header.sectionSize(section) for section in range(header.count()))


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(section_label(title))
    layout.addWidget(widget)
    return box


def pictures_job(frame: pd.DataFrame, path: str, label: str, column: str,
                 should_stop: StopCheck) -> Generator[Progress, None, ImageFolder]:
    """The pictures a table lists, found on disk, as a job (a long list on a network drive takes a while)."""
    yield Progress("Reading", None, f"Finding the pictures listed in '{column}'")
    return run_interruptibly(lambda: images_from_table(frame, path, label, column), should_stop)
