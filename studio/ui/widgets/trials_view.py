"""What a search shows while it runs: the best so far in words, a table of trials and the best-so-far curve.

Trials are appended in O(1) (a table model's row insert, two lists for the curve) and the curve repaints on a timer,
so a fast search of tiny models cannot flood the window.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from studio.core.models.registry import describe_params
from studio.core.search.policy import higher_is_better, metric_label
from studio.core.search.requests import Trial, TrialState
from studio.core.search.words import format_score

REPAINT_MS = 50
BEST_COLOR = "#2e7d32"
TRIAL_COLOR = "#9e9e9e"
_STATE_WORDS = {  # short, so the column stays narrow; the tooltip tells the reason
    TrialState.DONE: "Finished",
    TrialState.PRUNED: "Cut short (weak)",
    TrialState.FAILED: "Did not work",
    TrialState.STOPPED: "Out of time",
}
Index = QModelIndex | QPersistentModelIndex


class TrialsTableModel(QAbstractTableModel):
    HEADERS = ("#", "Model", "Settings", "Score", "Time", "Outcome")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trials: list[Trial] = []
        self.metric = "accuracy"
        self.best_number: int | None = None

    def reset(self, metric: str) -> None:
        self.beginResetModel()
        self.trials = []
        self.metric = metric
        self.best_number = None
        self.endResetModel()

    def append(self, trial: Trial) -> None:
        row = len(self.trials)
        self.beginInsertRows(QModelIndex(), row, row)
        self.trials.append(trial)
        self.endInsertRows()
        if trial.is_best:
            previous = self.best_number
            self.best_number = trial.number
            if previous is not None:  # the old best row loses its highlight
                self.dataChanged.emit(self.index(previous - 1, 0), self.index(previous - 1, len(self.HEADERS) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.trials)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == 3:
                return metric_label(self.metric)
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        trial = self.trials[index.row()]
        best = trial.number == self.best_number
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(trial, index.column(), best)
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == 2:
                return describe_params(trial.params, trial.model_key)
            if index.column() == 5 and trial.note:
                return trial.note
        if role == Qt.ItemDataRole.BackgroundRole and best:
            return QBrush(QColor("#e8f5ea"))
        if role == Qt.ItemDataRole.FontRole and best:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and trial.state is not TrialState.DONE:
            return QBrush(QColor("#777"))
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, trial: Trial, column: int, best: bool) -> str:
        if column == 0:
            return str(trial.number)
        if column == 1:
            return trial.model_label
        if column == 2:
            return describe_params(trial.params, trial.model_key)
        if column == 3:
            if trial.score is None:
                return "–"
            # A trial cut short or stopped scored only the folds it finished.
            return format_score(self.metric, trial.score) + ("" if trial.state is TrialState.DONE else " (partial)")
        if column == 4:
            return f"{trial.duration_s:.1f} s"
        return "Best so far" if best else _STATE_WORDS[trial.state]


class TrialsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.best_label = QLabel("The search has not started yet.")
        self.best_label.setObjectName("bestSoFar")
        self.best_label.setWordWrap(True)
        self.best_label.setStyleSheet("font-size: 11pt; padding: 6px; background: #f3f6fa; border-radius: 4px;")
        self.table_model = TrialsTableModel(self)
        self.table = QTableView()
        self.table.setObjectName("trialsTable")
        self.table.setModel(self.table_model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.Fixed,
                                       QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        # Room for four digits from the start: sized to the first rows, the column would cut "100" to "…".
        header.resizeSection(0, self.table.fontMetrics().horizontalAdvance("0000") + 16)
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(180)
        self.plot.setMinimumWidth(300)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "Seconds since the start")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self._legend = self.plot.addLegend(offset=(-10, -10))
        self._best_curve = self.plot.plot([], [], pen=pg.mkPen(BEST_COLOR, width=2), stepMode=None,
                                          name="Best so far")
        self._trial_dots = self.plot.plot([], [], pen=None, symbol="o", symbolSize=6,
                                          symbolBrush=TRIAL_COLOR, symbolPen=None, name="Each trial")
        self.plot_note = QLabel()
        self.plot_note.setWordWrap(True)
        self.plot_note.setStyleSheet("color: #555;")
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.plot, 1)
        right.addWidget(self.plot_note)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.table, 5)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.best_label)
        layout.addLayout(body, 1)
        self._times: list[float] = []
        self._scores: list[float] = []
        self._best_times: list[float] = []
        self._best_scores: list[float] = []
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    def reset(self, metric: str) -> None:
        self.table_model.reset(metric)
        direction = "higher" if higher_is_better(metric) else "lower"
        self.plot.setLabel("left", f"{metric_label(metric)} ({direction} is better)")
        # The good trials gather at the better end of the axis: the legend goes to the other end, off the dots.
        corner = (1, 1) if higher_is_better(metric) else (1, 0)
        self._legend.anchor(corner, corner, offset=(-10, -10 if corner[1] else 10))
        self.plot_note.setText(f"Each grey dot is one trial's cross-validated {metric_label(metric).lower()}; the "
                               f"green line is the best so far ({direction} is better).")
        self.best_label.setText("Searching… the first results appear as soon as a trial finishes.")
        for values in (self._times, self._scores, self._best_times, self._best_scores):
            values.clear()
        self._dirty = True

    def add_trial(self, trial: Trial) -> None:
        self.table_model.append(trial)
        self.table.scrollToBottom()
        if trial.score is not None and trial.state is TrialState.DONE:
            self._times.append(trial.finished_at_s)
            self._scores.append(trial.score)
        if trial.best_score is not None and math.isfinite(trial.best_score):
            if self._best_scores:
                # A step: the best so far holds until a trial beats it.
                self._best_times.append(trial.finished_at_s)
                self._best_scores.append(self._best_scores[-1])
            self._best_times.append(trial.finished_at_s)
            self._best_scores.append(trial.best_score)
            self._show_best()
        self._dirty = True

    def trial_count(self) -> int:
        return self.table_model.rowCount()

    def _show_best(self) -> None:
        model = self.table_model
        best = next((t for t in model.trials if t.number == model.best_number), None)
        if best is None:
            return
        tried = len({t.model_key for t in model.trials})
        self.best_label.setText(
            f"<b>Best so far:</b> {best.model_label} (trial {best.number}), "
            f"{metric_label(model.metric).lower()} {format_score(model.metric, best.score)} in cross-validation. "
            f"<span style='color:#555'>{len(model.trials)} trial(s), {tried} kind(s) of model tried.</span>")

    def show_final(self, text: str) -> None:
        self.best_label.setText(text)

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._dirty = False
            self._trial_dots.setData(np.asarray(self._times), np.asarray(self._scores))
            self._best_curve.setData(np.asarray(self._best_times), np.asarray(self._best_scores))
            self._zoom_to_good_trials()

    def _zoom_to_good_trials(self) -> None:
        """One very poor trial would squash the curve flat; show the best three quarters of the trials."""
        if len(self._scores) < 2 or not self._best_scores:
            return
        scores = np.asarray(self._scores)
        if higher_is_better(self.table_model.metric):
            low, high = min(float(np.percentile(scores, 25)), self._best_scores[0]), float(scores.max())
        else:
            low, high = float(scores.min()), max(float(np.percentile(scores, 75)), self._best_scores[0])
        pad = max(high - low, abs(high) * 1e-3, 1e-9) * 0.08
        self.plot.setYRange(low - pad, high + pad, padding=0)
