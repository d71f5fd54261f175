"""The Runs page's leaderboard: a filter line over a sortable table of runs whose every cell holds its display
text, a typed sort key and the run id."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from studio.core.data.target import Task
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric, headline_metric
from studio.core.store.runs import RunRecord

COLUMNS = ("Run", "When (UTC)", "Table", "Target", "Model", "Test score", "Validation score", "Time", "Device")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2


def select_rows_flag() -> object:
    return QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows


def run_row(record: RunRecord) -> list[QStandardItem]:
    """One leaderboard row; each cell sorts by a typed key (numbers as numbers), and carries the run id."""
    task = Task(record.task)
    metric = headline_metric(task)
    test, validation = record.metric("test", metric), record.metric("validation", metric)
    label = METRIC_LABELS[metric] if task is Task.REGRESSION else METRIC_LABELS[metric].lower()
    cells = [
        (str(record.id), record.id),
        (record.created.replace("T", " ")[:16], record.created),
        (record.dataset_name, record.dataset_name.lower()),
        (record.target, record.target.lower()),
        (record.model_label, record.model_label.lower()),
        (f"{format_metric(metric, test)}  ({label})", test if test is not None else float("-inf")),
        (format_metric(metric, validation), validation if validation is not None else float("-inf")),
        (f"{record.duration_s:.1f} s", record.duration_s),
        (record.device, record.device),
    ]
    items = []
    for text, key in cells:
        item = QStandardItem(text)
        item.setData(key, SORT_ROLE)
        item.setData(record.id, ID_ROLE)
        items.append(item)
    return items


class RunsTableWidget(QWidget):
    """The runs, newest first: sorted by clicking a column header, filtered by typing any part of a row."""

    selection_changed = Signal()
    run_activated = Signal()  # a row was double-clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by model, target, table…")
        self.filter_edit.setClearButtonEnabled(True)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _index: self.run_activated.emit())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)

    def set_records(self, records: list[RunRecord]) -> None:
        self.model.setRowCount(0)
        for record in records:
            self.model.appendRow(run_row(record))
        self.table.resizeColumnsToContents()

    def row_count(self) -> int:
        """The rows shown (after the filter)."""
        return self.proxy.rowCount()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [int(self.proxy.index(row, 0).data(ID_ROLE)) for row in rows]

    def select_ids(self, run_ids: list[int]) -> None:
        self.table.clearSelection()
        for row in range(self.proxy.rowCount()):
            if int(self.proxy.index(row, 0).data(ID_ROLE)) in run_ids:
                self.table.selectionModel().select(self.proxy.index(row, 0), select_rows_flag())
