"""The check before the window opens on Linux: missing X11 libraries are named with the packages to install."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.platform_check import XCB_LIBRARIES, missing_x11_libraries, window_problem


def without(*absent: str) -> Callable[[str], bool]:
    """A loader that fails for the named libraries."""
    return lambda name: name not in absent


def test_a_missing_xcb_cursor_says_what_to_install() -> None:
    problem = window_problem({"DISPLAY": ":0"}, without("libxcb-cursor.so.0"), "linux")
    assert problem is not None
    assert "sudo apt install libxcb-cursor0" in problem
    assert "sudo dnf install xcb-util-cursor" in problem
    assert "studio train" in problem  # the command line works without them


def test_nothing_missing_no_problem() -> None:
    assert window_problem({"DISPLAY": ":0"}, without(), "linux") is None


def test_offscreen_and_other_systems_need_no_x11() -> None:
    assert window_problem({"QT_QPA_PLATFORM": "offscreen"}, without("libxcb-cursor.so.0"), "linux") is None
    assert window_problem({}, without("libxcb-cursor.so.0"), "win32") is None
    assert window_problem({}, without("libxcb-cursor.so.0"), "darwin") is None


def test_no_screen_at_all_is_said_in_words() -> None:
    problem = window_problem({}, without(), "linux")
    assert problem is not None and "no screen" in problem and "studio --help" in problem


def test_a_wayland_desktop_uses_wayland_instead() -> None:
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert window_problem(env, without("libxcb-cursor.so.0"), "linux") is None
    assert env["QT_QPA_PLATFORM"] == "wayland"


def test_a_library_the_packaged_app_carries_is_not_missing(tmp_path: Path) -> None:
    (tmp_path / "libxcb-cursor.so.0").write_bytes(b"")
    assert missing_x11_libraries(without("libxcb-cursor.so.0"), tmp_path) == []


def test_the_list_is_the_xcb_plugins_own() -> None:
    """Every X11 library Qt's xcb plugin links against is checked (read from the plugin with ldd)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        pytest.skip("Linux only")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    needed: set[str] = set()
    for library in (qt / "plugins" / "platforms" / "libqxcb.so", *(qt / "lib").glob("libQt6XcbQpa.so*")):
        if library.is_file():
            out = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=False).stdout
            needed |= set(re.findall(r"^\s*(lib(?:xcb|X11-xcb|xkbcommon)[\w.-]*\.so\.\d+)", out, re.MULTILINE))
    assert needed, "the xcb plugin was not found"
    assert needed <= {entry[0] for entry in XCB_LIBRARIES}, sorted(needed - {e[0] for e in XCB_LIBRARIES})
