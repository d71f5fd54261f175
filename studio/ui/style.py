"""The window's look: Qt's Fusion style with Studio's style sheet (resources/style.qss)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from studio.resources import resources_dir


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    # Studio's colours are drawn for a light window: under a dark system palette its light headers and panels
    # carried white text. Fusion's own light palette sets both colours of everything the style sheet does not.
    app.setPalette(app.style().standardPalette())
    style = resources_dir() / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
