"""Prepare step: understand each column, fix what the warnings point at, choose cleaning and features, and see the
result on sample rows before training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.target import Task
from studio.core.prep.config import PrepConfig, with_use_choice
from studio.core.prep.insights import Finding, TableInsights, apply_fix, insights_job
from studio.core.prep.preview import PrepPreview, preview_job
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header
from studio.ui.widgets.prep_column_form import ColumnForm
from studio.ui.widgets.prep_columns import ColumnsTable
from studio.ui.widgets.prep_formulas import FormulaEditor
from studio.ui.widgets.prep_missing_map import MissingMap
from studio.ui.widgets.prep_preview import PreviewView
from studio.ui.widgets.prep_settings_bar import PrepSettingsBar
from studio.ui.widgets.prep_warnings import FindingsList
from studio.workers.runner import JobRunner

PREVIEW_DELAY_MS = 250
TABS = ("Columns", "Warnings", "Missing values", "New columns", "Preview")

# What a preview depends on: the table (by its load count), the target, the task and the preparation.
PreviewKey = tuple[int, str, Task, PrepConfig]


class PrepPanel(Panel):
    step = Step.PREPARE
    insights_ready = Signal()
    preview_ready = Signal()

    def __init__(self, project: Project, settings_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.insights: TableInsights | None = None
        self.preview: PrepPreview | None = None
        self._insights_stale = True
        self._rerun: set[str] = set()
        self._preview_asked: PreviewKey | None = None
        self._preview_shown: PreviewKey | None = None
        self.insights_runner = self._runner(self._on_insights_succeeded, "insights")
        self.insights_runner.progressed.connect(
            lambda item: self.status.setText(f"{item.stage}… {item.message}"))
        self.preview_runner = self._runner(self._on_preview_succeeded, "preview")
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._start_preview)

        self.banner = MessageBanner()
        self.status = QLabel()
        self.status.setStyleSheet("color: #555;")
        self.table = ColumnsTable(self._on_use_chosen)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.form = ColumnForm()
        self.form.column_changed.connect(self._on_form_column_changed)
        self.findings = FindingsList()
        self.findings.fix_requested.connect(self._on_fix_requested)
        self.missing_map = MissingMap()
        self.formulas = FormulaEditor()
        self.formulas.added.connect(self._on_formula_added)
        self.formulas.removed.connect(self._on_formula_removed)
        self.preview_view = PreviewView()
        self.duplicates_check = QCheckBox("Remove duplicated rows from training")
        self.duplicates_check.toggled.connect(self._on_duplicates_toggled)
        self.settings_bar = PrepSettingsBar(project, self.banner)
        self.settings_bar.settings_dir = settings_dir
        bar = self.settings_bar
        self.save_button, self.load_button, self.reset_button = bar.save_button, bar.load_button, bar.reset_button

        columns_page = QSplitter(Qt.Orientation.Vertical)
        columns_page.addWidget(self.table)
        columns_page.addWidget(self.form)
        columns_page.setSizes([230, 290])
        columns_page.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        for widget, title in zip((columns_page, self.findings, self.missing_map, self.formulas, self.preview_view),
                                 TABS, strict=True):
            self.tabs.addTab(widget, title)
        self.tabs.currentChanged.connect(lambda _i: self._schedule_preview())
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.duplicates_check)
        toolbar.addSpacing(16)
        toolbar.addWidget(self.status, 1)
        toolbar.addWidget(self.settings_bar)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header(
            "Prepare", "Check what each column holds, fix what the warnings point at, and choose how gaps are filled "
            "and features are made. Studio learns every step from the training rows only, and the saved model "
            "repeats them on new data."))
        layout.addWidget(self.banner)
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary)

    @property
    def settings_dir(self) -> Path | None:
        """Where choices are remembered per dataset; None remembers nothing."""
        return self.settings_bar.settings_dir

    @settings_dir.setter
    def settings_dir(self, folder: Path | None) -> None:
        self.settings_bar.settings_dir = folder

    def _runner(self, on_success: Callable[[object], None], name: str) -> JobRunner:
        runner = JobRunner(self)
        runner.succeeded.connect(on_success)
        runner.failed.connect(lambda message, details: self.banner.show_message(message, "error", details))
        runner.finished.connect(lambda: self._on_runner_finished(name))
        return runner

    def combo_for(self, column: str) -> QComboBox:
        return self.table.combo_for(column)

    # -- project ------------------------------------------------------------------------------------------------
    def _on_project_changed(self, what: str) -> None:
        if what == "table":
            # Choices still waiting to be remembered belong to the table just closed.
            self.settings_bar.flush()
            self.insights, self.preview = None, None
            self.insights_runner.cancel()
            self.preview_runner.cancel()
            self.banner.clear()
        if what in ("table", "target"):
            # Another table's or target's rows and features must not stay on screen while the new ones are made.
            self.preview, self._preview_shown = None, None
            self.preview_view.clear()
        if what == "profiles":
            self.settings_bar.restore_remembered()
        if what in ("table", "profiles", "target"):
            self._insights_stale = True
            if self.isVisible():
                self._start_insights()
        if what == "prep":
            self.settings_bar.remember()
            self._schedule_preview()
        if what in ("prep", "target", "table", "profiles"):
            self._rebuild()

    def entered(self) -> None:
        if self._insights_stale:
            self._start_insights()
        self._schedule_preview()

    def hideEvent(self, event: QHideEvent) -> None:
        self.settings_bar.flush()  # leaving the page: the choices are remembered now, not after the delay
        super().hideEvent(event)

    def _rebuild(self) -> None:
        prep, target = self.project.prep, self.project.target
        columns = [c for c in prep.columns if c.name != target]
        profiles = {p.name: p for p in self.project.profiles}
        relations = self.insights.relations if self.insights else {}
        self.table.show_columns(columns, profiles, relations)
        self.duplicates_check.blockSignals(True)
        self.duplicates_check.setChecked(prep.drop_duplicates)
        duplicates = self.insights.duplicates if self.insights else None
        self.duplicates_check.setText("Remove duplicated rows from training"
                                      + (f" ({duplicates:,} found)" if duplicates is not None else ""))
        self.duplicates_check.blockSignals(False)
        findings = self.insights.findings if self.insights else ()
        self.findings.show_findings(findings, prep)
        open_count = self.findings.open_count(findings, prep)
        self.tabs.setTabText(1, f"Warnings ({open_count})" if open_count else "Warnings")
        self.formulas.show_prep(prep, target)
        if self.table.currentRow() < 0 and columns:
            self.table.selectRow(0)
        self._show_selected()
        self._update_summary(len(columns))

    def _show_selected(self) -> None:
        row = self.table.currentRow()
        names = self.table.names()
        column = self.project.prep.get(names[row]) if 0 <= row < len(names) else None
        name = column.name if column else ""
        self.form.show_column(column, self.project.profile_of(name),
                              self.insights.relations.get(name) if self.insights else None,
                              self.insights.outliers.get(name) if self.insights else None, self.project.target)

    def _update_summary(self, shown: int) -> None:
        prep, target = self.project.prep, self.project.target
        used = len(prep.features(target))
        left_out = shown - used
        features = f" The preview counts {self.preview.feature_count} features." if self.preview and \
            not self.preview.error else ""
        self.summary.setText(
            f"The model will learn from {used} of {shown} columns"
            + (f"; {left_out} left out (see why in the last column)." if left_out else ".")
            + (f" The target, {target}, is what it predicts." if target else "") + features)

    # -- choices ------------------------------------------------------------------------------------------------
    def _on_use_chosen(self, name: str, index: int) -> None:
        self.project.set_prep(with_use_choice(self.project.prep, name, index))

    def _on_form_column_changed(self, name: str, changes: dict) -> None:
        self.project.set_prep(self.project.prep.with_column(name, **changes))

    def _on_formula_added(self, name: str, formula: str) -> None:
        self.project.set_prep(self.project.prep.with_derived(name, formula))

    def _on_formula_removed(self, name: str) -> None:
        self.project.set_prep(self.project.prep.without(name))

    def _on_fix_requested(self, finding: Finding) -> None:
        self.project.set_prep(apply_fix(self.project.prep, finding))

    def _on_duplicates_toggled(self, on: bool) -> None:
        self.project.set_prep(PrepConfig(self.project.prep.columns, drop_duplicates=on))

    # -- background work ----------------------------------------------------------------------------------------
    def _start_insights(self) -> None:
        table, profiles = self.project.table, self.project.profiles
        if table is None or not profiles:
            return
        if self.insights_runner.is_running():
            self._rerun.add("insights")
            self.insights_runner.cancel()
            return
        self._insights_stale = False
        frame, target, task = table.frame, self.project.target, self.project.task
        self.insights_runner.start(lambda stop: insights_job(frame, profiles, target, task, stop))

    def _preview_key(self) -> PreviewKey | None:
        project = self.project
        if project.table is None or project.target is None or project.task is None:
            return None
        # The load count stands for the table: hashing a million rows on the GUI thread would freeze the window.
        return project.table_loads, project.target, project.task, project.prep

    def _schedule_preview(self) -> None:
        """Refit the preview soon, unless the one shown or being made is already of the current choices."""
        key = self._preview_key()
        being_made = key == self._preview_asked and self.preview_runner.is_running()
        if self.isVisible() and key is not None and key != self._preview_shown and not being_made:
            self._preview_timer.start()

    def _start_preview(self) -> None:
        key = self._preview_key()
        if key is None or key == self._preview_shown or self.project.table is None:
            return
        if self.preview_runner.is_running():
            if key != self._preview_asked:
                self._rerun.add("preview")
                self.preview_runner.cancel()
            return
        frame = self.project.table.frame
        _, target, task, prep = key
        self._preview_asked = key
        self.preview_runner.start(lambda stop: preview_job(frame, prep, target, task, stop))

    def _on_runner_finished(self, name: str) -> None:
        if name == "insights":
            self.status.clear()
        if name in self._rerun:
            self._rerun.discard(name)
            if name == "insights":
                self._start_insights()
            else:
                self._start_preview()

    def _on_insights_succeeded(self, insights: TableInsights) -> None:
        self.insights = insights
        self.missing_map.show_map(insights.missing_map, insights.missing_columns, insights.rows)
        self._rebuild()
        self.insights_ready.emit()

    def preview_is_current(self) -> bool:
        """True when the shown preview was made from the current choices."""
        return self.preview is not None and self._preview_shown == self._preview_key()

    def _on_preview_succeeded(self, preview: PrepPreview) -> None:
        if self._preview_asked != self._preview_key():
            # Made from choices changed since it started: never shown; the current choices get their own.
            self._schedule_preview()
            return
        self.preview = preview
        self._preview_shown = self._preview_asked
        self.preview_view.show_preview(preview)
        self._update_summary(len([c for c in self.project.prep.columns if c.name != self.project.target]))
        self.preview_ready.emit()

    def shutdown(self) -> None:
        self.settings_bar.flush()
        self._preview_timer.stop()
        self.insights_runner.stop()
        self.preview_runner.stop()
