"""Runs page: every training run, as a sortable and filterable leaderboard; open, compare, train again, delete."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from studio.core.data.target import Task
from studio.core.prep.config import PrepConfig
from studio.core.prep.images import ImagePrep
from studio.core.project import ModelConfig, Project, Step
from studio.core.report.html import report_job
from studio.core.search.history import SearchSummary
from studio.core.search.modes import TuneMode
from studio.core.store.history_reading import RunsRead, read_whole_runs
from studio.core.store.runs import RunRecord, RunStore, config_from_plain
from studio.core.store.settings import Settings
from studio.core.train.splits import SplitConfig
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header
from studio.ui.widgets.history_location import HistoryLocationWidget
from studio.ui.widgets.history_readers import HistoryReaders
from studio.ui.widgets.result_view import ResultView, shown_from_record
from studio.ui.widgets.run_compare import RunCompareWidget
from studio.ui.widgets.runs_table import RunsTableWidget
from studio.ui.widgets.trials_view import TrialsView, stored_search_text
from studio.workers.runner import JobRunner


class RunsPanel(Panel):
    step = Step.RUNS
    rerun_requested = Signal()  # the Project now holds a run's settings; the window trains them
    report_saved = Signal(str)

    def __init__(self, project: Project, settings: Settings | None = None,
                 save_settings: Callable[[], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self._settings = settings
        self._save_settings = save_settings
        self.banner = MessageBanner()
        self.leaderboard = RunsTableWidget()
        self.leaderboard.run_activated.connect(self.open_selected)
        self.leaderboard.selection_changed.connect(self._update_buttons)
        # The leaderboard's parts, as the page's tests and screenshots reach them.
        self.filter_edit, self.table, self.proxy, self.model = (self.leaderboard.filter_edit, self.leaderboard.table,
                                                                self.leaderboard.proxy, self.leaderboard.model)
        self.open_button = QPushButton("Open results")
        self.compare_button = QPushButton("Compare")
        self.rerun_button = QPushButton("Train again with these settings")
        self.report_button = QPushButton("Save report…")
        self.delete_button = QPushButton("Delete")
        self.open_button.setObjectName("primary")
        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        self.rerun_button.clicked.connect(self.rerun_selected)
        self.report_button.clicked.connect(self._on_report_clicked)
        self.report_runner = JobRunner(self)  # the report draws its plots: not on the GUI thread
        self.report_runner.succeeded.connect(self._on_report_runner_succeeded)
        self.report_runner.failed.connect(lambda message, details: self.banner.show_message(
            f"The report could not be saved. {message}", "error", details))
        self.delete_button.clicked.connect(self.delete_selected)
        # The history is read on workers, never on the window's thread: another program may hold it locked.
        self.readers = HistoryReaders(project, self.banner, self)
        self.readers.listed.connect(self._on_readers_listed)
        self.readers.list_failed.connect(self._on_readers_list_failed)
        self.readers.chosen.connect(self._on_readers_chosen)
        self.report_runner.progressed.connect(self.readers.on_progressed)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.compare_button, self.rerun_button, self.report_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        list_page = QWidget()
        list_layout = QVBoxLayout(list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addWidget(self.leaderboard, 1)
        list_layout.addLayout(buttons)
        self.location = HistoryLocationWidget()
        self.location.path_chosen.connect(self.use_history_file)
        list_layout.addWidget(self.location)
        self.back_button = QPushButton("‹ All runs")
        self.back_button.clicked.connect(self.show_list)
        self.pages = QStackedWidget()
        self.pages.addWidget(list_page)
        # Built when first needed: most sessions never open or compare a run. An opened search shows its tries
        # on a tab beside the winner's results.
        self.result_view: ResultView | None = None
        self.run_tabs = QTabWidget()
        self.search_view: TrialsView | None = None
        self.compare_view: RunCompareWidget | None = None
        back_row = QHBoxLayout()
        back_row.addWidget(self.back_button)
        back_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header("Runs", "Every training run is kept here with its settings and scores. Sort "
                                     "by a column, select runs to compare them, or open one to see its results."))
        layout.addLayout(back_row)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.records: dict[int, RunRecord] = {}
        self.show_list()
        self._update_buttons()  # nothing selected until the list is read

    def use_history_file(self, path: str) -> bool:
        """Keep runs in ``path`` from now on (an existing history is carried on); remembered in the settings. The
        file is opened on a worker; the page says the outcome."""
        self.banner.clear()
        return self.readers.open_history(path)

    def _on_readers_chosen(self, store: object) -> None:
        assert isinstance(store, RunStore)
        self.project.run_store = store
        if self._settings is not None and self._save_settings is not None:
            self._settings.runs_path = str(store.path)
            self._save_settings()
        self.show_list()
        self.refresh()

    # -- the list ---------------------------------------------------------------------------------------------
    def entered(self) -> None:
        self.refresh()

    def _on_project_changed(self, what: str) -> None:
        if what == "runs" and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Read the list of runs again, on a worker; the page fills in when it has been read."""
        if self.project.run_store is None:
            self.banner.show_message("Runs are not being recorded: the run history could not be opened.", "warning")
            return
        self.readers.read_list()

    def is_reading(self) -> bool:
        return self.readers.is_reading()

    def _on_readers_list_failed(self) -> None:
        store = self.project.run_store
        if store is not None:
            self.location.show_location(str(store.path), 0)

    def _on_readers_listed(self, read: RunsRead) -> None:
        records = list(read.records)
        self.records = {r.id: r for r in records}
        self.location.show_location(read.path, len(records))
        left_out = [*read.skipped, *self.leaderboard.set_records(records)]
        notes = [read.damage_note] if read.damage_note else []
        if left_out:
            notes.append(f"{len(left_out)} stored run{'s' if len(left_out) > 1 else ''} could not be read and "
                         f"{'are' if len(left_out) > 1 else 'is'} left out ({'; '.join(left_out[:3])}"
                         f"{'; …' if len(left_out) > 3 else ''}); the others are shown.")
        if notes:
            self.readers.say(" ".join(notes), "warning")
        elif not records:
            self.readers.say("No runs yet: every model you train appears here, with its settings and scores.", "info")
        else:
            self.readers.say("", "")
        self._update_buttons()

    def row_count(self) -> int:
        return self.leaderboard.row_count()

    def selected_ids(self) -> list[int]:
        return self.leaderboard.selected_ids()

    def select_ids(self, run_ids: list[int]) -> None:
        self.leaderboard.select_ids(run_ids)

    def _update_buttons(self) -> None:
        count = len(self.selected_ids())
        self.open_button.setEnabled(count == 1)
        self.rerun_button.setEnabled(count == 1)
        self.report_button.setEnabled(count == 1)
        self.compare_button.setEnabled(count >= 2)
        self.delete_button.setEnabled(count >= 1)

    def show_list(self) -> None:
        self.pages.setCurrentIndex(0)
        self.back_button.setVisible(False)

    # -- actions ----------------------------------------------------------------------------------------------
    def open_selected(self) -> bool:
        ids = self.selected_ids()
        if len(ids) != 1:
            return False
        self.banner.clear()
        return self.readers.read_whole(ids, lambda records: self._show_run(records[0]))

    def _show_run(self, record: RunRecord) -> None:
        if self.result_view is None or self.search_view is None:
            self.result_view, self.search_view = ResultView(), TrialsView()
            self.run_tabs.addTab(self.result_view, "Results")
            self.run_tabs.addTab(self.search_view, "The search")
            self.pages.addWidget(self.run_tabs)
        self.result_view.show_result(shown_from_record(record))
        search = SearchSummary.of(record.search)
        self.run_tabs.tabBar().setVisible(search is not None)
        self.run_tabs.setTabVisible(1, search is not None)
        if search is not None:
            self.search_view.show_search(search, stored_search_text(search, record.model_key, record.params))
            self.run_tabs.setTabText(1, f"Search: {search.tries} {'try' if search.tries == 1 else 'tries'}")
        self.run_tabs.setCurrentIndex(1 if search is not None else 0)  # a search opens on its tries
        self.pages.setCurrentWidget(self.run_tabs)
        self.back_button.setVisible(True)

    def compare_selected(self) -> bool:
        ids = self.selected_ids()
        if len(ids) < 2:
            return False
        self.banner.clear()
        return self.readers.read_whole(sorted(ids), self._show_comparison)

    def _show_comparison(self, records: tuple[RunRecord, ...]) -> None:
        if self.compare_view is None:
            self.compare_view = RunCompareWidget()
            self.pages.addWidget(self.compare_view)
        self.compare_view.compare(list(records))
        self.pages.setCurrentWidget(self.compare_view)
        self.back_button.setVisible(True)

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids or self.project.run_store is None:
            return

        def deleted(_outcome: object) -> None:
            self.refresh()
            self.banner.show_message(f"Deleted {len(ids)} run{'s' if len(ids) > 1 else ''}.", "info")

        # On the history's thread, as every write: a history locked by another program never holds the window.
        self.project.write_to_store(lambda store: store.delete(ids), "The runs could not be deleted", deleted)

    def rerun_selected(self) -> bool:
        ids = self.selected_ids()
        if len(ids) != 1:
            return False
        record = self.records[ids[0]]
        project = self.project
        if "images" in record.prep:
            return self._rerun_pictures(record)
        if project.table is None or record.target not in project.table.frame.columns:
            self.banner.show_message(f"Open a table with the column '{record.target}' first (run {record.id} used "
                                     f"{record.dataset_name}); then train this run's settings again.", "warning")
            return False
        try:
            prep = config_from_plain(PrepConfig, record.prep)
            split = config_from_plain(SplitConfig, record.split)
        except (TypeError, ValueError, KeyError) as exc:
            self.banner.show_message(f"The settings of run {record.id} could not be read back ({exc}).", "error")
            return False
        missing = [c.name for c in prep.features(record.target) if c.name not in project.table.frame.columns]
        if missing:
            self.banner.show_message(f"The open table lacks columns run {record.id} learned from: "
                                     f"{', '.join(missing[:5])}.", "warning")
            return False
        with project.batch():  # the pages see the run's settings once, all applied
            project.set_target(record.target)
            project.set_task(Task(record.task))
            project.set_prep(prep)
            project.set_split(split)
            project.set_model(ModelConfig(record.model_key, tuple(sorted(record.params.items()))))
            if project.tuning.searches:
                # The run's own settings, trained as they are: not a new search around them.
                project.set_tuning(replace(project.tuning, mode=TuneMode.MANUAL))
        self.rerun_requested.emit()
        return True

    def _rerun_pictures(self, record: RunRecord) -> bool:
        project = self.project
        if project.images is None:
            self.banner.show_message(f"Open a folder of pictures first (run {record.id} used "
                                     f"{record.dataset_name}); then train this run's settings again.", "warning")
            return False
        try:
            image_prep = config_from_plain(ImagePrep, record.prep["images"])
            split = config_from_plain(SplitConfig, record.split)
        except (TypeError, ValueError, KeyError) as exc:
            self.banner.show_message(f"The settings of run {record.id} could not be read back ({exc}).", "error")
            return False
        with project.batch():
            project.set_image_prep(image_prep)
            project.set_split(split)
            project.set_model(ModelConfig(record.model_key, tuple(sorted(record.params.items()))))
            if project.tuning.searches:
                project.set_tuning(replace(project.tuning, mode=TuneMode.MANUAL))
        self.rerun_requested.emit()
        return True

    def _on_report_clicked(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        record = self.records[ids[0]]
        path, _ = QFileDialog.getSaveFileName(self, "Save the model report", f"run-{record.id}-report.html",
                                              "Web page (*.html)")
        if path:
            self.save_report(record.id, path)

    def save_report(self, run_id: int, path: str | Path) -> bool:
        store = self.project.run_store
        if store is None or self.report_runner.is_running():
            return False

        def job(stop: Callable[[], bool]) -> Generator[object, None, object]:
            records = yield from read_whole_runs(store, [run_id], stop)  # read on the worker too
            return None if records is None else (yield from report_job(records[0], path))

        return self.report_runner.start(job)

    def _on_report_runner_succeeded(self, path: object) -> None:
        if path is None:  # stopped while the history was busy
            return
        self.banner.show_message(f"Report saved to {path}.", "success")
        self.report_saved.emit(str(path))

    def shutdown(self) -> None:
        self.readers.stop()
        self.report_runner.stop()
        if self.result_view is not None:
            self.result_view.shutdown()

