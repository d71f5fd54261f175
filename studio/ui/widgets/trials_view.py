"""What a search shows while it runs, and again when its run is opened: the best so far in words, a table of its
tries and the best-so-far curve.

Tries are appended in O(1) (a table model's row insert, two lists for the curve) and the curve repaints on a timer,
so a fast search of tiny models cannot flood the window. Tries stopped early (cut short for scoring worse than
earlier ones, or out of time) scored only the folds they finished, which can read higher than the winner's full
score: they are folded away unless asked for.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from studio.core.models.registry import describe_params
from studio.core.search.history import SearchSummary, compared_with_default
from studio.core.search.policy import higher_is_better, metric_label
from studio.core.search.requests import Trial, TrialState
from studio.core.search.words import format_score

REPAINT_MS = 50
BEST_COLOR = "#2e7d32"
TRIAL_COLOR = "#9e9e9e"
_STATE_WORDS = {
    TrialState.DONE: "Finished",
    TrialState.PRUNED: "Stopped early",
    TrialState.FAILED: "Did not work",
    TrialState.STOPPED: "Out of time",
}
_STATE_HELP = {
    TrialState.DONE: "Scored in full: on every fold of the cross-validation, or on the whole holdout.",
    TrialState.PRUNED: "Stopped early: it scored worse than earlier tries at the same point, so finishing it would "
    "have wasted time. Its score counts only the folds it finished.",
    TrialState.FAILED: "These settings did not work on this data.",
    TrialState.STOPPED: "Stopped early: it ran out of time. Its score counts only the folds it finished.",
}
# Columns sized to their text (model, score, time, outcome); the settings take the rest and are cut at the right.
MODEL, SETTINGS, SCORE, TIME, OUTCOME = 1, 2, 3, 4, 5
_FITTED = (0, MODEL, SCORE, TIME, OUTCOME)
_CELL_PADDING = 18
SETTINGS_MIN_WIDTH = 60  # the settings give way to the other columns, but stay readable in part
Index = QModelIndex | QPersistentModelIndex


class TrialsTableModel(QAbstractTableModel):
    HEADERS = ("#", "Model", "Settings", "Score", "Time", "Outcome")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trials: list[Trial] = []
        self.metric = "accuracy"
        self.best_number: int | None = None
        self.finished = False  # the search is over: its best is no longer "so far"
        # How the tries are judged, once the search says: "5-fold cross-validation on the training rows", "a
        # holdout of 440 training rows".
        self.evaluation = ""

    def reset(self, metric: str) -> None:
        self.beginResetModel()
        self.trials = []
        self.metric = metric
        self.best_number = None
        self.finished = False
        self.evaluation = ""
        self.endResetModel()

    def finish(self) -> None:
        self.finished = True
        row = next((r for r, t in enumerate(self.trials) if t.number == self.best_number), None)
        if row is not None:
            self.dataChanged.emit(self.index(row, OUTCOME), self.index(row, OUTCOME))

    def append(self, trial: Trial) -> None:
        row = len(self.trials)
        self.beginInsertRows(QModelIndex(), row, row)
        self.trials.append(trial)
        self.endInsertRows()
        if trial.is_best:
            previous = next((r for r, t in enumerate(self.trials) if t.number == self.best_number), None)
            self.best_number = trial.number
            if previous is not None:  # the old best row loses its highlight
                self.dataChanged.emit(self.index(previous, 0), self.index(previous, len(self.HEADERS) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.trials)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == SCORE:
                return metric_label(self.metric)
            return self.HEADERS[section]
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == SCORE:
            if self.evaluation.startswith("a holdout"):
                return f"Each try's {metric_label(self.metric).lower()} on {self.evaluation}."
            return f"Each try's {metric_label(self.metric).lower()}, the mean over the cross-validation's folds."
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        trial = self.trials[index.row()]
        best = trial.number == self.best_number
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(trial, index.column(), best)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(trial, index.column())
        if role == Qt.ItemDataRole.BackgroundRole and best:
            return QBrush(QColor("#e8f5ea"))
        if role == Qt.ItemDataRole.FontRole and best:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and trial.state is not TrialState.DONE:
            return QBrush(QColor("#777"))
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, SCORE, TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def text(self, trial: Trial, column: int, best: bool) -> str:
        if column == 0:
            return str(trial.number)
        if column == MODEL:
            return trial.model_label
        if column == SETTINGS:
            return _settings(trial)
        if column == SCORE:
            if trial.score is None:
                return "–"
            # A try cut short or stopped scored only the folds it finished.
            return format_score(self.metric, trial.score) + ("" if trial.state is TrialState.DONE else " (partial)")
        if column == TIME:
            return f"{trial.duration_s:.1f} s"
        if best:
            return "Best try" if self.finished else "Best so far"
        return _STATE_WORDS[trial.state]

    def _tooltip(self, trial: Trial, column: int) -> str | None:
        if column == MODEL:
            return trial.model_label + (" at its default settings" if trial.at_defaults else "")
        if column == SETTINGS:
            return _settings(trial)
        if column in (SCORE, OUTCOME):
            help_text = _STATE_HELP[trial.state]
            if trial.stopped_early and trial.folds_done:
                help_text += f" ({trial.folds_done} fold{'s' if trial.folds_done != 1 else ''} scored.)"
            if trial.state is TrialState.DONE and trial.rows_rung:
                help_text += (f"\nIt was first fitted on {trial.rows_rung:,} rows and went on to all of them "
                              "because it kept up with earlier tries there.")
            return f"{help_text}\n{trial.note}" if trial.note else help_text
        return None


def _settings(trial: Trial) -> str:
    try:
        return describe_params(trial.params, trial.model_key)
    except Exception:  # a try kept in the run history, of a model or setting this Studio no longer has
        return ", ".join(f"{name}: {value}" for name, value in trial.params)


class _FinishedTries(QSortFilterProxyModel):
    """The tries shown: all of them, or only those not stopped early."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_stopped = False

    def set_show_stopped(self, show: bool) -> None:
        if hasattr(self, "endFilterChange"):  # Qt 6.10 and later; older ones only know the invalidate call
            self.beginFilterChange()
            self.show_stopped = show
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.show_stopped = show
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, TrialsTableModel)
        return self.show_stopped or not model.trials[source_row].stopped_early


class TrialsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.best_label = QLabel("The search has not started yet.")
        self.best_label.setObjectName("bestSoFar")
        self.best_label.setWordWrap(True)
        self.best_label.setStyleSheet("font-size: 11pt; padding: 6px; background: #f3f6fa; border-radius: 4px;")
        self.table_model = TrialsTableModel(self)
        self.shown = _FinishedTries(self)
        self.shown.setSourceModel(self.table_model)
        self.table = QTableView()
        self.table.setObjectName("trialsTable")
        self.table.setModel(self.shown)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SETTINGS, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        self.stopped_box = QCheckBox()
        self.stopped_box.setObjectName("showStoppedTries")
        self.stopped_box.setToolTip("Tries stopped early scored only the folds they finished, so their scores can "
                                    "look better than they are. The winner is always chosen from finished tries.")
        self.stopped_box.setVisible(False)
        self.stopped_box.toggled.connect(self._on_stopped_box_toggled)
        pg.setConfigOptions(antialias=True, background="w", foreground="#333")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(180)
        self.plot.setMinimumWidth(200)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "Seconds since the start")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self._legend = self.plot.addLegend(offset=(-10, -10))
        self._best_curve = self.plot.plot([], [], pen=pg.mkPen(BEST_COLOR, width=2), stepMode=None,
                                          name="Best so far")
        self._trial_dots = self.plot.plot([], [], pen=None, symbol="o", symbolSize=6,
                                          symbolBrush=TRIAL_COLOR, symbolPen=None, name="Each try")
        self.plot_note = QLabel()
        self.plot_note.setWordWrap(True)
        self.plot_note.setStyleSheet("color: #555;")
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.table, 1)
        left.addWidget(self.stopped_box)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.plot, 1)
        right.addWidget(self.plot_note)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(left, 5)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.best_label)
        layout.addLayout(body, 1)
        self._scale = 1.0  # scores are drawn as percentages, errors in their own units
        self._stopped = 0
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
        self._stopped = 0
        self._update_stopped_box()
        self._fit_headers()
        direction = "higher" if higher_is_better(metric) else "lower"
        # Scores read as percentages in the table, so the axis says them the same way; errors keep their units.
        self._scale = 100.0 if higher_is_better(metric) else 1.0
        # Short, so it fits beside a short plot; which way is better is in the note below the plot.
        self.plot.setLabel("left", f"{metric_label(metric)} (%)" if self._scale != 1.0 else metric_label(metric))
        # The good tries gather at the better end of the axis: the legend goes to the other end, off the dots.
        corner = (1, 1) if higher_is_better(metric) else (1, 0)
        self._legend.anchor(corner, corner, offset=(-10, -10 if corner[1] else 10))
        self.plot_note.setText(f"Each grey dot is one finished try's cross-validated {metric_label(metric).lower()}; "
                               f"the green line is the best so far ({direction} is better).")
        self.best_label.setText("Searching… the first results appear as soon as a try finishes.")
        for values in (self._times, self._scores, self._best_times, self._best_scores):
            values.clear()
        self._dirty = True

    def add_trial(self, trial: Trial) -> None:
        self.table_model.append(trial)
        if trial.stopped_early:
            self._stopped += 1
            self._update_stopped_box()
        if self.shown.show_stopped or not trial.stopped_early:
            self._fit_columns(trial)
        self.table.scrollToBottom()
        if trial.score is not None and trial.state is TrialState.DONE:
            self._times.append(trial.finished_at_s)
            self._scores.append(trial.score * self._scale)
        if trial.best_score is not None and math.isfinite(trial.best_score):
            if self._best_scores:
                # A step: the best so far holds until a try beats it.
                self._best_times.append(trial.finished_at_s)
                self._best_scores.append(self._best_scores[-1])
            self._best_times.append(trial.finished_at_s)
            self._best_scores.append(trial.best_score * self._scale)
            self._show_best()
        self._dirty = True

    def set_evaluation(self, words: str) -> None:
        """How the search judges its tries ("a holdout of 440 training rows"), said above the table."""
        if words == self.table_model.evaluation:
            return
        self.table_model.evaluation = words
        # Short, under a narrow plot: the rows held out are counted above the table.
        if words.startswith("a holdout"):
            dots = f"{metric_label(self.table_model.metric).lower()} on the holdout"
        else:
            dots = f"cross-validated {metric_label(self.table_model.metric).lower()}"
        self.plot_note.setText(f"Each grey dot is one finished try's {dots}; the green line is the best so far "
                               f"({'higher' if higher_is_better(self.table_model.metric) else 'lower'} is better).")
        if self.table_model.best_number is None:
            self.best_label.setText(f"Searching… each try is judged by {words}; the first results appear as soon "
                                    "as a try finishes.")
        else:
            self._show_best()

    def show_search(self, summary: SearchSummary, text: str) -> None:
        """A finished search kept in the run history: its tries, its curve and ``text`` (rich text) above."""
        self.reset(summary.metric)
        if summary.evaluation:
            self.set_evaluation(summary.evaluation)
        for trial in summary.trials:
            self.add_trial(trial)
        self.show_final(text)

    def trial_count(self) -> int:
        """Every try, shown or folded away."""
        return self.table_model.rowCount()

    def shown_count(self) -> int:
        return self.shown.rowCount()

    def shown_text(self, row: int, column: int) -> str:
        """The text of a row as the table shows it (after folding away the tries stopped early)."""
        return str(self.shown.index(row, column).data() or "")

    def set_show_stopped(self, show: bool) -> None:
        self.stopped_box.setChecked(show)

    def _update_stopped_box(self) -> None:
        count = self._stopped
        self.stopped_box.setText(f"Show the {count} tr{'ies' if count != 1 else 'y'} stopped early (they scored "
                                 "only some folds)")
        self.stopped_box.setVisible(count > 0)

    def _on_stopped_box_toggled(self, show: bool) -> None:
        self.shown.set_show_stopped(show)
        self._fit_headers()
        for trial in self.table_model.trials:
            if show or not trial.stopped_early:
                self._fit_columns(trial)

    def _fit_headers(self) -> None:
        header = self.table.horizontalHeader()
        header.ensurePolished()  # measured in the style sheet's font, also while the view is still hidden
        metrics = QFontMetrics(header.font())
        for column in _FITTED[1:]:
            title = str(self.table_model.headerData(column, Qt.Orientation.Horizontal))
            # A long measure's name ("Balanced accuracy") is cut in the header, not a reason for a wide column:
            # the header's tooltip names it.
            header.resizeSection(column, min(metrics.horizontalAdvance(title) + _CELL_PADDING + 8, 90))
        # Room for three digits from the start; a longer search widens it as its numbers grow.
        header.resizeSection(0, metrics.horizontalAdvance("000") + _CELL_PADDING)
        self._fit_table_width()

    def _fit_table_width(self) -> None:
        """The table asks for the room its fitted columns and some settings need; the plot gives way first."""
        header = self.table.horizontalHeader()
        fitted = sum(header.sectionSize(column) for column in _FITTED)
        # A vertical scroll bar, once there are many tries, takes its room from the settings.
        self.table.setMinimumWidth(fitted + SETTINGS_MIN_WIDTH + 2 * self.table.frameWidth())

    def _fit_columns(self, trial: Trial) -> None:
        """Widen the model, score, time and outcome columns to this try's text, so names and outcomes show in
        full; the settings column gives way and ends in "…"."""
        self.table.ensurePolished()  # the style sheet's font, also while the view is still hidden
        font = QFont(self.table.font())
        font.setBold(trial.is_best)  # the best row is bold
        metrics = QFontMetrics(font)
        header = self.table.horizontalHeader()
        grew = False
        for column in _FITTED:
            text = "Best so far" if column == OUTCOME and trial.is_best else \
                self.table_model.text(trial, column, False)
            needed = metrics.horizontalAdvance(text) + _CELL_PADDING
            if needed > header.sectionSize(column):
                header.resizeSection(column, needed)
                grew = True
        if grew:
            self._fit_table_width()

    def _show_best(self) -> None:
        model = self.table_model
        best = next((t for t in model.trials if t.number == model.best_number), None)
        if best is None:
            return
        tried = len({t.model_key for t in model.trials})
        count = len(model.trials)
        self.best_label.setText(
            f"<b>Best so far:</b> {best.model_label} (try {best.number}), "
            f"{metric_label(model.metric).lower()} {format_score(model.metric, best.score)} "
            f"{'on ' + model.evaluation if model.evaluation.startswith('a holdout') else 'in cross-validation'}. "
            f"<span style='color:#555'>{count} tr{'ies' if count != 1 else 'y'}, {tried} kind"
            f"{'s' if tried != 1 else ''} of model tried.</span>")

    def show_final(self, text: str) -> None:
        self.best_label.setText(text)
        model = self.table_model
        model.finish()
        best = next((row for row, t in enumerate(model.trials) if t.number == model.best_number), None)
        if best is not None:  # the winner's row in sight, not the last try's
            self.table.scrollTo(self.shown.mapFromSource(model.index(best, 0)))

    def _on_timer_timeout(self) -> None:
        if self._dirty:
            self._dirty = False
            self._trial_dots.setData(np.asarray(self._times), np.asarray(self._scores))
            self._best_curve.setData(np.asarray(self._best_times), np.asarray(self._best_scores))
            self._zoom_to_good_trials()

    def _zoom_to_good_trials(self) -> None:
        """One very poor try would squash the curve flat; show the best three quarters of the tries."""
        if len(self._scores) < 2 or not self._best_scores:
            return
        scores = np.asarray(self._scores)
        if higher_is_better(self.table_model.metric):
            low, high = min(float(np.percentile(scores, 25)), self._best_scores[0]), float(scores.max())
        else:
            low, high = float(scores.min()), max(float(np.percentile(scores, 75)), self._best_scores[0])
        pad = max(high - low, abs(high) * 1e-3, 1e-9) * 0.08
        self.plot.setYRange(low - pad, high + pad, padding=0)


def stored_search_text(summary: SearchSummary, model_key: str, params: dict[str, Any]) -> str:
    """A search kept in the run history, in words (rich text): what it looked for, its tries and its winner."""
    label = metric_label(summary.metric).lower()
    tries = f"{summary.tries} tr{'ies' if summary.tries != 1 else 'y'}"
    stopped = f", {summary.stopped_early} of them stopped early" if summary.stopped_early else ""
    ended = " You stopped it early." if summary.finished_early else ""
    score = format_score(summary.metric, summary.cv_score)
    against = compared_with_default(summary)
    return (f"<b>A {summary.what}:</b> {tries}{stopped}, in {summary.duration_s:.0f} s.{ended} It kept "
            f"{_model_words(model_key, params)}: {label} {score} {summary.judged}, then trained on all training "
            f"rows (its test scores are on the Results tab).{' ' + against if against else ''}")


def _model_words(model_key: str, params: dict[str, Any]) -> str:
    from studio.core.common.errors import StudioError
    from studio.core.models.ensemble_spec import describe_members
    from studio.core.models.registry import get_model

    try:
        spec = get_model(model_key)
        return describe_members(spec.members(params)) if spec.members is not None else spec.label
    except StudioError:
        return model_key  # a model (or members) this Studio cannot read
