"""Results step: how good the model is and why, in words, tables and plots; save it as an HTML report. A picture
run adds galleries of the test pictures the model got wrong and of those it was least sure about."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.common.errors import StudioError
from studio.core.evaluate.curve_diagnosis import describe_fit
from studio.core.project import Project, Step
from studio.core.report.html import report_job
from studio.core.store.history_reading import TRY_WAIT_S
from studio.core.store.runs import RunRecord, record_from_plain, run_from_result
from studio.core.train.images import ImageCase
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header
from studio.ui.widgets.image_galleries import ImageGalleries
from studio.ui.widgets.result_view import ResultView, shown_from_result
from studio.workers.runner import JobRunner

TABLE_SUBTITLE = "How well the model predicts rows it did not learn from, compared with simply guessing, and why."
PICTURE_SUBTITLE = ("How well the model recognises pictures it did not learn from, compared with simply guessing, "
                    "and which pictures it gets wrong.")


class ResultsPanel(Panel):
    step = Step.RESULTS
    report_saved = Signal(str)

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.view = ResultView()
        self._result_pending = False
        self.summary = self.view.summary
        self.details = self.view.details
        self.metrics_table = self.view.metrics_table
        self.stale_banner = MessageBanner()
        self.banner = MessageBanner()
        self.fit_banner = MessageBanner()  # how a network fitted, read from its epoch curves
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("One HTML file with the data, preparation, model, scores and plots, to share "
                                      "or archive.")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(self._on_report_clicked)
        self.runner = JobRunner(self)
        self.runner.succeeded.connect(self._on_runner_succeeded)
        self.runner.failed.connect(lambda message, details: self.banner.show_message(
            f"The report could not be saved. {message}", "error", details))
        self.runner.finished.connect(lambda: self.report_button.setEnabled(self.project.result is not None))
        self.view.explanation_ready.connect(self._on_explanation_ready)
        self.galleries: ImageGalleries | None = None  # made with the first picture run: tables never need it
        header = page_header("Results", TABLE_SUBTITLE)
        # The subtitle names what the model learned from: rows, or pictures.
        self.subtitle = next(label for label in header.findChildren(QLabel) if label.objectName() != "pageTitle")
        top = QHBoxLayout()
        top.addWidget(header, 1)
        top.addWidget(self.report_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stale_banner)
        layout.addWidget(self.banner)
        layout.addWidget(self.fit_banner)
        layout.addWidget(self.view, 1)

    def metric_value(self, name: str, column: int = 2) -> str:
        return self.view.metric_value(name, column)

    def entered(self) -> None:
        if self._result_pending:
            self._show_result()
        self._show_stale()

    def _on_project_changed(self, what: str) -> None:
        if what == "result":
            # Drawing a result builds a dozen plots (a quarter of a second the first time): done when the page is
            # shown, so the window does not stall the moment training ends.
            if self.isVisible():
                self._show_result()
            else:
                self._result_pending = True
        elif what in ("model", "prep", "split", "target"):
            self._show_stale()
        elif what == "store_problem" and self.isVisible():
            self._show_store_problem()

    def _show_stale(self) -> None:
        if self.project.result is not None and self.project.result_is_stale():
            self.stale_banner.show_message("These results are for the settings used at the last training; the "
                                           "settings have changed since. Train again to update them.", "warning")
        else:
            self.stale_banner.clear()

    def _show_result(self) -> None:
        self._result_pending = False
        result = self.project.result
        self._show_stale()
        self.banner.clear()
        self.fit_banner.clear()
        self._show_store_problem()
        self.report_button.setEnabled(result is not None)
        if result is None:
            self.view.clear()
            self._show_pictures(())
            return
        self.view.show_result(shown_from_result(result))
        self._show_pictures(result.image_cases, result.split_sizes[2])
        fit_words = describe_fit(result)
        if fit_words:
            self.fit_banner.show_message(fit_words, "info" if "fits well" in fit_words else "warning")

    def _show_pictures(self, cases: tuple[ImageCase, ...], test_pictures: int = 0) -> None:
        """The galleries' tabs for a picture run, right after the scores; hidden for a table run."""
        self.subtitle.setText(PICTURE_SUBTITLE if cases else TABLE_SUBTITLE)
        if not cases and self.galleries is None:
            return
        tabs = self.view.tabs
        if self.galleries is None:
            self.galleries = ImageGalleries()
            tabs.insertTab(1, self.galleries.mistakes, ImageGalleries.MISTAKES_TITLE)
            tabs.insertTab(2, self.galleries.uncertain, ImageGalleries.UNCERTAIN_TITLE)
        if cases:
            self.galleries.set_cases(cases, test_pictures)
        else:
            self.galleries.clear()
        for page in (self.galleries.mistakes, self.galleries.uncertain):
            tabs.setTabVisible(tabs.indexOf(page), bool(cases))
        if not tabs.isTabVisible(tabs.currentIndex()):
            tabs.setCurrentIndex(0)

    def _show_store_problem(self) -> None:
        if self.project.run_store_problem:
            self.banner.show_message(self.project.run_store_problem, "warning")
            self.project.run_store_problem = ""

    # -- explanations and the report ------------------------------------------------------------------------
    def _on_explanation_ready(self, kind: str, value: object) -> None:
        if isinstance(value, dict):
            self.project.record_explanation(kind, value)

    def _record_job(self) -> Callable[[], RunRecord] | None:
        """How the worker gets the current run for the report: from the history (read there, never on the window's
        thread: another program may hold it), else rebuilt from the result."""
        result = self.project.result
        if result is None:
            return None
        store, run_id = self.project.run_store, self.project.run_id
        rebuilt = run_from_result(result, self.project.exported_path or "")

        def record() -> RunRecord:
            if store is not None and run_id is not None:
                try:
                    return store.get(run_id, TRY_WAIT_S)
                except (sqlite3.Error, StudioError):
                    pass  # the store failing must not stop the report: it is rebuilt from the result below
            return record_from_plain(rebuilt)

        return record

    def _on_report_clicked(self) -> None:
        result = self.project.result
        if result is None:
            return
        suggested = f"{result.target}-{result.model_key}-report.html"
        path, _ = QFileDialog.getSaveFileName(self, "Save the model report", suggested, "Web page (*.html)")
        if path:
            self.save_report(path)

    def save_report(self, path: str | Path) -> bool:
        record = self._record_job()
        if record is None or self.runner.is_running():
            return False
        self.report_button.setEnabled(False)
        return self.runner.start(lambda stop: report_job(record(), path))

    def _on_runner_succeeded(self, path: object) -> None:
        self.banner.show_message(f"Report saved to {path}.", "success")
        self.report_saved.emit(str(path))

    def shutdown(self) -> None:
        self.runner.stop()
        self.view.shutdown()
        if self.galleries is not None:
            self.galleries.shutdown()
