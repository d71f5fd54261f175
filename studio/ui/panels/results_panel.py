"""Results step: how good the model is, in a sentence and in a table of metrics."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from studio.core.evaluation import HIGHER_IS_BETTER, METRIC_LABELS, format_metric, plain_summary
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header, section_label

HEADERS = ("Measure", "Validation rows", "Test rows", "Always guessing (test)")
METRIC_HELP = {
    "accuracy": "Share of rows predicted correctly.",
    "balanced_accuracy": "Accuracy averaged over the classes, so rare classes count as much as common ones.",
    "precision_macro": "When the model names a class, how often it is right (averaged over classes).",
    "recall_macro": "Of the rows of a class, how many the model finds (averaged over classes).",
    "f1_macro": "Balance of precision and recall (averaged over classes).",
    "roc_auc": "How well the model ranks positive rows above negative ones (0.5 is chance, 1 is perfect).",
    "mae": "Average size of the error, in the target's own units.",
    "rmse": "Like the average error, but large misses count more.",
    "r2": "Share of the target's variation the model explains (1 is perfect, 0 is no better than the average).",
}


class ResultsPanel(Panel):
    step = Step.RESULTS

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.summary = QLabel("Train a model to see how good it is.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("resultSummary")
        self.summary.setStyleSheet("font-size: 13pt; padding: 8px; background: #f3f6fa; border-radius: 4px;")
        self.stale_banner = MessageBanner()
        self.metrics_table = QTableWidget(0, len(HEADERS))
        self.metrics_table.setHorizontalHeaderLabels(HEADERS)
        self.metrics_table.verticalHeader().hide()
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.metrics_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Results", "How well the model predicts rows it did not learn from, "
                                     "compared with simply guessing."))
        layout.addWidget(self.summary)
        layout.addWidget(self.stale_banner)
        layout.addWidget(section_label("Measures"))
        layout.addWidget(self.metrics_table)
        layout.addWidget(self.details)
        layout.addStretch(1)

    def metric_value(self, name: str, column: int = 2) -> str:
        label = METRIC_LABELS[name]
        for row in range(self.metrics_table.rowCount()):
            if self.metrics_table.item(row, 0).text() == label:
                return self.metrics_table.item(row, column).text()
        raise KeyError(name)

    def entered(self) -> None:
        self._show_stale()

    def _on_project_changed(self, what: str) -> None:
        if what == "result":
            self._show_result()
        elif what in ("model", "prep", "split", "target"):
            self._show_stale()

    def _show_stale(self) -> None:
        if self.project.result is not None and self.project.result_is_stale():
            self.stale_banner.show_message("These results are for the settings used at the last training; the "
                                           "settings have changed since. Train again to update them.", "warning")
        else:
            self.stale_banner.clear()

    def _show_result(self) -> None:
        result = self.project.result
        self._show_stale()
        if result is None:
            self.summary.setText("Train a model to see how good it is.")
            self.metrics_table.setRowCount(0)
            self.details.clear()
            return
        self.summary.setText(plain_summary(result.task, result.test, result.target))
        names = [name for name, _ in result.test.metrics]
        self.metrics_table.setRowCount(len(names))
        for row, name in enumerate(names):
            label = QTableWidgetItem(METRIC_LABELS.get(name, name))
            better = "higher" if HIGHER_IS_BETTER.get(name, True) else "lower"
            label.setToolTip(f"{METRIC_HELP.get(name, '')} ({better} is better)")
            self.metrics_table.setItem(row, 0, label)
            values = (result.validation.get(name) if result.validation else None, result.test.get(name),
                      result.test.baseline_of(name))
            for column, value in enumerate(values, start=1):
                item = QTableWidgetItem(format_metric(name, value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.metrics_table.setItem(row, column, item)
        self.metrics_table.resizeRowsToContents()
        height = self.metrics_table.horizontalHeader().height() + 4 + sum(
            self.metrics_table.rowHeight(r) for r in range(self.metrics_table.rowCount()))
        self.metrics_table.setFixedHeight(height)
        train, validation, test = result.split_sizes
        notes = [f"{result.model_label}, trained in {result.duration_s:.1f} s on {train:,} rows; "
                 f"{validation:,} validation and {test:,} test rows."]
        if result.dropped_rows:
            notes.append(f"{result.dropped_rows:,} rows without a value for {result.target} were left out.")
        if result.split_note:
            notes.append(result.split_note)
        self.details.setText(" ".join(notes))
