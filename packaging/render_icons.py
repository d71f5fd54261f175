"""Renders resources/icons/studio.svg to the PNG sizes desktops ask for, a Windows .ico and a macOS .icns.

Run after changing the SVG: ``QT_QPA_PLATFORM=offscreen python packaging/render_icons.py``. The outputs are kept
in the repository, so building Studio never needs this."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - painting needs one
    svg = ICONS / "studio.svg"
    for size in SIZES:
        render(svg, size).save(str(ICONS / f"studio-{size}.png"))
    largest = Image.open(ICONS / "studio-512.png")
    largest.save(ICONS / "studio.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    largest.save(ICONS / "studio.icns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
