"""Pretrained weights: where they live on this computer, and their download on first use.

torchvision publishes each network's ImageNet weights at a fixed address whose file name carries the first
hex digits of the file's SHA-256; a download is checked against them before it is kept, and is written to a
temporary file first, so an interrupted download never leaves a broken file behind. The person can also point
Studio at a weights file they already have. Files are read with ``torch.load(weights_only=True)``, which
refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.common.errors import Cancelled, StudioError
from studio.core.common.places import default_data_dir
from studio.core.common.progress import Progress, StopCheck, never_stop

CHUNK = 256 * 1024


@dataclass(frozen=True)
class KnownWeights:
    architecture: str
    label: str
    url: str
    sha256_prefix: str
    megabytes: float

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


KNOWN_WEIGHTS = {
    "mobilenet_v3_small": KnownWeights("mobilenet_v3_small", "MobileNetV3-small",
                                       "https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth",
                                       "047dcff4", 9.8),
    "resnet18": KnownWeights("resnet18", "ResNet-18", "https://download.pytorch.org/models/resnet18-f37072fd.pth",
                             "f37072fd", 44.7),
}


def weights_dir() -> Path:
    return default_data_dir() / "weights"


def weights_file(architecture: str) -> Path:
    """Where the downloaded weights of ``architecture`` are kept."""
    return weights_dir() / KNOWN_WEIGHTS[architecture].file_name


def have_weights(architecture: str) -> bool:
    return architecture in KNOWN_WEIGHTS and weights_file(architecture).is_file()


def download_weights(architecture: str, should_stop: StopCheck = never_stop,
                     timeout_s: float = 20.0) -> Generator[Progress, None, Path]:
    """Fetch ``architecture``'s weights into the data folder (progress as it goes); returns the file."""
    import urllib.error
    import urllib.request

    known = KNOWN_WEIGHTS[architecture]
    target = weights_file(architecture)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    yield Progress("Downloading pretrained weights", 0.0, f"{known.label}: about {known.megabytes:.0f} MB, once")
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".download-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urllib.request.urlopen(known.url, timeout=timeout_s)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise StudioError(
                    f"The pretrained weights of {known.label} could not be downloaded ({reason}). This computer "
                    f"seems to be offline. Connect to the internet and train again, choose a weights file you "
                    f"already have ({known.file_name}), or pick the small network trained from scratch.") from None
            with response:
                total = int(response.headers.get("Content-Length") or 0)
                received = 0
                while True:
                    if should_stop():
                        raise Cancelled()
                    try:
                        block = response.read(CHUNK)
                    except OSError as exc:
                        raise StudioError(f"The download of {known.label}'s weights broke off ({exc}). Train "
                                          "again to retry.") from None
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    share = received / total if total else 0.0
                    yield Progress("Downloading pretrained weights", min(share, 1.0),
                                   f"{known.label}: {received / 1e6:.1f} of {(total or received) / 1e6:.1f} MB")
        if not digest.hexdigest().startswith(known.sha256_prefix):
            raise StudioError(f"The downloaded weights of {known.label} are not the published file (their "
                              "checksum differs), so they were thrown away. Train again to retry.")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def read_weights(path: str | Path) -> dict[str, Any]:
    """A state dict from a weights file: tensors only (``weights_only``), or a sentence why not."""
    import pickle

    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StudioError(f"The weights file {path} is not there.") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise StudioError(f"{Path(path).name} is not a weights file Studio can read ({str(exc)[:120]}).") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise StudioError(f"{Path(path).name} holds no network weights.")
    return state
