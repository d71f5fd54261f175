"""Adding PyTorch: the build chosen per machine, the commands generated, and running (and stopping) them."""

from __future__ import annotations

import sys
import time

import pytest

from studio.core.common.errors import Cancelled, StudioError
from studio.core.common.progress import Progress
from studio.core.models.torch_install import (
    Machine,
    neural_network_requirements,
    parse_driver_cuda,
    plan_for,
    run_install,
)
from studio.install_torch import main as install_torch_main

PY = "/opt/studio/bin/python"
PINS = ("torch==2.14.1", "torchvision==0.29.1", "onnx>=1.17", "onnxruntime>=1.20")
NVIDIA_SMI = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.86.15              Driver Version: 570.86.15      CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
"""


def test_a_linux_laptop_without_an_nvidia_card_gets_the_cpu_build() -> None:
    plan = plan_for(Machine("Linux", "x86_64", None), PY, PINS)
    assert plan.build == "cpu"
    assert plan.commands == (
        (PY, "-m", "pip", "install", "torch==2.14.1", "torchvision==0.29.1",
         "--index-url", "https://download.pytorch.org/whl/cpu"),
        (PY, "-m", "pip", "install", "onnx>=1.17", "onnxruntime>=1.20"),
    )
    assert "without the several GB of CUDA" in plan.summary
    assert plan.download_mb < 500


def test_linux_with_an_nvidia_card_gets_the_cuda_build_its_driver_runs() -> None:
    plan = plan_for(Machine("Linux", "x86_64", parse_driver_cuda(NVIDIA_SMI)), PY, PINS)
    assert plan.build == "cu128"
    assert plan.commands[0] == (PY, "-m", "pip", "install", "torch==2.14.1", "torchvision==0.29.1",
                                "--index-url", "https://download.pytorch.org/whl/cu128")
    assert plan.download_mb > 1000  # said before asking: CUDA is large
    newest = plan_for(Machine("Linux", "x86_64", (13, 1)), PY, PINS)
    assert newest.index_url == "https://download.pytorch.org/whl/cu130"


def test_a_driver_too_old_for_every_cuda_build_gets_the_cpu_build_and_says_why() -> None:
    plan = plan_for(Machine("Linux", "x86_64", (11, 4)), PY, PINS)
    assert plan.build == "cpu"
    assert "update it" in plan.summary


def test_macos_installs_from_pypi_for_mps() -> None:
    plan = plan_for(Machine("Darwin", "arm64", None), PY, PINS)
    assert plan.index_url is None
    assert plan.commands[0] == (PY, "-m", "pip", "install", "torch==2.14.1", "torchvision==0.29.1")
    assert "MPS" in plan.summary


def test_windows_without_a_card_from_pypi_and_with_one_from_the_cuda_index() -> None:
    plain = plan_for(Machine("Windows", "AMD64", None), "C:\\Studio\\python.exe", PINS)
    assert plain.index_url is None
    assert plain.commands[0][:4] == ("C:\\Studio\\python.exe", "-m", "pip", "install")
    card = plan_for(Machine("Windows", "AMD64", (12, 6)), "C:\\Studio\\python.exe", PINS)
    assert card.index_url == "https://download.pytorch.org/whl/cu126"


def test_the_shell_line_quotes_version_ranges() -> None:
    line = plan_for(Machine("Linux", "x86_64", None), PY, PINS).as_shell()
    assert '"onnx>=1.17"' in line and " && " in line


def test_the_pins_come_from_pyproject_toml() -> None:
    requirements = neural_network_requirements()
    assert any(r.startswith("torch==") for r in requirements)
    assert any(r.startswith("torchvision==") for r in requirements)
    assert not any("extra" in r for r in requirements)


def test_no_nvidia_smi_output_means_no_card() -> None:
    assert parse_driver_cuda("command not found") is None
    assert parse_driver_cuda(NVIDIA_SMI) == (12, 8)


def test_the_dry_run_prints_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert install_torch_main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-m pip install" in out and '"torch==' in out and "MB to download" in out


def _fake_installer(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_the_installer_output_is_streamed_line_by_line() -> None:
    commands = [_fake_installer("print('Collecting torch'); print('Successfully installed torch')"),
                _fake_installer("print('Successfully installed onnx')")]
    items: list[Progress] = []
    generator = run_install(commands, lambda: False)
    try:
        while True:
            items.append(next(generator))
    except StopIteration as done:
        assert done.value == 2
    messages = [item.message for item in items]
    assert "Collecting torch" in messages and "Successfully installed onnx" in messages
    assert items[0].stage == "Step 1 of 2" and items[-1].fraction == 1.0


def test_a_failing_installer_is_reported_in_words() -> None:
    command = _fake_installer("import sys; print('ERROR: No matching distribution found for torch'); sys.exit(1)")
    with pytest.raises(StudioError, match="No matching distribution"):
        list(run_install([command], lambda: False))


def test_stopping_ends_a_silent_installer_promptly() -> None:
    """pip is silent for minutes while it downloads a large wheel: a stop must not wait for its next line."""
    started = time.monotonic()
    stop_at = started + 0.5
    with pytest.raises(Cancelled):
        list(run_install([_fake_installer("import time; print('Downloading', flush=True); time.sleep(60)")],
                         lambda: time.monotonic() > stop_at, poll_s=0.05))
    assert time.monotonic() - started < 5


def test_an_installer_that_cannot_start_says_so() -> None:
    with pytest.raises(StudioError, match="Could not start the installer"):
        list(run_install([("/no/such/python", "-m", "pip")], lambda: False))
