"""Two or more runs side by side: scores, every setting (differences highlighted) and the loss curves overlaid."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from studio.core.evaluate.metrics import METRIC_LABELS, format_metric, format_spread
from studio.core.evaluate.metrics import number_or_nan as _num
from studio.core.store.runs import RunRecord
from studio.ui.widgets.plots import COLORS, dashed, make_plot

DIFFERENT = QColor("#fff0b3")


class RunCompareWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.plot = make_plot("Loss curves (solid: validation rows, dashed: training rows)", "Step",
                              "Loss (lower is better)", 220)
        self.note = QLabel("Settings that differ between the runs are highlighted.")
        self.note.setStyleSheet("color: #555;")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plot)
        splitter.setSizes([380, 240])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)
        self.different_rows: list[str] = []

    def compare(self, runs: list[RunRecord]) -> None:
        rows: list[tuple[str, list[Any], bool]] = []  # label, values, is a setting
        metric_names = []
        for run in runs:
            for name in run.metrics.get("test", {}):
                if name not in metric_names:
                    metric_names.append(name)
        for part in ("test", "validation"):
            for name in metric_names:
                values = [run.metric(part, name) for run in runs]
                if any(v is not None for v in values):
                    rows.append((f"{METRIC_LABELS.get(name, name)} ({part})",
                                 [format_metric(name, v) for v in values], False))
        cv = [run.metrics.get("cross_validation") for run in runs]
        if any(cv):
            rows.append(("Cross-validation mean ± spread", [_cv_text(c) for c in cv], False))
        if any(run.is_search for run in runs):
            # A search's winner has no validation rows: its cross-validated score in the search stands in.
            rows.append(("Cross-validated in its search", [_search_text(run) for run in runs], False))
        rows.append(("Duration", [f"{run.duration_s:.1f} s" for run in runs], False))
        configs = [run.config() for run in runs]
        keys: list[str] = []
        for config in configs:
            keys += [k for k in config if k not in keys]
        settings = [(key, [_text(config.get(key, "–")) for config in configs], True) for key in keys]
        # Differing settings first: they are what explains different scores.
        different = [row for row in settings if len(set(row[1])) > 1]
        rows = different + rows + [row for row in settings if len(set(row[1])) <= 1]
        self.table.clear()
        self.table.setColumnCount(len(runs))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([f"Run {run.id}: {run.model_label}" for run in runs])
        self.table.setVerticalHeaderLabels([label for label, _, _ in rows])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        bold = QFont()
        bold.setBold(True)
        self.different_rows = []
        for row, (label, values, is_setting) in enumerate(rows):
            differs = is_setting and len(set(values)) > 1
            if differs:
                self.different_rows.append(label)
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if differs:
                    item.setBackground(QBrush(DIFFERENT))
                    item.setFont(bold)
                    item.setToolTip("This setting differs between the runs.")
                self.table.setItem(row, column, item)
        self._draw_losses(runs)

    def _draw_losses(self, runs: list[RunRecord]) -> None:
        plot = self.plot
        plot.clear()
        if plot.plotItem.legend is None:
            plot.addLegend(offset=(-10, 10))
        for index, run in enumerate(runs):
            color = COLORS[index % len(COLORS)]
            steps = [float(p.get("step", i)) for i, p in enumerate(run.history)]
            train = [_num(p.get("train_loss")) for p in run.history]
            val = [_num(p.get("val_loss")) for p in run.history]
            if not steps:
                plot.plot([], [], pen={"color": color, "width": 2},
                          name=f"Run {run.id}: no curve (fitted in one go)")
                continue
            plot.plot(steps, val, pen={"color": color, "width": 2}, name=f"Run {run.id}: {run.model_label}",
                      connect="finite")
            plot.plot(steps, train, pen=dashed(color), connect="finite")
            plot.setLabel("left", f"{run.history[0].get('loss_label', 'Loss')} (lower is better)")
            label = str(run.history[0].get("step_label", "step"))
            plot.setLabel("bottom", (label if label.endswith("s") else label + "s").capitalize())


def _cv_text(cv: dict[str, Any] | None) -> str:
    if not cv:
        return "–"
    metric = cv.get("metric", "")
    return f"{format_metric(metric, _num(cv.get('mean')))} ± {format_spread(metric, _num(cv.get('spread')))}"


def _search_text(run: RunRecord) -> str:
    if not run.is_search:
        return "–"
    metric = str(run.search.get("metric", ""))
    return (f"{format_metric(metric, _num(run.search.get('cv_score')))} "
            f"({METRIC_LABELS.get(metric, metric).lower()}, {run.search_tries} tries)")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return str(value)
