"""The window's look holds under a dark system palette: Studio's light headers and panels keep dark text."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from studio.ui.style import apply_style


def test_a_dark_system_palette_still_gives_dark_text_on_light_ground(qapp: QApplication) -> None:
    before = (qapp.palette(), qapp.styleSheet(), qapp.style().name())
    dark = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#f1f3f4"),
                         (QPalette.ColorRole.Base, "#2b2c2f"), (QPalette.ColorRole.Text, "#f1f3f4"),
                         (QPalette.ColorRole.Button, "#303134"), (QPalette.ColorRole.ButtonText, "#f1f3f4")):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    try:
        apply_style(qapp)
        palette = qapp.palette()
        for ground, text in ((QPalette.ColorRole.Window, QPalette.ColorRole.WindowText),
                             (QPalette.ColorRole.Base, QPalette.ColorRole.Text),
                             (QPalette.ColorRole.Button, QPalette.ColorRole.ButtonText)):
            assert palette.color(ground).lightness() > 200, ground
            assert palette.color(text).lightness() < 80, text
        # The table headers' light ground comes with its own dark text in the style sheet.
        sheet = qapp.styleSheet()
        header = sheet[sheet.index("QHeaderView::section"):]
        assert "color: #22313f" in header[:header.index("}")]
    finally:
        qapp.setStyle(before[2])
        qapp.setStyleSheet(before[1])
        qapp.setPalette(before[0])
