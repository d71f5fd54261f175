"""Before and after on sample rows, with how many columns the model learns from and which of yours each comes
from."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.prep.preview import PrepPreview
from studio.ui.widgets.common import section_label
from studio.ui.widgets.table_model import DataFrameTableModel

SIZE_TO_CONTENTS_COLUMNS = 24
WIDE_COLUMN_PX = 130
EXPANDED_FEATURES = 40
WAITING = "The preview appears once the data has been looked at."


class PreviewView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel(WAITING)
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-weight: 600;")
        self.before_model = DataFrameTableModel(parent=self)
        self.after_model = DataFrameTableModel(parent=self)
        self.before = _table(self.before_model)
        self.after = _table(self.after_model)
        self.sources = QTreeWidget()
        self.sources.setHeaderLabels(["Your column", "Columns the model learns from"])
        self.sources.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        tables = QWidget()
        tables_layout = QVBoxLayout(tables)
        tables_layout.setContentsMargins(0, 0, 0, 0)
        tables_layout.addWidget(section_label("Before: the first rows as loaded"))
        tables_layout.addWidget(self.before, 1)
        tables_layout.addWidget(section_label("After: what the model sees for the same rows"))
        tables_layout.addWidget(self.after, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(tables)
        splitter.addWidget(self.sources)
        splitter.setSizes([640, 280])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(splitter, 1)

    def show_preview(self, preview: PrepPreview) -> None:
        if preview.error:
            self.headline.setText(preview.error)
            self.headline.setStyleSheet("font-weight: 600; color: #8a1c12;")
        else:
            self.headline.setStyleSheet("font-weight: 600;")
            removal = preview.removal.describe()
            self.headline.setText(
                f"The model learns from {preview.feature_count} columns, made from {len(preview.sources)} of yours. "
                + (removal.replace("Training rows removed", "Rows that will be left out of training") + " "
                   if removal else "")
                + f"(Preview fitted on {preview.fitted_rows:,} rows.)")
        self.before_model.set_frame(preview.before)
        self.after_model.set_frame(preview.after)
        for view, frame in ((self.before, preview.before), (self.after, preview.after)):
            if frame.shape[1] <= SIZE_TO_CONTENTS_COLUMNS:
                view.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
            else:
                # Sizing many columns to their contents asks the model for thousands of cells on the GUI thread.
                view.horizontalHeader().setDefaultSectionSize(WIDE_COLUMN_PX)
        self.sources.clear()
        for column, features in preview.sources:
            item = QTreeWidgetItem([column, f"{len(features)} column{'s' if len(features) != 1 else ''}"])
            for feature in features:
                item.addChild(QTreeWidgetItem(["", feature]))
            self.sources.addTopLevelItem(item)
        if preview.feature_count <= EXPANDED_FEATURES:
            self.sources.expandAll()


    def clear(self) -> None:
        """Back to the empty view, until the preview of the current table and target arrives."""
        self.headline.setText(WAITING)
        self.headline.setStyleSheet("font-weight: 600;")
        self.before_model.set_frame(pd.DataFrame())
        self.after_model.set_frame(pd.DataFrame())
        self.sources.clear()


def _table(model: DataFrameTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setDefaultSectionSize(22)
    return view
