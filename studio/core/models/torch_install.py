"""Adding PyTorch to this Python: which build fits this machine, the pip commands that install it, and running them.

The version pin in pyproject.toml does not choose between PyTorch's CPU and CUDA builds: the package index does.
PyPI's Linux wheel is the CUDA build (several GB of ``nvidia-*`` packages), so a laptop without an NVIDIA card
installs from PyTorch's CPU index instead, a machine with a card from the CUDA index its driver can run, and macOS
(MPS) and Windows without a card from PyPI, whose wheels there carry no CUDA. Nothing here imports torch or Qt.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import os
import platform
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.core.common.errors import Cancelled, StudioError
from studio.core.common.progress import Progress, StopCheck

_log = logging.getLogger(__name__)
DISTRIBUTION = "studio-desktop"
PYTORCH_INDEX = "https://download.pytorch.org/whl"
# PyTorch's CUDA builds, newest first, with the oldest CUDA version a driver must support to run each.
CUDA_BUILDS: tuple[tuple[tuple[int, int], str], ...] = (((13, 0), "cu130"), ((12, 8), "cu128"), ((12, 6), "cu126"))
# What the neural-network part adds besides torch and torchvision (ONNX export and its checks); used when
# Studio's own metadata cannot be read (a copy run from its folder without being installed).
FALLBACK_REQUIREMENTS = ("torch==2.14.1", "torchvision==0.29.1", "onnx>=1.17", "onnxscript>=0.5",
                         "onnxruntime>=1.20", "skl2onnx>=1.18")
# Rough download sizes in MB (wheels of torch 2.14 and its companions), for "about N MB" before asking.
DOWNLOAD_MB = {"cpu": 250, "cuda": 3300, "mac": 120, "windows": 300}


@dataclass(frozen=True)
class Machine:
    """What decides the build: the operating system, the processor and the CUDA version the NVIDIA driver runs."""

    system: str  # platform.system(): "Linux", "Windows", "Darwin"
    arch: str  # platform.machine(): "x86_64", "AMD64", "arm64", "aarch64"
    driver_cuda: tuple[int, int] | None  # None: no NVIDIA card (or no driver for it)


@dataclass(frozen=True)
class TorchPlan:
    """The build chosen for a machine, the commands that install it and what to tell the person."""

    build: str  # "cpu", "cu128", ..., or "pypi" (macOS with MPS, Windows without a card)
    index_url: str | None  # None: the package index pip is set up with (PyPI)
    commands: tuple[tuple[str, ...], ...]
    download_mb: int
    summary: str

    def shell_lines(self) -> list[str]:
        """Each command as it would be typed in a terminal."""
        return [" ".join(_quoted(part) for part in command) for command in self.commands]

    def as_shell(self) -> str:
        """The commands as one line to type in a terminal."""
        return " && ".join(self.shell_lines())


def _quoted(part: str) -> str:
    return f'"{part}"' if re.search(r"[\s<>=!;&|]", part) else part


def parse_driver_cuda(nvidia_smi_output: str) -> tuple[int, int] | None:
    """The CUDA version in nvidia-smi's header ("CUDA Version: 12.8"): the newest the driver can run."""
    found = re.search(r"CUDA Version\s*:\s*(\d+)\.(\d+)", nvidia_smi_output)
    return (int(found.group(1)), int(found.group(2))) if found else None


def detect_driver_cuda(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> tuple[int, int] | None:
    """Asks nvidia-smi, which comes with the NVIDIA driver on Linux and Windows; None without a card or driver."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        done = run(["nvidia-smi"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_driver_cuda(done.stdout) if done.returncode == 0 else None


def this_machine() -> Machine:
    system = platform.system()
    return Machine(system, platform.machine(), None if system == "Darwin" else detect_driver_cuda())


def neural_network_requirements() -> tuple[str, ...]:
    """The ``torch`` extra's requirements as pyproject.toml states them (one source for the pins)."""
    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return FALLBACK_REQUIREMENTS
    marker = re.compile(r"""extra\s*==\s*['"]torch['"]""")
    found = tuple(req.split(";")[0].strip() for req in declared if ";" in req and marker.search(req.split(";")[1]))
    return found or FALLBACK_REQUIREMENTS


def cuda_build_for(driver_cuda: tuple[int, int]) -> str | None:
    """The newest CUDA build the driver can run; None when the driver is older than every build."""
    for needs, build in CUDA_BUILDS:
        if driver_cuda >= needs:
            return build
    return None


def plan_for(machine: Machine, python: str = sys.executable,
             requirements: Sequence[str] | None = None) -> TorchPlan:
    """The install for this machine: torch and torchvision from the index that fits, the rest from PyPI."""
    wanted = tuple(requirements or neural_network_requirements())
    torch_parts = tuple(r for r in wanted if re.match(r"torch(vision)?\b", r) and not r.startswith("torch_"))
    others = tuple(r for r in wanted if r not in torch_parts)
    pip = (python, "-m", "pip", "install")
    build, index, note = "pypi", None, ""
    if machine.system == "Darwin":
        size = DOWNLOAD_MB["mac"]
        note = "PyTorch for macOS from PyPI; it uses the Apple graphics chip (MPS) where there is one."
    else:
        driver = machine.driver_cuda
        cuda = cuda_build_for(driver) if driver else None
        if cuda and driver:
            build, index, size = cuda, f"{PYTORCH_INDEX}/{cuda}", DOWNLOAD_MB["cuda"]
            note = (f"PyTorch with CUDA ({cuda}) for the NVIDIA card this computer has (its driver runs CUDA "
                    f"{driver[0]}.{driver[1]}), so networks train on the card.")
        elif machine.system == "Windows":
            size = DOWNLOAD_MB["windows"]
            note = "PyTorch for the processor (no NVIDIA card found); PyPI's Windows build has no CUDA inside."
        else:
            build, index, size = "cpu", f"{PYTORCH_INDEX}/cpu", DOWNLOAD_MB["cpu"]
            note = "PyTorch for the processor (no NVIDIA card found), without the several GB of CUDA libraries."
        if driver and not cuda:
            note += (f" The NVIDIA driver runs only CUDA {driver[0]}.{driver[1]}; update "
                     "it and add the networks again to train on the card.")
    commands = [(*pip, *torch_parts, *(("--index-url", index) if index else ()))]
    if others:
        commands.append((*pip, *others))
    return TorchPlan(build, index, tuple(commands), size, note)


def plan_job(should_stop: StopCheck) -> Generator[Progress, None, TorchPlan]:
    """The plan for this computer, as a job: asking nvidia-smi can take a second or two."""
    yield Progress("Looking at this computer's graphics card")
    return plan_for(this_machine())


def can_install_here(python: str = sys.executable) -> str | None:
    """Why pip cannot add packages to this Studio, in words; None when it can."""
    if getattr(sys, "frozen", False):
        return ("This copy of Studio is a packaged app; its neural networks come with the variant that has them "
                "(download Studio with neural networks).")
    if not Path(python).exists():
        return f"Studio's Python ({python}) was not found."
    if importlib.util.find_spec("pip") is None:
        return "Studio's Python has no pip to install packages with."
    return None


def run_install(commands: Sequence[Sequence[str]], should_stop: StopCheck,
                poll_s: float = 0.2) -> Generator[Progress, None, int]:
    """Runs each pip command in turn, yielding its output line by line; returns how many ran.

    The output is read on a helper thread so a stop request is seen within ``poll_s`` even while pip downloads a
    large wheel in silence; stopping ends pip (what it had installed stays; running again finishes the job)."""
    for number, command in enumerate(commands, start=1):
        stage = f"Step {number} of {len(commands)}"
        yield Progress(stage, (number - 1) / len(commands), " ".join(command))
        tail: list[str] = []
        try:
            # Unbuffered, so pip's lines arrive as it prints them; no console window flashing up on Windows.
            process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       bufsize=1, errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                       creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            raise StudioError(f"Could not start the installer ({command[0]}): {exc.strerror or exc}.") from exc
        _log.info("Adding neural networks: %s", " ".join(command))
        lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
        reader.start()
        read_all = False
        try:
            while True:
                if should_stop():
                    raise Cancelled()
                try:
                    line = lines.get(timeout=poll_s)
                except queue.Empty:
                    continue
                if line is None:
                    read_all = True
                    break
                tail = [*tail[-7:], line]
                yield Progress(stage, (number - 1) / len(commands), line)
        finally:
            # Stopped, or closed by the worker between two lines: pip must not go on alone.
            if not read_all:
                _end(process)
        code = process.wait()
        if code != 0:
            _log.warning("The installer ended with code %d: %s", code, " / ".join(tail))
            raise StudioError(f"Installing the neural networks failed (pip ended with code {code}). "
                              "Its last words: " + " / ".join(tail[-3:]))
    # The import system caches folder listings: without this, the new packages stay unseen until a restart.
    importlib.invalidate_caches()
    yield Progress("Done", 1.0, "Installed.")
    return len(commands)


def _read_lines(process: subprocess.Popen[str], lines: queue.SimpleQueue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip():
            lines.put(line.rstrip())
    lines.put(None)


def _end(process: subprocess.Popen[str], grace_s: float = 5.0) -> None:
    process.terminate()
    deadline = time.monotonic() + grace_s
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
