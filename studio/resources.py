"""Where bundled resources live, in a checkout and in an installed app."""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES_ENV = "STUDIO_RESOURCES"


def resources_dir() -> Path:
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"


def sample_dataset() -> Path:
    return resources_dir() / "samples" / "penguins.csv"
