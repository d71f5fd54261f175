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


class DataFrameTableModel(QAbstractTableModel):
    """Shows a DataFrame of any size; only the cells the view asks for are read."""

    def __init__(self, frame: pd.DataFrame | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._frame = pd.DataFrame()
        self._columns: list[pd.Series] = []
        self._header_notes: dict[str, str] = {}
        if frame is not None:
            self.set_frame(frame)

    def set_frame(self, frame: pd.DataFrame, header_notes: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self._frame = frame
        self._columns = [frame.iloc[:, i] for i in range(frame.shape[1])]
        self._header_notes = header_notes or {}
        self.endResetModel()

    def frame(self) -> pd.DataFrame:
        return self._frame

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._frame)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._frame.shape[1]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole):
            value = self._columns[index.column()].iat[index.row()]
            text = format_cell(value)
            if role == Qt.ItemDataRole.ForegroundRole:
                return _MISSING_COLOR if text == "" else None
            return text if text != "" else MISSING_TEXT
        if role == Qt.ItemDataRole.TextAlignmentRole and pd.api.types.is_numeric_dtype(
                self._columns[index.column()].dtype):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return str(self._frame.columns[section])
            return str(section + 1)
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return self._header_notes.get(str(self._frame.columns[section]))
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
