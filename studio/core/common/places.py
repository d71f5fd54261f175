"""Where Studio keeps its own files on this computer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

DATA_ENV = "STUDIO_DATA_DIR"


def _platform_dirs(roaming: bool = False) -> platformdirs.PlatformDirs:
    # Linux keeps the lowercase folder names Studio always used (~/.config/studio, ~/.local/share/studio); macOS
    # (~/Library/Application Support/Studio) and Windows (%APPDATA%\Studio) name apps as people read them.
    name = "studio" if sys.platform.startswith("linux") else "Studio"
    return platformdirs.PlatformDirs(name, appauthor=False, roaming=roaming)


def found_or_new(new: Path, legacy: Path) -> Path:
    """The platform's folder, unless only the folder an earlier Studio used exists: then that one, so settings
    and runs kept there are still found (on Linux and Windows the two are the same folder)."""
    return legacy if not new.exists() and legacy.is_dir() else new


def default_data_dir() -> Path:
    """The user's data folder: runs, downloaded weights, remembered preparation (``STUDIO_DATA_DIR`` overrides;
    tests point it at a temporary folder)."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    return found_or_new(Path(_platform_dirs().user_data_dir), legacy_data_dir())


def default_config_dir() -> Path:
    """Where settings.json lives (roaming on Windows, so it follows the person between computers)."""
    return Path(_platform_dirs(roaming=True).user_config_dir)


def default_log_dir() -> Path:
    """The log files' folder: the platform's (~/Library/Logs/Studio on macOS, ~/.local/state/studio/log on Linux),
    or "logs" in the data folder when ``STUDIO_DATA_DIR`` moves Studio's files elsewhere."""
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override) / "logs"
    return Path(_platform_dirs().user_log_dir)


def legacy_data_dir() -> Path:
    """Where Studio kept its data before it asked platformdirs (the XDG folder on every system but Windows)."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(Path.home())
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "studio"
