"""Settings: versioned JSON that survives old versions, damage and hand edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.core.store.settings import (
    MAX_RECENT,
    SETTINGS_ENV,
    SETTINGS_VERSION,
    Settings,
    default_settings_dir,
    load_settings,
    save_settings,
)


def test_round_trip(tmp_path: Path) -> None:
    settings = Settings(recent_files=["/data/a.csv", "/data/b.xlsx"], last_folder="/data",
                        runs_path="/data/runs.sqlite3")
    save_settings(tmp_path, settings)
    assert load_settings(tmp_path) == settings
    raw = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert raw["version"] == SETTINGS_VERSION
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"], "no temp file left behind"


def test_save_creates_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "studio"
    save_settings(folder, Settings(last_folder="x"))
    assert load_settings(folder).last_folder == "x"


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()


def test_migration_from_version_1(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"version": 1, "recent": ["/old/one.csv"],
                                                        "last_folder": "/old"}), encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.recent_files == ["/old/one.csv"]
    assert settings.last_folder == "/old"
    save_settings(tmp_path, settings)
    raw = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert raw["version"] == SETTINGS_VERSION and "recent" not in raw


def test_file_without_version_is_version_1(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"recent": ["/x.csv"]}', encoding="utf-8")
    assert load_settings(tmp_path).recent_files == ["/x.csv"]


def test_keys_of_earlier_versions_are_ignored_and_dropped(tmp_path: Path) -> None:
    """Earlier versions wrote the window's geometry, which nothing reads any more: such a file still loads."""
    (tmp_path / "settings.json").write_text(json.dumps({
        "version": 2, "recent_files": ["/old/one.csv"], "last_folder": "/old", "window_geometry": "AdnQywADAAAAAAA=",
    }), encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings == Settings(recent_files=["/old/one.csv"], last_folder="/old")
    save_settings(tmp_path, settings)
    assert "window_geometry" not in json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("content", [
    b"{ this is not json",
    b"",
    b"\xff\xfe\x00garbage",
    b"[1, 2, 3]",
    b'"just a string"',
    b'{"version": "two"}',
    b'{"version": null}',
    b'{"version": 2, "recent_files": null, "last_folder": 5, "window_geometry": ["x"]}',
    b'{"version": 1, "recent": 7}',
])
def test_corrupt_file_gives_defaults(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "settings.json").write_bytes(content)
    assert load_settings(tmp_path) == Settings()


def test_wrong_entries_are_dropped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({
        "version": 2, "recent_files": ["/ok.csv", 3, None, "/also.csv"], "last_folder": "/ok", "unknown": 1,
    }), encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.recent_files == ["/ok.csv", "/also.csv"]
    assert settings.last_folder == "/ok"


def test_add_recent_moves_to_front_and_caps(tmp_path: Path) -> None:
    settings = Settings()
    paths = [tmp_path / f"f{i}.csv" for i in range(MAX_RECENT + 3)]
    for path in paths:
        settings.add_recent(str(path))
    settings.add_recent(str(paths[5]))
    assert len(settings.recent_files) == MAX_RECENT
    assert settings.recent_files[0] == str(paths[5].resolve())
    assert len(set(settings.recent_files)) == MAX_RECENT
    assert settings.last_folder == str(tmp_path.resolve())


def test_settings_folder_can_be_pointed_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path))
    assert default_settings_dir() == tmp_path
    monkeypatch.delenv(SETTINGS_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert default_settings_dir() == tmp_path / "config" / "studio"
