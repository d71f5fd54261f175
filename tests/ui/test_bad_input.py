"""Bad files and impossible choices give a clear message inside the window, and the app stays usable."""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import pandas as pd
import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sklearn.linear_model import LogisticRegression

from studio.core.project import Step
from studio.ui.main_window import MainWindow
from studio.workers import runner

from .helpers import (
    LOAD_MS,
    SAMPLE_ROWS,
    answer_open_dialog,
    choose_target,
    click,
    click_sidebar,
    go_next,
    go_to_model_page,
    open_bad_file,
    open_file,
    open_sample,
    synthetic_frame,
    train,
    wait_idle,
    write_csv,
)


def assert_still_usable(qtbot: QtBot, window: MainWindow) -> None:
    """After a mistake the sample still opens, and the old message goes away."""
    if window.current_step is not Step.DATA:
        click_sidebar(qtbot, window, Step.DATA)
    open_sample(qtbot, window)
    assert window.data_panel.preview_model.rowCount() == SAMPLE_ROWS
    assert not window.data_panel.banner.isVisible()
    choose_target(window, "species")
    assert window.nav.next_button.isEnabled()


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(b"\n\n  \n", "is empty", id="blank-lines"),
    pytest.param(b"height,weight,colour\n", "has a header but no data rows", id="header-only"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 40, "binary data", id="binary"),
    pytest.param(b"a,b\n1,2\n3,4,5\n6,7\n", "Line 3 of data.csv has 3 values, but the header names 2 columns",
                 id="ragged"),
    pytest.param(bytes(range(0x80, 0x100)) * 40, "could not recognise the text encoding", id="unknown-encoding"),
])
def test_unreadable_file_is_explained(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    message = open_bad_file(qtbot, window, monkeypatch, path)
    assert expected in message
    assert "Traceback" not in message
    assert window.project.table is None
    assert not window.nav.next_button.isEnabled()
    assert window.data_panel.open_button.isEnabled()  # not stuck in "busy"
    assert_still_usable(qtbot, window)


def test_target_with_single_class_blocks_next(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    frame = pd.DataFrame({"size": range(30), "weight": [i * 1.5 for i in range(30)], "kind": ["cat"] * 30})
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "cats.csv", frame))
    choose_target(window, "kind")
    reason = window.nav.reason.text()
    assert "single class" in reason and "'cat'" in reason
    assert not window.nav.next_button.isEnabled()
    assert not window.go_next()  # the sidebar and Next agree: no way forward
    assert window.current_step is Step.DATA
    # A usable column unblocks it again.
    choose_target(window, "size")
    assert window.nav.next_button.isEnabled()
    assert window.nav.reason.text() == ""
    assert_still_usable(qtbot, window)


def test_target_all_missing_blocks_next(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    path = tmp_path / "empty-target.csv"
    path.write_text("x,y,outcome\n" + "".join(f"{i},{i % 3},\n" for i in range(30)), encoding="utf-8")
    open_file(qtbot, window, monkeypatch, path)
    choose_target(window, "outcome")
    assert "Every value of 'outcome' is missing" in window.nav.reason.text()
    assert not window.nav.next_button.isEnabled()
    assert_still_usable(qtbot, window)


def test_too_few_rows_for_the_split(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.5, 3.1, 4.7, 5.2, 6.9, 7.3, 8.8], "label": ["a", "b"] * 4})
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "tiny.csv", frame))
    choose_target(window, "label")
    go_next(qtbot, window, Step.PREPARE)
    go_next(qtbot, window, Step.SPLIT)
    reason = window.nav.reason.text()
    assert "only 8 usable rows" in reason
    assert not window.nav.next_button.isEnabled()
    assert "only 8 usable rows" in window.split_panel.counts_label.text()
    assert_still_usable(qtbot, window)


def test_column_of_numbers_and_words_loads_and_trains(qtbot: QtBot, window: MainWindow,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    frame = synthetic_frame(120, seed=3)
    amount = frame["x0"].astype(object)
    amount[[5, 17, 40, 77, 101]] = "unknown"
    frame["amount"] = amount
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "mixed.csv", frame))
    profile = next(p for p in window.project.profiles if p.name == "amount")
    assert profile.kind.value == "numeric"
    model = window.data_panel.profile_model
    row = [model.index(r, 0).data() for r in range(model.rowCount())].index("amount")
    assert "5 values are not numbers" in model.index(row, 5).data()  # the Notes column
    choose_target(window, "label")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    assert window.project.result is not None
    assert not window.train_panel.banner.isVisible()


def test_file_that_is_not_a_model(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    cases = {
        "notes.studio.joblib": "is not a Studio model file",
        "other.joblib": "is not a Studio model file (it holds something else)",
    }
    (tmp_path / "notes.studio.joblib").write_text("shopping list: eggs, milk", encoding="utf-8")
    joblib.dump({"weights": [1, 2, 3]}, tmp_path / "other.joblib")
    # other.joblib is in the older pickle format: Studio asks first; the person trusts it here.
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *args: QMessageBox.StandardButton.Yes))
    for name, expected in cases.items():
        answer_open_dialog(monkeypatch, tmp_path / name)
        with qtbot.waitSignal(panel.runner.failed, timeout=LOAD_MS):
            click(qtbot, panel.model_button)
        wait_idle(qtbot, panel.runner)
        assert panel.banner.level == "error"
        assert expected in panel.banner.text() and name in panel.banner.text()
        assert panel.bundle is None
        assert panel.model_button.isEnabled()
        assert not panel.data_button.isEnabled()
    assert_still_usable(qtbot, window)


def test_prediction_table_missing_a_column(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path, penguins_model: Path, sample_path: Path) -> None:
    click_sidebar(qtbot, window, Step.PREDICT)
    panel = window.predict_panel
    answer_open_dialog(monkeypatch, penguins_model)
    with qtbot.waitSignal(panel.model_opened, timeout=LOAD_MS):
        click(qtbot, panel.model_button)
    wait_idle(qtbot, panel.runner)
    # 'island' had no gaps in training, so the model cannot do without it (a column with gaps may be absent).
    rows = pd.read_csv(sample_path).drop(columns=["island", "species"])
    answer_open_dialog(monkeypatch, write_csv(tmp_path / "new-penguins.csv", rows))
    with qtbot.waitSignal(panel.runner.failed, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    wait_idle(qtbot, panel.runner)
    assert panel.banner.level == "error"
    assert "'island'" in panel.banner.text()
    assert "species" not in panel.banner.text()  # the target is not needed to predict
    assert panel.table_model.rowCount() == 0
    assert not panel.save_button.isEnabled()
    # The same model still predicts a complete table.
    answer_open_dialog(monkeypatch, sample_path)
    with qtbot.waitSignal(panel.predicted, timeout=LOAD_MS):
        click(qtbot, panel.data_button)
    assert panel.table_model.rowCount() == SAMPLE_ROWS
    assert panel.banner.level == "success"


def test_failure_inside_training_is_shown_and_training_works_again(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("logistic_regression")
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel

    def explode(self: LogisticRegression, *args: object, **kwargs: object) -> LogisticRegression:
        raise RuntimeError("the solver exploded")

    monkeypatch.setattr(LogisticRegression, "fit", explode)
    with qtbot.waitSignal(panel.training_stopped, timeout=LOAD_MS) as stopped:
        click(qtbot, panel.start_button)
    assert stopped.args == ["failed"]
    wait_idle(qtbot, panel.runner)
    assert panel.banner.level == "error"
    assert "Training failed" in panel.banner.text()
    assert "RuntimeError: the solver exploded" in panel.banner.text()
    assert "Traceback" in panel.banner.label.toolTip()  # details for a developer, out of the way
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert window.project.result is None
    assert not window.nav.next_button.isEnabled()

    monkeypatch.undo()
    train(qtbot, window)
    assert not panel.banner.isVisible()
    assert window.project.result is not None
    assert window.nav.next_button.isEnabled()


def test_closing_the_window_during_training_joins_the_thread(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    open_file(qtbot, window, monkeypatch, write_csv(tmp_path / "big.csv", synthetic_frame(4000)))
    choose_target(window, "label")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("random_forest")
    window.model_panel.form.editor("n_estimators").setValue(3000)
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    click(qtbot, panel.start_button)
    # Wait until trees are being grown, the longest part, so close has real work to interrupt.
    qtbot.waitUntil(lambda: panel.plot.point_count() > 0, timeout=LOAD_MS)
    thread = panel.runner._thread
    assert thread is not None and thread.isRunning()

    started = time.monotonic()
    window.close()
    took = time.monotonic() - started

    assert took < 5, f"closing took {took:.1f} s"
    assert thread.isFinished()
    assert not panel.runner.is_running()
    assert not runner._STILL_RUNNING
    assert window.project.result is None
