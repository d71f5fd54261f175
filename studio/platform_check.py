"""Before the window opens on Linux: are the X11 libraries Qt's xcb platform needs on this computer?

Without them Qt prints "Could not load the Qt platform plugin xcb" and aborts, which a person who double-clicked
Studio never sees. Since Qt 6.5, ``libxcb-cursor0`` is the one most often missing (it is not part of a minimal
desktop install). This says what to install instead; on a Wayland desktop it lets Qt use Wayland. No Qt here."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# The libraries Qt's xcb plugin loads (tests/test_platform_check.py compares with the plugin's own list), with the
# Debian/Ubuntu and Fedora packages that bring them.
XCB_LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    ("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    ("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    ("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    ("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    ("libxcb.so.1", "libxcb1", "libxcb"),
    ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
)
# Platforms that need no X11 libraries.
NO_X11_PLATFORMS = ("offscreen", "minimal", "wayland", "eglfs", "linuxfb", "vnc")


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def missing_x11_libraries(loads: Callable[[str], bool] = _loads,
                          bundled: Path | None = None) -> list[tuple[str, str, str]]:
    """The xcb libraries that neither the system nor the packaged app's own folder (``bundled``) provides."""
    missing = []
    for entry in XCB_LIBRARIES:
        name = entry[0]
        if bundled is not None and (bundled / name).exists():
            continue
        if not loads(name):
            missing.append(entry)
    return missing


def x11_advice(missing: list[tuple[str, str, str]]) -> str:
    debian = " ".join(entry[1] for entry in missing)
    fedora = " ".join(sorted({entry[2] for entry in missing}))
    return ("Studio cannot open its window: this computer lacks X11 libraries that Qt needs "
            f"({', '.join(entry[0] for entry in missing)}).\n"
            f"On Debian or Ubuntu:  sudo apt install {debian}\n"
            f"On Fedora:            sudo dnf install {fedora}\n"
            "Then start Studio again. (The command-line tools, `studio train` and the others, work without them.)")


def window_problem(environ: os._Environ[str] | dict[str, str] | None = None,
                   loads: Callable[[str], bool] = _loads, platform: str = sys.platform) -> str | None:
    """What stops the window from opening, in words; None when nothing does (or it is not Linux).

    On a Wayland desktop with X11 libraries missing, Qt is pointed at Wayland instead (``QT_QPA_PLATFORM``)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if chosen in NO_X11_PLATFORMS:
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY") and chosen in ("", "xcb"):
        return ("Studio found no screen to show its window on (neither DISPLAY nor WAYLAND_DISPLAY is set). Start "
                "it from the desktop, or use the command-line tools: studio --help.")
    bundle = getattr(sys, "_MEIPASS", None)
    missing = missing_x11_libraries(loads, Path(bundle) if bundle else None)
    if not missing:
        return None
    if env.get("WAYLAND_DISPLAY") and not chosen:
        env["QT_QPA_PLATFORM"] = "wayland"
        return None
    return x11_advice(missing)


def tell_without_qt(text: str) -> None:
    """Shows ``text`` where a person who double-clicked Studio can read it, without Qt: the terminal, and a
    desktop dialog or notification when one of the usual tools is there."""
    print(text, file=sys.stderr)
    for command in (["zenity", "--error", "--no-markup", "--title=Studio", f"--text={text}"],
                    ["kdialog", "--title", "Studio", "--error", text],
                    ["notify-send", "--app-name=Studio", "Studio cannot open its window", text]):
        if shutil.which(command[0]):
            try:
                subprocess.run(command, check=False, timeout=600)
            except (OSError, subprocess.SubprocessError):
                continue
            return
