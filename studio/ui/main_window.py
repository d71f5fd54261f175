"""The main window only assembles the panels and moves between them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QMainWindow, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

import studio
import studio.ui.panels.image_data_panel  # registers the Data page for pictures
from studio.core.data.kinds import DataKind
from studio.core.project import WIZARD_STEPS, Project, Step, problems
from studio.core.store.settings import Settings
from studio.ui.panels import image_prep_panel  # noqa: F401 - registers the Prepare page for pictures
from studio.ui.panels.base import Panel
from studio.ui.panels.data_panel import DataPanel
from studio.ui.panels.export_panel import ExportPanel
from studio.ui.panels.kinds import kind_pages, page_factory
from studio.ui.panels.model_panel import ModelPanel
from studio.ui.panels.predict_panel import PredictPanel
from studio.ui.panels.prep_panel import PrepPanel
from studio.ui.panels.results_panel import ResultsPanel
from studio.ui.panels.runs_panel import RunsPanel
from studio.ui.panels.split_panel import SplitPanel
from studio.ui.panels.train_panel import TrainPanel
from studio.ui.widgets.common import MessageBanner
from studio.ui.widgets.unstored_runs import CloseGuard
from studio.ui.wizard import NavBar, StepSidebar
from studio.workers.pending_runs import PendingRunsRetry
from studio.workers.store_writer import STOP_WAIT_S, BackgroundStoreWriter


def opening_size() -> QSize:
    """1180 × 780, or at most 90% of the screen's free area on a smaller screen (a 1366 × 768 laptop), so the
    window's buttons are never below the screen's edge."""
    wanted = QSize(1180, 780)
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return wanted
    free = screen.availableGeometry()
    return QSize(min(wanted.width(), int(free.width() * 0.9)), min(wanted.height(), int(free.height() * 0.9)))


class PageStack(QStackedWidget):
    """The wizard's pages, each in its own scroll area: a page taller or wider than a small screen scrolls
    instead of making the whole window larger than the screen (the stack is as large as its largest page)."""

    def __init__(self) -> None:
        super().__init__()
        self._holders: dict[QWidget, QScrollArea] = {}

    def addWidget(self, page: QWidget) -> int:
        holder = QScrollArea()
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no blind Tab stop; it scrolls to the focused widget anyway
        holder.setWidget(page)
        self._holders[page] = holder
        return super().addWidget(holder)

    def setCurrentWidget(self, page: QWidget) -> None:
        super().setCurrentWidget(self._holders.get(page, page))

    def currentWidget(self) -> QWidget:
        holder = super().currentWidget()
        return holder.widget() if isinstance(holder, QScrollArea) and holder in self._holders.values() else holder

    def indexOf(self, page: QWidget) -> int:
        return super().indexOf(self._holders.get(page, page))


class MainWindow(QMainWindow):
    def __init__(self, project: Project, settings: Settings, save_settings: Callable[[], None]) -> None:
        super().__init__()
        self.project = project
        self.setWindowTitle(f"Studio {studio.__version__}")
        self.resize(opening_size())
        # Run-history writes go to a background thread, so a locked or slow history never stalls the window.
        self.store_writer = BackgroundStoreWriter(self)
        project.store_writer = self.store_writer
        # Runs kept aside while the history was locked are added as soon as it is free.
        self.pending_runs = PendingRunsRetry(project, self)
        self.data_panel = DataPanel(project, settings, save_settings)
        self.prep_panel = PrepPanel(project)
        self.split_panel = SplitPanel(project)
        self.model_panel = ModelPanel(project)
        self.train_panel = TrainPanel(project)
        self.results_panel = ResultsPanel(project)
        self.export_panel = ExportPanel(project)
        self.predict_panel = PredictPanel(project)
        self.runs_panel = RunsPanel(project, settings, save_settings)
        self.panels: dict[Step, Panel] = {p.step: p for p in (
            self.data_panel, self.prep_panel, self.split_panel, self.model_panel, self.train_panel,
            self.results_panel, self.export_panel, self.predict_panel, self.runs_panel)}
        self.kind_pages: dict[tuple[DataKind, Step], Panel] = {}
        self.stack = PageStack()
        for panel in self.panels.values():
            self.stack.addWidget(panel)
        self.sidebar = StepSidebar()
        self.sidebar.step_chosen.connect(self._on_sidebar_step_chosen)
        self.nav = NavBar()
        self.nav.back_clicked.connect(self.go_back)
        self.nav.next_clicked.connect(self.go_next)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: #ddd;")
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        page_margin = QWidget()
        page_layout = QVBoxLayout(page_margin)
        page_layout.setContentsMargins(18, 14, 18, 6)
        # Where the last-resort handler (studio.ui.last_resort) says that something unexpected went wrong.
        self.problem_banner = MessageBanner()
        self.problem_banner.label.setTextFormat(Qt.TextFormat.PlainText)
        page_layout.addWidget(self.problem_banner)
        # Closing while runs are not stored yet asks first (and may save them to another file before closing).
        self.close_guard = CloseGuard(self, project, self.pending_runs, self.store_writer, self.problem_banner)
        self._shut_down = False
        page_layout.addWidget(self.stack)
        right.addWidget(page_margin, 1)
        right.addWidget(line)
        right.addWidget(self.nav)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addLayout(right, 1)
        self.setCentralWidget(central)
        self.export_panel.use_requested.connect(self._on_export_use_requested)
        self.prep_panel.continue_requested.connect(self.go_next)
        self.train_panel.results_requested.connect(self._on_train_results_requested)
        self.runs_panel.rerun_requested.connect(self._on_runs_rerun_requested)
        QShortcut(QKeySequence.StandardKey.Open, self, activated=self.data_panel._on_open_clicked)
        project.subscribe(self._on_project_changed)
        self.current_step = Step.DATA
        self.go_to(Step.DATA)

    # -- navigation -----------------------------------------------------------------------------------------
    def can_enter(self, step: Step) -> bool:
        if step is Step.DATA or step not in WIZARD_STEPS:  # the side pages (Predict, Runs) are always open
            return True
        previous = WIZARD_STEPS[WIZARD_STEPS.index(step) - 1]
        return not problems(self.project, previous)

    def go_to(self, step: Step) -> bool:
        if not self.can_enter(step):
            self.sidebar.show_step(self.current_step)
            return False
        self.current_step = step
        self.problem_banner.clear()  # said once: another page is another action
        page = self.page(step)
        self.stack.setCurrentWidget(page)
        self.sidebar.show_step(step)
        page.entered()
        self._update_nav()
        return True

    def page(self, step: Step) -> Panel:
        """The page shown for ``step``: the one the data's kind brings (made when first needed), else the
        table page."""
        kind = self.project.data_kind
        factory = page_factory(kind, step)
        if factory is None:
            return self.panels[step]
        if (kind, step) not in self.kind_pages:
            page = self.kind_pages[(kind, step)] = factory(self.project)
            self.stack.addWidget(page)
        return self.kind_pages[(kind, step)]

    def make_kind_pages_when_idle(self) -> None:
        """Make the other kinds' pages ahead of need, one per event-loop turn once the window is idle: made
        when a folder of pictures first opens, the pictures' Data page alone held the window up for 80 ms."""
        missing = [key for key in kind_pages() if key not in self.kind_pages]
        if not missing:
            return
        kind, step = missing[0]
        factory = page_factory(kind, step)
        assert factory is not None
        page = self.kind_pages[(kind, step)] = factory(self.project)
        self.stack.addWidget(page)
        QTimer.singleShot(0, self, self.make_kind_pages_when_idle)

    def go_next(self) -> bool:
        if self.current_step not in WIZARD_STEPS or self.current_step is WIZARD_STEPS[-1]:
            return False
        return self.go_to(WIZARD_STEPS[WIZARD_STEPS.index(self.current_step) + 1])

    def go_back(self) -> bool:
        if self.current_step not in WIZARD_STEPS:
            return self.go_to(Step.EXPORT if self.can_enter(Step.EXPORT) else Step.DATA)
        index = WIZARD_STEPS.index(self.current_step)
        return self.go_to(WIZARD_STEPS[index - 1]) if index > 0 else False

    def _on_sidebar_step_chosen(self, value: str) -> None:
        self.go_to(Step(value))

    def _on_export_use_requested(self, path: str) -> None:
        self.go_to(Step.PREDICT)
        self.predict_panel.open_model(path)

    def _on_train_results_requested(self) -> None:
        self.go_to(Step.RESULTS)

    def _on_runs_rerun_requested(self) -> None:
        if self.go_to(Step.TRAIN):
            self.train_panel.start()

    def _on_project_changed(self, what: str) -> None:
        self._update_nav()
        if what == "table" and self._page_changes_with_kind():
            # New data of another kind (a folder opened from the table page, or a table from the pictures'):
            # that kind's page takes over, on the next turn of the event loop, after the other pages have seen
            # the new data; a later step it cannot enter yet falls back to Data.
            QTimer.singleShot(0, self, self._show_page_of_kind)

    def _page_changes_with_kind(self) -> bool:
        """Whether the data's kind shows another page for the current step, without making that page: making it
        is the next event-loop turn's work, so one turn never holds the window up for both."""
        kind, step = self.project.data_kind, self.current_step
        wanted = self.kind_pages.get((kind, step)) if page_factory(kind, step) is not None else self.panels[step]
        return wanted is None or self.stack.currentWidget() is not wanted

    def _show_page_of_kind(self) -> None:
        if self.stack.currentWidget() is not self.page(self.current_step) and not self.go_to(self.current_step):
            self.go_to(Step.DATA)

    def _update_nav(self) -> None:
        for step in Step:
            self.sidebar.set_reachable(step, self.can_enter(step) or step is self.current_step)
        step = self.current_step
        found = problems(self.project, step)
        in_wizard = step in WIZARD_STEPS
        has_next = in_wizard and step is not WIZARD_STEPS[-1]
        can_back = step is not Step.DATA
        self.nav.update_state(can_back, not found, has_next, found[0] if found and has_next else "")

    def show_unexpected(self, sentence: str, details: str) -> None:
        """The last-resort handler's sentence, above the page (the details in its tooltip)."""
        self.problem_banner.show_message(sentence, "error", details)

    # -- closing ----------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop and join every background job (on close and in test teardown)."""
        self._shut_down = True
        self.close_guard.shutdown()
        for panel in [*self.panels.values(), *self.kind_pages.values()]:
            panel.shutdown()
        self.pending_runs.timer.stop()  # before the writer stops: a last try would then block the closing window
        # Not joined for long when the person chose to close without the write that waits on a locked history.
        self.store_writer.stop(0.5 if self.close_guard.abandon_writes else STOP_WAIT_S)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Once shut down (test teardown, or closed already) there is nothing left to ask about.
        if not self._shut_down and not self.close_guard.allows_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)
