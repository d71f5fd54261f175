"""Virtual Qt table models over pandas data: cells are formatted on demand, never stored as items."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from studio.core.data.profile import ColumnProfile

MISSING_TEXT = "missing"
_MISSING_COLOR = QColor("#b0b0b0")

Index = QModelIndex | QPersistentModelIndex


def format_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.4e}"
    return str(value)


_TEXT_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
# Rows of a pyarrow-backed column (text, in pandas 3) turned into Python values at a time: one such value by
# itself costs 30-80 us through pandas, and the view asks for each cell several times.
BLOCK_ROWS = 64
KEPT_BLOCKS = 512


class _ColumnCells:
    """One column's values, read as ``Series.iat`` reads them, without pandas' per-call cost (~25 us a cell:
    sizing the preview's columns asks for some 5,000 cells and held the window for 60-170 ms)."""

    def __init__(self, column: pd.Series) -> None:
        values: Any = column.array
        if isinstance(values, pd.arrays.NumpyExtensionArray):
            values = values.to_numpy()  # the column's own array: indexing it gives what iat gives
        self._values = values
        self._blocks: dict[int, list[Any]] | None = {} if isinstance(values, pd.arrays.ArrowExtensionArray) else None
        self.numeric = pd.api.types.is_numeric_dtype(column.dtype)

    def __getitem__(self, row: int) -> Any:
        blocks = self._blocks
        if blocks is None:
            return self._values[row]
        block, offset = divmod(row, BLOCK_ROWS)
        cells = blocks.get(block)
        if cells is None:
            if len(blocks) >= KEPT_BLOCKS:
                blocks.clear()
            start = block * BLOCK_ROWS
            # Iterating an arrow-backed array yields what indexing it does (its missing value, boxed times).
            cells = blocks[block] = list(self._values[start:start + BLOCK_ROWS])
        return cells[offset]


class DataFrameTableModel(QAbstractTableModel):
    """Shows a DataFrame of any size; only the cells the view asks for are read."""

    def __init__(self, frame: pd.DataFrame | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._frame = pd.DataFrame()
        self._columns: list[_ColumnCells] = []
        self._names: list[str] = []
        self._header_notes: dict[str, str] = {}
        if frame is not None:
            self.set_frame(frame)

    def set_frame(self, frame: pd.DataFrame, header_notes: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self._frame = frame
        self._columns = [_ColumnCells(column) for _, column in frame.items()]  # by position: names may repeat
        self._names = [str(name) for name in frame.columns]
        self._header_notes = header_notes or {}
        self.endResetModel()

    def set_header_notes(self, header_notes: dict[str, str]) -> None:
        """New tooltips for the column headers, the cells and the view's scroll position and widths left as
        they are."""
        self._header_notes = header_notes
        if self._names:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._names) - 1)

    def frame(self) -> pd.DataFrame:
        return self._frame

    def top_texts(self, rows: int) -> tuple[tuple[str, ...], ...]:
        """The column names and each column's first ``rows`` cells as written: what sizing the columns to their
        contents measures."""
        shown = range(min(rows, len(self._frame)))
        return (tuple(self._names), *(tuple(format_cell(column[row]) for row in shown) for column in self._columns))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._frame)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in _TEXT_ROLES:
            if not index.isValid():
                return None
            text = format_cell(self._columns[index.column()][index.row()])
            if role == Qt.ItemDataRole.ForegroundRole:
                return _MISSING_COLOR if text == "" else None
            return text if text != "" else MISSING_TEXT
        if role == Qt.ItemDataRole.TextAlignmentRole and index.isValid() and self._columns[index.column()].numeric:
            return _RIGHT
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return self._names[section]
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return self._header_notes.get(self._names[section])
        return None


PROFILE_HEADERS = ("Column", "Kind", "Missing", "Distinct values", "Examples", "Notes")


class ProfileTableModel(QAbstractTableModel):
    """One row per column of the loaded table, describing what it holds."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._profiles: tuple[ColumnProfile, ...] = ()

    def set_profiles(self, profiles: tuple[ColumnProfile, ...]) -> None:
        self.beginResetModel()
        self._profiles = profiles
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._profiles)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(PROFILE_HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        profile = self._profiles[index.row()]
        column = index.column()
        if column == 0:
            return profile.name
        if column == 1:
            return profile.kind.label
        if column == 2:
            return f"{profile.missing_share:.0%}" if profile.missing else "none"
        if column == 3:
            return f"{profile.distinct:,}"
        if column == 4:
            return ", ".join(profile.examples)
        return profile.note

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return PROFILE_HEADERS[section]
        return None
