"""The Runs page's leaderboard rows: display text, a typed sort key and the run id in every cell."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QStandardItem

from studio.core.evaluation import METRIC_LABELS, format_metric, headline_metric
from studio.core.runs import RunRecord
from studio.core.target import Task

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
