"""The Export page's "Serve this model on this computer": Start serves the saved file from a background thread,
the page shows its address, and Stop (or closing the window) ends the thread."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .helpers import LOAD_MS, click, go_next
from .test_runs_page import train_on_the_sample

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")


def test_the_saved_model_is_served_until_stopped(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    train_on_the_sample(qtbot, window, "logistic_regression")
    go_next(qtbot, window, Step.RESULTS)
    go_next(qtbot, window, Step.EXPORT)
    export = window.export_panel
    serve = export.serve_control
    assert not serve.isVisible()  # nothing to serve before the model is saved
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        export.save_to(tmp_path / "species.studio")
    assert serve.isVisible()
    assert not serve.stop_button.isEnabled()

    click(qtbot, serve.start_button)
    assert not serve.start_button.isEnabled()
    qtbot.waitUntil(serve.is_running, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: "/docs" in serve.status.text(), timeout=LOAD_MS)
    assert serve.address.startswith("http://127.0.0.1:")
    assert f'<a href="{serve.address}/docs">' in serve.status.text()
    assert httpx.get(f"{serve.address}/health", timeout=10).json() == {"status": "ok",
                                                                        "model": "Logistic regression"}
    row = {"island": "Biscoe", "bill_length_mm": 48.6, "bill_depth_mm": 16.0, "flipper_length_mm": 230.0,
           "body_mass_g": 5800.0, "sex": "male", "year": 2009}
    answer = httpx.post(f"{serve.address}/predict", json={"rows": [row]}, timeout=10)
    assert answer.json()["predictions"] == ["Gentoo"]

    thread = serve._thread
    assert thread is not None and thread.is_alive()
    click(qtbot, serve.stop_button)
    qtbot.waitUntil(lambda: serve._thread is None, timeout=LOAD_MS)
    assert not thread.is_alive()
    assert not serve.banner.isVisible()
    assert serve.start_button.isEnabled() and not serve.stop_button.isEnabled()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{serve.address}/health", timeout=2)


def test_closing_the_window_stops_the_server(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    train_on_the_sample(qtbot, window, "logistic_regression")
    export = window.export_panel
    with qtbot.waitSignal(export.saved, timeout=LOAD_MS):
        export.save_to(tmp_path / "species.studio")
    serve = export.serve_control
    assert serve.start()
    qtbot.waitUntil(serve.is_running, timeout=LOAD_MS)
    thread = serve._thread
    assert thread is not None
    export.shutdown()  # what the window does on close, through every page's shutdown()
    assert not thread.is_alive()
