"""Studio's icon (resources/icons, drawn in studio.svg) for the window, the taskbar and the dialogs."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from studio.resources import resources_dir

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    """Every rendered size, so each place picks a sharp one; an empty icon when the files are missing."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in ICON_SIZES:
        path = folder / f"studio-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
