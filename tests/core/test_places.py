"""Where Studio keeps its files: each platform's own folders, and the folders of an earlier Studio still found."""

from __future__ import annotations

from pathlib import Path

import platformdirs.macos
import pytest

from studio.core.common import places
from studio.core.common.places import DATA_ENV, default_data_dir, default_log_dir
from studio.core.store.settings import SETTINGS_ENV, Settings, default_settings_dir, load_settings, save_settings


@pytest.fixture
def on_a_mac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' macOS rules with a home folder in tmp_path (its answers are plain path arithmetic)."""
    for name in (DATA_ENV, SETTINGS_ENV, "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(places, "_platform_dirs",
                        lambda roaming=False: platformdirs.macos.MacOS("Studio", appauthor=False, roaming=roaming))
    return tmp_path


def test_a_mac_keeps_everything_in_application_support(on_a_mac: Path) -> None:
    support = on_a_mac / "Library" / "Application Support" / "Studio"
    assert default_data_dir() == support
    assert default_settings_dir() == support
    assert default_log_dir() == on_a_mac / "Library" / "Logs" / "Studio"


def test_settings_and_runs_an_earlier_studio_kept_are_still_found(on_a_mac: Path) -> None:
    old_settings, old_data = on_a_mac / ".config" / "studio", on_a_mac / ".local" / "share" / "studio"
    save_settings(old_settings, Settings(recent_files=["/data/sales.csv"]))
    old_data.mkdir(parents=True)
    (old_data / "runs.sqlite3").write_bytes(b"")
    assert default_settings_dir() == old_settings
    assert load_settings(default_settings_dir()).recent_files == ["/data/sales.csv"]
    assert default_data_dir() == old_data
    # Once the platform's folder exists it wins.
    (on_a_mac / "Library" / "Application Support" / "Studio").mkdir(parents=True)
    assert default_data_dir() == on_a_mac / "Library" / "Application Support" / "Studio"


def test_linux_keeps_the_folders_studio_always_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not places.sys.platform.startswith("linux"):
        pytest.skip("Linux folders")
    for name in (DATA_ENV, SETTINGS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_data_dir() == tmp_path / "data" / "studio"
    assert default_settings_dir() == tmp_path / "config" / "studio"
    assert default_log_dir() == tmp_path / "state" / "studio" / "log"


def test_the_data_variable_moves_the_log_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert default_data_dir() == tmp_path and default_log_dir() == tmp_path / "logs"
