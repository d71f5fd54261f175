"""The neural network through the window: grouped settings, the live curve, cancel, the CPU fallback, words in
Results and the ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from studio.core.common.curves import BatchPoint, EpochPoint
from studio.core.common.progress import CurvePoint
from studio.core.models.pipeline_onnx import onnx_feeds
from studio.core.models.registry import get_model
from studio.core.models.torch import devices as torch_devices
from studio.core.models.torch import loop as torch_loop
from studio.core.project import Step
from studio.ui.main_window import MainWindow
from studio.ui.widgets.loss_plot import REPAINT_MS, LossPlotWidget

from .helpers import (
    LOAD_MS,
    TRAIN_MS,
    answer_save_dialog,
    choose_target,
    click,
    go_next,
    go_to_model_page,
    open_sample,
    train,
    type_into_spin,
    wait_idle,
)

pytest.importorskip("torch")


def _network_page(qtbot: QtBot, window: MainWindow, target: str = "species") -> None:
    open_sample(qtbot, window)
    choose_target(window, target)
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("neural_network")
    assert window.project.model.key == "neural_network"


def _type_text(qtbot: QtBot, line: QLineEdit, text: str) -> None:
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_model_page_groups_the_network_settings_and_names_the_hardware(qtbot: QtBot, window: MainWindow) -> None:
    _network_page(qtbot, window)
    form = window.model_panel.form
    assert form.groups()[:4] == ["Architecture", "Optimizer", "Regularisation", "Stopping"]
    # Specialists' words wait behind a closed "Advanced" fold; each one's note explains the default.
    advanced = set(form.advanced_names())
    assert {"activation", "init", "optimizer", "batch_size"} <= advanced
    assert not advanced & {"hidden_layers", "learning_rate", "epochs", "dropout"}
    assert form.advanced_button.isVisible() and not form.editor("activation").isVisible()
    specs = {spec.name: spec for spec in get_model("neural_network").params}
    assert all("default" in specs[name].help.lower() for name in advanced)
    click(qtbot, form.advanced_button)
    assert form.editor("activation").isVisible() and form.editor("batch_size").isVisible()
    qtbot.waitUntil(lambda: form.note("device") != "Looking…", timeout=LOAD_MS)
    assert form.note("device") == f"Found on this computer: {torch_devices.describe_hardware()}."

    layers = form.editor("hidden_layers")
    assert isinstance(layers, QLineEdit) and layers.text() == "64, 32"
    _type_text(qtbot, layers, "64, lots")
    assert "'lots' is not one" in form._errors["hidden_layers"].text()
    assert window.project.model.params_dict().get("hidden_layers") is None  # the bad text was not taken
    _type_text(qtbot, layers, "16,8")
    assert window.project.model.params_dict()["hidden_layers"] == "16, 8"
    assert not form._errors["hidden_layers"].isVisible()


def test_training_shows_epochs_batches_metric_and_the_kept_epoch(qtbot: QtBot, window: MainWindow,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_loop, "REPORT_SECONDS", 0.0)  # a faint batch point after every batch
    _network_page(qtbot, window)
    spin = window.model_panel.form.editor("epochs")
    assert isinstance(spin, QSpinBox)
    type_into_spin(qtbot, spin, 25)
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    assert "dashed line marks the epoch whose weights are kept" in panel.plot_note.text()
    train(qtbot, window)

    result = window.project.result
    assert result is not None and result.model_key == "neural_network"
    plot = panel.plot
    qtbot.waitUntil(lambda: plot.shown_point_count() == plot.point_count() == len(result.history), timeout=LOAD_MS)
    assert plot.batch_point_count() >= 25 * 4 and plot.shown_batch_count() == plot.batch_point_count()
    network = result.pipeline[-1]
    assert plot.kept_epoch() == network.best_epoch_ == result.history[-1].best_step
    status = plot.status_text()
    assert f"Epoch {network.n_epochs_} of 25" in status and "validation accuracy" in status
    assert f"weights kept from epoch {network.best_epoch_}" in status

    go_next(qtbot, window, Step.RESULTS)
    words = window.results_panel.fit_banner.text()
    assert words.startswith("The network") and ("fits" in words or "underfit" in words or "overfit" in words)


def test_cancel_stops_a_network_within_a_batch(qtbot: QtBot, window: MainWindow) -> None:
    _network_page(qtbot, window)
    form = window.model_panel.form
    type_into_spin(qtbot, form.editor("epochs"), 5000)
    click(qtbot, form.advanced_button)  # the batch size is an advanced setting
    type_into_spin(qtbot, form.editor("batch_size"), 1)  # a batch is one row: thousands of batches per second
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    click(qtbot, panel.start_button)
    qtbot.waitUntil(lambda: panel.plot.point_count() >= 1, timeout=TRAIN_MS)
    with qtbot.waitSignal(panel.training_stopped, timeout=5_000) as stopped:
        click(qtbot, panel.cancel_button)
    assert stopped.args == ["cancelled"]
    wait_idle(qtbot, panel.runner)
    assert panel.start_button.isEnabled() and window.project.result is None


def test_a_missing_graphics_card_offers_the_cpu(qtbot: QtBot, window: MainWindow) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so choosing it cannot fail")
    _network_page(qtbot, window)
    form = window.model_panel.form
    device = form.editor("device")
    assert isinstance(device, QComboBox)
    device.setCurrentIndex(device.findData("cuda"))
    type_into_spin(qtbot, form.editor("epochs"), 3)
    go_next(qtbot, window, Step.TRAIN)
    panel = window.train_panel
    with qtbot.waitSignal(panel.training_stopped, timeout=TRAIN_MS) as stopped:
        click(qtbot, panel.start_button)
    assert stopped.args == ["failed"]
    wait_idle(qtbot, panel.runner)
    assert "graphics card" in panel.banner.text() and "CPU" in panel.banner.text()
    assert panel.cpu_fallback.isVisible()
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_MS):
        click(qtbot, panel.cpu_fallback.button)
    wait_idle(qtbot, panel.runner)
    assert window.project.model.params_dict()["device"] == "cpu"
    assert not panel.cpu_fallback.isVisible()
    assert window.project.result is not None and window.project.result.pipeline[-1].device_used_ == "cpu"


def test_export_page_writes_an_onnx_file_that_predicts_alike(qtbot: QtBot, window: MainWindow,
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    _network_page(qtbot, window, target="body_mass_g")
    type_into_spin(qtbot, window.model_panel.form.editor("epochs"), 5)
    go_next(qtbot, window, Step.TRAIN)
    train(qtbot, window)
    window.go_to(Step.EXPORT)
    box = window.export_panel.onnx_export
    assert box.isVisible()
    answer_save_dialog(monkeypatch, tmp_path / "mass")
    with qtbot.waitSignal(box.exported, timeout=TRAIN_MS) as exported:
        click(qtbot, box.button)
    wait_idle(qtbot, box.runner)
    path = Path(exported.args[0])
    assert path == tmp_path / "mass.onnx" and "Exported to" in box.banner.text()
    pipeline = window.project.result.pipeline
    frame = window.project.table.frame.dropna(subset=["body_mass_g"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # The file holds the preparation too: it takes the raw columns, one input each.
    kinds = json.loads(session.get_modelmeta().custom_metadata_map["inputs"])
    onnx_out = session.run(None, onnx_feeds(frame, kinds))[0]
    np.testing.assert_allclose(np.ravel(onnx_out), pipeline.predict(frame), rtol=1e-4)

    # Every kind of model exports now, preparation included.
    window.go_to(Step.MODEL)
    window.model_panel.select_model("linear_regression")
    window.go_to(Step.TRAIN)
    train(qtbot, window)
    window.go_to(Step.EXPORT)
    assert box.isVisible()


def test_the_curve_coalesces_a_flood_of_points_into_few_repaints(qtbot: QtBot) -> None:
    plot = LossPlotWidget()
    qtbot.addWidget(plot)
    plot.show()
    before = plot.repaint_count()
    for epoch in range(1, 201):
        for quarter in range(1, 5):
            plot.append(BatchPoint(epoch, 1.0 / epoch, None, "epoch", "Log loss", position=epoch - 1 + quarter / 4))
        plot.append(EpochPoint(epoch, 1.0 / epoch, 1.1 / epoch, "epoch", "Log loss", metric=0.5,
                               metric_label="Accuracy", best_step=min(epoch, 150), epochs=200))
    assert plot.repaint_count() == before  # appending is O(1): nothing is drawn yet
    qtbot.wait(3 * REPAINT_MS)
    assert 1 <= plot.repaint_count() - before <= 4
    assert plot.shown_point_count() == 200 and plot.shown_batch_count() == 800
    assert plot.kept_epoch() == 150 and "weights kept from epoch 150" in plot.status_text()
    assert plot.has_metric_axis()
    plot.clear()
    assert plot.shown_point_count() == 0 and plot.kept_epoch() is None and plot.status_text() == ""
    # The next run is a forest: plain points, no score axis, no "kept" marker left from the network.
    for trees in range(10, 110, 10):
        plot.append(CurvePoint(trees, 0.5 / trees, 0.6 / trees, "trees", "Log loss"))
    qtbot.wait(3 * REPAINT_MS)
    assert not plot.has_metric_axis() and not plot.plot.getPlotItem().getAxis("right").isVisible()
    assert plot.shown_point_count() == 10 and plot.kept_epoch() is None
