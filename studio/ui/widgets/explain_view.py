"""Why the model predicts what it does: permutation importance and partial dependence (computed in a worker, with
progress and cancel) and the model's own importances."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.data.target import Task
from studio.core.evaluate.details import to_plain
from studio.core.evaluate.diagnosis import diagnosis_metric
from studio.core.evaluate.explain import (
    PartialDependence,
    PermutationImportance,
    partial_dependence,
    permutation_importance,
)
from studio.core.models.registry import get_model
from studio.ui.widgets.common import MessageBanner
from studio.ui.widgets.plots import PlotOrNote, add_line, horizontal_bars, make_plot
from studio.workers.runner import JobRunner

DEPENDENCE_NOTE = ("Sets the chosen column to one value after another in every validation row and shows the model's "
                   "average answer: how the prediction moves with it.")
IMPORTANCE_WAITING = ("Press \"Compute column importance\" to see which columns the model relies on most: one bar "
                      "per column, longer the more the score drops when that column is shuffled.")
IMPORTANCE_WORKING = ("Working out which columns the model relies on most: one bar per column will appear here, "
                      "longer the more the score drops when that column is shuffled.")
IMPORTANCE_NOT_STORED = "Column importance was not computed for this run, so there are no bars to show."
DEPENDENCE_WAITING = ("Pick a column above and press \"Show effect of this column\": a line will show how the "
                      "model's average answer moves as that column's value changes.")
DEPENDENCE_STORED = ("A stored run keeps no rows to try values on; train its settings again (Runs page) to explore "
                     "how a column moves the prediction.")
# Up to this many held-out cells (rows times columns), and training rows (a neighbours model compares with each),
# column importance is computed as soon as the tab is shown: a few seconds at most, and no button to find.
AUTO_IMPORTANCE_CELLS = 50_000
AUTO_IMPORTANCE_TRAINING_ROWS = 20_000
OWN_NOTE = ("How much the model itself used each column while learning (its built-in importances, one-hot pieces "
            "added back together per column).")


class ExplainWidget(QWidget):
    explanation_ready = Signal(str, object)  # kind, plain data to keep with the run

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(lambda: self.banner.show_message("Stopped.", "info"))
        self.runner.finished.connect(self._on_runner_finished)
        self.importance_button = QPushButton("Compute column importance")
        self.importance_button.clicked.connect(self.compute_importance)
        self.column_combo = QComboBox()
        self.column_combo.setMinimumWidth(180)
        self.dependence_button = QPushButton("Show effect of this column")
        self.dependence_button.clicked.connect(self.compute_dependence)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.banner = MessageBanner()
        # Drops in a score and shares of the importance are written as percentages, like every score.
        self.importance_plot = make_plot("Column importance (shuffling test)", "Drop in score when the column is "
                                         "shuffled (percentage points)", "", 220, percent_x=True)
        self.importance_note = QLabel("Shuffles one column at a time on the validation rows and measures how much "
                                      "worse the model gets. Bigger drop: the model relies more on that column.")
        self.importance_note.setWordWrap(True)
        self.importance_note.setStyleSheet("color: #555;")
        self.own_note = QLabel(OWN_NOTE)
        self.dependence_note = QLabel(DEPENDENCE_NOTE)
        for note in (self.own_note, self.dependence_note):
            note.setWordWrap(True)
            note.setStyleSheet("color: #555;")
        self.importance_plot.setTitle("")
        self.importance_slot = PlotOrNote(self.importance_plot, IMPORTANCE_WAITING)
        # The other two views' plots are made when their tab is first opened (or asked for): three plots made at
        # once held the window up for most of 0.1 s when the tab was opened.
        self._own_plot: pg.PlotWidget | None = None
        self._own: tuple[tuple[str, float], ...] = ()
        self._dependence_slot: PlotOrNote | None = None
        self._dependence_waiting = DEPENDENCE_WAITING
        importance_row = QHBoxLayout()
        importance_row.addWidget(self.importance_button)
        importance_row.addStretch(1)
        dependence_row = QHBoxLayout()
        dependence_row.addWidget(QLabel("Column:"))
        dependence_row.addWidget(self.column_combo)
        dependence_row.addWidget(self.dependence_button)
        dependence_row.addStretch(1)
        self.views = QTabWidget()
        self._view_layouts: list[QVBoxLayout] = []
        for title, parts in (("Shuffling test", (self.importance_note, importance_row, self.importance_slot)),
                             ("The model's own importances", (self.own_note,)),
                             ("Effect of one column", (self.dependence_note, dependence_row))):
            page = QWidget()
            page_layout = QVBoxLayout(page)
            for part in parts:
                if isinstance(part, QHBoxLayout):
                    page_layout.addLayout(part)
                else:
                    page_layout.addWidget(part, 1 if part is self.importance_slot else 0)
            self._view_layouts.append(page_layout)
            self.views.addTab(page, title)
        self.views.currentChanged.connect(self._on_views_current_changed)
        work_row = QHBoxLayout()
        work_row.addWidget(self.progress, 1)
        work_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.views, 1)
        layout.addLayout(work_row)
        layout.addWidget(self.banner)
        self.result: Any = None
        self.importance: PermutationImportance | None = None
        self.dependence: PartialDependence | None = None
        self._auto_importance = False  # a small result's importance starts when the tab is first shown
        self._set_live(False)

    # -- showing --------------------------------------------------------------------------------------------
    def set_result(self, result: Any) -> None:
        """A fresh result: explanations can be computed."""
        self.dependence_note.setText(DEPENDENCE_NOTE)
        self.runner.stop()
        self.result = result
        self.importance = self.dependence = None
        self.banner.clear()
        self.importance_plot.clear()
        self._show_dependence_note(DEPENDENCE_WAITING)
        self.column_combo.clear()
        rows = getattr(result, "rows", None)
        if rows is not None:
            self.column_combo.addItems([str(c) for c in rows.x_held.columns])
        self._set_live(rows is not None)
        self._auto_importance = rows is not None and rows.x_held.size <= AUTO_IMPORTANCE_CELLS \
            and len(rows.x_train) <= AUTO_IMPORTANCE_TRAINING_ROWS
        self.importance_slot.show_note(IMPORTANCE_WORKING if self._auto_importance else IMPORTANCE_WAITING)
        if self.isVisible():
            self._start_auto_importance()
        self.show_own(result.details.model_importances if result.details is not None else (),
                      getattr(result, "model_key", ""))

    def show_stored(self, explanations: dict[str, Any], own: tuple[tuple[str, float], ...],
                    model_key: str = "") -> None:
        """A stored run: show what was computed back then; nothing new can be computed without its rows."""
        self.result = None
        self.banner.clear()
        self.column_combo.clear()
        self._set_live(False)
        self.importance_plot.clear()
        stored = explanations.get("permutation_importance")
        self._auto_importance = False
        if stored:
            columns = stored.get("columns", [])
            horizontal_bars(self.importance_plot, [(c["column"], float(c["mean"])) for c in columns[:15]],
                            [float(c.get("spread", 0.0)) for c in columns[:15]])
            self.importance_slot.show_plot()
        else:
            self.importance_slot.show_note(IMPORTANCE_NOT_STORED)
        self.importance_note.setText("Computed when the run was trained." if stored else
                                     "Column importance was not computed for this run.")
        self._show_dependence_note(DEPENDENCE_STORED)
        self.dependence_note.setText(DEPENDENCE_STORED)
        self.show_own(own, model_key)

    def show_own(self, own: tuple[tuple[str, float], ...], model_key: str = "") -> None:
        self._own = own
        if self._own_plot is not None:
            self._draw_own(self._own_plot)
        if own:
            self.own_note.setText(OWN_NOTE)
        elif _no_importances_note(model_key):
            self.own_note.setText(_no_importances_note(model_key))
        else:
            self.own_note.setText("This kind of model has no built-in importances; use the shuffling test, which "
                                  "works for every model.")

    # -- the views made on first use ---------------------------------------------------------------------------
    @property
    def own_plot(self) -> pg.PlotWidget:
        if self._own_plot is None:
            plot = self._own_plot = make_plot("The model's own importances", "Share of importance", "", 220,
                                              percent_x=True)
            plot.setTitle("")
            self._view_layouts[1].addWidget(plot, 1)
            self._draw_own(plot)
        return self._own_plot

    def _draw_own(self, plot: pg.PlotWidget) -> None:
        plot.clear()
        # Set either way: a plot added to a page on screen would otherwise appear only on the next turn.
        plot.setVisible(bool(self._own))
        if self._own:
            horizontal_bars(plot, list(self._own[:15]), color="#6c757d")

    @property
    def dependence_slot(self) -> PlotOrNote:
        if self._dependence_slot is None:
            plot = make_plot("Effect of one column", "", "Average prediction", 220)
            plot.setTitle("")
            slot = self._dependence_slot = PlotOrNote(plot, self._dependence_waiting)
            self._view_layouts[2].addWidget(slot, 1)
            slot.show()
        return self._dependence_slot

    @property
    def dependence_plot(self) -> pg.PlotWidget:
        return self.dependence_slot.plot

    def _show_dependence_note(self, note: str) -> None:
        self._dependence_waiting = note
        if self._dependence_slot is not None:
            self._dependence_slot.plot.clear()
            self._dependence_slot.show_note(note)

    def _on_views_current_changed(self, index: int) -> None:
        if index == 1:
            self.own_plot  # noqa: B018 - made on first sight
        elif index == 2:
            self.dependence_slot  # noqa: B018

    def _set_live(self, live: bool) -> None:
        for widget in (self.importance_button, self.column_combo, self.dependence_button):
            widget.setEnabled(live)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    # -- computing ------------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._start_auto_importance()

    def _start_auto_importance(self) -> None:
        # Started only once the tab is on screen: a result nobody looks at costs no work.
        if self._auto_importance and self.compute_importance():
            self._auto_importance = False

    def compute_importance(self) -> bool:
        result = self.result
        if result is None or result.rows is None or self.runner.is_running():
            return False
        rows = result.rows
        metric = diagnosis_metric(result.task, result.details is not None and result.details.imbalanced)
        self._started()
        return self.runner.start(lambda stop: permutation_importance(result.pipeline, rows.x_held, rows.y_held,
                                                                     metric, rows.part, should_stop=stop))

    def compute_dependence(self) -> bool:
        result = self.result
        column = self.column_combo.currentText()
        if result is None or result.rows is None or not column or self.runner.is_running():
            return False
        rows = result.rows
        categorical = any(name == column and treatment == "categorical"
                          for name, _kind, treatment in result.feature_columns)
        self._started()
        return self.runner.start(lambda stop: partial_dependence(
            result.pipeline, rows.x_held, column, result.task is Task.CLASSIFICATION, categorical,
            should_stop=stop))

    def _started(self) -> None:
        self.banner.clear()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        for widget in (self.importance_button, self.dependence_button):
            widget.setEnabled(False)

    def _on_runner_progressed(self, item: Progress) -> None:
        if item.fraction is not None:
            self.progress.setValue(int(item.fraction * 100))
        self.progress.setFormat(item.message or "%p%")

    def _on_runner_succeeded(self, found: object) -> None:
        if isinstance(found, PermutationImportance):
            self.importance = found
            columns = found.columns[:15]
            horizontal_bars(self.importance_plot, [(c.column, c.mean) for c in columns], [c.spread for c in columns])
            self.importance_slot.show_plot()
            self.importance_note.setText(
                f"Shuffling one column at a time on the {found.part} rows: the bars show how much the "
                f"{found.metric.replace('_', ' ')} drops. The model relies most on '{found.columns[0].column}'.")
            self.explanation_ready.emit("permutation_importance", to_plain(found))
        elif isinstance(found, PartialDependence):
            self.dependence = found
            self._draw_dependence(found)

    def _draw_dependence(self, found: PartialDependence) -> None:
        plot = self.dependence_plot
        plot.clear()
        self.dependence_slot.show_plot()
        if plot.plotItem.legend is None:
            plot.addLegend(offset=(-10, 10))
        plot.setLabel("bottom", found.column)
        classification = self.result is not None and self.result.task is Task.CLASSIFICATION
        plot.setLabel("left", "Average probability" if classification else "Average prediction")
        positions = list(range(len(found.grid))) if found.categorical else [float(v) for v in found.grid]
        if found.categorical:
            plot.getAxis("bottom").setTicks([[(i, str(v)[:10]) for i, v in enumerate(found.grid)]])
        else:
            plot.getAxis("bottom").setTicks(None)
        for index, (name, values) in enumerate(found.lines):
            add_line(plot, positions, values, index, name)

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(f"Could not compute this. {message}", "error", details)

    def _on_runner_finished(self) -> None:
        if self.importance is None and self.result is not None and self.importance_slot.shows_note():
            self.importance_slot.show_note(IMPORTANCE_WAITING)  # failed or stopped: the button is the way on
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.cancel_button.setEnabled(False)
        self._set_live(self.result is not None and self.result.rows is not None)

    def shutdown(self) -> None:
        self.runner.stop()


def _no_importances_note(model_key: str) -> str:
    """Why this family has no importances of its own, where that needs saying ("" otherwise)."""
    try:
        return get_model(model_key).no_importances_note if model_key else ""
    except StudioError:
        return ""  # a model this Studio no longer has
