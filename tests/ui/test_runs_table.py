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
