"""The preview's virtual table model shows each cell as the frame holds it, whatever the column's kind of array."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from PySide6.QtCore import Qt

from studio.ui.widgets.table_model import MISSING_TEXT, DataFrameTableModel, format_cell

ROWS = 200  # more than one block of the arrow-backed columns' cells


def mixed_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    words = np.array(["north", "south", "Zürich", "東京", "", "1,5"], dtype=object)
    text = pd.Series(words[rng.integers(0, len(words), ROWS)]).astype("str")
    text[rng.random(ROWS) < 0.2] = np.nan
    frame = pd.DataFrame({
        "text": text,
        "objects": pd.Series(list(words[rng.integers(0, len(words), ROWS)]), dtype=object).where(
            rng.random(ROWS) > 0.2, None),
        "floats": np.where(rng.random(ROWS) < 0.1, np.nan, rng.normal(1e3, 1e4, ROWS)),
        "huge": rng.normal(0, 1e17, ROWS),
        "float32": rng.normal(0, 1e6, ROWS).astype(np.float32),
        "ints": rng.integers(-5, 5, ROWS),
        "nullable": pd.array(np.where(rng.random(ROWS) < 0.2, None, rng.integers(0, 9, ROWS)), dtype="Int64"),
        "flags": rng.random(ROWS) < 0.5,
        "when": pd.Series(pd.date_range("2024-01-01", periods=ROWS, freq="h")).where(rng.random(ROWS) > 0.1),
        "category": pd.Categorical(rng.choice(["a", "b", None], ROWS)),
        "arrow_ints": pd.array(rng.integers(0, 100, ROWS), dtype=pd.ArrowDtype(pa.int64())),
        "arrow_times": pd.array(pd.date_range("2024-01-01", periods=ROWS, freq="D"),
                                dtype=pd.ArrowDtype(pa.timestamp("s"))),
    })
    frame.iloc[5, frame.columns.get_loc("arrow_ints")] = pd.NA
    return frame


def test_every_cell_reads_as_the_frame_holds_it(qapp) -> None:
    frame = mixed_frame()
    model = DataFrameTableModel(frame)
    assert (model.rowCount(), model.columnCount()) == frame.shape
    # Rows out of order, as a person scrolling up and down asks for them.
    rows = [*range(ROWS - 1, 100, -1), *range(ROWS)]
    for column, name in enumerate(frame.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[name].dtype)
        for row in rows:
            index = model.index(row, column)
            written = format_cell(frame.iat[row, column])
            assert index.data() == (written or MISSING_TEXT), (name, row)
            assert index.data(Qt.ItemDataRole.ToolTipRole) == (written or MISSING_TEXT)
            assert (index.data(Qt.ItemDataRole.ForegroundRole) is not None) == (written == "")
            aligned = index.data(Qt.ItemDataRole.TextAlignmentRole)
            assert (aligned is not None and Qt.AlignmentFlag.AlignRight.value & aligned) == (
                Qt.AlignmentFlag.AlignRight.value if numeric else False), name


def test_header_notes_change_without_resetting_the_table(qapp) -> None:
    model = DataFrameTableModel(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    resets: list[bool] = []
    changed: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.headerDataChanged.connect(lambda _orientation, first, last: changed.append((first, last)))

    model.set_header_notes({"b": "Category. 2 values"})

    assert not resets and changed == [(0, 1)]
    assert model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == "Category. 2 values"
    assert model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) is None
    assert model.headerData(0, Qt.Orientation.Horizontal) == "a"
