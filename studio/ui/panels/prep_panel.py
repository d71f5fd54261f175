"""Prepare step: what will be done with each column, with the reason when a column is left out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from studio.core.prep import ColumnPrep, Treatment
from studio.core.project import Project, Step
from studio.ui.panels.base import Panel
from studio.ui.widgets.common import page_header

HEADERS = ("Column", "Holds", "Missing", "Use it as", "What Studio will do")
TREATMENTS = tuple(Treatment)


class PrepPanel(Panel):
    step = Step.PREPARE

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(project, parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(page_header(
            "Prepare", "Studio fills in missing values, puts numbers on a common scale and turns categories into "
            "columns the model can use. It learns how from the training rows only, and the saved model repeats "
            "the same steps on new data. Change how a column is used with its drop-down."))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def combo_for(self, column: str) -> QComboBox:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == column:
                widget = self.table.cellWidget(row, 3)
                assert isinstance(widget, QComboBox)
                return widget
        raise KeyError(column)

    def _on_project_changed(self, what: str) -> None:
        if what in ("prep", "target", "table"):
            self._rebuild()

    def _rebuild(self) -> None:
        prep, target = self.project.prep, self.project.target
        columns = [c for c in prep.columns if c.name != target]
        shown = [self.table.item(r, 0).text() for r in range(self.table.rowCount())]
        if shown == [c.name for c in columns]:
            # Same columns: update in place, so a drop-down is never destroyed inside its own signal.
            for row, column in enumerate(columns):
                combo = self.table.cellWidget(row, 3)
                assert isinstance(combo, QComboBox)
                combo.blockSignals(True)
                combo.setCurrentIndex(TREATMENTS.index(column.treatment))
                combo.blockSignals(False)
                self._set_description(row, column)
            self._update_summary(columns)
            return
        self.table.clearContents()
        self.table.setRowCount(0)
        self.table.setRowCount(len(columns))
        for row, column in enumerate(columns):
            profile = self.project.profile_of(column.name)
            self.table.setItem(row, 0, QTableWidgetItem(column.name))
            self.table.setItem(row, 1, QTableWidgetItem(column.kind.label))
            missing = QTableWidgetItem(f"{profile.missing_share:.0%}" if profile and profile.missing else "none")
            missing.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 2, missing)
            combo = QComboBox()
            for treatment in TREATMENTS:
                combo.addItem(treatment.label, treatment.value)
            combo.setCurrentIndex(TREATMENTS.index(column.treatment))
            combo.currentIndexChanged.connect(
                lambda index, name=column.name: self._on_treatment_changed(name, index))
            self.table.setCellWidget(row, 3, combo)
            self._set_description(row, column)
        self._update_summary(columns)

    def _set_description(self, row: int, column: ColumnPrep) -> None:
        item = QTableWidgetItem(column.describe())
        if column.treatment is Treatment.EXCLUDE:
            item.setForeground(Qt.GlobalColor.darkGray)
        item.setToolTip(column.describe())
        self.table.setItem(row, 4, item)

    def _update_summary(self, columns: list[ColumnPrep]) -> None:
        prep, target = self.project.prep, self.project.target
        used = len(prep.features(target))
        left_out = len(columns) - used
        self.summary.setText(
            f"The model will learn from {used} of {len(columns)} columns"
            + (f"; {left_out} left out (see why in the last column)." if left_out else ".")
            + (f" The target, {target}, is what it predicts." if target else ""))

    def _on_treatment_changed(self, name: str, index: int) -> None:
        self.project.set_prep(self.project.prep.with_treatment(name, TREATMENTS[index]))
