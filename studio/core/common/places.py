"""Where Studio keeps its own files on this computer."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "STUDIO_DATA_DIR"


def default_data_dir() -> Path:
    """The user's data folder (``STUDIO_DATA_DIR`` overrides; tests point it at a temporary folder)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(Path.home())
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "studio"
