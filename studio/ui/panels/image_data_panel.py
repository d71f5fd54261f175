"""Data step for pictures: what the folder holds, thumbnails per class, and what reading every picture found."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.progress import Progress, StopCheck, run_interruptibly
from studio.core.data.images import (
    CLASS_COLUMN,
    IMAGE_COLUMN,
    ImageCheck,
    ImageFolder,
    check_images,
    display_name,
    is_image_folder,
    list_image_folder,
    size_summary,
)
from studio.core.data.kinds import DataKind
from studio.core.data.profile import profile_job
from studio.core.data.tabular import LoadedTable, read_table
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.panels.kinds import register_pages
from studio.ui.widgets.common import MessageBanner, dropped_local_paths, page_header, section_label
from studio.ui.widgets.image_grid import ImageGridWidget, ThumbnailRow
from studio.workers.runner import JobRunner

TABLE_FILTER = "Tables (*.csv *.tsv *.txt *.xlsx *.xls *.parquet);;All files (*)"
ALL_CLASSES = "All classes"
NEXT_STEP = "Go on to Prepare to choose the picture size and augmentation."
COUNT_ROWS_SHOWN = 8  # classes listed before the table scrolls
CHECK_DELAY_MS = 700  # the check starts at the latest this long after a folder is shown


def open_folder_job(path: str | Path, should_stop: StopCheck) -> Generator[Progress, None, ImageFolder]:
    """Listing a folder of pictures as a job for a worker (a folder on a slow network drive can take a while)."""
    yield Progress("Reading", None, f"Listing the pictures in {display_name(Path(path).name)}")
    return run_interruptibly(lambda: list_image_folder(path), should_stop)


def open_table_job(path: str | Path, should_stop: StopCheck
                   ) -> Generator[Progress, None, tuple[LoadedTable, tuple]]:
    """A table and its column profiles in one job, so the table pages find it ready to use."""
    table = yield from read_table(path, should_stop)
    profiles = yield from profile_job(table.frame, should_stop)
    return table, profiles


class ImageDataPanel(Panel):
    step = Step.DATA
    folder_shown = Signal()  # a newly opened folder is on the page (counts and thumbnails)
    checked = Signal()  # reading every picture has finished and its findings are shown

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.setAcceptDrops(True)
        self.loader = JobRunner(self)
        self.loader.succeeded.connect(self._on_loader_succeeded)
        self.loader.failed.connect(self._on_job_failed)
        self.loader.finished.connect(self._on_loader_finished)
        self.checker = JobRunner(self)
        self.checker.progressed.connect(self._on_checker_progressed)
        self.checker.succeeded.connect(self._on_checker_succeeded)
        self.checker.failed.connect(self._on_job_failed)
        self.checker.finished.connect(self._on_checker_finished)
        self._checking: ImageFolder | None = None  # the folder the running check reads
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self._start_check)

        self.open_folder_button = QPushButton("Open another folder…")
        self.open_folder_button.clicked.connect(self._on_open_folder_clicked)
        self.open_table_button = QPushButton("Open a table…")
        self.open_table_button.setToolTip("Go back to learning from a table of rows and columns.")
        self.open_table_button.clicked.connect(self._on_open_table_clicked)
        self.folder_label = QLabel()
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.open_folder_button)
        toolbar.addWidget(self.open_table_button)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.folder_label, 1)
        self.banner = MessageBanner()  # opening failed
        self.problems_banner = MessageBanner()  # what stops the next step

        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setStyleSheet("color: #555;")
        self.progress_label.setWordWrap(True)
        self.check_again_button = QPushButton("Read the pictures again")
        self.check_again_button.clicked.connect(self._start_check)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar)
        progress_row.addWidget(self.progress_label, 1)
        progress_row.addWidget(self.check_again_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        progress_row.setContentsMargins(0, 0, 0, 0)

        self.counts = QTableWidget(0, 3)
        self.counts.setHorizontalHeaderLabels(["Class", "Pictures", "Share"])
        self.counts.verticalHeader().hide()
        self.counts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.counts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.counts.setItemDelegateForColumn(2, _ShareBarDelegate(self.counts))
        header = self.counts.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 70)
        self.counts.verticalHeader().setDefaultSectionSize(22)
        self.counts.cellDoubleClicked.connect(self._on_counts_cell_double_clicked)
        self.sizes_label = QLabel()
        self.sizes_label.setWordWrap(True)
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        warnings_scroll = QScrollArea()
        warnings_scroll.setWidgetResizable(True)
        warnings_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        warnings_scroll.setWidget(self.warnings_label)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(section_label("Classes"))
        left_layout.addWidget(self.counts)
        left_layout.addWidget(section_label("Picture sizes"))
        left_layout.addWidget(self.sizes_label)
        left_layout.addWidget(section_label("Good to know"))
        left_layout.addWidget(warnings_scroll, 1)

        self.class_combo = QComboBox()
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_combo.currentIndexChanged.connect(self._on_class_combo_changed)
        self.grid = ImageGridWidget(empty_text="This class holds no pictures.")
        self.grid.model.thumbnails_arrived.connect(self._on_grid_thumbnails_arrived)
        show_row = QHBoxLayout()
        show_row.addWidget(QLabel("Show:"))
        show_row.addWidget(self.class_combo)
        show_row.addStretch(1)
        hint = QLabel("Double-click a picture to see it large.")
        hint.setStyleSheet("color: #777;")
        show_row.addWidget(hint)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addLayout(show_row)
        right_layout.addWidget(self.grid, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 650])
        self.next_label = QLabel()
        self.next_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Data", "Pictures sorted into one sub-folder per class. Studio learns to tell "
                                     "the classes apart."))
        layout.addLayout(toolbar)
        layout.addWidget(self.banner)
        layout.addWidget(self.problems_banner)
        layout.addWidget(self.progress_box)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.next_label)
        self._shown: ImageFolder | None = None
        self._show_folder()

    # -- opening ------------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a folder of pictures, or a table, in the background; False while something is being opened."""
        if self.loader.is_running():
            return False
        self.banner.clear()
        self._set_opening(True, f"Opening {display_name(Path(path).name)}…")
        if is_image_folder(path):
            return self.loader.start(lambda stop: open_folder_job(path, stop))
        return self.loader.start(lambda stop: open_table_job(path, stop))

    def _on_open_folder_clicked(self) -> None:
        start = str(Path(self.project.images.root).parent) if self.project.images is not None else ""
        path = QFileDialog.getExistingDirectory(self, "Open a folder of pictures", start)
        if path:
            self.open_path(path)

    def _on_open_table_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a table", "", TABLE_FILTER)
        if path:
            self.open_path(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_local_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_local_paths(event)
        if files:
            event.acceptProposedAction()
            self.open_path(files[0])

    def _on_loader_succeeded(self, result: ImageFolder | tuple[LoadedTable, tuple]) -> None:
        if isinstance(result, ImageFolder):
            self.project.set_dataset(result)
            return
        table, profiles = result
        with self.project.batch():  # the window shows the table pages next
            self.project.set_table(table)
            self.project.set_profiles(profiles)

    def _on_job_failed(self, message: str, details: str) -> None:
        self.banner.show_message(message, "error", details)

    def _on_loader_finished(self) -> None:
        self._set_opening(False, "")
        self._show_summary()

    def _set_opening(self, busy: bool, text: str) -> None:
        self.open_folder_button.setEnabled(not busy)
        self.open_table_button.setEnabled(not busy)
        if text:
            self.folder_label.setText(text)

    # -- checking every picture ---------------------------------------------------------------------------------
    def _check_soon(self) -> None:
        """Start the check once the first screen of thumbnails is shown (or shortly, whichever comes first): on
        a small computer the check's reading would otherwise hold up the thumbnails a person is looking at."""
        folder = self.project.images
        if folder is None or folder.check is not None or self._check_timer.isActive():
            return
        if self.checker.is_running() and self._checking is not None and self._checking.frame is folder.frame:
            return
        self.checker.stop()  # a check of the folder shown before: its result no longer matters
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(f"Reading every picture once, to find damaged files and copies "
                                    f"({len(folder.frame):,} pictures)…")
        self.check_again_button.hide()
        self.progress_box.show()
        self._check_timer.start()

    def _on_grid_thumbnails_arrived(self, _count: int) -> None:
        if self._check_timer.isActive() and not self.grid.model.waiting():
            self._check_timer.stop()
            self._start_check()

    def _start_check(self) -> None:
        folder = self.project.images
        if folder is None or folder.check is not None:
            return
        if self.checker.is_running():
            if self._checking is not None and self._checking.frame is folder.frame:
                return
            self.checker.stop()
        self._checking = folder
        self.check_again_button.hide()
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(f"Reading every picture once, to find damaged files and copies "
                                    f"({len(folder.frame):,} pictures)…")
        self.progress_box.show()
        self.checker.start(lambda stop: check_images(folder, stop))

    def _on_checker_progressed(self, item: Progress) -> None:
        if item.fraction is not None:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(item.fraction * 1000))
        self.progress_label.setText(f"Reading every picture once, to find damaged files and copies: "
                                    f"{item.message}")

    def _on_checker_succeeded(self, check: ImageCheck) -> None:
        folder = self.project.images
        if folder is not None and self._checking is not None and folder.frame is self._checking.frame:
            self.project.set_image_check(check)

    def _on_checker_finished(self) -> None:
        self._checking = None
        folder = self.project.images
        unfinished = folder is not None and folder.check is None
        self.progress_box.setVisible(unfinished)
        if unfinished:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_label.setText("The pictures were not all read, so Studio cannot go on yet.")
            self.check_again_button.show()
        elif folder is not None:
            self.checked.emit()

    # -- showing ------------------------------------------------------------------------------------------------
    def _on_project_changed(self, what: str) -> None:
        if what == "table":
            if self.project.images is None:
                self.checker.stop()
                return
            self._show_folder()
        elif what == "images_checked":
            self._show_findings()

    def entered(self) -> None:
        self._check_soon()

    def _show_folder(self) -> None:
        folder = self.project.images
        if folder is None or folder is self._shown:
            return
        self._shown = folder
        self.banner.clear()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        # Names only: the counts change once the damaged files are left out, and the table beside shows them.
        self.class_combo.addItem(ALL_CLASSES, None)
        for name in folder.class_counts:
            self.class_combo.addItem(display_name(name), name)
        self.class_combo.setCurrentIndex(1 if self.class_combo.count() > 1 else 0)
        self.class_combo.blockSignals(False)
        self._show_grid()
        self._show_findings()
        self.folder_shown.emit()
        self._check_soon()

    def _show_findings(self) -> None:
        folder = self.project.images
        if folder is None:
            return
        self._shown = folder
        self._show_summary()
        self._show_counts(folder)
        check = folder.check
        self.sizes_label.setText(size_summary(check.sizes).capitalize() + "." if check is not None
                                 else "Known once every picture has been read.")
        # The reasons name each file by its full path; within the folder shown, the part below it says enough.
        found = [text.replace(os.path.join(display_name(folder.root), ""), "") for text in folder.warnings()]
        self.warnings_label.setText("<ul style='margin-left:-20px'>" + "".join(
            f"<li style='margin-bottom:4px'>{_html(text)}</li>" for text in found) + "</ul>" if found
            else ("Nothing unusual found." if check is not None else "More once every picture has been read."))
        problems = folder.problems() or (self.project.problems(Step.DATA) if check is not None else [])
        if problems:
            self.problems_banner.show_message(" ".join(problems), "error")
            self.next_label.setText("Put the pictures right, then open the folder again.")
        else:
            self.problems_banner.clear()
            self.next_label.setText(NEXT_STEP if check is not None else
                                    "You can look through the pictures while Studio reads them.")
        if check is not None and check.left_out:
            self._show_grid()  # the notes on the files left out

    def _show_summary(self) -> None:
        folder = self.project.images
        if folder is not None and not self.loader.is_running():
            self.folder_label.setText(f"<b>{_html(display_name(Path(folder.path).name))}</b>: "
                                      f"{_html(folder.describe_format())}")
            self.folder_label.setToolTip(display_name(folder.path))

    def _show_counts(self, folder: ImageFolder) -> None:
        counts = folder.class_counts
        total = max(1, sum(counts.values()))
        largest = max(counts.values(), default=1)
        self.counts.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            self.counts.setItem(row, 0, QTableWidgetItem(display_name(name)))
            number = QTableWidgetItem(f"{count:,}")
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.counts.setItem(row, 1, number)
            share = QTableWidgetItem()
            share.setData(Qt.ItemDataRole.UserRole, count / largest)
            share.setToolTip(f"{count / total:.0%} of the pictures")
            self.counts.setItem(row, 2, share)
        # As tall as its rows (a few more scroll), so the notes below get the room that is left.
        shown = min(max(len(counts), 2), COUNT_ROWS_SHOWN)
        self.counts.setFixedHeight(self.counts.horizontalHeader().height() + 4
                                   + shown * self.counts.verticalHeader().defaultSectionSize())

    def _on_counts_cell_double_clicked(self, row: int, _column: int) -> None:
        self.class_combo.setCurrentIndex(row + 1)

    def _on_class_combo_changed(self, _index: int) -> None:
        self._show_grid()

    def _show_grid(self) -> None:
        folder = self.project.images
        if folder is None:
            self.grid.set_rows([])
            return
        chosen = self.class_combo.currentData()
        notes = _left_out_notes(folder.check)
        frame = folder.frame
        if chosen is not None:
            frame = frame.loc[frame[CLASS_COLUMN] == chosen]
        # Paths listed from the folder start with it: cutting the start is a hundred times quicker than relpath,
        # which matters for 20,000 pictures on the GUI thread.
        prefix = os.path.join(folder.root, "")
        class_names = {name: display_name(name) for name in folder.class_counts}
        rows = []
        for position, path, name in zip(frame.index, frame[IMAGE_COLUMN], frame[CLASS_COLUMN], strict=True):
            relative = display_name(path[len(prefix):] if path.startswith(prefix) else folder.relative(path))
            file = relative.rpartition(os.sep)[2]
            note = notes.get(position, "")
            shown_class = class_names.get(name) or display_name(name)
            caption = f"{shown_class}: {file}" if chosen is None else file
            tooltip = f"{relative}\nClass: {shown_class}"
            rows.append(ThumbnailRow(path, f"Left out: {caption}" if note else caption,
                                     f"{tooltip}\n{note}" if note else tooltip))
        self.grid.set_rows(rows)

    def shutdown(self) -> None:
        self._check_timer.stop()
        self.loader.stop()
        self.checker.stop()
        self.grid.shutdown()


def _left_out_notes(check: ImageCheck | None) -> dict[int, str]:
    if check is None:
        return {}
    notes = {row: f"Left out: {why}." for row, why in check.unreadable}
    notes.update({row: "Left out: an exact copy of another picture of this class." for row in check.duplicate_rows})
    notes.update({row: "Left out: the same picture is also filed under another class." for row
                  in check.conflicting_rows})
    return notes


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _ShareBarDelegate(QStyledItemDelegate):
    """A class's count as a bar, so an unbalanced folder shows at a glance."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)
        share = index.data(Qt.ItemDataRole.UserRole)
        if not isinstance(share, float):
            return
        rect = option.rect.adjusted(4, 5, -4, -5)
        painter.save()
        painter.fillRect(QRect(rect.left(), rect.top(), max(2, int(rect.width() * share)), rect.height()),
                         QColor("#5b8fd6"))
        painter.restore()


register_pages(DataKind.IMAGES, {Step.DATA: ImageDataPanel})
