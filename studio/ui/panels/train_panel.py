"""Train step: start, watch the live curve and the time left, cancel at any moment; it ends with the result in a
sentence and the way to the Results page."""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.common.progress import Progress
from studio.core.common.words import percent
from studio.core.data.target import Task
from studio.core.evaluate.metrics import format_metric
from studio.core.models.registry import get_model
from studio.core.models.spec import Growth
from studio.core.project import Project, Step
from studio.core.search.modes import TuneMode
from studio.core.search.requests import TuneResult
from studio.core.train.training import TrainResult, train
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, key_text, page_header
from studio.ui.widgets.device_fallback import CpuFallback
from studio.ui.widgets.loss_plot import LossPlotWidget
from studio.ui.widgets.search_run import SearchRun, warm_up_search
from studio.ui.widgets.trials_view import TrialsView
from studio.workers.runner import JobRunner

START_KEYS = ("Ctrl+Return", "Ctrl+Enter")  # Enter on the main keyboard and on the number pad
_HEADLINE_STYLE = ("QFrame#headline { background:#e8f5ea; border:1px solid #b9dfc0; border-radius:4px; } "
                   "QLabel { background: transparent; border: none; }")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class TrainPanel(Panel):
    step = Step.TRAIN
    training_finished = Signal()  # a new result is in the Project
    training_stopped = Signal(str)  # "cancelled" or "failed"
    results_requested = Signal()  # the person wants to read the new result

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_runner_progressed)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(self._on_runner_failed)
        self.runner.cancelled.connect(self._on_runner_cancelled)
        self.runner.finished.connect(self._on_runner_finished)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.setToolTip(f"Start training ({key_text(START_KEYS[0])})")
        self.start_button.clicked.connect(self.start)
        # A window shortcut on the page: it works only while the page is shown (a hidden widget's shortcuts don't).
        for keys in START_KEYS:
            QShortcut(QKeySequence(keys), self, activated=self._on_start_shortcut)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.stage_label = QLabel("Ready to train.")
        self.time_label = QLabel("")
        self.time_label.setStyleSheet("color: #555;")
        self.what_label = QLabel()
        self.what_label.setWordWrap(True)
        self.banner = MessageBanner()
        self.plot = LossPlotWidget()
        self.plot_note = QLabel()
        self.plot_note.setWordWrap(True)
        self.plot_note.setStyleSheet("color: #555;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.progress, 1)
        status = QHBoxLayout()
        status.addWidget(self.stage_label, 1)
        status.addWidget(self.time_label)
        self.headline_box = self._headline_box()
        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Train", "Training runs in the background: the window stays usable and you "
                                     "can cancel at any time."))
        layout.addWidget(self.what_label)
        layout.addLayout(buttons)
        layout.addLayout(status)
        layout.addWidget(self.headline_box)
        layout.addWidget(self.banner)
        self.cpu_fallback = CpuFallback(project)
        self.cpu_fallback.chosen.connect(self.start)
        layout.addWidget(self.cpu_fallback)
        self.trials_view = TrialsView()
        self.search = SearchRun(project, self.trials_view)
        for grows in (self.trials_view, self.plot):
            # They take the height left, down to their minimum: their preferred height would count in the page's,
            # which the page's scroll area treats as a minimum once a label wraps, so the page scrolled a few pixels.
            grows.setMinimumHeight(grows.minimumSizeHint().height())
            grows.setSizePolicy(grows.sizePolicy().horizontalPolicy(), QSizePolicy.Policy.Ignored)
        layout.addWidget(self.trials_view, 1)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.plot_note)
        self._started_at = 0.0
        self._fraction = 0.0
        self.clock = QTimer(self)
        self.clock.setInterval(250)
        self.clock.timeout.connect(self._on_clock_timeout)
        self._headlined: Any = None  # the result the headline tells

    def _headline_box(self) -> QFrame:
        box = QFrame()
        box.setObjectName("headline")
        box.setStyleSheet(_HEADLINE_STYLE)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-size: 13pt; font-weight: 600; color: #1d5b28;")
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline_note = QLabel()
        self.headline_note.setWordWrap(True)
        self.headline_note.setStyleSheet("font-size: 9pt; color: #555;")
        self.results_button = QPushButton("See the results →")
        self.results_button.setObjectName("primary")
        self.results_button.clicked.connect(self.results_requested)
        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(self.headline)
        words.addWidget(self.headline_note)
        row = QHBoxLayout(box)
        row.setContentsMargins(12, 8, 12, 8)
        row.addLayout(words, 1)
        row.addWidget(self.results_button, 0, Qt.AlignmentFlag.AlignVCenter)
        box.hide()
        return box

    def entered(self) -> None:
        self._describe_run()
        warm_up_search(self.project)

    def _on_project_changed(self, what: str) -> None:
        if what == "result" and self.project.result is not self._headlined:
            self._show_headline(None)  # another result (a run reopened, or none): the headline told the old one
        if what in ("model", "prep", "split", "target", "table", "result", "tuning"):
            self._describe_run()

    def _describe_run(self) -> None:
        project = self.project
        if project.dataset is None or project.target is None or project.task is None:
            self.what_label.setText("")
            return
        searching = project.tuning.searches
        self.trials_view.setVisible(searching)
        self.plot.setVisible(not searching)
        self.plot_note.setVisible(not searching)
        self.cancel_button.setText("Stop and keep the best" if searching else "Cancel")
        if not self.runner.is_running():
            self.start_button.setText("Start the search" if searching else "Start training")
        spec = get_model(project.model.key)
        if searching:
            self.what_label.setText(_search_text(project))
            return
        images = project.images
        if images is not None:
            size = project.image_input_size()
            text = (f"<b>{spec.label}</b> will learn to tell the {len(images.class_counts)} classes apart from "
                    f"{len(images.usable_frame()):,} pictures in {html.escape(images.name, quote=False)}, read at "
                    f"{size} × {size} pixels.")
        else:
            assert project.table is not None
            columns = (f"{len(project.prep.features(project.target))} columns of "
                       f"{html.escape(project.table.name, quote=False)}")
            target = html.escape(str(project.target), quote=False)
            task = project.task or Task.CLASSIFICATION
            if spec.choices:
                tried = [get_model(key).label.lower() for key in spec.candidates(task)]
                text = (f"Studio will try {', '.join(tried[:-1])} and {tried[-1]}, keep the one that predicts "
                        f"<b>{target}</b> best, and train it on {columns}.")
            else:
                text = f"<b>{spec.label}</b> will learn to predict <b>{target}</b> from {columns}."
        if project.result is not None and project.result_is_stale():
            text += " <span style='color:#7a5200'>The settings changed since the last training; train again to " \
                    "see results for the new settings.</span>"
        self.what_label.setText(text)
        growth = spec.growth
        self.plot_note.setText(
            "The curve shows the loss (how wrong the model is, lower is better) on training and validation rows "
            "as " + ("boosting rounds are added." if growth is Growth.ROUNDS else "trees are added.")
            if growth in (Growth.ROUNDS, Growth.TREES) else
            "This model is fitted in one go, so there is no curve; the bar shows its stages.")

        if growth is Growth.EPOCHS:
            self.plot_note.setText(
                "The curves show the loss after each epoch (a pass over the training rows) on training and "
                "validation rows; the faint line is the training loss every few batches, the dotted green line "
                "the validation score (right axis), and the dashed line marks the epoch whose weights are kept.")

    def start(self) -> bool:
        if self.runner.is_running() or self.project.dataset is None or self.project.target is None:
            return False
        request = self.project.training_request()
        self.banner.clear()
        self.cpu_fallback.hide()
        self._show_headline(None)
        if self.project.tuning.searches:
            try:
                job = self.search.job()
            except StudioError as exc:
                self.banner.show_message(str(exc), "error")
                return False
        else:
            job = lambda stop: train(request, stop)  # noqa: E731
        self.plot.clear()
        self.progress.setValue(0)
        self._fraction = 0.0
        self._started_at = time.monotonic()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.stage_label.setText("Starting…")
        self.clock.start()
        return self.runner.start(job)

    def is_training(self) -> bool:
        return self.runner.is_running()

    def _on_cancel_clicked(self) -> None:
        if self.project.tuning.searches and not self.search.finishing():
            self.search.finish_early()
            self.stage_label.setText("Stopping the search; training the best model so far…")
            self.cancel_button.setText("Cancel")
            return
        self.runner.cancel()
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("Cancelling…")

    def _on_runner_progressed(self, item: Progress) -> None:
        if item.fraction is not None:
            self._fraction = item.fraction
            self.progress.setValue(int(item.fraction * 100))
        self.stage_label.setText(f"{item.stage}: {item.message}" if item.message else item.stage)
        if item.curve is not None:
            self.plot.append(item.curve)
        self.search.on_progress(item)

    def _on_runner_succeeded(self, result: TrainResult | TuneResult) -> None:
        duration = result.duration_s
        if isinstance(result, TuneResult):
            result = self.search.adopt(result)
        self.project.set_result(result)
        self.stage_label.setText(f"Finished in {format_duration(duration)}.")
        self.progress.setValue(100)
        self._show_headline(result)
        if not result.history:
            # The note from before training ("Press Start training") would now be wrong.
            self.plot.slot.show_note(f"{result.model_label} is fitted in one go, so there is no curve to draw. "
                                     "Its scores are on the Results page.")
        self.training_finished.emit()

    def _show_headline(self, result: Any) -> None:
        self._headlined = result
        text, guessing, note = headline_words(result) if result is not None else ("", "", "")
        # The comparison with guessing in a lighter weight, so the sentence itself stands out.
        self.headline.setText(f"{html.escape(text)} <span style='font-weight:400'>{html.escape(guessing)}</span>"
                              if text else "")
        self.headline_note.setText(note)
        self.headline_note.setVisible(bool(note))
        self.headline_box.setVisible(bool(text))
        if text and self.isVisible():
            self.results_button.setFocus()  # Enter goes on to the results

    def _on_start_shortcut(self) -> None:
        if self.start_button.isEnabled():
            self.start()

    def _on_runner_failed(self, message: str, details: str) -> None:
        self.banner.show_message(f"Training failed. {message}", "error", details)
        self.stage_label.setText("Training failed.")
        self.cpu_fallback.offer(details)
        self.training_stopped.emit("failed")

    def _on_runner_cancelled(self) -> None:
        self.banner.show_message("Training was cancelled. Earlier results, if any, are kept.", "info")
        self.stage_label.setText("Cancelled.")
        self.progress.setValue(0)
        self.training_stopped.emit("cancelled")

    def _on_runner_finished(self) -> None:
        self.clock.stop()
        self.start_button.setEnabled(True)
        self.start_button.setText("Train again")
        self.cancel_button.setEnabled(False)
        self.time_label.setText(f"Took {format_duration(time.monotonic() - self._started_at)}")

    def _on_clock_timeout(self) -> None:
        elapsed = time.monotonic() - self._started_at
        text = f"Elapsed {format_duration(elapsed)}"
        if 0.15 < self._fraction < 1.0 and elapsed > 1.0:
            remaining = elapsed * (1.0 - self._fraction) / self._fraction
            text += f" · about {format_duration(remaining)} left"
        self.time_label.setText(text)

    def shutdown(self) -> None:
        self.clock.stop()
        self.runner.stop()


def headline_words(result: Any) -> tuple[str, str, str]:
    """The result in one plain sentence, how guessing does on the same rows ("(guessing …)"), and the notes that
    come with the result (why Studio chose this model, what was done for a rare class); no sentence when the test
    has no score."""
    unit = "pictures" if getattr(result, "image_cases", ()) else "rows"
    test = result.test
    if result.task is Task.CLASSIFICATION:
        accuracy, guess = test.get("accuracy"), test.baseline_of("accuracy")
        text = f"Right {percent(accuracy, 0)} of the time on {unit} it never saw" if accuracy is not None else ""
        guessing = f"(guessing the most common value: {percent(guess, 0)})" if guess is not None else ""
    else:
        error, guess = test.get("mae"), test.baseline_of("mae")
        text = (f"Typically off by {format_metric('mae', error)} in {result.target} on {unit} it never saw"
                if error is not None else "")
        guessing = f"(guessing the average: off by {format_metric('mae', guess)})" if guess is not None else ""
    notes = (getattr(result, name, "") for name in ("choice_note", "decision_note"))
    return text, guessing if text else "", " ".join(note for note in notes if note)


def _search_text(project: Project) -> str:
    from studio.core.search.policy import metric_label

    try:
        request = project.search_request()
    except StudioError as exc:
        return str(exc)
    what = ("Studio will look for the best kind of model and settings" if project.tuning.mode is TuneMode.AUTO else
            f"Studio will tune the settings of the <b>{get_model(project.model.key).label.lower()}</b>")
    target = html.escape(str(project.target), quote=False)
    return (f"{what} to predict <b>{target}</b>, for up to {format_duration(request.budget_s or 0)}, "
            f"judging each try by its {metric_label(request.metric or '').lower()}. You can stop at any time "
            "and keep the best model found so far.")
