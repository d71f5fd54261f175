"""One result, explained: the summary in words, the scores table, and tabs with the plots.

Used by the Results step (a fresh result, explanations can be computed) and by the Runs page (a stored run, shown
again without retraining).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget

from studio.core.common.progress import CurvePoint
from studio.core.common.words import local_time, plural
from studio.core.data.target import Task
from studio.core.evaluate.details import imbalance_text, lead_metrics, result_summary
from studio.core.evaluate.diagnosis import diagnose, diagnosis_metric
from studio.core.evaluate.metrics import HIGHER_IS_BETTER, METRIC_LABELS, Scores, format_metric
from studio.core.evaluate.result_details import ResultDetails
from studio.core.store.runs import RunRecord
from studio.ui.widgets.classification_views import ConfusionMatrixWidget, CurvesWidget, PerClassTable, ThresholdWidget
from studio.ui.widgets.common import MessageBanner
from studio.ui.widgets.diagnosis_view import DiagnosisWidget
from studio.ui.widgets.explain_view import ExplainWidget
from studio.ui.widgets.loss_plot import LossPlotWidget
from studio.ui.widgets.plots import render_ahead
from studio.ui.widgets.regression_views import RegressionPlotsWidget

# Two lines where a heading is longer than its numbers: the columns share the width equally, and at 1024 × 600
# "Always guessing (test)" in one line was cut to "lways guessing (tes".
HEADERS = ("Measure", "Validation rows", "Test rows", "Always guessing\n(test rows)", "Training rows")
METRIC_HELP = {
    "accuracy": "Share of rows predicted correctly.",
    "balanced_accuracy": "Accuracy averaged over the classes, so rare classes count as much as common ones.",
    "precision_macro": "When the model names a class, how often it is right (averaged over classes).",
    "recall_macro": "Of the rows of a class, how many the model finds (averaged over classes).",
    "f1_macro": "Balance of precision and recall (averaged over classes).",
    "roc_auc": "How well the model ranks positive rows above negative ones (50% is chance, 100% is perfect).",
    "mae": "Average size of the error, in the target's own units.",
    "rmse": "Like the average error, but large misses count more.",
    "r2": "Share of the target's variation the model explains (100% is perfect, 0% is no better than the average).",
}


@dataclass(frozen=True)
class ShownResult:
    task: Task
    target: str
    model_key: str
    validation: Scores | None
    test: Scores
    details: ResultDetails | None
    notes: str = ""
    explanations: dict[str, Any] = field(default_factory=dict)
    live: Any = None  # the TrainResult when the model is at hand (explanations can be computed)
    history: tuple[CurvePoint, ...] = ()
    unit: str = "rows"  # what the data is made of: "rows", or "pictures"


def shown_from_result(result: Any) -> ShownResult:
    train, validation, test = result.split_sizes
    unit = "pictures" if getattr(result, "image_cases", ()) else "rows"
    one = unit.removesuffix("s")
    notes = [f"{result.model_label}, trained in {result.duration_s:.1f} s on {plural(train, one, unit)}; "
             f"{validation:,} validation and {plural(test, 'test ' + one, 'test ' + unit)}."]
    if result.dropped_rows:
        dropped = result.dropped_rows
        notes.append(f"{plural(dropped, 'row')} without a value for {result.target} "
                     f"{'was' if dropped == 1 else 'were'} left out.")
    if result.split_note:
        notes.append(result.split_note)
    for note in (getattr(result, "choice_note", ""), getattr(result, "decision_note", ""),
                 _search_words(getattr(result, "search", None))):
        if note:
            notes.append(note)
    return ShownResult(result.task, result.target, result.model_key, result.validation, result.test, result.details,
                       " ".join(notes), {}, result, tuple(result.history), unit)


def _search_words(search: Any) -> str:
    """A search's winner in words (its cross-validated score, why it has no validation rows); "" for other runs."""
    from studio.core.search.history import SearchSummary, results_words

    summary = SearchSummary.of(search) if search else None
    return results_words(summary) if summary is not None else ""


def shown_from_record(record: RunRecord) -> ShownResult:
    details = ResultDetails.of_run(record.details)
    notes = f"Run {record.id}: {record.model_label}, trained {local_time(record.created)} in " \
            f"{record.duration_s:.1f} s on {record.dataset_name}."
    searched = _search_words(record.search)
    notes += f" {searched}" if searched else ""
    return ShownResult(Task(record.task), record.target, record.model_key, record.scores("validation"),
                       record.scores("test") or Scores("test", 0, (), ()), details, notes, dict(record.explanations),
                       history=curve_points(record.history), unit="pictures" if "images" in record.prep else "rows")


def curve_points(history: list[dict[str, Any]]) -> tuple[CurvePoint, ...]:
    """Stored curve points back as the kinds the live curve shows (epochs and batches of networks included)."""
    import dataclasses

    from studio.core.common.curves import BatchPoint, EpochPoint

    points = []
    for raw in history:
        kind = BatchPoint if "position" in raw else EpochPoint if "best_step" in raw else CurvePoint
        names = {f.name for f in dataclasses.fields(kind)}
        try:
            points.append(kind(**{k: v for k, v in raw.items() if k in names}))
        except TypeError:
            continue  # a point from another Studio version that lacks a required field
    return tuple(points)


# The plot pages, in tab order. Each is made, and drawn, when its tab is first opened: building them all at once
# (a dozen pyqtgraph plots) held the window up for a quarter of a second on entering Results.
TRAINING_CURVE, MISTAKES, CURVES, PER_CLASS, ERRORS, DIAGNOSIS, EXPLAIN = (
    "Training curve", "Right and wrong", "Curves", "Per class", "Errors", "Diagnosis", "Which columns matter")
PAGE_TITLES = (TRAINING_CURVE, MISTAKES, CURVES, PER_CLASS, ERRORS, DIAGNOSIS, EXPLAIN)


class ResultView(QWidget):
    explanation_ready = Signal(str, object)  # kind, plain data: an explanation computed for the live result

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Train a model to see how good it is.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("resultSummary")
        self.summary.setStyleSheet("font-size: 13pt; padding: 8px; background: #f3f6fa; border-radius: 4px;")
        self.imbalance_banner = MessageBanner()
        self.metrics_table = QTableWidget(0, len(HEADERS))
        self.metrics_table.setHorizontalHeaderLabels(HEADERS)
        self.metrics_table.verticalHeader().hide()
        self.metrics_table.setTabKeyNavigation(False)  # Tab moves on through the page, not cell by cell
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setStyleSheet("color: #555;")
        scores_page = QWidget()
        scores_layout = QVBoxLayout(scores_page)
        scores_layout.addWidget(self.metrics_table)
        scores_layout.addWidget(self.details)
        scores_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(scores_page, "Scores")
        # Empty places for the plot pages: a plain widget costs nothing, the page inside it is made when needed.
        self._slots: dict[str, QVBoxLayout] = {}
        for title in PAGE_TITLES:
            slot = QWidget()
            slot_layout = QVBoxLayout(slot)
            slot_layout.setContentsMargins(0, 0, 0, 0)
            self._slots[title] = slot_layout
            self.tabs.addTab(slot, title)
        self._pages: dict[str, QWidget] = {}
        self._drawn: set[str] = set()  # pages showing ``self.shown``
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        # While the view is on screen and idle, the pages the result shows are made and drawn ahead of the person's
        # clicks, one page (made, then drawn) per event-loop turn, so no turn holds the window up for long.
        self._ahead: list[str | pg.PlotWidget] = []
        self._ahead_timer = QTimer(self)
        self._ahead_timer.setSingleShot(True)
        self._ahead_timer.setInterval(0)
        self._ahead_timer.timeout.connect(self._on_ahead_timer_timeout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.imbalance_banner)
        layout.addWidget(self.tabs, 1)
        self.shown: ShownResult | None = None
        self._set_tabs(None)

    # -- the plot pages, made and drawn on first use ------------------------------------------------------------
    @property
    def loss_plot(self) -> LossPlotWidget:
        return self._page(TRAINING_CURVE)  # type: ignore[return-value]

    @property
    def matrix(self) -> ConfusionMatrixWidget:
        self._page(MISTAKES)
        return self._matrix

    @property
    def threshold(self) -> ThresholdWidget:
        self._page(MISTAKES)
        return self._threshold

    @property
    def curves(self) -> CurvesWidget:
        return self._page(CURVES)  # type: ignore[return-value]

    @property
    def per_class(self) -> PerClassTable:
        return self._page(PER_CLASS)  # type: ignore[return-value]

    @property
    def regression(self) -> RegressionPlotsWidget:
        return self._page(ERRORS)  # type: ignore[return-value]

    @property
    def diagnosis(self) -> DiagnosisWidget:
        return self._page(DIAGNOSIS)  # type: ignore[return-value]

    @property
    def explain(self) -> ExplainWidget:
        return self._page(EXPLAIN)  # type: ignore[return-value]

    def _page(self, title: str) -> QWidget:
        """The page of ``title``, made if it is not yet, and showing the current result."""
        page = self._made(title)
        if self.shown is not None and title not in self._drawn:
            self._drawn.add(title)
            self._draw(title, page, self.shown)
        return page

    def _made(self, title: str) -> QWidget:
        page = self._pages.get(title)
        if page is None:
            page = self._pages[title] = self._build(title)
            self._slots[title].addWidget(page)
            page.show()  # a layout shows a widget added to a shown parent only on the next event-loop turn
        return page

    def _work_ahead(self) -> None:
        if self._ahead and self.isVisible():
            self._ahead_timer.start()

    def _on_ahead_timer_timeout(self) -> None:
        if not self._ahead or not self.isVisible():
            return  # resumed when the view is shown again
        step = self._ahead[0]
        if isinstance(step, pg.PlotWidget):
            self._ahead.pop(0)
            render_ahead(step)
        elif step not in self._pages:
            self._made(step)
        else:
            self._ahead.pop(0)
            # Then each of its plots drawn off screen, one per turn.
            self._ahead[0:0] = self._page(step).findChildren(pg.PlotWidget)
        self._work_ahead()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._work_ahead()

    def _build(self, title: str) -> QWidget:
        if title == TRAINING_CURVE:
            return LossPlotWidget()
        if title == MISTAKES:
            self._matrix = ConfusionMatrixWidget()
            self._threshold = ThresholdWidget(self._matrix)
            mistakes_page = QWidget()
            mistakes_layout = QVBoxLayout(mistakes_page)
            mistakes_layout.addWidget(self._threshold)
            mistakes_layout.addWidget(self._matrix, 1)
            return mistakes_page
        if title == CURVES:
            return CurvesWidget()
        if title == PER_CLASS:
            return PerClassTable()
        if title == ERRORS:
            return RegressionPlotsWidget()
        if title == DIAGNOSIS:
            diagnosis = DiagnosisWidget()
            diagnosis.explanation_ready.connect(self.explanation_ready)
            return diagnosis
        explain = ExplainWidget()
        explain.explanation_ready.connect(self.explanation_ready)
        return explain

    def _draw(self, title: str, page: QWidget, shown: ShownResult) -> None:
        details = shown.details
        classification = details.classification if details is not None else None
        if isinstance(page, LossPlotWidget):
            page.clear()
            for point in shown.history:
                page.append(point)
        elif title == MISTAKES and classification is not None:
            if classification.positive_class is None:
                self._matrix.set_matrix(np.asarray(classification.confusion), classification.classes,
                                        classification.row_normalised)
            self._threshold.set_details(classification)  # with two classes, draws the matrix at its threshold
        elif isinstance(page, CurvesWidget | PerClassTable) and classification is not None:
            page.set_details(classification)
        elif isinstance(page, RegressionPlotsWidget) and details is not None and details.regression is not None:
            page.set_details(details.regression, shown.target)
        elif isinstance(page, DiagnosisWidget):
            self._show_diagnosis(page, shown)
            if shown.live is not None:
                page.set_result(shown.live)
            else:
                page.show_stored(shown.explanations)
        elif isinstance(page, ExplainWidget):
            if shown.live is not None:
                page.set_result(shown.live)
            else:
                page.show_stored(shown.explanations, details.model_importances if details else (), shown.model_key)

    def _on_tabs_current_changed(self, index: int) -> None:
        title = self.tabs.tabText(index)
        if title in self._slots and self.tabs.isTabVisible(index):
            self._page(title)

    def tab_index(self, title: str) -> int:
        return next(i for i in range(self.tabs.count()) if self.tabs.tabText(i) == title)

    def _pictures(self) -> bool:
        return self.shown is not None and self.shown.unit == "pictures"

    def _set_tabs(self, task: Task | None, details: ResultDetails | None = None) -> None:
        """Tabs for what the result holds; a result without details (an older run) shows the scores only."""
        classification = task is Task.CLASSIFICATION and details is not None and details.classification is not None
        regression = task is Task.REGRESSION and details is not None and details.regression is not None
        for title, visible in ((MISTAKES, classification), (CURVES, classification),
                               (PER_CLASS, classification), (ERRORS, regression),
                               (DIAGNOSIS, details is not None),
                               # Pictures have no columns to rank.
                               (EXPLAIN, details is not None and not self._pictures()),
                               (TRAINING_CURVE, bool(self.shown and self.shown.history))):
            self.tabs.setTabVisible(self.tab_index(title), visible)

    def clear(self) -> None:
        self.shown = None
        self._ahead = []
        self.summary.setText("Train a model to see how good it is.")
        self.metrics_table.setRowCount(0)
        self.details.clear()
        self.imbalance_banner.clear()
        self._set_tabs(None)

    def show_result(self, shown: ShownResult) -> None:
        self.shown = shown
        self._drawn.clear()
        # Work still running for the previous result must not be kept with this one.
        for title in (DIAGNOSIS, EXPLAIN):
            page = self._pages.get(title)
            if isinstance(page, DiagnosisWidget | ExplainWidget):
                page.runner.stop()
        details = shown.details
        classification = details.classification if details is not None else None
        self.summary.setText(result_summary(shown.task, shown.test, shown.target, classification, shown.unit))
        note = imbalance_text(classification.imbalance, shown.target) if classification is not None else ""
        if note:
            self.imbalance_banner.show_message(note, "warning")
        else:
            self.imbalance_banner.clear()
        self._fill_metrics(shown)
        self.details.setText(shown.notes + ("  ★ Leads here because the classes are imbalanced."
                                             if details is not None and details.imbalanced else ""))
        self._set_tabs(shown.task, details)
        if not self.tabs.isTabVisible(self.tabs.currentIndex()):
            self.tabs.setCurrentIndex(0)
        self._on_tabs_current_changed(self.tabs.currentIndex())  # a plot page on screen shows the new result now
        self._ahead = [title for title in PAGE_TITLES if self.tabs.isTabVisible(self.tab_index(title))]
        self._work_ahead()

    @staticmethod
    def _show_diagnosis(diagnosis: DiagnosisWidget, shown: ShownResult) -> None:
        details = shown.details
        held = shown.validation or shown.test
        if details is None:
            return
        imbalanced = details.imbalanced
        found = diagnose(shown.task, dict(details.train_metrics), held.as_dict(), dict(held.baseline),
                         shown.model_key, imbalanced, held.part, details.cross_validation is not None)
        diagnosis.show_diagnosis(found, details.cross_validation, diagnosis_metric(shown.task, imbalanced))

    def _fill_metrics(self, shown: ShownResult) -> None:
        imbalanced = shown.details is not None and shown.details.imbalanced
        present = [name for name, _ in shown.test.metrics]
        names = [n for n in lead_metrics(shown.task, imbalanced) if n in present]
        names += [n for n in present if n not in names]
        train = dict(shown.details.train_metrics) if shown.details is not None else {}
        self.metrics_table.setRowCount(len(names))
        for row, name in enumerate(names):
            label = QTableWidgetItem(METRIC_LABELS.get(name, name))
            better = "higher" if HIGHER_IS_BETTER.get(name, True) else "lower"
            label.setToolTip(f"{METRIC_HELP.get(name, '')} ({better} is better)")
            if imbalanced and name in ("balanced_accuracy", "f1_macro"):
                label.setText(label.text() + "  ★")
                label.setToolTip(label.toolTip() + " Leads here because the classes are imbalanced.")
            self.metrics_table.setItem(row, 0, label)
            values = (shown.validation.get(name) if shown.validation else None, shown.test.get(name),
                      shown.test.baseline_of(name), train.get(name))
            for column, value in enumerate(values, start=1):
                item = QTableWidgetItem(format_metric(name, value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.metrics_table.setItem(row, column, item)
        self.metrics_table.resizeRowsToContents()
        height = self.metrics_table.horizontalHeader().height() + 4 + sum(
            self.metrics_table.rowHeight(r) for r in range(self.metrics_table.rowCount()))
        self.metrics_table.setFixedHeight(height)

    def metric_value(self, name: str, column: int = 2) -> str:
        label = METRIC_LABELS[name]
        for row in range(self.metrics_table.rowCount()):
            if self.metrics_table.item(row, 0).text().split("  ★")[0] == label:
                return self.metrics_table.item(row, column).text()
        raise KeyError(name)

    def shutdown(self) -> None:
        self._ahead_timer.stop()
        for page in self._pages.values():
            if isinstance(page, DiagnosisWidget | ExplainWidget):
                page.shutdown()
