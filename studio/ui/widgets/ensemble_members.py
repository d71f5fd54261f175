"""The Model step's read-only view of an ensemble: its members, how many votes each has, and their settings.

The members are chosen by the automatic search, so they are shown, not edited; picking another model in the list
replaces the ensemble.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.common.errors import StudioError
from studio.core.models.ensemble_spec import describe_members, member_lines, parse_members
from studio.core.models.params import ParamValue

HEADERS = ("Model", "Votes", "Settings")


class EnsembleMembersWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setObjectName("ensembleSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("ensembleMembers")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.note = QLabel("The automatic search chose these members from its best trials; they are trained "
                           "together and their answers averaged, each counting as many times as its votes. To change "
                           "them, run the search again; to use one model instead, pick it in the list.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def show_members(self, params: dict[str, ParamValue]) -> None:
        try:
            members = parse_members(params.get("members"))
            lines = member_lines(members)
        except StudioError as exc:
            self.summary.setText(f"This ensemble's members cannot be read: {exc}")
            self.summary.setStyleSheet("color: #b3261e;")
            self.table.setRowCount(0)
            return
        self.summary.setStyleSheet("")
        words = describe_members(members)
        self.summary.setText(words[:1].upper() + words[1:] + ".")
        self.table.setRowCount(len(lines))
        for row, (label, weight, described) in enumerate(lines):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            self.table.setItem(row, 1, QTableWidgetItem(str(weight)))
            item = QTableWidgetItem(described)
            item.setToolTip(described)
            self.table.setItem(row, 2, item)
        self.table.resizeRowsToContents()
        # As tall as its rows: a few members, not a half-empty box.
        height = self.table.horizontalHeader().height() + 2 * self.table.frameWidth() + sum(
            self.table.rowHeight(row) for row in range(self.table.rowCount()))
        self.table.setFixedHeight(height)

    def members_shown(self) -> list[tuple[str, str, str]]:
        """(model, votes, settings) per row, as the table shows them."""
        return [tuple(self.table.item(row, column).text() for column in range(len(HEADERS)))  # type: ignore[misc]
                for row in range(self.table.rowCount())]
