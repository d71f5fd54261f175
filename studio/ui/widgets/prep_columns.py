"""The list of columns on the Prepare step: what each holds and how it will be used, one drop-down per column."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from studio.core.data.profile import ColumnProfile
from studio.core.prep.config import USE_CHOICES, ColumnPrep, use_choice_index
from studio.core.prep.insights import Relation
from studio.ui.widgets.common import plain_tooltip

HEADERS = ("Column", "Holds", "Use it as", "Missing", "Values", "Link to the target", "What Studio will do")
USE_COLUMN, DESCRIPTION_COLUMN, RELATION_COLUMN = 2, 6, 5
# What Studio will do keeps at least this much room (its tooltip holds the whole text); long column names give
# way first, down to the second width, elided with their own tooltip.
MIN_DESCRIPTION_PX = 190
MIN_NAME_PX = 90


class ColumnsTable(QTableWidget):
    """Rows are updated in place when the columns stay the same, so a drop-down is never destroyed inside its own
    signal."""

    def __init__(self, on_use_chosen: Callable[[str, int], None], parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self._on_use_chosen = on_use_chosen
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(30)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        # Columns are fitted to the width (see _fit_columns); a scroll bar only where even that cannot be done.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._content_widths: list[int] = []

    def names(self) -> list[str]:
        return [self.item(r, 0).text() for r in range(self.rowCount())]

    def combo_for(self, name: str) -> QComboBox:
        widget = self.cellWidget(self.names().index(name), USE_COLUMN)
        assert isinstance(widget, QComboBox)
        return widget

    def show_columns(self, columns: list[ColumnPrep], profiles: dict[str, ColumnProfile],
                     relations: dict[str, Relation], target: str | None = None) -> None:
        relation_header = f"Link to {target}" if target else HEADERS[RELATION_COLUMN]
        if self.horizontalHeaderItem(RELATION_COLUMN).text() != relation_header:
            self.setHorizontalHeaderItem(RELATION_COLUMN, QTableWidgetItem(relation_header))
        if self.names() != [c.name for c in columns]:
            self.clearContents()
            self.setRowCount(len(columns))
            for row, column in enumerate(columns):
                name = QTableWidgetItem(column.name)
                name.setToolTip(plain_tooltip(column.name))
                self.setItem(row, 0, name)
                combo = QComboBox()
                for label, _, _ in USE_CHOICES:
                    combo.addItem(label)
                combo.currentIndexChanged.connect(lambda index, name=column.name: self._on_use_chosen(name, index))
                self.setCellWidget(row, USE_COLUMN, combo)
        for row, column in enumerate(columns):
            self._fill_row(row, column, profiles.get(column.name), relations.get(column.name))
        # Measured once per change (asking every cell is slow on a wide table); a resize only shares them out.
        for index in range(DESCRIPTION_COLUMN):
            self.resizeColumnToContents(index)
        self._content_widths = [self.columnWidth(index) for index in range(DESCRIPTION_COLUMN)]
        self._fit_columns()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """The description stretches into the room left, never pushed out of sight by long column names."""
        if not self._content_widths:
            return
        others = sum(self._content_widths[1:])
        room = self.viewport().width() - others - MIN_DESCRIPTION_PX
        self.setColumnWidth(0, min(self._content_widths[0], max(MIN_NAME_PX, room)))

    def _fill_row(self, row: int, column: ColumnPrep, profile: ColumnProfile | None, related: Relation | None) -> None:
        combo = self.cellWidget(row, USE_COLUMN)
        assert isinstance(combo, QComboBox)
        combo.blockSignals(True)
        combo.setCurrentIndex(use_choice_index(column))
        combo.blockSignals(False)
        holds = "Formula" if column.formula else (profile.kind.label if profile else column.kind.label)
        self._set(row, 1, holds)
        missing = f"{profile.missing_share:.0%}" if profile and profile.missing else "none"
        if profile and profile.missing and profile.missing_share < 0.005:
            missing = "<1%"
        self._set(row, 3, missing if profile else "", right=True)
        self._set(row, 4, f"{profile.distinct:,}" if profile else "", right=True)
        self._set(row, RELATION_COLUMN, _relation_text(related), tooltip=related.summary if related else "")
        description = column.describe()
        self._set(row, DESCRIPTION_COLUMN, description, tooltip=description, grey=not column.used)

    def _set(self, row: int, col: int, text: str, right: bool = False, tooltip: str = "", grey: bool = False) -> None:
        item = QTableWidgetItem(text)
        if right:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if tooltip:
            item.setToolTip(plain_tooltip(tooltip))
        if grey:
            item.setForeground(Qt.GlobalColor.darkGray)
        self.setItem(row, col, item)


def _relation_text(related: Relation | None) -> str:
    if related is None or related.strength != related.strength:
        return "—"
    blocks = round(related.strength * 5)
    return f"{'■' * blocks}{'□' * (5 - blocks)} {related.word}"
