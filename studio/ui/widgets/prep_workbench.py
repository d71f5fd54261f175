"""The Prepare step's workbench, folded away under the summary until "Customise…": the columns with their
drop-downs and the selected one up close, warnings, the missing-value map, new columns, and the preview; above the
tabs, duplicated rows and the settings buttons. The page wires its signals; this only lays the pieces out."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSplitter, QTabWidget, QVBoxLayout, QWidget

from studio.core.project import Project
from studio.ui.widgets.common import MessageBanner
from studio.ui.widgets.prep_column_form import ColumnForm
from studio.ui.widgets.prep_columns import ColumnsTable
from studio.ui.widgets.prep_formulas import FormulaEditor
from studio.ui.widgets.prep_missing_map import MissingMap
from studio.ui.widgets.prep_preview import PreviewView
from studio.ui.widgets.prep_settings_bar import PrepSettingsBar
from studio.ui.widgets.prep_warnings import FindingsList

TABS = ("Columns", "Warnings", "Missing values", "New columns", "Preview")


class PrepWorkbench(QWidget):
    def __init__(self, project: Project, banner: MessageBanner, on_use_chosen: Callable[[str, int], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Studio learns every step from the training rows only, and the saved model repeats them "
                        "on new data.")
        self.table = ColumnsTable(on_use_chosen)
        self.form = ColumnForm()
        self.findings = FindingsList()
        self.missing_map = MissingMap()
        self.formulas = FormulaEditor()
        self.preview_view = PreviewView()
        self.duplicates_check = QCheckBox("Remove duplicated rows from training")
        self.settings_bar = PrepSettingsBar(project, banner)
        columns_page = QSplitter(Qt.Orientation.Vertical)
        columns_page.addWidget(self.table)
        columns_page.addWidget(self.form)
        columns_page.setSizes([230, 290])
        columns_page.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        for widget, title in zip((columns_page, self.findings, self.missing_map, self.formulas, self.preview_view),
                                 TABS, strict=True):
            self.tabs.addTab(widget, title)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.duplicates_check, 1)
        toolbar.addWidget(self.settings_bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(toolbar)
        layout.addWidget(self.tabs, 1)
