"""Prepare step: understand each column, fix what the warnings point at, choose cleaning and features, and see the
result on sample rows before training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError
from studio.core.prep import PrepConfig, default_prep, load_prep, merge_prep, save_prep, with_use_choice
from studio.core.prep_files import check_formulas, forget_prep, recall_prep, remember_prep
from studio.core.prep_insights import Finding, TableInsights, apply_fix, insights_job
from studio.core.prep_preview import PrepPreview, preview_job
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header
from studio.ui.widgets.prep_column_form import ColumnForm
from studio.ui.widgets.prep_columns import ColumnsTable
from studio.ui.widgets.prep_formulas import FormulaEditor
from studio.ui.widgets.prep_missing_map import MissingMap
from studio.ui.widgets.prep_preview import PreviewView
from studio.ui.widgets.prep_warnings import FindingsList
from studio.workers.runner import JobRunner

FILE_FILTER = "Preparation settings (*.json);;All files (*)"
PREVIEW_DELAY_MS = 250
TABS = ("Columns", "Warnings", "Missing values", "New columns", "Preview")


class PrepPanel(Panel):
    step = Step.PREPARE
    insights_ready = Signal()
    preview_ready = Signal()

    def __init__(self, project: Project, settings_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.settings_dir = settings_dir
        self.insights: TableInsights | None = None
        self.preview: PrepPreview | None = None
        self._insights_stale = True
        self._rerun: set[str] = set()
        self._preview_asked: tuple = ()
        self._preview_shown: tuple = ()
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
        self.save_button = QPushButton("Save settings…")
        self.save_button.setToolTip("Save these choices to a file, e.g. for `studio train --prep FILE.json`.")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.load_button = QPushButton("Load settings…")
        self.load_button.clicked.connect(self._on_load_clicked)
        self.reset_button = QPushButton("Studio's defaults")
        self.reset_button.setToolTip("Forget your choices for this table and use what Studio proposes.")
        self.reset_button.clicked.connect(self._on_reset_clicked)

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
        for button in (self.reset_button, self.load_button, self.save_button):
            toolbar.addWidget(button)
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
            self.insights, self.preview = None, None
            self.insights_runner.cancel()
            self.preview_runner.cancel()
            self.banner.clear()
        if what == "profiles":
            self._restore_remembered()
        if what in ("table", "profiles", "target"):
            self._insights_stale = True
            if self.isVisible():
                self._start_insights()
        if what == "prep":
            self._remember()
            self._schedule_preview()
        if what in ("prep", "target", "table", "profiles"):
            self._rebuild()

    def entered(self) -> None:
        if self._insights_stale:
            self._start_insights()
        self._schedule_preview()

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
        self.formulas.show_prep(prep)
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

    def _on_reset_clicked(self) -> None:
        self.project.set_prep(default_prep(self.project.profiles))
        self.banner.clear()

    def _on_save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save preparation settings", "prep.json", FILE_FILTER)
        if path:
            try:
                save_prep(path, self.project.prep)
            except OSError as exc:
                self.banner.show_message(f"Could not save {Path(path).name}: {exc.strerror or exc}.", "error")
                return
            self.banner.show_message(f"Saved to {path}. Train from the command line with "
                                     f"studio train DATA --target {self.project.target} --prep {path} …", "success")

    def _on_load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load preparation settings", "", FILE_FILTER)
        if not path:
            return
        try:
            prep = merge_prep(load_prep(path), self.project.profiles)
            check_formulas(prep)
        except StudioError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.project.set_prep(prep)
        self.banner.show_message(f"Loaded the settings from {Path(path).name}.", "success")

    # -- remembered per dataset ---------------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        return [p.name for p in self.project.profiles]

    def _restore_remembered(self) -> None:
        if self.settings_dir is None or not self.project.profiles:
            return
        restored = recall_prep(self.settings_dir, self.project.profiles)
        if restored is not None and restored != self.project.prep:
            self.project.set_prep(restored)
            self.banner.show_message("Your earlier choices for a table with these columns are back. "
                                     "'Studio's defaults' starts afresh.", "info")

    def _remember(self) -> None:
        if self.settings_dir is None or not self.project.profiles:
            return
        try:
            if self.project.prep == default_prep(self.project.profiles):
                forget_prep(self.settings_dir, self._columns())
            else:
                remember_prep(self.settings_dir, self._columns(), self.project.prep)
        except OSError:
            pass  # remembering is a convenience; a read-only settings folder must not break the page

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

    def _schedule_preview(self) -> None:
        if self.isVisible():
            self._preview_timer.start()

    def _start_preview(self) -> None:
        project = self.project
        if project.table is None or project.target is None or project.task is None:
            return
        if self.preview_runner.is_running():
            self._rerun.add("preview")
            self.preview_runner.cancel()
            return
        frame, prep, target, task = project.table.frame, project.prep, project.target, project.task
        self._preview_asked = (prep, target)
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
        return self.preview is not None and self._preview_shown == (self.project.prep, self.project.target)

    def _on_preview_succeeded(self, preview: PrepPreview) -> None:
        self.preview = preview
        self._preview_shown = self._preview_asked
        self.preview_view.show_preview(preview)
        self._update_summary(len([c for c in self.project.prep.columns if c.name != self.project.target]))
        self.preview_ready.emit()

    def shutdown(self) -> None:
        self._preview_timer.stop()
        self.insights_runner.stop()
        self.preview_runner.stop()
