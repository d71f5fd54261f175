"""Small shared pieces: page headings, message banners, busy indicators, shortcut names."""

from __future__ import annotations

import html

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

_BANNER_STYLES = {
    "error": "background:#fdecea; color:#8a1c12; border:1px solid #f5c2bd;",
    "warning": "background:#fff6e0; color:#7a5200; border:1px solid #f3dc9b;",
    "info": "background:#e9f2fc; color:#154a7d; border:1px solid #bcd6f2;",
    "success": "background:#e8f5ea; color:#1d5b28; border:1px solid #b9dfc0;",
}


# Key names as printed on the keys: people look for "Enter" and arrows, not Qt's "Return" and "Right".
_KEY_WORDS = (("Return", "Enter"), ("Right", "→"), ("Left", "←"))


def key_text(keys: str | QKeySequence | QKeySequence.StandardKey) -> str:
    """A shortcut as the platform writes it for people ("Ctrl+O", "⌘O"), for tooltips: "Alt+→", "Ctrl+Enter"."""
    text = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
    for qt_name, printed in _KEY_WORDS:
        text = text.replace(qt_name, printed)
    return text


def page_header(title: str, subtitle: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 6)
    layout.setSpacing(2)
    heading = QLabel(title)
    heading.setObjectName("pageTitle")
    heading.setStyleSheet("font-size: 18pt; font-weight: 600;")
    sub = QLabel(subtitle)
    sub.setWordWrap(True)
    sub.setStyleSheet("color: #555;")
    layout.addWidget(heading)
    layout.addWidget(sub)
    return box


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600; margin-top: 6px;")
    return label


class MessageBanner(QFrame):
    """A coloured, word-wrapped message inside the page; hidden when empty. Never a modal dialog."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "error", details: str = "", rich: bool = False) -> None:
        """``text`` is shown as written (it quotes file, column and class names), unless ``rich``: then it is
        markup whose user text the caller escaped."""
        self.level = level
        self.label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.label.setText(text)
        self.label.setToolTip(plain_tooltip(details[-4000:]) if details else "")
        self.setStyleSheet(f"MessageBanner {{ {_BANNER_STYLES[level]} border-radius: 4px; }} "
                           f"QLabel {{ {_BANNER_STYLES[level].split(' border')[0]} border: none; }}")
        self.show()

    def clear(self) -> None:
        self.level = ""
        self.label.clear()
        self.hide()

    def text(self) -> str:
        return self.label.text() if self.isVisible() or self.level else ""


def as_written(text: str) -> str:
    """``text`` for a place that guesses whether text is markup (a message box, a label left on AutoText): as
    it is when Qt would read it as plain text anyway, else escaped inside a paragraph, so it reads as written."""
    if not QtGui.Qt.mightBeRichText(text):
        return text
    return f"<p style='white-space: pre-wrap;'>{html.escape(text, quote=False)}</p>"


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` as written: Qt reads a tooltip that looks like markup as markup, so such a
    one is escaped (its line breaks kept); any other is left as it is."""
    return as_written(text)


def dropped_local_paths(event: QDropEvent) -> list[str]:
    """The files and folders on this computer being dragged or dropped (a drag-enter event is a drop event too)."""
    data = event.mimeData()
    return [url.toLocalFile() for url in data.urls() if url.isLocalFile()] if data.hasUrls() else []
