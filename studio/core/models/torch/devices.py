"""Where a network trains: CUDA, then Apple's MPS, then the CPU; and failures of a graphics card in words.

torch is imported inside functions only, so importing this module does not pay for it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from studio.core.common.errors import StudioError, first_line

DEVICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(StudioError):
    """The chosen device (a graphics card) is missing, failed or ran out of memory; the CPU would work."""


def resolve_device(choice: str) -> Any:
    """The torch device for a setting: "auto" takes CUDA, then Apple's MPS, then the CPU."""
    import torch

    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise DeviceError("No NVIDIA graphics card (CUDA) is usable on this computer. Choose 'Automatic' or "
                            "'Processor (CPU)' as the device in the Model step.")
    if choice == "mps" and not mps_available():
        raise DeviceError("No Apple graphics chip (MPS) is usable on this computer. Choose 'Automatic' or "
                            "'Processor (CPU)' as the device in the Model step.")
    if choice not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {choice!r}.")
    return torch.device(choice)


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@cache
def describe_hardware() -> str:
    """What "Automatic" would use, in words: "NVIDIA H100 80GB HBM3", "Apple graphics chip (MPS)", "CPU only"."""
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
    if mps_available():
        return "Apple graphics chip (MPS)"
    return "CPU only"


def hardware_note() -> str:
    return f"Found on this computer: {describe_hardware()}."


def device_failure(device: Any, exc: BaseException) -> DeviceError:
    text = first_line(exc)
    if "out of memory" in str(exc).lower():
        return DeviceError(f"The graphics card ({device}) ran out of memory. Train on the CPU instead (device "
                             "'Processor (CPU)' in the Model step), or use a smaller batch size or fewer units.")
    return DeviceError(f"The graphics card ({device}) failed: {text}. Train on the CPU instead (device "
                         "'Processor (CPU)' in the Model step).")
