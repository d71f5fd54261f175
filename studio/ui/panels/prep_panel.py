"""Prepare step: what Studio will do with the columns, said in a few sentences, with "Looks good, continue"; and,
folded away until asked for ("Customise…"), the workbench: each column up close, warnings with their fixes, gaps,
new columns from formulas, and the result on sample rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core.data.target import Task
from studio.core.prep.config import PrepConfig, default_prep, with_use_choice
from studio.core.prep.insights import Finding, TableInsights, apply_fix, insights_job
from studio.core.prep.preview import PrepPreview, preview_job
from studio.core.prep.summary import summarise
from studio.core.project import Project, Step, problems
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import MessageBanner, page_header
from studio.ui.widgets.prep_summary import PrepSummaryCard, next_step_words
from studio.ui.widgets.prep_workbench import TABS, PrepWorkbench
from studio.workers.runner import JobRunner

PREVIEW_DELAY_MS = 250

# What a preview depends on: the table (by its load count), the target, the task and the preparation.
PreviewKey = tuple[int, str, Task, PrepConfig]


class PrepPanel(Panel):
    step = Step.PREPARE
    insights_ready = Signal()
    preview_ready = Signal()
    continue_requested = Signal()  # "Looks good, continue": the window moves on, as Next does

    def __init__(self, project: Project, settings_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.insights: TableInsights | None = None
        self.preview: PrepPreview | None = None
        self._insights_stale = True
        self._rebuild_stale = False
        self._rerun: set[str] = set()
        self._preview_asked: PreviewKey | None = None
        self._preview_shown: PreviewKey | None = None
        # The datasets (by their column names) whose workbench was opened: it stays open for them.
        self._customised: set[tuple[str, ...]] = set()
        self.insights_runner = self._runner(self._on_insights_succeeded, "insights")
        self.insights_runner.progressed.connect(
            lambda item: self.status.setText(f"{item.stage}… {item.message}"))
        self.preview_runner = self._runner(self._on_preview_succeeded, "preview")
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._start_preview)

        self.banner = MessageBanner()
        self.card = PrepSummaryCard()
        self.card.continue_clicked.connect(self.continue_requested)
        self.card.customise_clicked.connect(lambda: self.open_workbench())
        self.card.warnings_clicked.connect(lambda: self.open_workbench(TABS.index("Warnings")))
        self.status, self.summary = self.card.status, self.card.text
        self.continue_button, self.customise_button = self.card.continue_button, self.card.customise_button
        bench = self.workbench = PrepWorkbench(project, self.banner, self._on_use_chosen)
        self.table, self.form, self.findings, self.tabs = bench.table, bench.form, bench.findings, bench.tabs
        self.missing_map, self.formulas, self.preview_view = bench.missing_map, bench.formulas, bench.preview_view
        self.duplicates_check, self.settings_bar = bench.duplicates_check, bench.settings_bar
        self.settings_bar.settings_dir = settings_dir
        bar = self.settings_bar
        self.save_button, self.load_button, self.reset_button = bar.save_button, bar.load_button, bar.reset_button
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.form.column_changed.connect(self._on_form_column_changed)
        self.findings.fix_requested.connect(self._on_fix_requested)
        self.formulas.added.connect(self._on_formula_added)
        self.formulas.removed.connect(self._on_formula_removed)
        self.duplicates_check.toggled.connect(self._on_duplicates_toggled)
        self.tabs.currentChanged.connect(lambda _i: self._schedule_preview())
        self.workbench.hide()
        header = page_header("Prepare", "")
        self.next_hint = header.findChildren(QLabel)[1]  # the header's second line says what to do next
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.card)
        layout.addWidget(self.workbench, 1)
        layout.addStretch(0)  # keeps the card at the top while the workbench is folded away

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

    # -- summary and workbench ----------------------------------------------------------------------------------
    def _dataset(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.project.profiles)

    def open_workbench(self, tab: int | None = None) -> None:
        """Show the tabs below the summary (and ``tab``, if given); they stay open for this dataset."""
        self._customised.add(self._dataset())
        self._show_workbench(True)
        if tab is not None:
            self.tabs.setCurrentIndex(tab)
        holder = self.parentWidget()
        while holder is not None and not isinstance(holder, QScrollArea):
            holder = holder.parentWidget()
        if holder is not None:  # a small screen scrolls the page: once laid out, the card at the top, tabs below
            bar = holder.verticalScrollBar()
            QTimer.singleShot(0, self, lambda: bar.setValue(self.card.y()))

    def _show_workbench(self, shown: bool) -> None:
        self.workbench.setVisible(shown)
        self.customise_button.setVisible(not shown)
        self.card.set_compact(shown)

    def _update_summary(self) -> None:
        project = self.project
        preview = self.preview if self.preview_is_current() and self.preview and not self.preview.error else None
        self.card.show_summary(summarise(project.prep, project.target, project.profiles),
                               self.insights.relations if self.insights else {},
                               preview.feature_count if preview else None)
        findings = self.insights.findings if self.insights else ()
        self.card.show_findings(findings, project.prep)
        found = problems(project, self.step)
        self.continue_button.setEnabled(not found)
        self.next_hint.setText(next_step_words(found[0] if found else "",
                                               self.findings.open_count(findings, project.prep),
                                               not self.workbench.isHidden()))

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
            if self.isVisible():
                self._rebuild()
            else:
                # Rebuilding the columns table and chart took 60-100 ms on the Data page's every change (a new
                # table, its profiles, the target); a hidden page does it once, when shown.
                self._rebuild_stale = True

    def entered(self) -> None:
        if self._rebuild_stale:
            self._rebuild_stale = False
            self._rebuild()
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
        self.table.show_columns(columns, profiles, relations, target)
        self.duplicates_check.blockSignals(True)
        self.duplicates_check.setChecked(prep.drop_duplicates)
        duplicates = self.insights.duplicates if self.insights else None
        self.duplicates_check.setText("Remove duplicated rows from training"
                                      + (f" ({duplicates:,} found)" if duplicates is not None else ""))
        self.duplicates_check.blockSignals(False)
        if prep != default_prep(self.project.profiles):
            # Choices of the person's own (made here, remembered, or loaded from a file): show them.
            self._customised.add(self._dataset())
        self._show_workbench(self._dataset() in self._customised)
        findings = self.insights.findings if self.insights else ()
        self.findings.show_findings(findings, prep)
        open_count = self.findings.open_count(findings, prep)
        self.tabs.setTabText(1, f"Warnings ({open_count})" if open_count else "Warnings")
        self.formulas.show_prep(prep, target)
        if self.table.currentRow() < 0 and columns:
            self.table.selectRow(0)
        self._show_selected()
        self._update_summary()

    def _show_selected(self) -> None:
        row = self.table.currentRow()
        names = self.table.names()
        column = self.project.prep.get(names[row]) if 0 <= row < len(names) else None
        name = column.name if column else ""
        self.form.show_column(column, self.project.profile_of(name),
                              self.insights.relations.get(name) if self.insights else None,
                              self.insights.outliers.get(name) if self.insights else None, self.project.target)

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
        self._update_summary()
        self.preview_ready.emit()

    def shutdown(self) -> None:
        self.settings_bar.flush()
        self._preview_timer.stop()
        self.insights_runner.stop()
        self.preview_runner.stop()
