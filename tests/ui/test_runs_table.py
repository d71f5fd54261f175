"""The Runs page's leaderboard on its own: newest first, sorted by numbers, filtered by typing, runs picked by id,
and a double-click asks to open the run."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from studio.core.store.runs import RunRecord
from studio.ui.widgets.runs_table import RunsTableWidget

from .helpers import click_header


def record(run_id: int, model: str, accuracy: float, seconds: float) -> RunRecord:
    return RunRecord(id=run_id, created=f"2026-01-0{run_id}T10:00:00+00:00", dataset_path="/data/penguins.csv",
                     dataset_fingerprint="", target="species", task="classification", model_key=model.lower(),
                     model_label=model, params={}, prep={}, split={}, device="cpu", duration_s=seconds,
                     metrics={"test": {"accuracy": accuracy}}, history=[], details={}, model_path="",
                     versions={})


def shown_ids(board: RunsTableWidget) -> list[int]:
    return [int(board.proxy.index(row, 0).data()) for row in range(board.row_count())]


def test_leaderboard_sorts_filters_selects_and_opens(qtbot: QtBot) -> None:
    board = RunsTableWidget()
    qtbot.addWidget(board)
    board.show()
    board.set_records([record(1, "Random forest", 0.91, 12.0), record(2, "Naive Bayes", 0.8, 0.5),
                       record(3, "Logistic regression", 0.97, 2.0)])
    assert shown_ids(board) == [3, 2, 1]  # newest first
    click_header(qtbot, board.table, 7)  # Time: as numbers, not as text ("12.0 s" < "2.0 s")
    times = [board.proxy.index(row, 7).data() for row in range(board.row_count())]
    assert times in (["0.5 s", "2.0 s", "12.0 s"], ["12.0 s", "2.0 s", "0.5 s"])
    qtbot.keyClicks(board.filter_edit, "bayes")
    assert shown_ids(board) == [2] and board.proxy.index(0, 5).data().startswith("80.0%")
    board.filter_edit.clear()

    with qtbot.waitSignal(board.selection_changed):
        board.select_ids([1, 3])
    assert sorted(board.selected_ids()) == [1, 3]
    row = shown_ids(board).index(2)
    cell = board.table.visualRect(board.proxy.index(row, 4)).center()
    with qtbot.waitSignal(board.run_activated):
        # A person's double-click: the view opens the row its first press landed on.
        qtbot.mouseClick(board.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
        qtbot.mouseDClick(board.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert board.selected_ids() == [2]

    board.set_records([record(4, "k-nearest neighbours", 0.5, 1.0)])
    assert shown_ids(board) == [4] and board.selected_ids() == []


def test_runs_fit_the_page_at_1024_pixels_and_cut_text_is_in_the_tooltip(qtbot: QtBot) -> None:
    """On a 1024-pixel screen the Runs page leaves the table about 800 pixels: every column stays in sight (no
    sideways scrolling); the long text columns are cut short and read whole in their tooltips."""
    board = RunsTableWidget()
    qtbot.addWidget(board)
    board.resize(800, 300)
    board.show()
    qtbot.waitExposed(board)
    long_model = "Gradient boosting with early stopping on a held-out share of the rows"
    wide = record(1, long_model, 0.912, 12.0)
    wide = RunRecord(**{**wide.__dict__, "dataset_path": "/data/customer churn export, all regions, 2026.csv",
                        "metrics": {"test": {"accuracy": 0.912}, "validation": {"accuracy": 0.9}}})
    on_gpu = RunRecord(**{**record(2, "Naive Bayes", 0.8, 0.5).__dict__, "device": "cuda"})
    board.set_records([wide, on_gpu])
    header = board.table.horizontalHeader()
    assert header.length() <= board.table.viewport().width()
    assert not board.table.horizontalScrollBar().isVisible()
    row = shown_ids(board).index(1)
    model_cell = board.proxy.index(row, 4)
    assert header.sectionSize(4) < board.table.sizeHintForColumn(4)  # cut short to fit
    assert board.proxy.data(model_cell, Qt.ItemDataRole.ToolTipRole) == long_model
    times = {board.proxy.index(r, 0).data(): board.proxy.index(r, 7).data() for r in range(board.row_count())}
    assert times == {"1": "12.0 s", "2": "0.5 s on the NVIDIA graphics card"}  # the processor goes unsaid

    board.resize(1700, 300)  # room enough: every column as wide as its text
    qtbot.waitUntil(lambda: header.sectionSize(4) >= board.table.sizeHintForColumn(4))
