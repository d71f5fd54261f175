"""Export step: the model card written beside the saved model file, shown read-only on the page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextDocument, QTextFormat
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from studio.core.report.card import card_paths
from studio.ui.widgets.common import section_label

# Enough for the card's first section at 1024x600; the browser scrolls the rest.
MIN_BROWSER_HEIGHT = 140
# Qt sizes headings by their level only (a title twice the text's size, whatever the card's style says), which
# shouts inside a page: Qt's size steps for "x-large" and "large" instead (1 is "large", 0 the text's size).
_HEADING_SIZE_STEPS = {1: 2, 2: 1}


class ModelCardView(QWidget):
    """Hidden until a model is saved; then the card's HTML and a line naming the two card files."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = QLabel()
        self.files.setWordWrap(True)
        self.files.setTextFormat(Qt.TextFormat.PlainText)  # file names are shown as typed, never as markup
        self.files.setStyleSheet("color: #555;")
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)  # the card has no links; a click must never navigate away from it
        self.browser.setMinimumHeight(MIN_BROWSER_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(section_label("The model card"))
        layout.addWidget(self.files)
        layout.addWidget(self.browser, 1)
        self.paths: tuple[Path, Path] | None = None
        self.hide()

    def show_card(self, model_path: str | Path) -> None:
        """Show the card written beside ``model_path`` (the save job wrote it; this only reads a small file)."""
        markdown_path, html_path = card_paths(model_path)
        try:
            html = html_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.paths = None
            self.files.setText(f"The model card beside {Path(model_path).name} could not be read ({exc}).")
            self.browser.clear()
            self.show()
            return
        self.paths = (markdown_path, html_path)
        self.files.setText(f"Written beside the model file, to share with it: {markdown_path.name} (Markdown, "
                           f"readable as plain text) and {html_path.name} (a web page). It says what the model "
                           "predicts, from which data, how well, its limits and how to use it.")
        self.browser.setHtml(html)
        _soften_headings(self.browser.document())
        self.show()

    def clear(self) -> None:
        self.paths = None
        self.files.clear()
        self.browser.clear()
        self.hide()

    def text(self) -> str:
        """The card as the person reads it (for tests)."""
        return self.browser.toPlainText() if self.isVisible() or self.paths else ""


def _soften_headings(document: QTextDocument) -> None:
    cursor = QTextCursor(document)
    block = document.begin()
    while block.isValid():
        steps = _HEADING_SIZE_STEPS.get(block.blockFormat().headingLevel())
        if steps is not None:
            size = QTextCharFormat()
            size.setProperty(QTextFormat.Property.FontSizeAdjustment, steps)
            cursor.setPosition(block.position())
            cursor.setPosition(block.position() + block.length() - 1, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(size)
        block = block.next()
