"""How well the model learns: the diagnosis in words, cross-validation folds, and a learning curve (in a worker)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from studio.core.common.progress import Progress
from studio.core.evaluate.crossval import CrossValidation
from studio.core.evaluate.details import to_plain
from studio.core.evaluate.diagnosis import Diagnosis, LearningCurve, Verdict, learning_curve
from studio.core.evaluate.metrics import ERROR_METRICS, METRIC_LABELS, format_metric
from studio.ui.widgets.common import MessageBanner, section_label
from studio.ui.widgets.plots import PlotOrNote, add_line, make_plot
from studio.workers.runner import JobRunner

CURVE_NOTE = ("Trains the model again on growing shares of the training rows and scores each on the held-out rows. "
              "If the held-out score still rises at the end, more rows would help.")
CURVE_WAITING = ("Press \"Compute learning curve\": two lines will show the score on the training rows and on "
                 "held-out rows as the model learns from more and more rows.")
CURVE_NOT_STORED = ("No learning curve was computed for this run. Train its settings again (Runs page) to compute "
                    "one.")
_VERDICT_STYLE = {Verdict.FINE: "success", Verdict.OVERFITTING: "warning", Verdict.UNDERFITTING: "warning"}


class DiagnosisWidget(QWidget):
    explanation_ready = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(lambda message, details: self.curve_banner.show_message(message, "error",
                                                                                             details))
        self.runner.finished.connect(self._on_runner_finished)
        self.verdict = MessageBanner()
        self.suggestions = QLabel()
        self.suggestions.setWordWrap(True)
        self.suggestions.setStyleSheet("font-size: 11pt;")
        self.cross_validation = QLabel()
        self.cross_validation.setWordWrap(True)
        self.cross_validation.setStyleSheet("font-size: 11pt;")
        self.curve_button = QPushButton("Compute learning curve")
        self.curve_button.clicked.connect(self.compute_curve)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.curve_banner = MessageBanner()
        self.curve_plot = make_plot("Learning curve", "Training rows used", "Score (higher is better)", 220,
                                    percent_y=True)
        self.curve_plot.addLegend(offset=(-10, -10))
        self.curve_slot = PlotOrNote(self.curve_plot, CURVE_WAITING)
        self.curve_note = QLabel(CURVE_NOTE)
        self.curve_note.setWordWrap(True)
        self.curve_note.setStyleSheet("color: #555;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.curve_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.suggestions)
        layout.addWidget(self.cross_validation)
        layout.addWidget(section_label("Would more rows help?"))
        layout.addWidget(self.curve_note)
        layout.addLayout(buttons)
        layout.addWidget(self.curve_banner)
        layout.addWidget(self.curve_slot, 1)
        self.result: Any = None
        self.metric = "accuracy"
        self.curve: LearningCurve | None = None

    def show_diagnosis(self, diagnosis: Diagnosis, cross_validation: CrossValidation | None, metric: str) -> None:
        self.metric = metric
        self.verdict.show_message(f"<b>{html.escape(diagnosis.headline)}</b> {html.escape(diagnosis.explanation)}",
                                  _VERDICT_STYLE[diagnosis.verdict], rich=True)
        tips = "".join(f"<li>{html.escape(tip)}</li>" for tip in diagnosis.suggestions)
        self.suggestions.setText(f"Things to try:<ul style='margin-top:2px'>{tips}</ul>" if tips else "")
        if cross_validation is None or not cross_validation.folds:
            self.cross_validation.setText("Cross-validation is off; turn it on in the Split step to see how much the "
                                          "score changes with the rows held out.")
        else:
            name = cross_validation.metric
            folds = ", ".join(format_metric(name, v) for v in cross_validation.scores())
            spread = cross_validation.spread()
            # Scores are percentages, so their spread is in percentage points; errors keep the target's units.
            spread_text = format_metric(name, spread) if name in ERROR_METRICS else \
                f"{format_metric(name, spread).removesuffix('%')} points"
            self.cross_validation.setText(
                f"<b>Cross-validation, {len(cross_validation.folds)} folds</b> ({METRIC_LABELS.get(name, name)}): "
                f"mean <b>{format_metric(name, cross_validation.mean())}</b>, spread ± {spread_text}. "
                f"Folds: {folds}.")

    def set_result(self, result: Any) -> None:
        self.runner.stop()
        self.result = result
        self.curve = None
        self.curve_plot.clear()
        self.curve_banner.clear()
        self.curve_plot.setLabel("left", "Score (higher is better)")
        self.curve_slot.show_note(CURVE_WAITING)
        self.curve_note.setText(CURVE_NOTE)
        self.curve_button.setEnabled(getattr(result, "rows", None) is not None)

    def show_stored(self, explanations: dict[str, Any]) -> None:
        self.runner.stop()
        self.result = None
        self.curve_button.setEnabled(False)
        self.curve_plot.clear()
        stored = explanations.get("learning_curve")
        if stored:
            self._draw(LearningCurve(stored["metric"], tuple(stored["sizes"]), tuple(stored["train_scores"]),
                                     tuple(stored["validation_scores"])))
        else:
            self.curve_note.setText(CURVE_NOT_STORED)
            self.curve_slot.show_note(CURVE_NOT_STORED)

    def compute_curve(self) -> bool:
        result = self.result
        if result is None or result.rows is None or self.runner.is_running():
            return False
        rows, metric = result.rows, self.metric
        self.curve_banner.clear()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.curve_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        return self.runner.start(lambda stop: learning_curve(rows.make_pipeline, rows.x_train, rows.y_train,
                                                             rows.x_held, rows.y_held, metric, stop))

    def _on_runner_progressed(self, item: Progress) -> None:
        if item.fraction is not None:
            self.progress.setValue(int(item.fraction * 100))

    def _on_runner_succeeded(self, curve: LearningCurve) -> None:
        self.curve = curve
        self._draw(curve)
        self.explanation_ready.emit("learning_curve", to_plain(curve))

    def _draw(self, curve: LearningCurve) -> None:
        self.curve_plot.clear()
        self.curve_slot.show_plot()
        self.curve_plot.setLabel("left", METRIC_LABELS.get(curve.metric, curve.metric))
        add_line(self.curve_plot, curve.sizes, curve.train_scores, 0, "Training rows")
        add_line(self.curve_plot, curve.sizes, curve.validation_scores, 1, "Held-out rows")
        self.curve_note.setText("The held-out score still rises at the end: more rows would probably help."
                                if curve.still_improving() else
                                "The held-out score has levelled off: more rows alone would help little; try other "
                                "settings or columns.")

    def _on_runner_finished(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.curve_button.setEnabled(self.result is not None and self.result.rows is not None)

    def shutdown(self) -> None:
        self.runner.stop()
