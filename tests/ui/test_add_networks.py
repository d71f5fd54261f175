"""Without PyTorch, the Model step offers "Add neural networks (about N MB download)": it runs the installer in
the background with its output streamed, can be cancelled, and explains the command where it cannot install.
The installer here is a fake (a Python one-liner), so nothing is downloaded."""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator

import pytest
from pytestqt.qtbot import QtBot

from studio.core.common.progress import Progress, StopCheck
from studio.core.models.torch_install import TorchPlan
from studio.ui.main_window import MainWindow
from studio.ui.widgets.add_networks import AddNetworksWidget

from .helpers import choose_target, click, go_to_model_page, open_sample

FAKE_PIP = (sys.executable, "-c", "import time\nfor line in ('Collecting torch==2.14.1', 'Downloading torch (190 MB)', "
            "'Successfully installed torch-2.14.1+cpu'):\n    print(line, flush=True); time.sleep(0.05)")
SLOW_PIP = (sys.executable, "-c", "import time; print('Downloading torch (190 MB)', flush=True); time.sleep(60)")


def fake_plan(*commands: tuple[str, ...]) -> Callable[[StopCheck], Generator[Progress, None, TorchPlan]]:
    def job(_stop: StopCheck) -> Generator[Progress, None, TorchPlan]:
        yield Progress("Looking at this computer's graphics card")
        return TorchPlan("cpu", "https://download.pytorch.org/whl/cpu", commands, 250,
                         "PyTorch for the processor (no NVIDIA card found).")
    return job


def model_page_without_torch(qtbot: QtBot, window: MainWindow, *commands: tuple[str, ...]) -> AddNetworksWidget:
    offer = window.model_panel.add_networks
    offer._make_plan = fake_plan(*commands)
    offer._can_install = lambda: None
    open_sample(qtbot, window)
    choose_target(window, "species")
    go_to_model_page(qtbot, window)
    window.model_panel.select_model("neural_network")
    qtbot.waitUntil(lambda: offer.isVisible() and offer.add_button.isEnabled(), timeout=10_000)
    return offer


def test_adding_networks_streams_the_installer_and_says_when_ready(without_torch: None, qtbot: QtBot,
                                                                  window: MainWindow) -> None:
    offer = model_page_without_torch(qtbot, window, FAKE_PIP, FAKE_PIP)
    assert offer.add_button.text() == "Add neural networks (about 250 MB download)"
    assert "no NVIDIA card" in offer.message.text()
    click(qtbot, offer.details_button)
    # Whether Stop was offered, seen as each line arrives: the fake installer can be over before a poll looks.
    stop_offered: list[bool] = []
    offer.runner.progressed.connect(lambda _progress: stop_offered.append(offer.cancel_button.isVisible()))
    with qtbot.waitSignal(offer.installed, timeout=20_000):
        click(qtbot, offer.add_button)
    assert stop_offered and all(stop_offered)
    log = offer.output.toPlainText()
    assert log.splitlines().count("Successfully installed torch-2.14.1+cpu") == 2  # both steps, line by line
    assert "Collecting torch==2.14.1" in log
    assert "ready" in offer.message.text()
    assert not offer.cancel_button.isVisible() and not offer.progress.isVisible()

    window.model_panel.select_model("random_forest")  # a model that needs nothing hides the offer
    qtbot.waitUntil(lambda: not offer.isVisible(), timeout=5_000)


def test_cancelling_stops_the_installer(without_torch: None, qtbot: QtBot, window: MainWindow) -> None:
    offer = model_page_without_torch(qtbot, window, SLOW_PIP)
    click(qtbot, offer.add_button)
    qtbot.waitUntil(lambda: "Downloading" in offer.output.toPlainText(), timeout=10_000)
    with qtbot.waitSignals([offer.runner.cancelled, offer.runner.finished], timeout=10_000):
        click(qtbot, offer.cancel_button)
    assert "Stopped" in offer.message.text()
    assert offer.add_button.isEnabled()  # can start again


def test_a_failing_installer_is_explained(without_torch: None, qtbot: QtBot, window: MainWindow) -> None:
    failing = (sys.executable, "-c", "import sys; print('ERROR: Could not find a version that satisfies torch'); "
               "sys.exit(1)")
    offer = model_page_without_torch(qtbot, window, failing)
    with qtbot.waitSignal(offer.runner.finished, timeout=10_000):
        click(qtbot, offer.add_button)
    assert "Could not find a version" in offer.message.text()
    assert "you can try again" in offer.message.text()
    assert offer.command.isVisible()  # the command to run by hand instead


def test_where_studio_cannot_install_it_shows_the_command(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    offer = AddNetworksWidget(fake_plan((sys.executable, "-m", "pip", "install", "torch==2.14.1")),
                              lambda: "This copy of Studio is a packaged app.")
    qtbot.addWidget(offer)
    offer.show()
    qtbot.waitUntil(lambda: offer.plan is not None, timeout=10_000)
    assert not offer.add_button.isVisible()
    assert "packaged app" in offer.message.text()
    assert "-m pip install" in offer.command.text() and offer.command.isVisible()
    offer.shutdown()
