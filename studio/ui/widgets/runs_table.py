"""The Runs page's leaderboard: a filter line over a sortable table of runs whose every cell holds its display
text, a typed sort key and the run id."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from studio.core.common.errors import first_line
from studio.core.common.words import local_time
from studio.core.data.target import Task
from studio.core.evaluate.metrics import METRIC_LABELS, format_metric, headline_metric
from studio.core.store.runs import RunRecord

# The device is said inside Time ("3.2 s on the graphics card"), and only when it was not the processor: a
# column of "cpu" took the width the names need on a 1024-pixel screen.
COLUMNS = ("Run", "When", "Table", "Target", "Model", "Test score", "Validation score", "Time")
# When the runs are wider than the page (a 1024-pixel screen), these give up width first, most first: their
# text is cut with "…" and shown whole in its tooltip.
SHRINK_FIRST = (COLUMNS.index("Model"), COLUMNS.index("Table"), COLUMNS.index("Validation score"),
                COLUMNS.index("Target"))
NARROWEST = 70
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
    model, model_tip = record.model_label, ""
    validation_text = format_metric(metric, validation)
    cross_validated = _cross_validated(record)
    if record.is_search:
        tries = record.search_tries
        model += f"  ·  Search: {tries} {'try' if tries == 1 else 'tries'}"
        model_tip = (f"Chosen by a search of {tries} {'try' if tries == 1 else 'tries'}, then trained on all training "
                     "rows. Open it to see every try.")
    elif "test" not in record.metrics and cross_validated is not None:
        model += "  ·  one try of a search"  # a history from before a search was kept as one run
        model_tip = "An older search kept each of its tries as a run; since then a search is kept as one run."
    validation_key = validation
    if cross_validated is not None and validation is None:
        # Trained on all training rows, a search's winner has no validation rows: its cross-validated score
        # stands in, said as such (with its measure when the search judged by another one).
        cv_metric, cv_score = cross_validated
        same = cv_metric == metric
        validation_key = cv_score if same else None
        validation_text = (f"{format_metric(cv_metric, cv_score)} ("
                           f"{'' if same else METRIC_LABELS.get(cv_metric, cv_metric).lower() + ', '}cross-validated)")
    cells = [
        (str(record.id), record.id),
        (local_time(record.created), record.created),
        (record.dataset_name, record.dataset_name.lower()),
        (record.target, record.target.lower()),
        (model, record.model_label.lower()),
        (f"{format_metric(metric, test)}  ({label})", test if test is not None else float("-inf")),
        (validation_text, validation_key if validation_key is not None else float("-inf")),
        (f"{record.duration_s:.1f} s{_on_device(record.device)}", record.duration_s),
    ]
    items = []
    for text, key in cells:
        item = QStandardItem(text)
        item.setToolTip(text)  # a cell cut short to fit the page is read whole here
        item.setData(key, SORT_ROLE)
        item.setData(record.id, ID_ROLE)
        items.append(item)
    if model_tip:
        items[4].setToolTip(f"{model}\n{model_tip}")
    return items


def _on_device(device: str) -> str:
    if not device or device == "cpu":
        return ""
    if device.startswith("cuda"):
        return " on the NVIDIA graphics card"
    if device == "mps":
        return " on the Apple graphics chip"
    return f" on {device}"


def _cross_validated(record: RunRecord) -> tuple[str, float | None] | None:
    """The metric and the cross-validated score of a search's run (or of one try of an older search)."""
    if record.is_search:
        return str(record.search.get("metric", "")), _float(record.search.get("cv_score"))
    cv = record.metrics.get("cross_validation")
    if "test" not in record.metrics and isinstance(cv, dict):
        return str(cv.get("metric", "")), _float(cv.get("mean"))
    return None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.viewport().installEventFilter(self)
        self.table.doubleClicked.connect(lambda _index: self.run_activated.emit())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)

    def set_records(self, records: list[RunRecord]) -> list[str]:
        """Show ``records``; returns the runs left out because they could not be shown, each named with why
        (one odd run, written by hand or by another program, must not hide the others)."""
        self.model.setRowCount(0)
        left_out = []
        for record in records:
            try:
                row = run_row(record)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                left_out.append(f"run {record.id}: {first_line(exc)}")
                continue
            self.model.appendRow(row)
        self.fit_columns()
        return left_out

    def fit_columns(self) -> None:
        """Columns as wide as their text and together as wide as the page: the long text columns give up width
        first, so every column stays in sight without scrolling sideways; room to spare goes to the model."""
        header = self.table.horizontalHeader()
        self.table.resizeColumnsToContents()
        excess = header.length() - self.table.viewport().width()
        if excess < 0:  # room to spare goes to the model's name
            header.resizeSection(SHRINK_FIRST[0], header.sectionSize(SHRINK_FIRST[0]) - excess)
        # The model's and the table's names share the cut by how much each can give; then the others in turn.
        for group in (SHRINK_FIRST[:2], SHRINK_FIRST[2:3], SHRINK_FIRST[3:]):
            if excess <= 0:
                break
            room = {column: max(0, header.sectionSize(column) - NARROWEST) for column in group}
            total, cut = sum(room.values()), excess
            for column in group:
                given = min(room[column], excess, -(-cut * room[column] // total)) if total else 0
                header.resizeSection(column, header.sectionSize(column) - given)
                excess -= given

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The viewport, not this widget: a scroll bar coming or going changes its width alone.
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

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
