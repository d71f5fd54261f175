"""Small shared pieces: page headings, message banners, busy indicators, shortcut names."""

from __future__ import annotations

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

    def show_message(self, text: str, level: str = "error", details: str = "") -> None:
        self.level = level
        self.label.setText(text)
        self.label.setToolTip(details[-4000:] if details else "")
        self.setStyleSheet(f"MessageBanner {{ {_BANNER_STYLES[level]} border-radius: 4px; }} "
                           f"QLabel {{ {_BANNER_STYLES[level].split(' border')[0]} border: none; }}")
        self.show()

    def clear(self) -> None:
        self.level = ""
        self.label.clear()
        self.hide()

    def text(self) -> str:
        return self.label.text() if self.isVisible() or self.level else ""


def dropped_local_paths(event: QDropEvent) -> list[str]:
    """The files and folders on this computer being dragged or dropped (a drag-enter event is a drop event too)."""
    data = event.mimeData()
    return [url.toLocalFile() for url in data.urls() if url.isLocalFile()] if data.hasUrls() else []
