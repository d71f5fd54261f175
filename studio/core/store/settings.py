"""User settings as versioned JSON with migrations, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.core.common.files import atomic_write
from studio.core.common.places import default_config_dir, found_or_new
from studio.core.data.download import is_url

SETTINGS_VERSION = 2
MAX_RECENT = 8
SETTINGS_ENV = "STUDIO_SETTINGS_DIR"


@dataclass
class Settings:
    recent_files: list[str] = field(default_factory=list)
    last_folder: str = ""
    # The run history's SQLite file; empty: runs.sqlite3 in the user's data folder.
    runs_path: str = ""

    def add_recent(self, path: str) -> None:
        if not is_url(path):  # a web address is kept as it was typed, and leaves the last folder alone
            path = str(Path(path).resolve())
            self.last_folder = str(Path(path).parent)
        self.recent_files = [path, *[p for p in self.recent_files if p != path][:MAX_RECENT - 1]]


def default_settings_dir() -> Path:
    """The platform's settings folder (platformdirs), or the one an earlier Studio used if only that exists."""
    override = os.environ.get(SETTINGS_ENV)
    if override:
        return Path(override)
    return found_or_new(default_config_dir(), legacy_settings_dir())


def legacy_settings_dir() -> Path:
    """Where settings lived before Studio asked platformdirs (~/.config/studio on macOS too)."""
    base = os.environ.get("XDG_CONFIG_HOME") or (
        os.environ.get("APPDATA") if os.name == "nt" else str(Path.home() / ".config"))
    return Path(base or Path.home()) / "studio"


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    version = int(raw.get("version", 1))
    if version < 2:
        # Version 1 called the recent list "recent".
        raw["recent_files"] = raw.pop("recent", [])
        version = 2
    raw["version"] = version
    return raw


def load_settings(folder: Path) -> Settings:
    path = folder / "settings.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            return Settings()
        raw = _migrate(raw)
    except (OSError, ValueError, TypeError):
        return Settings()
    # A hand-edited or damaged file may hold any JSON: keep each value only if it has the right type, rather than
    # fail at start-up. Keys it no longer knows (window_geometry, from earlier versions) are dropped.
    recent = raw.get("recent_files")
    return Settings(
        recent_files=[p for p in recent if isinstance(p, str)][:MAX_RECENT] if isinstance(recent, list) else [],
        last_folder=_text(raw.get("last_folder")),
        runs_path=_text(raw.get("runs_path")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def save_settings(folder: Path, settings: Settings) -> None:
    text = json.dumps({"version": SETTINGS_VERSION, **asdict(settings)}, indent=2)
    # Atomic, with a temporary name a later save recognises and removes if Studio was killed while writing it.
    atomic_write(folder / "settings.json", lambda handle: handle.write(text.encode("utf-8")))
